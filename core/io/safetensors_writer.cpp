#include "io/safetensors_writer.h"

#include <nlohmann/json.hpp>

namespace tokenlens {

uint64_t TensorSpec::byteSize() const {
    uint64_t n = dtypeSize(dtype);
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    return n;
}

Result<std::unique_ptr<SafetensorsWriter>> SafetensorsWriter::create(const std::filesystem::path& file,
                                                                     const std::vector<TensorSpec>& tensors) {
    std::unique_ptr<SafetensorsWriter> w(new SafetensorsWriter());
    w->m_file = file;
    // An ordered object keeps the tensors in file order in the header too.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    header["__metadata__"] = {{"format", "pt"}};
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        for (int64_t d : t.shape) {
            if (d < 0) return makeError(ErrorCode::InvalidArgument, file.string() + ": tensor '" + t.name + "' has a negative dimension");
        }
        if (header.contains(t.name)) return makeError(ErrorCode::InvalidArgument, file.string() + ": tensor '" + t.name + "' given twice");
        const uint64_t bytes = t.byteSize();
        header[t.name] = {{"dtype", dtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    w->m_total = offset;
    std::string text = header.dump();
    while (text.size() % 8 != 0) text.push_back(' ');
    w->m_out.open(file, std::ios::binary | std::ios::trunc);
    if (!w->m_out) return makeError(ErrorCode::Unreadable, file.string() + ": cannot open for writing");
    const uint64_t n = text.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    w->m_out.write(reinterpret_cast<const char*>(len), 8);
    w->m_out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!w->m_out) return makeError(ErrorCode::Unreadable, file.string() + ": write failed (disk full?)");
    return w;
}

Status SafetensorsWriter::append(std::span<const std::byte> bytes) {
    if (bytes.size() > m_total - m_written) {
        return makeError(ErrorCode::Internal, m_file.string() + ": more tensor bytes written than the header declares");
    }
    m_out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!m_out) return makeError(ErrorCode::Unreadable, m_file.string() + ": write failed (disk full?)");
    m_written += bytes.size();
    return {};
}

Status SafetensorsWriter::finish() {
    if (m_written != m_total) {
        return makeError(ErrorCode::Internal, m_file.string() + ": " + std::to_string(m_written) + " of " +
                                                  std::to_string(m_total) + " tensor bytes written");
    }
    m_out.close();
    if (!m_out) return makeError(ErrorCode::Unreadable, m_file.string() + ": write failed when closing");
    return {};
}

} // namespace tokenlens
