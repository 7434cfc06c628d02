#include "io/safetensors.h"

#include "io/json_util.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenlens {

namespace fs = std::filesystem;
using nlohmann::json;
using io_detail::formatShape;

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

namespace {

constexpr size_t kMaxRank = 32;

const std::array<DType, 10> kAllDTypes = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                                          DType::I32, DType::I16, DType::I8,  DType::U8,   DType::Bool};

bool parseDTypeName(const std::string& s, DType& out) {
    for (DType d : kAllDTypes) {
        if (s == dtypeName(d)) {
            out = d;
            return true;
        }
    }
    return false;
}

// dtypes the safetensors format defines that TokenLens does not read.
bool isOtherSafetensorsDType(const std::string& s) {
    static const char* const names[] = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3",
                                        "F6_E3M2", "F4", "C64"};
    return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return s == n; });
}

std::string supportedDTypeList() {
    std::string s;
    for (DType d : kAllDTypes) {
        if (!s.empty()) s += ", ";
        s += dtypeName(d);
    }
    return s;
}

std::string quoteForMessage(const std::string& s) {
    // Keys come from untrusted files: keep messages one line and bounded.
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (out.size() >= 200 && (u & 0xC0) != 0x80) {
            out += "...";
            break;
        }
        if (u < 0x20 || u == 0x7f) {
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    return "'" + out + "'";
}

// A JSON value for a message, bounded in length.
std::string shortDump(const json& j) {
    std::string s = j.dump(-1, ' ', true, json::error_handler_t::replace);
    if (s.size() > 80) s = s.substr(0, 80) + "...";
    return s;
}

bool readUnsigned(const json& j, uint64_t& out) {
    if (j.is_number_unsigned()) {
        out = j.get<uint64_t>();
        return true;
    }
    if (j.is_number_integer()) {
        const int64_t v = j.get<int64_t>();
        if (v < 0) return false;
        out = static_cast<uint64_t>(v);
        return true;
    }
    return false;
}

} // namespace

Result<SafetensorsHeader> parseSafetensorsHeader(std::span<const std::byte> prefix, uint64_t fileSize,
                                                 const std::string& fileName) {
    auto fail = [&](ErrorCode code, const std::string& msg) { return makeError(code, fileName + ": " + msg); };
    if (fileSize < 8) {
        return fail(ErrorCode::Corrupt, "file is " + std::to_string(fileSize) +
                                            " bytes long, too short for a safetensors file "
                                            "(it must start with an 8-byte header length)");
    }
    if (prefix.size() < 8) {
        return fail(ErrorCode::Internal, "fewer than 8 bytes of the file were given to the header parser");
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(prefix[static_cast<size_t>(i)]);

    const uint64_t afterLength = fileSize - 8;
    if (n > kMaxSafetensorsHeader) {
        return fail(ErrorCode::Corrupt, "header length " + std::to_string(n) + " is larger than the " +
                                            std::to_string(kMaxSafetensorsHeader) +
                                            " bytes allowed (not a safetensors file?)");
    }
    if (n > afterLength) {
        return fail(ErrorCode::Corrupt, "header length " + std::to_string(n) + " runs past the end of the file (" +
                                            std::to_string(fileSize) +
                                            " bytes): the file is truncated or not a safetensors file");
    }
    if (prefix.size() - 8 < n) {
        return fail(ErrorCode::Internal, "only " + std::to_string(prefix.size()) + " bytes of the " +
                                             std::to_string(8 + n) + "-byte header were given to the parser");
    }
    const std::string_view text(reinterpret_cast<const char*>(prefix.data()) + 8, static_cast<size_t>(n));
    const size_t firstChar = text.find_first_not_of(" \t\r\n");
    if (firstChar == std::string_view::npos || text[firstChar] != '{') {
        return fail(ErrorCode::Corrupt, "the header is not a JSON object (not a safetensors file?)");
    }
    // Valid headers nest 3 deep ({name: {shape: [..]}}); refuse pathological nesting before parsing.
    if (io_detail::jsonNestingDepth(text, 8) > 8) {
        return fail(ErrorCode::Corrupt, "the header JSON is nested more deeply than a safetensors header can be");
    }

    json root;
    std::string duplicate;
    try {
        std::set<std::string> seen;
        json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
            if (event == json::parse_event_t::key && depth == 1 && parsed.is_string()) {
                const auto& key = parsed.get_ref<const std::string&>();
                if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
            }
            return true;
        };
        root = json::parse(text.begin(), text.end(), cb);
    } catch (const std::exception& e) {
        return fail(ErrorCode::Corrupt, "the header is not valid JSON: " + io_detail::jsonErrorText(e));
    }
    if (!root.is_object()) return fail(ErrorCode::Corrupt, "the header is not a JSON object");
    if (!duplicate.empty()) {
        return fail(ErrorCode::Corrupt, "the header lists " + quoteForMessage(duplicate) + " twice");
    }

    const uint64_t dataSize = afterLength - n;
    SafetensorsHeader header;
    header.headerLength = n;
    header.tensors.reserve(root.size());
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string& key = it.key();
        const json& v = it.value();
        if (key == "__metadata__") {
            if (!v.is_object()) {
                return fail(ErrorCode::Corrupt, "__metadata__ must be an object of strings, got " +
                                                    io_detail::jsonTypeName(v));
            }
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string()) {
                    return fail(ErrorCode::Corrupt, "__metadata__ entry " + quoteForMessage(m.key()) +
                                                        " must be a string, got " +
                                                        io_detail::jsonTypeName(m.value()));
                }
                header.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string what = "tensor " + quoteForMessage(key);
        if (!v.is_object()) {
            return fail(ErrorCode::Corrupt, what + " must be an object with dtype, shape and data_offsets, got " +
                                                io_detail::jsonTypeName(v));
        }
        TensorInfo t;
        t.name = key;

        auto dt = v.find("dtype");
        if (dt == v.end()) return fail(ErrorCode::Corrupt, what + " has no dtype");
        if (!dt->is_string()) {
            return fail(ErrorCode::Corrupt, what + " has a dtype that is " + io_detail::jsonTypeName(*dt) +
                                                ", expected a string such as \"F32\"");
        }
        const std::string& dtypeStr = dt->get_ref<const std::string&>();
        if (!parseDTypeName(dtypeStr, t.dtype)) {
            if (isOtherSafetensorsDType(dtypeStr)) {
                return fail(ErrorCode::Unsupported, what + " has dtype " + quoteForMessage(dtypeStr) +
                                                        ", which TokenLens does not read (supported: " +
                                                        supportedDTypeList() + ")");
            }
            return fail(ErrorCode::Corrupt, what + " has unknown dtype " + quoteForMessage(dtypeStr) +
                                                " (known: " + supportedDTypeList() + ")");
        }

        auto sh = v.find("shape");
        if (sh == v.end()) return fail(ErrorCode::Corrupt, what + " has no shape");
        if (!sh->is_array()) {
            return fail(ErrorCode::Corrupt, what + " has a shape that is " + io_detail::jsonTypeName(*sh) +
                                                ", expected an array of non-negative integers");
        }
        if (sh->size() > kMaxRank) {
            return fail(ErrorCode::Corrupt, what + " has " + std::to_string(sh->size()) +
                                                " dimensions (at most " + std::to_string(kMaxRank) + " accepted)");
        }
        constexpr uint64_t kMaxNumel = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
        for (const json& d : *sh) {
            uint64_t dim = 0;
            if (!readUnsigned(d, dim) || dim > kMaxNumel) {
                return fail(ErrorCode::Corrupt, what + " has shape entry " + shortDump(d) +
                                                    "; a shape must be an array of non-negative integers");
            }
            t.shape.push_back(static_cast<int64_t>(dim));
        }
        uint64_t numel = 1;
        if (std::find(t.shape.begin(), t.shape.end(), 0) != t.shape.end()) {
            numel = 0;
        } else {
            for (int64_t d : t.shape) {
                const auto dim = static_cast<uint64_t>(d);
                if (numel > kMaxNumel / dim) {
                    return fail(ErrorCode::Corrupt, what + " has shape " + formatShape(t.shape) +
                                                        " whose element count overflows");
                }
                numel *= dim;
            }
        }
        const uint64_t elemSize = dtypeSize(t.dtype);
        if (numel > std::numeric_limits<uint64_t>::max() / elemSize) {
            return fail(ErrorCode::Corrupt, what + " has shape " + formatShape(t.shape) + " of " +
                                                dtypeName(t.dtype) + " whose byte size overflows");
        }
        const uint64_t expectedBytes = numel * elemSize;

        auto off = v.find("data_offsets");
        if (off == v.end()) return fail(ErrorCode::Corrupt, what + " has no data_offsets");
        uint64_t begin = 0, end = 0;
        if (!off->is_array() || off->size() != 2 || !readUnsigned((*off)[0], begin) ||
            !readUnsigned((*off)[1], end)) {
            return fail(ErrorCode::Corrupt, what + " has data_offsets " + shortDump(*off) +
                                                "; expected [begin, end], two non-negative integers");
        }
        const std::string offStr = "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
        if (begin > end) {
            return fail(ErrorCode::Corrupt, what + " has data_offsets " + offStr + " that end before they begin");
        }
        if (end > dataSize) {
            return fail(ErrorCode::Corrupt, what + " has data_offsets " + offStr +
                                                " beyond the end of the tensor data (" + std::to_string(dataSize) +
                                                " bytes): the file is truncated or corrupt");
        }
        if (end - begin != expectedBytes) {
            return fail(ErrorCode::Corrupt, what + " data_offsets " + offStr + " do not match shape " +
                                                formatShape(t.shape) + " of " + dtypeName(t.dtype) + " (" +
                                                std::to_string(expectedBytes) + " bytes)");
        }
        t.dataBegin = begin;
        t.dataEnd = end;
        header.tensors.push_back(std::move(t));
    }

    std::sort(header.tensors.begin(), header.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        if (a.dataBegin != b.dataBegin) return a.dataBegin < b.dataBegin;
        if (a.dataEnd != b.dataEnd) return a.dataEnd < b.dataEnd;
        return a.name < b.name;
    });
    const TensorInfo* reach = nullptr; // the non-empty tensor reaching furthest so far
    for (const TensorInfo& t : header.tensors) {
        if (t.dataBegin == t.dataEnd) continue;
        if (reach && t.dataBegin < reach->dataEnd) {
            return fail(ErrorCode::Corrupt,
                        "tensors " + quoteForMessage(reach->name) + " [" + std::to_string(reach->dataBegin) + ", " +
                            std::to_string(reach->dataEnd) + "] and " + quoteForMessage(t.name) + " [" +
                            std::to_string(t.dataBegin) + ", " + std::to_string(t.dataEnd) + "] overlap");
        }
        if (!reach || t.dataEnd > reach->dataEnd) reach = &t;
    }
    return header;
}

// ---------------------------------------------------------------------------

Result<std::shared_ptr<SafetensorsFile>> SafetensorsFile::open(const fs::path& path) {
    const std::string name = path.string();
    auto opened = io_detail::openRegularFile(path, "a .safetensors file");
    if (!opened) return opened.error();
    const int fd = opened->fd;
    const uint64_t fileSize = opened->size;
    std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
    file->m_path = path;
    auto stamp = fileStamp(fd, path);
    if (!stamp) {
        ::close(fd);
        return stamp.error();
    }
    file->m_stamp = *stamp;
    if (fileSize < 8) {
        ::close(fd);
        auto h = parseSafetensorsHeader({}, fileSize, name);
        return h.error(); // always an error: too short
    }
    if (fileSize > std::numeric_limits<size_t>::max()) {
        ::close(fd);
        return makeError(ErrorCode::Unsupported, name + ": file too large to map on this system");
    }
    void* p = ::mmap(nullptr, static_cast<size_t>(fileSize), PROT_READ, MAP_PRIVATE, fd, 0);
    const int mapErr = errno;
    ::close(fd);
    if (p == MAP_FAILED) {
        return makeError(ErrorCode::Unreadable, name + ": cannot memory-map: " + std::strerror(mapErr));
    }
    file->m_map = static_cast<const std::byte*>(p);
    file->m_mapSize = static_cast<size_t>(fileSize);

    auto header = parseSafetensorsHeader(std::span<const std::byte>(file->m_map, file->m_mapSize), fileSize, name);
    if (!header) return header.error();
    file->m_header = std::move(header).value();
    file->m_dataOffset = 8 + file->m_header.headerLength;
    for (size_t i = 0; i < file->m_header.tensors.size(); ++i) file->m_index[file->m_header.tensors[i].name] = i;
    return file;
}

SafetensorsFile::~SafetensorsFile() {
    if (m_map) ::munmap(const_cast<std::byte*>(m_map), m_mapSize);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_header.tensors[it->second];
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorInfo& t) const {
    // `t` comes from this file's validated header: begin <= end <= data size.
    return {m_map + m_dataOffset + t.dataBegin, static_cast<size_t>(t.dataEnd - t.dataBegin)};
}

// ---------------------------------------------------------------------------

namespace {

// A shard name from the index must name a file inside the folder.
bool isPlainFileName(const std::string& s) {
    if (s.empty() || s.size() > 255) return false;
    if (s.find('/') != std::string::npos || s.find('\\') != std::string::npos) return false;
    if (s.find("..") != std::string::npos) return false;
    if (s.find('\0') != std::string::npos) return false;
    return s != ".";
}

} // namespace

Result<WeightSet> WeightSet::openFolder(const fs::path& dir) {
    std::error_code ec;
    const fs::path single = dir / "model.safetensors";
    const fs::path index = dir / "model.safetensors.index.json";
    if (!fs::is_directory(dir, ec)) {
        if (fs::exists(dir, ec)) return makeError(ErrorCode::NotFound, dir.string() + ": is not a directory");
        return makeError(ErrorCode::NotFound, dir.string() + ": no such directory");
    }
    WeightSet ws;
    if (fs::exists(single, ec)) {
        auto f = SafetensorsFile::open(single);
        if (!f) return f.error();
        ws.m_source = single;
        ws.m_files.push_back(f.value());
    } else if (fs::exists(index, ec)) {
        ws.m_source = index;
        const std::string indexName = index.string();
        auto text = io_detail::readSmallFile(index, 256ull * 1024 * 1024);
        if (!text) return text.error();
        auto parsed = io_detail::parseJsonText(*text, indexName);
        if (!parsed) return parsed.error();
        const json& root = *parsed;
        if (!root.is_object()) {
            return makeError(ErrorCode::Corrupt, indexName + ": expected a JSON object, got " +
                                                     io_detail::jsonTypeName(root));
        }
        auto wm = root.find("weight_map");
        if (wm == root.end()) return makeError(ErrorCode::Corrupt, indexName + ": has no \"weight_map\"");
        if (!wm->is_object()) {
            return makeError(ErrorCode::Corrupt, indexName + ": \"weight_map\" must be an object, got " +
                                                     io_detail::jsonTypeName(*wm));
        }
        if (wm->empty()) return makeError(ErrorCode::Corrupt, indexName + ": \"weight_map\" lists no tensors");
        // shard file name -> tensors the index places there
        std::map<std::string, std::vector<std::string>> shards;
        for (auto it = wm->begin(); it != wm->end(); ++it) {
            if (!it.value().is_string()) {
                return makeError(ErrorCode::Corrupt, indexName + ": weight_map entry " + quoteForMessage(it.key()) +
                                                         " must be a file name string, got " +
                                                         io_detail::jsonTypeName(it.value()));
            }
            const std::string& shard = it.value().get_ref<const std::string&>();
            if (!isPlainFileName(shard)) {
                return makeError(ErrorCode::Corrupt, indexName + ": weight_map names shard " +
                                                         quoteForMessage(shard) + " for tensor " +
                                                         quoteForMessage(it.key()) +
                                                         ", which is not a plain file name inside the folder");
            }
            shards[shard].push_back(it.key());
        }
        for (const auto& [shard, tensors] : shards) {
            const fs::path shardPath = dir / shard;
            if (!fs::exists(shardPath, ec)) {
                return makeError(ErrorCode::NotFound,
                                 indexName + ": shard '" + shard + "' (holding " + quoteForMessage(tensors.front()) +
                                     (tensors.size() > 1 ? " and " + std::to_string(tensors.size() - 1) + " more" : "") +
                                     ") does not exist: " + shardPath.string());
            }
            auto f = SafetensorsFile::open(shardPath);
            if (!f) return f.error();
            for (const std::string& t : tensors) {
                if (!(*f)->find(t)) {
                    return makeError(ErrorCode::Corrupt, indexName + ": tensor " + quoteForMessage(t) +
                                                             " is listed in shard '" + shard +
                                                             "', but " + shardPath.string() + " does not contain it");
                }
            }
            ws.m_files.push_back(f.value());
        }
    } else {
        return makeError(ErrorCode::NotFound,
                         "no model.safetensors or model.safetensors.index.json in " + dir.string());
    }

    for (const auto& f : ws.m_files) {
        for (const TensorInfo& t : f->header().tensors) {
            auto [it, inserted] = ws.m_entries.emplace(t.name, Entry{&t, f.get()});
            if (!inserted) {
                return makeError(ErrorCode::Corrupt, "tensor " + quoteForMessage(t.name) + " is stored twice: in " +
                                                         it->second.file->path().string() + " and in " +
                                                         f->path().string());
            }
        }
    }
    if (ws.m_entries.empty()) {
        return makeError(ErrorCode::Corrupt, ws.m_source.string() + ": holds no tensors");
    }
    return ws;
}

const WeightSet::Entry* WeightSet::find(const std::string& name) const {
    auto it = m_entries.find(name);
    return it == m_entries.end() ? nullptr : &it->second;
}

std::vector<std::string> WeightSet::names() const {
    std::vector<std::string> out;
    out.reserve(m_entries.size());
    for (const auto& kv : m_entries) out.push_back(kv.first);
    return out;
}

int64_t WeightSet::parameterCount() const {
    int64_t total = 0;
    for (const auto& kv : m_entries) total += kv.second.info->numel();
    return total;
}

uint64_t WeightSet::totalBytes() const {
    uint64_t total = 0;
    for (const auto& kv : m_entries) total += kv.second.info->dataEnd - kv.second.info->dataBegin;
    return total;
}

DType WeightSet::dominantDType() const {
    std::map<DType, uint64_t> bytes;
    for (const auto& kv : m_entries) bytes[kv.second.info->dtype] += kv.second.info->dataEnd - kv.second.info->dataBegin;
    DType best = DType::F32;
    uint64_t bestBytes = 0;
    bool any = false;
    for (const auto& [d, b] : bytes) {
        if (!any || b > bestBytes) {
            best = d;
            bestBytes = b;
            any = true;
        }
    }
    return best;
}

// ---------------------------------------------------------------------------

namespace {

float halfToFloat(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign; // signed zero
        } else {
            // Subnormal: mant * 2^-24, exactly representable as a normal float.
            const float v = std::ldexp(static_cast<float>(mant), -24);
            std::memcpy(&bits, &v, 4);
            bits |= sign;
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); // inf, or NaN keeping its payload
    } else {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float out;
    std::memcpy(&out, &bits, 4);
    return out;
}

float doubleToFloat(double d) {
    // Round to nearest like an IEEE conversion, without the undefined
    // behaviour of converting an out-of-range double.
    constexpr double kMax = static_cast<double>(FLT_MAX);
    constexpr double kOverflow = 0x1.ffffffp127; // FLT_MAX + half an ulp: rounds to infinity
    if (std::isnan(d)) return std::copysign(std::numeric_limits<float>::quiet_NaN(), std::signbit(d) ? -1.0f : 1.0f);
    const double a = std::fabs(d);
    if (a >= kOverflow) return std::signbit(d) ? -std::numeric_limits<float>::infinity()
                                               : std::numeric_limits<float>::infinity();
    if (a > kMax) return std::signbit(d) ? -FLT_MAX : FLT_MAX;
    return static_cast<float>(d);
}

} // namespace

float halfBitsToFloat(uint16_t bits) { return halfToFloat(bits); }

float bfloat16BitsToFloat(uint16_t bits) {
    const uint32_t b = static_cast<uint32_t>(bits) << 16;
    float out;
    std::memcpy(&out, &b, 4);
    return out;
}

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; the F32/F64 paths copy bytes as they are");

bool convertToFloat32(DType src, std::span<const std::byte> bytes, float* out, size_t count) {
    const size_t esize = dtypeSize(src);
    if (count > bytes.size() / (esize ? esize : 1)) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    switch (src) {
    case DType::F32:
        if (count) std::memcpy(out, p, count * 4); // works for any alignment of p
        return true;
    case DType::F16:
        for (size_t i = 0; i < count; ++i) {
            out[i] = halfToFloat(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
        }
        return true;
    case DType::BF16:
        for (size_t i = 0; i < count; ++i) {
            out[i] = bfloat16BitsToFloat(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
        }
        return true;
    case DType::F64:
        for (size_t i = 0; i < count; ++i) {
            double d;
            std::memcpy(&d, p + 8 * i, 8);
            out[i] = doubleToFloat(d);
        }
        return true;
    default:
        return false;
    }
}

} // namespace tokenlens
