// Faithfulness metrics (analysis/faithfulness.h) on hand-computed cases, with
// synthetic scorers standing in for the model.
#include "analysis/faithfulness.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tokenlens::analysis {
namespace {

constexpr double DN = std::numeric_limits<double>::quiet_NaN();
using V = std::vector<double>;

// A "model" whose output probability depends on candidate `token` only.
MaskScorer oneToken(size_t token, double present, double absent) {
    return [=](const std::vector<RemovalMask>& masks) -> std::optional<std::vector<double>> {
        std::vector<double> out;
        for (const auto& m : masks) out.push_back(m[token] ? absent : present);
        return out;
    };
}

// f = 1 − Σ w_i over the removed candidates.
MaskScorer additive(V weights) {
    return [=](const std::vector<RemovalMask>& masks) -> std::optional<std::vector<double>> {
        std::vector<double> out;
        for (const auto& m : masks) {
            double f = 1.0;
            for (size_t i = 0; i < weights.size(); ++i) f -= m[i] ? weights[i] : 0.0;
            out.push_back(f);
        }
        return out;
    };
}

TEST(Faithfulness, TopCountIsCeilClampedToOneAndM) {
    EXPECT_EQ(topCount(0.01, 10), 1);
    EXPECT_EQ(topCount(0.05, 10), 1);
    EXPECT_EQ(topCount(0.10, 10), 1);
    EXPECT_EQ(topCount(0.20, 10), 2);
    EXPECT_EQ(topCount(0.50, 10), 5);
    EXPECT_EQ(topCount(0.50, 7), 4);  // ceil(3.5)
    EXPECT_EQ(topCount(0.10, 20), 2); // 0.1 · 20 is 2.0000000000000004 in binary
    EXPECT_EQ(topCount(1.0, 3), 3);
    EXPECT_EQ(topCount(0.5, 0), 0);
}

TEST(Faithfulness, RankOrderDescendingNonFiniteLastTiesByIndex) {
    EXPECT_EQ(rankOrder(V{0.2, DN, 0.9, 0.2, -1}), (std::vector<int64_t>{2, 0, 3, 4, 1}));
}

TEST(Faithfulness, TrapezoidAucOfKnownCurves) {
    EXPECT_DOUBLE_EQ(trapezoidAuc(V{0, 0.5, 1}, V{0, 0.5, 1}), 0.5);      // y = x
    EXPECT_DOUBLE_EQ(trapezoidAuc(V{0, 0.5, 1}, V{0, 0.25, 1}), 0.375);   // y = x², 3 points: 0.0625 + 0.3125
    EXPECT_DOUBLE_EQ(trapezoidAuc(V{0, 1}, V{0.7, 0.7}), 0.7);            // constant
    EXPECT_TRUE(std::isnan(trapezoidAuc(V{0}, V{1})));
}

TEST(Faithfulness, CurveGridEveryKOrEvenlySpaced) {
    EXPECT_EQ(curveGrid(3, 51), (std::vector<int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(curveGrid(3, 0), (std::vector<int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(curveGrid(100, 11), (std::vector<int64_t>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}));
}

// The criterion: the output depends on one token only, so removing it
// costs the full probability drop, and keeping it alone is sufficient.
TEST(Faithfulness, OneTokenModelGivesThatTokenTheFullDrop) {
    const V scores{0.5, 0.4, 0.3, 1.0, 0.2, 0.1, 0.05, 0.04, 0.03, 0.02}; // token 3 ranked first
    auto c = columnFaithfulness(scores, oneToken(3, 0.9, 0.2));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->candidates, 10);
    EXPECT_DOUBLE_EQ(c->fullScore, 0.9);
    EXPECT_DOUBLE_EQ(c->emptyScore, 0.2);
    EXPECT_EQ(c->topCounts, (std::vector<int64_t>{1, 1, 1, 2, 5}));
    for (double v : c->comprehensiveness) EXPECT_NEAR(v, 0.7, 1e-12); // = 0.9 − 0.2, the full drop
    for (double v : c->sufficiency) EXPECT_NEAR(v, 0.0, 1e-12);
    EXPECT_NEAR(c->aopcComprehensiveness, 0.7, 1e-12);
    EXPECT_NEAR(c->aopcSufficiency, 0.0, 1e-12);
    // Deletion: 0.9 at k = 0, then 0.2: (0.9+0.2)/2·0.1 + 0.2·0.9 = 0.235.
    ASSERT_EQ(c->deletion.size(), 11u);
    EXPECT_NEAR(c->deletionAuc, 0.235, 1e-12);
    // Insertion: 0.2 at k = 0, then 0.9: (0.2+0.9)/2·0.1 + 0.9·0.9 = 0.865.
    EXPECT_NEAR(c->insertionAuc, 0.865, 1e-12);
    // Leave-one-out: 0.7 for token 3, 0 elsewhere.
    ASSERT_EQ(c->leaveOneOut.size(), 10u);
    for (size_t i = 0; i < 10; ++i) EXPECT_NEAR(c->leaveOneOut[i], i == 3 ? 0.7 : 0.0, 1e-12);
    // τ_b: the 9 pairs with token 3 are concordant, the other 36 tied in LOO:
    // 9 / sqrt(45 · (45 − 36)) = 1/√5.
    EXPECT_NEAR(c->kendallTau, 1.0 / std::sqrt(5.0), 1e-12);
}

TEST(Faithfulness, OneTokenModelRankedLastGivesNoComprehensiveness) {
    const V scores{0.5, 0.4, 0.3, -1.0}; // the token that matters is ranked last
    FaithfulnessSettings s;
    s.fractions = {0.25, 0.5};
    auto c = columnFaithfulness(scores, oneToken(3, 0.8, 0.3), s);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->comprehensiveness, (V{0.0, 0.0}));
    for (double v : c->sufficiency) EXPECT_NEAR(v, 0.5, 1e-12); // keeping the top 1 or 2 loses all of it
    EXPECT_NEAR(c->kendallTau, -1.0 / std::sqrt(2.0), 1e-12);   // 3 discordant of 6, 3 tied: −3/√(6·3)
}

TEST(Faithfulness, AopcOnAnAdditiveExample) {
    // f = 1 − Σ removed w, w = (0.4, 0.3, 0.2, 0.1); fractions 25 % and 50 % of 4 → k = 1, 2.
    FaithfulnessSettings s;
    s.fractions = {0.25, 0.5};
    s.curves = false;
    s.leaveOneOut = false;
    auto good = columnFaithfulness(V{4, 3, 2, 1}, additive({0.4, 0.3, 0.2, 0.1}), s);
    ASSERT_TRUE(good);
    EXPECT_NEAR(good->comprehensiveness[0], 0.4, 1e-12);
    EXPECT_NEAR(good->comprehensiveness[1], 0.7, 1e-12);
    EXPECT_NEAR(good->aopcComprehensiveness, 0.55, 1e-12);
    // Keeping the top 1 removes 0.6 (f = 0.4, drop 0.6); the top 2 removes 0.3 (drop 0.3).
    EXPECT_NEAR(good->sufficiency[0], 0.6, 1e-12);
    EXPECT_NEAR(good->sufficiency[1], 0.3, 1e-12);
    EXPECT_NEAR(good->aopcSufficiency, 0.45, 1e-12);
    EXPECT_TRUE(std::isnan(good->deletionAuc));
    EXPECT_TRUE(std::isnan(good->kendallTau));

    auto bad = columnFaithfulness(V{1, 2, 3, 4}, additive({0.4, 0.3, 0.2, 0.1}), s); // reversed ranking
    ASSERT_TRUE(bad);
    EXPECT_NEAR(bad->aopcComprehensiveness, (0.1 + 0.3) / 2, 1e-12);
    EXPECT_NEAR(bad->aopcSufficiency, (0.9 + 0.7) / 2, 1e-12);
    EXPECT_GT(good->aopcComprehensiveness, bad->aopcComprehensiveness);
    EXPECT_LT(good->aopcSufficiency, bad->aopcSufficiency);
}

TEST(Faithfulness, AdditiveCurvesAndLeaveOneOut) {
    FaithfulnessSettings s;
    s.fractions = {0.5};
    auto c = columnFaithfulness(V{4, 3, 2, 1}, additive({0.4, 0.3, 0.2, 0.1}), s);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->curveX, (V{0, 0.25, 0.5, 0.75, 1}));
    const V del{1, 0.6, 0.3, 0.1, 0};
    const V ins{0, 0.4, 0.7, 0.9, 1};
    for (size_t k = 0; k < 5; ++k) {
        EXPECT_NEAR(c->deletion[k], del[k], 1e-12);
        EXPECT_NEAR(c->insertion[k], ins[k], 1e-12);
    }
    // 0.25 · ((1+0.6) + (0.6+0.3) + (0.3+0.1) + (0.1+0)) / 2 = 0.375
    EXPECT_NEAR(c->deletionAuc, 0.375, 1e-12);
    EXPECT_NEAR(c->insertionAuc, 0.625, 1e-12);
    EXPECT_NEAR(c->kendallTau, 1.0, 1e-12); // LOO = w, same order as the attribution
    EXPECT_EQ(columnMaskCount(4, s), 2 + 2 + 2 * 5 + 4);
}

TEST(Faithfulness, CancelledScorerStopsTheColumn) {
    MaskScorer cancelled = [](const std::vector<RemovalMask>&) -> std::optional<std::vector<double>> { return std::nullopt; };
    EXPECT_FALSE(columnFaithfulness(V{1, 2}, cancelled));
}

TEST(Faithfulness, SummaryAveragesFiniteValues) {
    ColumnFaithfulness a, b;
    a.comprehensiveness = {0.2};
    b.comprehensiveness = {0.4};
    a.aopcComprehensiveness = 0.2;
    b.aopcComprehensiveness = 0.4;
    a.kendallTau = 0.5;
    b.kendallTau = DN;
    auto s = summarize({a, b}, 1);
    EXPECT_NEAR(s.comprehensiveness[0], 0.3, 1e-12);
    EXPECT_NEAR(s.aopcComprehensiveness, 0.3, 1e-12);
    EXPECT_NEAR(s.kendallTau, 0.5, 1e-12);
    FaithfulnessReport r;
    r.columns = {a};
    r.mean = s;
    auto j = toJson(r);
    EXPECT_EQ(j["baseline"], "zero");
    EXPECT_EQ(j["columns"].size(), 1u);
    EXPECT_TRUE(j["columns"][0]["deletion_auc"].is_number()); // 0 by default, finite
}

TEST(EvidenceRank, BestEvidenceTokenAndTiesCountAgainst) {
    const V s{0.1, 0.9, 0.5, 0.5};
    auto r = evidenceRank(s, std::vector<int64_t>{1});
    EXPECT_EQ(r.rank, 1);
    EXPECT_TRUE(r.hitAt1);
    EXPECT_DOUBLE_EQ(r.reciprocal, 1.0);
    r = evidenceRank(s, std::vector<int64_t>{2}); // 0.9 above, 0.5 tied: rank 3
    EXPECT_EQ(r.rank, 3);
    EXPECT_FALSE(r.hitAt1);
    EXPECT_DOUBLE_EQ(r.reciprocal, 1.0 / 3);
    r = evidenceRank(s, std::vector<int64_t>{0, 2}); // the better of the two counts
    EXPECT_EQ(r.rank, 3);
    r = evidenceRank(V{1, 1, 1, 1}, std::vector<int64_t>{0}); // constant: last, not first
    EXPECT_EQ(r.rank, 4);
    r = evidenceRank(V{DN, 0.1}, std::vector<int64_t>{0}); // NaN ranks below every finite value
    EXPECT_EQ(r.rank, 2);
    r = evidenceRank(s, std::vector<int64_t>{});
    EXPECT_EQ(r.rank, 0);
}

TEST(EvidenceRank, RandomFloorIsTheExactExpectation) {
    EXPECT_DOUBLE_EQ(randomHitAt1(10, 2), 0.2);
    EXPECT_NEAR(randomReciprocalRank(3, 1), (1 + 1.0 / 2 + 1.0 / 3) / 3, 1e-12);
    // m = 3, e = 2: P(R=1) = 2/3, P(R=2) = 1/3 → 2/3 + 1/6.
    EXPECT_NEAR(randomReciprocalRank(3, 2), 2.0 / 3 + 1.0 / 6, 1e-12);
    EXPECT_NEAR(randomReciprocalRank(5, 5), 1.0, 1e-12);
    EXPECT_TRUE(std::isnan(randomReciprocalRank(0, 1)));
}

} // namespace
} // namespace tokenlens::analysis
