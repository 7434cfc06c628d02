#pragma once
// Context windows of the seed paper on the prompt block of an attribution
// matrix (docs/aggregations.md, "Windows"). n = prompt length, t = A.cols.
//
// The window size c must satisfy 1 ≤ c ≤ ⌊min(n,t)/2⌋. The window functions
// accept any c: c ≤ 0 means "the token alone" (no window) and c above the
// maximum is lowered to it (effectiveWindow). NaN entries are skipped in every
// mean; a mean over NaN entries only is NaN.

#include "result/attribution_matrix.h"

#include <cstdint>
#include <vector>

namespace tokenlens::analysis {

// ⌊min(n,t)/2⌋, or 0 when min(n,t) < 2 (no admissible window: the token alone).
int64_t maxWindow(int64_t n, int64_t t);

// c clamped into [1, maxWindow(n,t)]; 0 when maxWindow(n,t) is 0. For UI
// controls: a window of at least 1 whenever one is admissible.
int64_t clampWindow(int64_t c, int64_t n, int64_t t);

// The window the window functions actually use: 0 when c ≤ 0 (the token
// alone), else clampWindow(c, n, t).
int64_t effectiveWindow(int64_t c, int64_t n, int64_t t);

// Input-centred window (eq. 4): for prompt token x_i (0 ≤ i < n), one value per
// output token y_j (t values):
//   W_in(i,c)[j] = mean_{k = max(0,i−c) .. min(n−1,i+c)} A[k,j]
// with c = effectiveWindow(c, n, t). i outside [0, n) gives an empty vector.
// promptLength is clamped to [0, A.rows].
std::vector<double> inputCentredWindow(const AttributionMatrix& a, int64_t promptLength, int64_t i,
                                       int64_t c);

// Output-centred window (eq. 5): for output token y_j (0 ≤ j < t), one value per
// prompt token x_i (n values), or per context row of X ⊕ Y (A.rows = n+t
// values) when includeOutputRows is true:
//   W_out(j,c)[r] = mean_{l = max(0,j−c) .. min(t−1,j+c)} A[r,l]
// with c = effectiveWindow(c, n, t). Output rows are NaN in the columns they do
// not precede, which the mean skips (a row NaN in the whole window stays NaN).
// j outside [0, t) gives an empty vector.
std::vector<double> outputCentredWindow(const AttributionMatrix& a, int64_t promptLength, int64_t j,
                                        int64_t c, bool includeOutputRows = false);

} // namespace tokenlens::analysis
