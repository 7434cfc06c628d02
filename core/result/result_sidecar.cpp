#include "result/result_sidecar.h"

#include "io/safetensors.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

#include <zlib.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tokenlens {

static_assert(std::endian::native == std::endian::little, "the sidecar stores float32 little-endian as in memory");

using nlohmann::json;

namespace {

std::string crc32Hex(std::string_view bytes) {
    uLong crc = crc32(0L, Z_NULL, 0);
    // zlib takes uInt lengths: feed at most 1 GiB at a time.
    for (size_t at = 0; at < bytes.size();) {
        const size_t n = std::min<size_t>(bytes.size() - at, size_t{1} << 30);
        crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<uInt>(n));
        at += n;
    }
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08lx", static_cast<unsigned long>(crc & 0xffffffffUL));
    return buf;
}

bool plainFileName(const std::string& name) {
    return !name.empty() && name.find('/') == std::string::npos && name.find('\\') == std::string::npos &&
           name.front() != '.' && name.ends_with(".safetensors");
}

} // namespace

std::filesystem::path sidecarPathFor(const std::filesystem::path& jsonPath) {
    return jsonPath.parent_path() / (jsonPath.stem().string() + ".matrices.safetensors");
}

Result<AttributionMatrix> ResultSidecar::matrix(const std::string& name, int64_t rows, int64_t cols) const {
    for (const auto& [n, t] : m_tensors) {
        if (n != name) continue;
        if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols) {
            return makeError(ErrorCode::Mismatch, m_path.string() + ": tensor '" + name +
                                                      "' does not have the shape the result JSON gives (" +
                                                      std::to_string(rows) + " x " + std::to_string(cols) + ")");
        }
        AttributionMatrix m;
        m.rows = rows;
        m.cols = cols;
        m.data.resize(static_cast<size_t>(rows * cols));
        std::memcpy(m.data.data(), m_bytes.data() + t.begin, static_cast<size_t>(t.end - t.begin));
        return m;
    }
    return makeError(ErrorCode::NotFound,
                     m_path.string() + ": has no tensor '" + name + "', which the result JSON refers to");
}

Result<std::shared_ptr<const ResultSidecar>> openSidecar(const json& ref, const std::string& source,
                                                       const std::filesystem::path& dir) {
    if (!ref.is_object() || !ref.contains("file") || !ref["file"].is_string() || !ref.contains("bytes") ||
        !ref["bytes"].is_number_unsigned() || !ref.contains("crc32") || !ref["crc32"].is_string()) {
        return makeError(ErrorCode::Corrupt, source + ": key 'sidecar' must be {\"file\", \"bytes\", \"sha256\", \"crc32\"}");
    }
    const std::string name = ref["file"].get<std::string>();
    if (!plainFileName(name)) {
        return makeError(ErrorCode::Corrupt, source + ": key 'sidecar.file' must be a file name ending in "
                                                      ".safetensors in the result's folder (got '" + name + "')");
    }
    if (dir.empty()) {
        return makeError(ErrorCode::NotFound, source + ": its matrices are in the sidecar file " + name +
                                                  ", which cannot be read here: open the result file from its folder");
    }
    auto out = std::make_shared<ResultSidecar>();
    out->m_path = dir / name;
    const std::string file = out->m_path.string();
    std::error_code ec;
    if (!std::filesystem::exists(out->m_path, ec)) {
        return makeError(ErrorCode::NotFound, file + ": missing. " + source +
                                                  " keeps its large matrices in this sidecar file; copy it with the "
                                                  "result (the two files belong together)");
    }
    const uint64_t expected = ref["bytes"].get<uint64_t>();
    const uint64_t size = std::filesystem::file_size(out->m_path, ec);
    if (ec) return makeError(ErrorCode::Unreadable, file + ": cannot read the sidecar: " + ec.message());
    if (size != expected) {
        return makeError(ErrorCode::Corrupt, file + ": is " + std::to_string(size) + " bytes but " + source +
                                                 " expects " + std::to_string(expected) +
                                                 ": the sidecar was cut short or belongs to another result");
    }
    {
        std::ifstream in(out->m_path, std::ios::binary);
        if (!in) return makeError(ErrorCode::Unreadable, file + ": cannot open the sidecar");
        out->m_bytes.resize(static_cast<size_t>(size));
        if (!in.read(out->m_bytes.data(), static_cast<std::streamsize>(size))) {
            return makeError(ErrorCode::Unreadable, file + ": cannot read the sidecar");
        }
    }
    if (crc32Hex(out->m_bytes) != ref["crc32"].get<std::string>()) {
        return makeError(ErrorCode::Corrupt, file + ": its contents do not match the checksum " + source +
                                                 " gives: the sidecar is damaged or belongs to another result");
    }
    auto header = parseSafetensorsHeader(
        std::span(reinterpret_cast<const std::byte*>(out->m_bytes.data()), out->m_bytes.size()), size, file);
    if (!header) return header.error();
    const uint64_t data = 8 + header->headerLength;
    for (const auto& t : header->tensors) {
        if (t.dtype != DType::F32) {
            return makeError(ErrorCode::Unsupported, file + ": tensor '" + t.name + "' is " + dtypeName(t.dtype) +
                                                         "; result sidecars hold F32 matrices");
        }
        out->m_tensors.push_back({t.name, {t.shape, data + t.dataBegin, data + t.dataEnd}});
    }
    return std::shared_ptr<const ResultSidecar>(std::move(out));
}

Result<MatrixSource> sidecarSource(const json& j, const std::string& source, const std::filesystem::path& dir) {
    if (!j.is_object() || !j.contains("sidecar") || j["sidecar"].is_null()) return MatrixSource{};
    auto sidecar = openSidecar(j["sidecar"], source, dir);
    if (!sidecar) return sidecar.error();
    return MatrixSource([s = sidecar.value()](const std::string& tensor, int64_t rows, int64_t cols) {
        return s->matrix(tensor, rows, cols);
    });
}

Status writeResultFiles(const std::filesystem::path& jsonPath, json j, const JobResult& job, int indent) {
    // The matrices the JSON refers to, in its order.
    std::vector<std::pair<std::string, const AttributionMatrix*>> tensors;
    if (j.contains("results") && j["results"].is_array()) {
        for (size_t i = 0; i < j["results"].size() && i < job.results.size(); ++i) {
            const json& r = j["results"][i];
            if (!r.contains("attribution") || !r["attribution"].contains("raw_ref")) continue;
            tensors.emplace_back(r["attribution"]["raw_ref"]["tensor"].get<std::string>(), &job.results[i].raw);
        }
    }
    if (!tensors.empty()) {
        json header = json::object();
        uint64_t offset = 0;
        for (const auto& [name, m] : tensors) {
            const uint64_t bytes = static_cast<uint64_t>(m->data.size()) * sizeof(float);
            header[name] = {{"dtype", "F32"}, {"shape", {m->rows, m->cols}}, {"data_offsets", {offset, offset + bytes}}};
            offset += bytes;
        }
        header["__metadata__"] = {{"format", "tokenlens-result"}};
        std::string text = header.dump();
        text.append((8 - text.size() % 8) % 8, ' '); // the data starts 8-byte aligned
        std::string file;
        file.reserve(8 + text.size() + offset);
        const uint64_t n = text.size();
        for (int b = 0; b < 8; ++b) file.push_back(static_cast<char>((n >> (8 * b)) & 0xff));
        file += text;
        for (const auto& [name, m] : tensors) {
            file.append(reinterpret_cast<const char*>(m->data.data()), m->data.size() * sizeof(float));
        }
        const auto sidecar = sidecarPathFor(jsonPath);
        if (auto st = writeFileAtomically(sidecar.string(), file); !st) return st;
        j["sidecar"] = {{"file", sidecar.filename().string()},
                        {"bytes", static_cast<uint64_t>(file.size())},
                        {"sha256", sha256Hex(file)},
                        {"crc32", crc32Hex(file)}};
    }
    return writeFileAtomically(jsonPath.string(),
                               j.dump(indent, ' ', false, json::error_handler_t::replace) + "\n");
}

} // namespace tokenlens
