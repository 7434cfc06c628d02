#pragma once
// The prompt's own text of a segment (analysis/segments.h), as the views and
// the exported HTML page show it. Plain C++ (no LibTorch, no Qt); kept out
// of segments.h, which the engine's headers include.

#include "result/job_result.h"

#include <string>

namespace tokenlens::analysis {

// Characters [charStart, charEnd) of `text` (code points of UTF-8), runs of
// whitespace folded to one space and trimmed. Empty when the segment has no
// characters or they do not fit the text (the caller then joins the tokens'
// texts).
std::string segmentText(const std::string& text, const PromptSegment& segment);

} // namespace tokenlens::analysis
