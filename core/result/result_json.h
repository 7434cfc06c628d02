#pragma once
// Writing and reading the result JSON. Round trips are exact: floats are
// written as the shortest decimal that reads back to the same float32, NaN as
// null. The reader rejects malformed files with a message naming the key.

#include "result/job_result.h"
#include "util/result.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>

namespace tokenlens {

// Large matrices may be kept outside the JSON (schema "tokenlens.job/3"):
// a result's "attribution" then holds
//   "raw_ref": {"tensor": NAME, "shape": [rows, cols], "dtype": "F32"}
// instead of "raw", and the matrix is a float32 tensor of that name in the
// result's sidecar (result_sidecar.h) or the store's blob (core/jobs).
constexpr int64_t kAllInline = std::numeric_limits<int64_t>::max();
// The tensor name of results[index].attribution.raw in a sidecar.
std::string rawTensorName(size_t index);

// A result's raw matrix whose cells are more than `inlineMaxCells` is
// written as a raw_ref to rawTensorName(i) (toJson(JobResult)) or to
// `rawRef` (toJson(MethodResult), when not empty).
nlohmann::json toJson(const JobResult& job, int64_t inlineMaxCells = kAllInline);
nlohmann::json toJson(const MethodResult& result, const std::string& rawRef = {});
std::string writeResultJson(const JobResult& job, int indent = 1);

// Resolves a raw_ref: the float32 matrix `tensor` of rows x cols, or an
// error naming the file it should come from.
using MatrixSource = std::function<Result<AttributionMatrix>(const std::string& tensor, int64_t rows, int64_t cols)>;

// `source` names the file (or "request body") in messages. `dir`: the
// folder of the file, where a sidecar it names is looked for (empty: a
// result that names one is refused, saying so).
Result<JobResult> readResultJson(const std::string& text, const std::string& source,
                                 const std::filesystem::path& dir = {});
// `matrices` resolves raw_refs (null: a raw_ref is an error); readResultJson
// passes the sidecar named by the JSON's "sidecar" key.
Result<JobResult> jobFromJson(const nlohmann::json& j, const std::string& source,
                              const MatrixSource* matrices = nullptr);
Result<JobResult> readResultFile(const std::filesystem::path& file);

} // namespace tokenlens
