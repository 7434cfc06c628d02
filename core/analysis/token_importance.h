#pragma once
// Token importance (seed eq. 6) on the prompt block of an attribution matrix:
// I(x_i) = Σ_j A[i,j] for the n prompt rows, I(y_j) = Σ_{i<n} A[i,j];
// NaN entries are skipped (a row or column with no finite entry gives NaN).

#include "result/attribution_matrix.h"

#include <vector>

namespace tokenlens::analysis {

struct TokenImportance {
    std::vector<double> input;  // n
    std::vector<double> output; // t
};

// promptLength n = matrix.rows - matrix.cols for contract matrices.
TokenImportance tokenImportance(const AttributionMatrix& a, int64_t promptLength);

} // namespace tokenlens::analysis
