#pragma once
// Combining attribution matrices of the same prompt and output
// (docs/aggregations.md, "Multi-method" and "Difference"). The matrices must
// have the same shape — aligning rows and columns is the caller's job — else
// the result is an ErrorCode::Mismatch error.

#include "analysis/normalization.h"
#include "result/attribution_matrix.h"
#include "util/result.h"

#include <cstdint>
#include <vector>

namespace tokenlens::analysis {

// Multi-method matrix (eq. 10): M[i,j] = mean over the methods m of
// normalize(A^m, scope, rowsUsed)[i,j], averaging only the methods where that
// cell is finite (NaN when it is NaN in all of them).
// Errors: no matrix (InvalidArgument), a malformed matrix (InvalidArgument),
// shapes that differ (Mismatch).
Result<AttributionMatrix> multiMethod(const std::vector<AttributionMatrix>& methods, NormScope scope,
                                      int64_t rowsUsed = -1);

// Difference (§4.5): D[i,j] = A1[i,j] − A2[i,j]; NaN when either is NaN.
// Errors: malformed matrix (InvalidArgument), shapes that differ (Mismatch).
Result<AttributionMatrix> difference(const AttributionMatrix& a1, const AttributionMatrix& a2);

// Difference of the normalised matrices, for the diverging view:
// D = normalize(A1, scope, rowsUsed) − normalize(A2, scope, rowsUsed),
// values in [−1, 1] on the rows used. Same errors as difference().
Result<AttributionMatrix> differenceNormalized(const AttributionMatrix& a1, const AttributionMatrix& a2,
                                               NormScope scope, int64_t rowsUsed = -1);

} // namespace tokenlens::analysis
