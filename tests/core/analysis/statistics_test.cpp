// Statistics for the views. Expected values by hand.
#include "analysis/statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tokenlens::analysis {
namespace {

constexpr double DN = std::numeric_limits<double>::quiet_NaN();
constexpr double Inf = std::numeric_limits<double>::infinity();
using V = std::vector<double>;

TEST(TopK, LargestFiniteFirstTiesByIndex) {
    const V v{3, DN, 5, 3, 1};
    EXPECT_EQ(topK(v, 2), (std::vector<int64_t>{2, 0})); // 5 @2, then 3 @0 before 3 @3
    EXPECT_EQ(topK(v, 3), (std::vector<int64_t>{2, 0, 3}));
    EXPECT_EQ(topK(v, 10), (std::vector<int64_t>{2, 0, 3, 4})); // only 4 finite values
    EXPECT_TRUE(topK(v, 0).empty());
    EXPECT_TRUE(topK(v, -1).empty());
    EXPECT_TRUE(topK(V{}, 3).empty());
    EXPECT_EQ(topK(V{Inf, 1, -Inf}, 3), (std::vector<int64_t>{1}));
    EXPECT_EQ(topK(V{-2, -1, -3}, 1), (std::vector<int64_t>{1}));
}

TEST(Rank, OrdinalOneIsLargest) {
    // sorted: 5 @2 → 1, 3 @0 → 2, 3 @3 → 3, 1 @4 → 4; NaN → 0
    EXPECT_EQ(rank(V{3, DN, 5, 3, 1}), (std::vector<int64_t>{2, 0, 1, 3, 4}));
    EXPECT_TRUE(rank(V{}).empty());
}

TEST(Rank, AverageRanksShareTies) {
    // 5,5 occupy ranks 1,2 → 1.5 each; 3 → 3; 1 → 4
    const auto r = averageRank(V{3, 5, 5, 1});
    ASSERT_EQ(r.size(), 4u);
    EXPECT_DOUBLE_EQ(r[0], 3.0);
    EXPECT_DOUBLE_EQ(r[1], 1.5);
    EXPECT_DOUBLE_EQ(r[2], 1.5);
    EXPECT_DOUBLE_EQ(r[3], 4.0);
    // three-way tie at ranks 2,3,4 → 3; NaN stays unranked
    const auto t = averageRank(V{2, 2, DN, 9, 2});
    EXPECT_DOUBLE_EQ(t[0], 3.0);
    EXPECT_DOUBLE_EQ(t[1], 3.0);
    EXPECT_TRUE(std::isnan(t[2]));
    EXPECT_DOUBLE_EQ(t[3], 1.0);
    EXPECT_DOUBLE_EQ(t[4], 3.0);
}

TEST(Histogram, EqualWidthBinsOverTheFiniteRange) {
    // range [0,4], 4 bins of width 1: [0,1) {0}, [1,2) {1}, [2,3) {2}, [3,4] {3,4}
    const Histogram h = histogram(V{0, 1, 2, 3, 4, DN, Inf}, 4);
    EXPECT_EQ(h.min, 0.0);
    EXPECT_EQ(h.max, 4.0);
    EXPECT_EQ(h.counts, (std::vector<int64_t>{1, 1, 1, 2}));
    EXPECT_EQ(h.outside, 0);
    EXPECT_DOUBLE_EQ(h.binWidth(), 1.0);
    EXPECT_DOUBLE_EQ(h.edge(2), 2.0);
    EXPECT_DOUBLE_EQ(h.edge(4), 4.0);
    // range [0.5, 2], 3 bins of width .5: [.5,1) {.5, .9}, [1,1.5) {}, [1.5,2] {2}
    EXPECT_EQ(histogram(V{0.5, 2, 0.9}, 3).counts, (std::vector<int64_t>{2, 0, 1}));
}

TEST(Histogram, ConstantEmptyAndNoBins) {
    const Histogram c = histogram(V{2, 2, 2}, 3);
    EXPECT_EQ(c.counts, (std::vector<int64_t>{3, 0, 0})); // all in bin 0
    EXPECT_EQ(c.min, 2.0);
    EXPECT_EQ(c.max, 2.0);
    const Histogram n = histogram(V{DN, DN}, 2);
    EXPECT_EQ(n.counts, (std::vector<int64_t>{0, 0}));
    EXPECT_TRUE(std::isnan(n.min));
    EXPECT_TRUE(histogram(V{1, 2}, 0).counts.empty());
    EXPECT_EQ(histogram(V{}, 2).counts, (std::vector<int64_t>{0, 0}));
}

TEST(Histogram, ExplicitRange) {
    // [0,10], 2 bins: [0,5) {0}, [5,10] {5,10}; −1 and 11 outside
    const Histogram h = histogram(V{-1, 0, 5, 10, 11}, 2, Range{0, 10});
    EXPECT_EQ(h.counts, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(h.outside, 2);
    const Histogram bad = histogram(V{1, 2}, 2, Range{DN, DN});
    EXPECT_EQ(bad.counts, (std::vector<int64_t>{0, 0}));
    EXPECT_EQ(bad.outside, 2);
}

TEST(Spearman, PerfectAndReversed) {
    EXPECT_DOUBLE_EQ(spearman(V{1, 2, 3, 4, 5}, V{5, 4, 3, 2, 1}), -1.0);
    EXPECT_DOUBLE_EQ(spearman(V{1, 2, 3, 4, 5}, V{10, 20, 30, 40, 50}), 1.0);
    // monotone but not linear: ranks identical → 1
    EXPECT_DOUBLE_EQ(spearman(V{1, 2, 3}, V{1, 8, 27}), 1.0);
}

TEST(Spearman, Ties) {
    // x = (1,2,2,3) ranks (ascending; ρ is the same for descending) 1, 2.5, 2.5, 4
    // y = (1,3,2,4) ranks 1, 3, 2, 4; both means 2.5
    // dx = (−1.5, 0, 0, 1.5), dy = (−1.5, .5, −.5, 1.5)
    // Σdxdy = 2.25+0+0+2.25 = 4.5, Σdx² = 4.5, Σdy² = 2.25+.25+.25+2.25 = 5
    // ρ = 4.5/√(4.5·5) = √0.9 ≈ 0.9486833
    EXPECT_NEAR(spearman(V{1, 2, 2, 3}, V{1, 3, 2, 4}), std::sqrt(0.9), 1e-12);
    EXPECT_NEAR(spearman(V{1, 2, 2, 3}, V{1, 3, 2, 4}), 0.9486833, 1e-7);
}

TEST(Spearman, SkipsNonFinitePairsAndDegenerateCases) {
    // pairs kept: (1,2), (2,4), (4,8) → perfectly monotone → 1
    EXPECT_DOUBLE_EQ(spearman(V{1, 2, DN, 4, 7}, V{2, 4, 100, 8, Inf}), 1.0);
    EXPECT_TRUE(std::isnan(spearman(V{1, 2, 3}, V{1, 2})));    // lengths differ
    EXPECT_TRUE(std::isnan(spearman(V{1, DN}, V{1, 2})));      // one pair
    EXPECT_TRUE(std::isnan(spearman(V{3, 3, 3}, V{1, 2, 3}))); // constant x
}

TEST(KendallTauB, PerfectAndReversed) {
    EXPECT_DOUBLE_EQ(kendallTauB(V{1, 2, 3, 4}, V{4, 3, 2, 1}), -1.0);
    EXPECT_DOUBLE_EQ(kendallTauB(V{1, 2, 3, 4}, V{1, 5, 6, 9}), 1.0);
}

TEST(KendallTauB, TiesInOneVector) {
    // x = (1,2,2,3), y = (1,3,2,4); pairs (i,j):
    //   (1,2) C, (1,3) C, (1,4) C, (2,3) x tied, (2,4) C, (3,4) C
    // n_c = 5, n_d = 0, n_0 = 6, n_1 = 1 (one x tie group of 2), n_2 = 0
    // τ_b = 5/√((6−1)(6−0)) = 5/√30 ≈ 0.9128709
    EXPECT_NEAR(kendallTauB(V{1, 2, 2, 3}, V{1, 3, 2, 4}), 5.0 / std::sqrt(30.0), 1e-12);
    EXPECT_NEAR(kendallTauB(V{1, 2, 2, 3}, V{1, 3, 2, 4}), 0.9128709, 1e-7);
}

TEST(KendallTauB, TiesInBothVectors) {
    // x = (1,1,2,3), y = (2,1,1,3); pairs:
    //   (1,2) x tied; (1,3) x↑ y↓ D; (1,4) C; (2,3) y tied; (2,4) C; (3,4) C
    // n_c = 3, n_d = 1, n_1 = 1, n_2 = 1 → τ_b = (3−1)/√((6−1)(6−1)) = 2/5
    EXPECT_NEAR(kendallTauB(V{1, 1, 2, 3}, V{2, 1, 1, 3}), 0.4, 1e-12);
}

TEST(KendallTauB, SkipsNonFinitePairsAndDegenerateCases) {
    // kept: (1,1), (2,3), (3,2) → pairs C, C, D → n_c 2, n_d 1, no ties: 1/3
    EXPECT_NEAR(kendallTauB(V{1, DN, 2, 3}, V{1, 5, 3, 2}), 1.0 / 3.0, 1e-12);
    EXPECT_TRUE(std::isnan(kendallTauB(V{1, 1, 1}, V{1, 2, 3}))); // n_0 − n_1 = 0
    EXPECT_TRUE(std::isnan(kendallTauB(V{1}, V{1})));
    EXPECT_TRUE(std::isnan(kendallTauB(V{1, 2}, V{1, 2, 3})));
}

TEST(Gini, HandComputed) {
    // (1,0,0,0): Σ_iΣ_j |x_i−x_j| = 6 (three pairs, both orders), 2·4²·0.25 = 8 → 0.75
    EXPECT_NEAR(gini(V{1, 0, 0, 0}), 0.75, 1e-12);
    // uses |v|: same for (−1,0,0,0)
    EXPECT_NEAR(gini(V{-1, 0, 0, 0}), 0.75, 1e-12);
    // NaN skipped: (1,NaN,0,0,0) is (1,0,0,0)
    EXPECT_NEAR(gini(V{1, DN, 0, 0, 0}), 0.75, 1e-12);
    // equal values → 0
    EXPECT_NEAR(gini(V{2, 2, 2, 2}), 0.0, 1e-12);
    // (1,2,3): |1−2|+|1−3|+|2−3| = 4, both orders 8; 2·3²·2 = 36 → 8/36 = 2/9
    EXPECT_NEAR(gini(V{1, 2, 3}), 2.0 / 9.0, 1e-12);
    EXPECT_NEAR(gini(V{5}), 0.0, 1e-12);
    EXPECT_TRUE(std::isnan(gini(V{0, 0, 0})));
    EXPECT_TRUE(std::isnan(gini(V{})));
    EXPECT_TRUE(std::isnan(gini(V{DN})));
}

TEST(NormalizedEntropy, HandComputed) {
    EXPECT_NEAR(normalizedEntropy(V{1, 1, 1, 1}), 1.0, 1e-12); // uniform
    EXPECT_NEAR(normalizedEntropy(V{1, 0, 0, 0}), 0.0, 1e-12); // one value holds all
    // (1,1,0,0): H = ln 2, / ln 4 = 0.5
    EXPECT_NEAR(normalizedEntropy(V{1, 1, 0, 0}), 0.5, 1e-12);
    // (−2, 2, NaN): |·| → (2,2), m = 2 → ln 2 / ln 2 = 1
    EXPECT_NEAR(normalizedEntropy(V{-2, 2, DN}), 1.0, 1e-12);
    // (1,3): p = .25,.75; H = .25·ln 4 + .75·ln(4/3) ≈ .3465736 + .2157616 = .5623351;
    // / ln 2 (.6931472) ≈ .8112781
    EXPECT_NEAR(normalizedEntropy(V{1, 3}), 0.8112781, 1e-7);
    EXPECT_TRUE(std::isnan(normalizedEntropy(V{5})));
    EXPECT_TRUE(std::isnan(normalizedEntropy(V{0, 0})));
    EXPECT_TRUE(std::isnan(normalizedEntropy(V{})));
}

} // namespace
} // namespace tokenlens::analysis
