#include "analysis/faithfulness.h"

#include "analysis/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace tokenlens::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double finiteMean(const std::vector<double>& v) {
    double sum = 0;
    int64_t n = 0;
    for (double x : v) {
        if (std::isfinite(x)) {
            sum += x;
            ++n;
        }
    }
    return n ? sum / static_cast<double>(n) : kNaN;
}

// A JSON number, or null for NaN / inf (JSON has no NaN).
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
nlohmann::json nums(const std::vector<double>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (double x : v) a.push_back(num(x));
    return a;
}

double logChoose(int64_t n, int64_t k) {
    return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
           std::lgamma(static_cast<double>(n - k) + 1);
}

} // namespace

int64_t topCount(double fraction, int64_t m) {
    if (m <= 0) return 0;
    // The small epsilon keeps 0.1 · 20 = 2.0000000000000004 at 2.
    const auto k = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(m) - 1e-9));
    return std::clamp<int64_t>(k, 1, m);
}

std::vector<int64_t> rankOrder(std::span<const double> scores) {
    std::vector<int64_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        const double x = scores[static_cast<size_t>(a)], y = scores[static_cast<size_t>(b)];
        const bool fx = std::isfinite(x), fy = std::isfinite(y);
        if (fx != fy) return fx;
        return fx && x > y;
    });
    return order;
}

double trapezoidAuc(std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size() || x.size() < 2) return kNaN;
    double area = 0;
    for (size_t i = 1; i < x.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
    return area;
}

std::vector<int64_t> curveGrid(int64_t m, int64_t maxPoints) {
    std::vector<int64_t> ks;
    if (maxPoints <= 0 || m + 1 <= maxPoints) {
        for (int64_t k = 0; k <= m; ++k) ks.push_back(k);
        return ks;
    }
    const int64_t points = std::max<int64_t>(maxPoints, 2);
    for (int64_t p = 0; p < points; ++p) {
        const auto k = static_cast<int64_t>(std::llround(static_cast<double>(p) * static_cast<double>(m) /
                                                         static_cast<double>(points - 1)));
        if (ks.empty() || ks.back() != k) ks.push_back(k);
    }
    return ks;
}

int64_t columnMaskCount(int64_t m, const FaithfulnessSettings& s) {
    int64_t n = 2 + 2 * static_cast<int64_t>(s.fractions.size());
    if (s.curves) n += 2 * static_cast<int64_t>(curveGrid(m, s.maxCurvePoints).size());
    if (s.leaveOneOut) n += m;
    return n;
}

std::optional<ColumnFaithfulness> columnFaithfulness(std::span<const double> scores, const MaskScorer& scorer,
                                                     const FaithfulnessSettings& s) {
    const auto m = static_cast<int64_t>(scores.size());
    ColumnFaithfulness c;
    c.candidates = m;
    const auto order = rankOrder(scores);
    auto removeTop = [&](int64_t k) { // top k removed
        RemovalMask mask(static_cast<size_t>(m), 0);
        for (int64_t r = 0; r < k; ++r) mask[static_cast<size_t>(order[static_cast<size_t>(r)])] = 1;
        return mask;
    };
    auto keepTop = [&](int64_t k) { // only the top k kept
        RemovalMask mask(static_cast<size_t>(m), 1);
        for (int64_t r = 0; r < k; ++r) mask[static_cast<size_t>(order[static_cast<size_t>(r)])] = 0;
        return mask;
    };
    std::vector<RemovalMask> masks;
    masks.push_back(removeTop(0));
    masks.push_back(removeTop(m));
    for (double q : s.fractions) c.topCounts.push_back(topCount(q, m));
    for (int64_t k : c.topCounts) masks.push_back(removeTop(k));
    for (int64_t k : c.topCounts) masks.push_back(keepTop(k));
    std::vector<int64_t> grid;
    if (s.curves) {
        grid = curveGrid(m, s.maxCurvePoints);
        for (int64_t k : grid) masks.push_back(removeTop(k));
        for (int64_t k : grid) masks.push_back(keepTop(k));
    }
    if (s.leaveOneOut) {
        for (int64_t i = 0; i < m; ++i) {
            RemovalMask mask(static_cast<size_t>(m), 0);
            mask[static_cast<size_t>(i)] = 1;
            masks.push_back(std::move(mask));
        }
    }
    auto values = scorer(masks);
    if (!values) return std::nullopt;
    const std::vector<double>& v = *values;
    size_t at = 0;
    c.fullScore = v[at++];
    c.emptyScore = v[at++];
    for (size_t q = 0; q < c.topCounts.size(); ++q) c.comprehensiveness.push_back(c.fullScore - v[at++]);
    for (size_t q = 0; q < c.topCounts.size(); ++q) c.sufficiency.push_back(c.fullScore - v[at++]);
    c.aopcComprehensiveness = finiteMean(c.comprehensiveness);
    c.aopcSufficiency = finiteMean(c.sufficiency);
    c.deletionAuc = c.insertionAuc = kNaN;
    if (s.curves) {
        for (int64_t k : grid) c.curveX.push_back(m ? static_cast<double>(k) / static_cast<double>(m) : 0.0);
        for (size_t g = 0; g < grid.size(); ++g) c.deletion.push_back(v[at++]);
        for (size_t g = 0; g < grid.size(); ++g) c.insertion.push_back(v[at++]);
        c.deletionAuc = trapezoidAuc(c.curveX, c.deletion);
        c.insertionAuc = trapezoidAuc(c.curveX, c.insertion);
    }
    c.kendallTau = kNaN;
    if (s.leaveOneOut) {
        for (int64_t i = 0; i < m; ++i) c.leaveOneOut.push_back(c.fullScore - v[at++]);
        c.kendallTau = kendallTauB(scores, c.leaveOneOut);
    }
    return c;
}

FaithfulnessSummary summarize(const std::vector<ColumnFaithfulness>& columns, size_t fractions) {
    FaithfulnessSummary s;
    auto mean = [&](auto get) {
        std::vector<double> v;
        for (const auto& c : columns) v.push_back(get(c));
        return finiteMean(v);
    };
    for (size_t q = 0; q < fractions; ++q) {
        s.comprehensiveness.push_back(
            mean([&](const ColumnFaithfulness& c) { return q < c.comprehensiveness.size() ? c.comprehensiveness[q] : kNaN; }));
        s.sufficiency.push_back(
            mean([&](const ColumnFaithfulness& c) { return q < c.sufficiency.size() ? c.sufficiency[q] : kNaN; }));
    }
    s.aopcComprehensiveness = mean([](const ColumnFaithfulness& c) { return c.aopcComprehensiveness; });
    s.aopcSufficiency = mean([](const ColumnFaithfulness& c) { return c.aopcSufficiency; });
    s.deletionAuc = mean([](const ColumnFaithfulness& c) { return c.deletionAuc; });
    s.insertionAuc = mean([](const ColumnFaithfulness& c) { return c.insertionAuc; });
    s.kendallTau = mean([](const ColumnFaithfulness& c) { return c.kendallTau; });
    return s;
}

nlohmann::json toJson(const FaithfulnessReport& r) {
    nlohmann::json cols = nlohmann::json::array();
    for (const auto& c : r.columns) {
        cols.push_back({{"column", c.column},
                        {"candidates", c.candidates},
                        {"full_score", num(c.fullScore)},
                        {"empty_score", num(c.emptyScore)},
                        {"top_counts", c.topCounts},
                        {"comprehensiveness", nums(c.comprehensiveness)},
                        {"sufficiency", nums(c.sufficiency)},
                        {"aopc_comprehensiveness", num(c.aopcComprehensiveness)},
                        {"aopc_sufficiency", num(c.aopcSufficiency)},
                        {"curve_x", nums(c.curveX)},
                        {"deletion", nums(c.deletion)},
                        {"insertion", nums(c.insertion)},
                        {"deletion_auc", num(c.deletionAuc)},
                        {"insertion_auc", num(c.insertionAuc)},
                        {"leave_one_out", nums(c.leaveOneOut)},
                        {"kendall_tau", num(c.kendallTau)}});
    }
    return {{"method", r.method},
            {"baseline", r.baseline},
            {"target", r.target},
            {"fractions", r.settings.fractions},
            {"columns", cols},
            {"mean",
             {{"comprehensiveness", nums(r.mean.comprehensiveness)},
              {"sufficiency", nums(r.mean.sufficiency)},
              {"aopc_comprehensiveness", num(r.mean.aopcComprehensiveness)},
              {"aopc_sufficiency", num(r.mean.aopcSufficiency)},
              {"deletion_auc", num(r.mean.deletionAuc)},
              {"insertion_auc", num(r.mean.insertionAuc)},
              {"kendall_tau", num(r.mean.kendallTau)}}}};
}

EvidenceRank evidenceRank(std::span<const double> scores, std::span<const int64_t> evidence) {
    EvidenceRank r;
    auto value = [&](int64_t i) {
        const double x = scores[static_cast<size_t>(i)];
        return std::isfinite(x) ? x : -std::numeric_limits<double>::infinity();
    };
    std::vector<uint8_t> isEvidence(scores.size(), 0);
    bool any = false;
    double best = -std::numeric_limits<double>::infinity();
    for (int64_t e : evidence) {
        if (e < 0 || static_cast<size_t>(e) >= scores.size()) continue;
        isEvidence[static_cast<size_t>(e)] = 1;
        best = any ? std::max(best, value(e)) : value(e);
        any = true;
    }
    if (!any) return r;
    int64_t above = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
        if (!isEvidence[i] && value(static_cast<int64_t>(i)) >= best) ++above;
    }
    r.rank = static_cast<double>(above + 1);
    r.hitAt1 = above == 0;
    r.reciprocal = 1.0 / r.rank;
    return r;
}

double randomHitAt1(int64_t m, int64_t e) {
    if (m <= 0 || e <= 0) return kNaN;
    return static_cast<double>(std::min(e, m)) / static_cast<double>(m);
}

double randomReciprocalRank(int64_t m, int64_t e) {
    if (m <= 0 || e <= 0) return kNaN;
    e = std::min(e, m);
    // P(best evidence rank = r) = C(m − r, e − 1) / C(m, e).
    double sum = 0;
    for (int64_t r = 1; r <= m - e + 1; ++r) sum += std::exp(logChoose(m - r, e - 1) - logChoose(m, e)) / static_cast<double>(r);
    return sum;
}

} // namespace tokenlens::analysis
