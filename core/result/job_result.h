#pragma once
// A finished (or partly finished) job in the contract's result JSON shape
// (schema "tokenlens.job/1"; "tokenlens.job/2" when a result is a chat, see
// docs/attribution-contract.md).

#include "result/attribution_matrix.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace tokenlens {

struct TokenSequence {
    std::string text;
    std::vector<std::string> tokens; // display strings
    std::vector<int64_t> ids;
    bool operator==(const TokenSequence&) const = default;
};

// Where a context token of a chat comes from: the role of its message
// ("system", "user", "assistant", ...) and the message's index, or the role
// "template" (message -1) for what the chat template wrote around them
// (role markers, BOS, separators).
struct TokenSegment {
    std::string role;
    int message = -1;
    bool operator==(const TokenSegment&) const = default;
};

// The chat template a chat result was rendered with.
struct ChatTemplateRef {
    std::string name;
    std::string sha256;
    bool operator==(const ChatTemplateRef&) const = default;
};

// A segment of the prompt (job option "granularity", analysis/segments.h):
// prompt tokens [tokenStart, tokenEnd), the characters (Unicode code points)
// [charStart, charEnd) of the prompt text it stands for, and the user's label
// (spans) or "".
struct PromptSegment {
    int64_t tokenStart = 0;
    int64_t tokenEnd = 0;
    int64_t charStart = 0;
    int64_t charEnd = 0;
    std::string label;
    bool operator==(const PromptSegment&) const = default;
};

enum class RunStatus { Completed, Failed, Cancelled };
const char* runStatusName(RunStatus s);

// One (model, method) pair.
struct MethodResult {
    std::string model;
    std::string method;
    RunStatus status = RunStatus::Completed;
    std::optional<std::string> error;
    TokenSequence input;                    // the prompt as this model's tokenizer split it
    TokenSequence output;
    // The output as it continues the prompt's text, when that differs from
    // output.text (the output decoded alone): decoding loses the space before
    // the first output token with word-level and SentencePiece tokenizers.
    // Follow-up turns join the conversation with it. Empty: output.text.
    std::string outputContinuation;
    std::vector<std::string> contextTokens; // n + t: input tokens then output tokens
    AttributionMatrix raw;                  // (n+t) x t
    std::string targetFn;                   // empty for attention
    std::string reduction;                  // empty where it does not apply
    std::vector<double> convergenceDelta;   // integrated_gradients, attnlrp, cp_lrp (t)
    std::vector<double> fInput, fBaseline;  // integrated_gradients, attnlrp, cp_lrp (t)
    // context_cite: its features, prompt token ranges [start, end).
    std::vector<std::pair<int64_t, int64_t>> featureSegments;
    std::vector<double> stepProbability;    // t
    std::vector<double> stepEntropy;        // t
    std::vector<std::string> warnings;      // for people: what is off and what to do
    nlohmann::json options = nlohmann::json::object(); // the method's options as run
    double seconds = 0;
    // Peak resident memory of the process while the pair ran (method and
    // faithfulness stage), in bytes; 0 when not measured (util/peak_rss.h).
    int64_t peakRssBytes = 0;
    // The faithfulness stage's report (analysis::toJson(FaithfulnessReport)),
    // null when the job did not ask for it.
    nlohmann::json faithfulness = nullptr;
    // A chat: the messages (null for plain text), the template, and one
    // segment per context token (n + t; the output tokens are the reply's).
    nlohmann::json messages = nullptr;
    std::optional<ChatTemplateRef> chatTemplate;
    std::vector<TokenSegment> segments;
    // The job's granularity ("token" when it has none) and, when it is not
    // "token", the prompt's segments (covering tokens 0..n-1 in order).
    // Perturbation methods perturbed these segments as whole features (their
    // options then hold "granularity"); for every method they are what the
    // views fold and sum rows into.
    std::string granularity = "token";
    std::vector<PromptSegment> promptSegments;
    bool operator==(const MethodResult&) const = default;
};

struct JobResult {
    std::string schema = "tokenlens.job/1";
    std::string jobId;
    std::string createdAt;   // ISO-8601
    std::string completedAt; // ISO-8601
    TokenSequence input;
    nlohmann::json options = nlohmann::json::object();
    std::vector<MethodResult> results;
    bool operator==(const JobResult&) const = default;
};

// Current UTC time as ISO-8601 with seconds ("2026-11-26T14:11:51Z").
std::string isoNow();

} // namespace tokenlens
