#pragma once
// Writing and reading the result JSON. Round trips are exact: floats are
// written as the shortest decimal that reads back to the same float32, NaN as
// null. The reader rejects malformed files with a message naming the key.

#include "result/job_result.h"
#include "util/result.h"

#include <filesystem>
#include <string>

namespace tokenlens {

nlohmann::json toJson(const JobResult& job);
nlohmann::json toJson(const MethodResult& result);
std::string writeResultJson(const JobResult& job, int indent = 1);

// `source` names the file (or "request body") in messages.
Result<JobResult> readResultJson(const std::string& text, const std::string& source);
Result<JobResult> jobFromJson(const nlohmann::json& j, const std::string& source);
Result<JobResult> readResultFile(const std::filesystem::path& file);

} // namespace tokenlens
