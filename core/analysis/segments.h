#pragma once
// Segments of a prompt: the job option "granularity" (docs/methods.md,
// "Granularity"). A segmentation splits the prompt text into consecutive
// ranges — words, sentences, lines, paragraphs, or the user's own spans (RAG
// documents) — and maps every prompt token to one of them by its offsets in
// the text, so a segment is a run of whole tokens. Perturbation methods then
// perturb whole segments; any method's matrix can be summed into one row per
// segment for display.
//
// Positions in a granularity spec and in PromptSegment::charStart/charEnd are
// characters (Unicode code points) of the prompt text, as a Python script
// indexes a str; token offsets from the tokenizer are bytes, converted here.
//
// Plain C++ (no LibTorch, no Qt).

#include "result/attribution_matrix.h"
#include "result/job_result.h"
#include "util/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tokenlens::analysis {

enum class Granularity { Token, Word, Sentence, Line, Paragraph, Spans };
const char* granularityName(Granularity g);

struct UserSpan {
    int64_t start = 0; // characters, [start, end)
    int64_t end = 0;
    std::string label;
};

struct GranularitySpec {
    Granularity kind = Granularity::Token;
    std::vector<UserSpan> spans; // kind == Spans, in the order given
    bool isToken() const { return kind == Granularity::Token; }
};

// Reads the job options "granularity" ("token" | "word" | "sentence" | "line"
// | "paragraph" | "spans") and "segments" (with spans: [{"start", "end",
// "label"}, ...], characters of the prompt; an array of segments alone
// implies "spans"). Errors name the option ("option 'segments[1].end' ...").
// Range checks that need the text are made by segmentPrompt.
// A string-valued "segments" is context_cite's own option and is not read here.
Result<GranularitySpec> granularityFromOptions(const nlohmann::json& options);
// The spec back as job options (the inverse of granularityFromOptions):
// {"granularity": "word"} or {"granularity": "spans", "segments": [...]}.
nlohmann::json toJson(const GranularitySpec& spec);

// Token i of the prompt covers bytes offsets[i] = [begin, end) of `text`
// (Encoding::offsets); special[i] (may be empty) marks tokens the tokenizer
// added (BOS, ...), which become segments of their own when they cover no
// text. A token joins the segment holding its first non-space byte (its first
// byte when it holds only spaces, its position when it is empty), so " world"
// goes with "world" and "\n\n" with the paragraph it ends. Segments that get
// no token are dropped (a user span that gets none is an error naming it);
// prompt text outside the user's spans forms unlabelled segments of its own.
// A segment's characters are those its tokens span (a user span's: the
// user's range). Errors: spans out of the text's range, empty, or
// overlapping; offsets that do not fit the text.
Result<std::vector<PromptSegment>> segmentPrompt(const std::string& text,
                                                 const std::vector<std::pair<size_t, size_t>>& offsets,
                                                 const std::vector<bool>& special, const GranularitySpec& spec);

// The text of display tokens joined, with each token's byte offsets in it:
// for sequences whose original text and offsets are not at hand.
std::pair<std::string, std::vector<std::pair<size_t, size_t>>> joinTokens(const std::vector<std::string>& tokens);

// Checks that segments cover prompt tokens 0..n-1 in order, without gaps.
Status checkSegments(const std::vector<PromptSegment>& segments, int64_t n);

// The token ranges [start, end) of the segments.
std::vector<std::pair<int64_t, int64_t>> tokenRanges(const std::vector<PromptSegment>& segments);

// Rows of the (n+t) x t matrix summed into one row per prompt segment, then
// the t output rows as they are: (segments + t) x t. A sum over NaN entries
// only is NaN (the output rows' future); NaN entries are otherwise skipped.
// `segments` must cover rows 0..n-1 (checkSegments), n = rows - cols.
AttributionMatrix sumIntoSegments(const AttributionMatrix& m, const std::vector<PromptSegment>& segments);

} // namespace tokenlens::analysis
