#pragma once
// Batch files (.jsonl): one job per line. A line is
//   - a JSON string: the prompt ("\"What is 2+2?\""),
//   - a JSON object: a job (the job file's keys; missing ones from the defaults),
//   - anything else: the prompt as plain text (the line without its newline).
// Blank lines are skipped. A line that starts like JSON ('{' or '"') but is
// not valid JSON, or an object with bad keys, is an error reported with its
// line number; the other lines are still read.

#include "jobs/job_types.h"

#include <string>
#include <vector>

namespace tokenlens::jobs {

struct BatchError {
    int line = 0; // 1-based
    std::string message;
};

struct BatchLine {
    int line = 0;
    Job spec;
};

struct ParsedBatch {
    std::vector<BatchLine> jobs;
    std::vector<BatchError> errors;
};

ParsedBatch parseBatch(const std::string& text, const Job& defaults, const std::string& source);

} // namespace tokenlens::jobs
