#pragma once
// Text exports of a result: the token importance table (seed eq. 6, one
// column per method of a model) in Markdown or LaTeX, and one pair's matrix
// as CSV (rows: context tokens, columns: output tokens), as the app's
// Export menu and `tokenlens-cli export` write them. docs/export.md.

#include "result/job_result.h"

#include <string>

namespace tokenlens {

// One table per model; rows x_i then y_j, a column per completed method.
std::string importanceMarkdown(const JobResult& job);
std::string importanceLatex(const JobResult& job);
// The raw matrix of result `pair` with "x0 The" / "y0 cat" labels.
std::string pairMatrixCsv(const JobResult& job, size_t pair);

} // namespace tokenlens
