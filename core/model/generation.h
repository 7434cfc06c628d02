#pragma once
// Greedy and sampled generation with a KV cache, forced decoding of a given
// continuation, and the per-token step scores of the attribution contract.

#include "model/causal_lm.h"
#include "util/result.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace tokenlens {

struct GenerationOptions {
    int64_t maxNewTokens = 16;
    bool sample = false;      // greedy (argmax) unless set
    double temperature = 1.0; // > 0
    int64_t topK = 0;         // 0 = off
    double topP = 1.0;        // (0, 1]; 1 = off
    uint64_t seed = 0;
    // Generation stops after emitting any id of the model's eos_token_id
    // (an int or a list, from generation_config.json, then config.json) or
    // of stopIds, which a caller adds to (e.g. a chat template's end-of-turn
    // token such as <|im_end|> or <end_of_turn>). stopAtEos false ignores both.
    bool stopAtEos = true;
    std::vector<int64_t> stopIds;
    bool useCache = true;     // false recomputes the whole sequence every step
    // Single-token steps run on the calling thread alone (SerialScope,
    // model/serial_scope.h); false leaves them to the thread's ATen setting
    // (for benchmarks comparing the two).
    bool serialSteps = true;
    // Checked between tokens; a true return stops generation (result flagged cancelled).
    std::function<bool()> isCancelled;
    std::function<void(int64_t done, int64_t total)> onProgress;
};

struct StepScores {
    std::vector<double> probability; // softmax(logits_{p_j})[y_j]
    std::vector<double> entropy;     // -sum p log p (natural log)
};

struct Generation {
    std::vector<int64_t> ids; // the new tokens only
    StepScores scores;
    bool stoppedAtEos = false; // the last id is a stop id (eos_token_id or GenerationOptions::stopIds)
    bool cancelled = false;
};

// Fails (InvalidArgument) for an empty prompt, options out of range, or a
// prompt + new tokens longer than the model's positions.
Result<Generation> generate(const CausalLM& model, std::span<const int64_t> promptIds,
                            const GenerationOptions& options);

// Teacher-forced scores of a user-given continuation (no sampling).
Result<Generation> scoreContinuation(const CausalLM& model, std::span<const int64_t> promptIds,
                                     std::span<const int64_t> continuationIds);

// Probability of `targets[j]` and entropy of row j of `logits` (t, vocab).
StepScores stepScores(const at::Tensor& logits, std::span<const int64_t> targets);

// The ids that end generation: the config's eos_token_id list, then
// options.stopIds not already in it.
std::vector<int64_t> stopIdsFor(const ModelConfig& config, const GenerationOptions& options);

// n prompt tokens + extra new tokens must fit the model's max positions.
Status checkSequenceLength(const ModelConfig& config, int64_t promptTokens, int64_t newTokens);

} // namespace tokenlens
