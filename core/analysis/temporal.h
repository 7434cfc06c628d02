#pragma once
// Temporal importance over the turns of a conversation (seed eq. 11;
// docs/aggregations.md, "Temporal"). Turn t (1..k) has its own attribution
// matrix A^t whose prompt is the whole conversation so far, so the n_t prompt
// rows of turn t are the first n_t prompt rows of the last turn k.

#include "result/attribution_matrix.h"
#include "util/result.h"

#include <cstdint>
#include <vector>

namespace tokenlens::analysis {

// α_t = 1/k for t = 1..k (empty when k ≤ 0).
std::vector<double> uniformWeights(int64_t k);

// α_t ∝ 0.5^((k−t)/halfLife), t = 1..k, normalised to sum 1: the last turn
// weighs 1, a turn halfLife turns older weighs half as much. halfLife = +inf
// gives uniform weights; halfLife ≤ 0 or NaN is the limit halfLife → 0⁺, all
// weight on the last turn. Empty when k ≤ 0.
std::vector<double> recencyWeights(int64_t k, double halfLife);

// User-given weights, validated: exactly k values (Mismatch otherwise), each
// finite and ≥ 0, not all 0 (InvalidArgument otherwise); returned normalised
// to sum 1.
Result<std::vector<double>> customWeights(const std::vector<double>& weights, int64_t k);

// T(r) = Σ_{t=1..k} α_t · I^t(r) for every prompt row r of the last turn
// (n_k values), where I^t is the token importance of turn t (eq. 6: the row
// sum over turn t's columns, NaN skipped; tokenImportance()). A row that turn t
// does not have (r ≥ n_t), or whose importance is NaN (no finite entry), counts
// 0, so T is always finite for finite inputs.
// alphas are used as given (use the helpers above to normalise them).
// Errors (InvalidArgument): no turns; turns, promptLengths and alphas of
// different lengths; a non-finite α; a malformed matrix; n_t < 0, n_t > rows of
// A^t, or n_t > n_k.
Result<std::vector<double>> temporalImportance(const std::vector<AttributionMatrix>& turns,
                                               const std::vector<int64_t>& promptLengths,
                                               const std::vector<double>& alphas);

} // namespace tokenlens::analysis
