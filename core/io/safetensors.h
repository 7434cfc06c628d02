#pragma once
// Reading .safetensors files (single or sharded) as untrusted input.
//
// Format: 8-byte little-endian header length N, N bytes of JSON header
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}),
// then the tensor data. Offsets are relative to the start of the data block.
// Every length, offset and shape is checked against the file size and dtype;
// overlapping or missing tensors are reported by name. Files are memory-mapped.

#include "io/file_stamp.h"
#include "util/result.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace tokenlens {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

// "F32", "BF16", ... as written in safetensors headers.
const char* dtypeName(DType d);
// "float32", "bfloat16", ... as written in config.json's torch_dtype.
const char* dtypeTorchName(DType d);
size_t dtypeSize(DType d);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t dataBegin = 0; // relative to the data block
    uint64_t dataEnd = 0;
    int64_t numel() const;
};

struct SafetensorsHeader {
    uint64_t headerLength = 0;           // N
    std::vector<TensorInfo> tensors;     // sorted by dataBegin
    std::map<std::string, std::string> metadata;
};

// Largest JSON header accepted (real checkpoints stay far below this).
constexpr uint64_t kMaxSafetensorsHeader = 100ull * 1024 * 1024;

// Parses and validates the header of a file whose first bytes are `prefix`
// and whose total size is `fileSize`. `prefix` must hold at least 8 + N bytes
// (or the whole file if it is shorter). `fileName` is used in messages only.
// This is the function the fuzz target drives.
Result<SafetensorsHeader> parseSafetensorsHeader(std::span<const std::byte> prefix, uint64_t fileSize,
                                                 const std::string& fileName);

// A memory-mapped safetensors file.
class SafetensorsFile {
public:
    static Result<std::shared_ptr<SafetensorsFile>> open(const std::filesystem::path& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::filesystem::path& path() const { return m_path; }
    // The file as it was when mapped (io/file_stamp.h: checkUnchanged).
    const FileStamp& stamp() const { return m_stamp; }
    const SafetensorsHeader& header() const { return m_header; }
    const TensorInfo* find(const std::string& name) const;
    // The raw bytes of a tensor (little-endian, dtype as stored).
    std::span<const std::byte> bytes(const TensorInfo& t) const;

private:
    SafetensorsFile() = default;
    std::filesystem::path m_path;
    FileStamp m_stamp;
    SafetensorsHeader m_header;
    const std::byte* m_map = nullptr;
    size_t m_mapSize = 0;
    uint64_t m_dataOffset = 0; // 8 + N
    std::map<std::string, size_t> m_index;
};

// All weights of a model folder: model.safetensors, or the shards named by
// model.safetensors.index.json (every tensor in the weight map must exist in
// its shard; a tensor present in two shards is an error).
class WeightSet {
public:
    static Result<WeightSet> openFolder(const std::filesystem::path& dir);

    struct Entry {
        const TensorInfo* info = nullptr;
        const SafetensorsFile* file = nullptr;
    };
    const Entry* find(const std::string& name) const;
    std::vector<std::string> names() const;
    const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return m_files; }
    int64_t parameterCount() const;
    // The dtype most tensors are stored in ("dtype on disk"), by byte count.
    DType dominantDType() const;
    // Bytes of tensor data over all files.
    uint64_t totalBytes() const;
    // model.safetensors, or model.safetensors.index.json for sharded weights.
    const std::filesystem::path& source() const { return m_source; }

private:
    std::filesystem::path m_source;
    std::vector<std::shared_ptr<SafetensorsFile>> m_files;
    std::map<std::string, Entry> m_entries;
};

// Converts `count` elements stored as `src` (F32/F16/BF16/F64) to float32.
// Returns false for non-floating dtypes, and when `bytes` holds fewer than
// `count` elements. `bytes` need not be aligned.
bool convertToFloat32(DType src, std::span<const std::byte> bytes, float* out, size_t count);

// Single-element conversions (IEEE binary16 incl. subnormals/inf/NaN; bfloat16).
float halfBitsToFloat(uint16_t bits);
float bfloat16BitsToFloat(uint16_t bits);

} // namespace tokenlens
