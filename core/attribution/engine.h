#pragma once
// Runs attribution for one model and one prompt: tokenizes, generates (or
// tokenizes the forced target), computes step scores, then every requested
// method. A failing method fails alone; the others still complete.

#include "analysis/segments.h"
#include "attribution/method.h"
#include "model/generation.h"
#include "model/model_loader.h"
#include "result/job_result.h"
#include "run/job.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

// A Job (run/job.h) as the engine sees it: `input` is the text the models
// see, `targetText` the forced continuation. Keys of the job's options that
// are not method options: max_new_tokens, sample, temperature, top_k, top_p,
// seed, stop_at_eos, truncate ("none" | "left"), faithfulness, granularity
// (with "segments": [{start, end, label}] for spans), and
// "methods": {id: {per-method options}}.

// The validated job options with defaults filled in (engine keys only).
// Option "chat": how a job's messages are rendered.
//   {"raw": false, "template": "default", "vars": {"enable_thinking": false}, "date": "2026-07-26"}
// raw: ignore the model's chat template (the messages' contents joined, one
// per line); template: which of the folder's templates; vars: extra template
// variables; date: what strftime_now() prints (default: today).
struct ChatOptions {
    bool raw = false;
    std::string templateName;
    nlohmann::json vars = nlohmann::json::object();
    std::optional<std::string> date; // YYYY-MM-DD
};

struct EngineOptions {
    int64_t maxNewTokens = 8;
    // Options "granularity" and "segments" (analysis/segments.h).
    analysis::GranularitySpec granularity;
    GenerationOptions generation;
    bool truncateLeft = false;
    ChatOptions chat;
};

// Checks the job-level keys: unknown keys and bad engine values are errors
// naming the key. A method's own problems (unknown id, option out of range)
// are reported by methodOptions / runMethod and fail that method alone.
Result<EngineOptions> validateJob(const Job& job, const ModelConfig* config = nullptr);

// The options method `id` runs with: the shared keys it understands, then
// options["methods"][id] on top.
Result<nlohmann::json> methodOptions(const Job& job, const std::string& id,
                                     const ModelConfig* config = nullptr);

struct PreparedSequence {
    TokenSequence input;            // prompt (special tokens included)
    TokenSequence output;           // generated or forced
    std::string outputContinuation; // see MethodResult::outputContinuation
    StepScores scores;
    bool forced = false;
    bool truncated = false;
    std::vector<std::string> warnings;
    // A chat (job.messages): the messages, the template (none when raw or the
    // folder has none) and one segment per input token.
    nlohmann::json messages = nullptr;
    std::optional<ChatTemplateRef> chatTemplate;
    std::vector<TokenSegment> segments;
    // The job's granularity and, when it is not "token", the prompt's
    // segments (analysis::segmentPrompt over the prompt's token offsets).
    std::string granularity = "token";
    std::vector<PromptSegment> promptSegments;
};

Result<PreparedSequence> prepareSequence(const LoadedModel& model, const Job& job,
                                         const RunControl& control = {});

// Never throws: LibTorch errors and out-of-memory become a failed result.
MethodResult runMethod(const LoadedModel& model, const PreparedSequence& seq, const Job& job,
                       const std::string& methodId, const RunControl& control = {});

// The method's work estimate for this sequence (0 for unknown methods).
int64_t estimateMethodWork(const PreparedSequence& seq, const Job& job, const std::string& methodId);

// The option contrast_text of resolved method options, tokenized by the
// model's tokenizer without special tokens (empty when the option is unset);
// runMethod puts it in AttributionInput::contrastIds. A text that tokenizes
// to nothing is an error naming the option.
Result<std::vector<int64_t>> contrastTextIds(const LoadedModel& model, const nlohmann::json& resolvedOptions);

// The token whose embedding is the `unk` baseline: unk, else pad, else eos.
std::optional<int64_t> unkBaselineToken(const LoadedModel& model);

} // namespace tokenlens
