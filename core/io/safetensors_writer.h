#pragma once
// Writing a .safetensors file tensor by tensor: the header is written first
// from the list of tensors (name, dtype, shape), then each tensor's bytes are
// appended in that order, in as many pieces as the caller likes. Nothing but
// the piece being written is held in memory, so a multi-gigabyte shard is
// written without holding its tensors.

#include "io/safetensors.h"
#include "util/result.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace tokenlens {

struct TensorSpec {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t byteSize() const;
};

class SafetensorsWriter {
public:
    // Creates (truncates) `file` and writes the header: the tensors are
    // stored in the order given, with "__metadata__": {"format": "pt"}.
    static Result<std::unique_ptr<SafetensorsWriter>> create(const std::filesystem::path& file,
                                                             const std::vector<TensorSpec>& tensors);
    // The next bytes of the current tensor; moves to the next tensor once
    // one is complete. Fails when more bytes arrive than the header declares.
    Status append(std::span<const std::byte> bytes);
    // Checks that every tensor was written in full and closes the file.
    Status finish();
    // Bytes of tensor data the header declares.
    uint64_t dataBytes() const { return m_total; }

private:
    SafetensorsWriter() = default;
    std::filesystem::path m_file;
    std::ofstream m_out;
    uint64_t m_total = 0;
    uint64_t m_written = 0;
};

} // namespace tokenlens
