#pragma once
// The sidecar of a result file: its large attribution matrices as float32
// tensors of a safetensors file beside the JSON, so that opening a 4,096 x
// 1,024 result copies bytes instead of parsing millions of JSON numbers.
// The JSON stays readable by scripts (tokens, options, aggregations, step
// scores); each large matrix is a "raw_ref" (result_json.h) and the JSON
// names the file:
//
//   "sidecar": {"file": "result.matrices.safetensors", "bytes": N,
//               "sha256": "…", "crc32": "…"}
//
// `file` is a plain name in the JSON's folder. On open the size and the
// CRC-32 are checked (the SHA-256 is for people and scripts:
// `sha256sum`); a missing, cut or altered sidecar is refused naming it.

#include "result/result_json.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tokenlens {

// Matrices with more cells than this go to the sidecar when a result file
// is written (65,536 = 256 x 256, about 0.7 MB of JSON); smaller ones stay
// inline, so small results are one file as before.
constexpr int64_t kInlineMaxCells = 65536;

// "<stem>.matrices.safetensors" beside `jsonPath` ("result.json" ->
// "result.matrices.safetensors"). Never "<stem>.safetensors", which would
// be a model's weights when a result is saved as "model.json" in its folder.
std::filesystem::path sidecarPathFor(const std::filesystem::path& jsonPath);

class ResultSidecar {
public:
    // The float32 tensor `name` of shape rows x cols, or an error naming the file.
    Result<AttributionMatrix> matrix(const std::string& name, int64_t rows, int64_t cols) const;
    const std::filesystem::path& path() const { return m_path; }

private:
    friend Result<std::shared_ptr<const ResultSidecar>> openSidecar(const nlohmann::json&, const std::string&,
                                                                   const std::filesystem::path&);
    std::filesystem::path m_path;
    std::string m_bytes; // the whole file
    struct Tensor {
        std::vector<int64_t> shape;
        uint64_t begin = 0, end = 0; // absolute offsets in m_bytes
    };
    std::vector<std::pair<std::string, Tensor>> m_tensors;
};

// Opens the sidecar a result JSON's "sidecar" object names, in `dir`;
// `source` (the JSON's name) goes into messages.
Result<std::shared_ptr<const ResultSidecar>> openSidecar(const nlohmann::json& ref, const std::string& source,
                                                       const std::filesystem::path& dir);

// For a result JSON value `j` read from a file in `dir`: a MatrixSource
// reading the sidecar j["sidecar"] names (it keeps the file's bytes), or a
// null MatrixSource when there is none; an error naming the sidecar when it
// is missing or damaged. For readers that parse the JSON themselves
// (jobs import) before jobFromJson.
Result<MatrixSource> sidecarSource(const nlohmann::json& j, const std::string& source, const std::filesystem::path& dir);

// Writes a result file: `j` (toJson(job, kInlineMaxCells), or a JSON built
// from it such as jobs::exportJson) to `jsonPath` and, when some result has
// a raw_ref, the sidecar (sidecarPathFor) holding those matrices of `job`
// (results in the same order as j["results"]). The sidecar is written
// first, each file all or nothing; `j` gets its "sidecar" key.
Status writeResultFiles(const std::filesystem::path& jsonPath, nlohmann::json j, const JobResult& job, int indent = 1);

} // namespace tokenlens
