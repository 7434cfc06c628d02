#pragma once
// Intensity (seed eq. 7) and the display normalisations of an attribution
// matrix (docs/aggregations.md, "Intensity and normalisation").
//
// Only finite entries define the parameters (min, max, column sums). NaN and
// ±inf entries are "no value": they come out as NaN.

#include "result/attribution_matrix.h"

#include <cmath>
#include <cstdint>
#include <span>

namespace tokenlens::analysis {

enum class NormScope {
    Matrix,       // eq. 7: min–max over all finite entries of the rows used → [0,1]
    ColumnMinMax, // the same min–max, per column
    ColumnL1,     // |A[i,j]| / Σ_i |A[i,j]| per column (Inseq's view): each column sums to 1
};

// Smallest and largest finite value; both NaN when there is no finite value.
struct Range {
    double min;
    double max;
    bool valid() const { return !std::isnan(min) && !std::isnan(max); }
};

Range finiteRange(std::span<const double> values);
// Over rows [0, rowsUsed) of the matrix (all rows when rowsUsed < 0 or
// rowsUsed ≥ A.rows).
Range finiteRange(const AttributionMatrix& a, int64_t rowsUsed = -1);
// Over rows [0, rowsUsed) of column col (col out of range → invalid range).
Range finiteColumnRange(const AttributionMatrix& a, int64_t col, int64_t rowsUsed = -1);

// Intensity of one value (eq. 7): (v − min) / (max − min).
// NaN when v is not finite or min/max is not finite; 0 when max ≤ min (a
// constant matrix). Values outside [min, max] map outside [0, 1] (no clamping).
double intensity(double v, double min, double max);
inline double intensity(double v, Range r) {
    return intensity(v, r.min, r.max);
}

// The normalised matrix, same shape as a (a malformed matrix, whose data size
// is not rows × cols, gives an empty 0×0 matrix):
//   Matrix:       N[i,j] = intensity(A[i,j], finiteRange(A, rowsUsed))
//   ColumnMinMax: N[i,j] = intensity(A[i,j], finiteColumnRange(A, j, rowsUsed))
//   ColumnL1:     N[i,j] = |A[i,j]| / S_j with S_j = Σ_{i < rowsUsed, finite} |A[i,j]|;
//                 0 for every finite entry of the column when S_j = 0.
// rowsUsed ≥ 0 restricts the parameters (range, column sum) to the first
// rowsUsed rows — the prompt block, rowsUsed = n. Rows beyond it are still
// transformed with those same parameters, so their values may fall outside
// [0, 1] (clamp for colour mapping if needed). When the rows used hold no
// finite entry (of the matrix, resp. of the column), the whole matrix (resp.
// column) becomes NaN.
AttributionMatrix normalize(const AttributionMatrix& a, NormScope scope, int64_t rowsUsed = -1);

} // namespace tokenlens::analysis
