#pragma once
// Statistics of attribution vectors for the views (docs/aggregations.md,
// "Statistics"). Only finite values count: NaN and ±inf are skipped (never an
// error), and the "no value" results are NaN (or empty).

#include "analysis/normalization.h"

#include <cstdint>
#include <span>
#include <vector>

namespace tokenlens::analysis {

// Indices of the k largest finite values, largest first; equal values in
// index order (lower index first). Fewer than k finite values → all of them;
// k ≤ 0 → empty.
std::vector<int64_t> topK(std::span<const double> values, int64_t k);

// Rank of each value, 1 = largest, ties broken by the lower index (so that
// rank[topK(v, k)[m]] = m + 1). Non-finite values get rank 0 (unranked).
std::vector<int64_t> rank(std::span<const double> values);

// Fractional ("average") ranks, 1 = largest: tied values share the mean of the
// ranks they occupy ((3, 5, 5, 1) → (3, 1.5, 1.5, 4)). Non-finite → NaN.
std::vector<double> averageRank(std::span<const double> values);

// Equal-width histogram of the finite values. Bin b covers
// [min + b·w, min + (b+1)·w), w = (max − min)/bins, the last bin also holds
// max. With max = min (a constant input, or a one-point range) every value
// equal to min is counted in bin 0.
struct Histogram {
    double min = 0.0;
    double max = 0.0;
    std::vector<int64_t> counts; // bins entries
    int64_t outside = 0;         // finite values outside [min, max] (explicit range only)
    double binWidth() const {
        return counts.empty() ? 0.0 : (max - min) / static_cast<double>(counts.size());
    }
    double edge(int64_t b) const { return min + static_cast<double>(b) * binWidth(); }
};
// Over the range of the finite values themselves (finiteRange). No finite
// value → every count 0 and min = max = NaN. bins ≤ 0 → no bins.
Histogram histogram(std::span<const double> values, int64_t bins);
// Over a given range, so that several histograms share their bins; finite
// values outside it are counted in `outside`. An invalid range (NaN, or
// max < min) counts every finite value as outside.
Histogram histogram(std::span<const double> values, int64_t bins, Range range);

// Spearman's ρ: the Pearson correlation of the average ranks of x and y,
// computed over the positions where both are finite. NaN when x and y differ in
// length, fewer than 2 such pairs remain, or either side is constant there.
double spearman(std::span<const double> x, std::span<const double> y);

// Kendall's τ_b over the positions where both are finite:
//   τ_b = (n_c − n_d) / sqrt((n_0 − n_1)(n_0 − n_2)),
// n_0 = m(m−1)/2 pairs, n_c / n_d concordant / discordant pairs (a pair tied in
// x or in y is neither), n_1 = Σ u(u−1)/2 over groups of u tied x values, n_2
// the same for y. NaN when the lengths differ, m < 2, or the denominator is 0.
double kendallTauB(std::span<const double> x, std::span<const double> y);

// Gini coefficient of |v| over the m finite values (mean-difference form):
//   G = Σ_i Σ_j |a_i − a_j| / (2 m² ā),  a_i = |v_i|, ā = mean of a.
// 0 = all equal, (m−1)/m = all mass on one value ((1,0,0,0) → 0.75).
// NaN when m = 0 or every a_i is 0 (0/0).
double gini(std::span<const double> values);

// Normalised Shannon entropy of |v| over the m finite values:
//   p_i = |v_i| / Σ|v|,  H = −Σ_{p_i > 0} p_i ln p_i / ln m   ∈ [0, 1].
// 1 = uniform, 0 = all mass on one value. NaN when m < 2 (ln m = 0) or every
// value is 0.
double normalizedEntropy(std::span<const double> values);

} // namespace tokenlens::analysis
