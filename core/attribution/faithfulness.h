#pragma once
// The optional faithfulness stage of a job: ERASER comprehensiveness and
// sufficiency (AOPC), deletion/insertion curves with AUC and Kendall τ
// against leave-one-out, for every output token of one method's result.
// Removing a context token replaces its embedding by the baseline (zero
// embedding by default, or the unk token's embedding) — the same removal
// occlusion and integrated gradients use; the score is the probability of the
// output token, teacher-forced. Formulas: analysis/faithfulness.h.

#include "analysis/faithfulness.h"
#include "attribution/method.h"
#include "model/model_loader.h"
#include "result/job_result.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

struct FaithfulnessOptions {
    std::string baseline = "zero"; // "zero" | "unk"
    analysis::FaithfulnessSettings settings;
    bool keepSpecialTokens = true; // special tokens (BOS, ...) are never removed nor ranked
    int64_t maxBatch = 64;         // perturbed sequences per forward pass
};

// Reads {"baseline", "fractions", "max_curve_points", "curves",
// "leave_one_out", "keep_special_tokens", "max_batch"}; unknown keys are errors.
Result<FaithfulnessOptions> faithfulnessOptionsFromJson(const nlohmann::json& options);

// The sequence prompt ⊕ output and its (n+t) x t matrix. `protectedPositions`
// are never removed nor ranked. Fails with ErrorCode::Cancelled when cancelled.
Result<analysis::FaithfulnessReport> computeFaithfulness(const CausalLM& model, const std::vector<int64_t>& promptIds,
                                                         const std::vector<int64_t>& outputIds,
                                                         const AttributionMatrix& matrix,
                                                         const std::vector<int64_t>& protectedPositions,
                                                         std::optional<int64_t> unkId,
                                                         const FaithfulnessOptions& options,
                                                         const RunControl& control = {});

// For a completed MethodResult of `model` (special tokens found with its tokenizer).
Result<analysis::FaithfulnessReport> computeFaithfulness(const LoadedModel& model, const MethodResult& result,
                                                         const FaithfulnessOptions& options = {},
                                                         const RunControl& control = {});

// Work units (sequence positions pushed through the model) of the stage, an
// upper bound (special tokens, which are not removed, are counted); the
// stage's own progress reports use the exact total.
int64_t estimateFaithfulnessWork(int64_t n, int64_t t, const FaithfulnessOptions& options);

// The faithfulness stage of a job: job option "faithfulness" is true, or an
// object of the keys faithfulnessOptionsFromJson reads; nullopt when absent
// or false. Errors name the key ("option 'faithfulness.baseline' ...").
Result<std::optional<FaithfulnessOptions>> jobFaithfulnessOptions(const nlohmann::json& jobOptions);

// Runs the stage on a completed result and stores the report in
// result.faithfulness. A failure adds a warning and leaves the attribution
// as it is; so does a cancel, which returns false.
bool attachFaithfulness(const LoadedModel& model, MethodResult& result, const FaithfulnessOptions& options,
                        const RunControl& control = {});

} // namespace tokenlens
