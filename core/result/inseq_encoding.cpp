// The encodings of Inseq files: base64 and gzip (declared in inseq_file.h).

#include "result/inseq_file.h"

#include <zlib.h>

#include <cstring>
#include <string>

namespace tokenlens {

namespace {
constexpr const char* kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
} // namespace

std::string base64Encode(std::span<const std::byte> bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const uint32_t v = (std::to_integer<uint32_t>(bytes[i]) << 16) | (std::to_integer<uint32_t>(bytes[i + 1]) << 8) |
                           std::to_integer<uint32_t>(bytes[i + 2]);
        for (int s : {18, 12, 6, 0}) out += kBase64[(v >> s) & 63];
    }
    if (i < bytes.size()) {
        uint32_t v = std::to_integer<uint32_t>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) v |= std::to_integer<uint32_t>(bytes[i + 1]) << 8;
        out += kBase64[(v >> 18) & 63];
        out += kBase64[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? kBase64[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

Result<std::vector<std::byte>> base64Decode(std::string_view text, const std::string& what) {
    std::vector<std::byte> out;
    out.reserve(text.size() / 4 * 3);
    uint32_t acc = 0;
    int bits = 0;
    size_t pad = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n' || c == '\r' || c == ' ') continue;
        if (c == '=') {
            ++pad;
            continue;
        }
        const char* p = c ? std::strchr(kBase64, c) : nullptr;
        if (!p || pad > 0) {
            return makeError(ErrorCode::Corrupt, what + ": not base64 (character " + std::to_string(i) + ")");
        }
        acc = (acc << 6) | static_cast<uint32_t>(p - kBase64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::byte>((acc >> bits) & 0xFF));
        }
    }
    if (pad > 2 || bits >= 6) return makeError(ErrorCode::Corrupt, what + ": not base64 (bad length)");
    return out;
}

Result<std::string> gzipCompress(std::string_view bytes) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return makeError(ErrorCode::Internal, "gzip: cannot start the compressor");
    }
    std::string out(deflateBound(&zs, static_cast<uLong>(bytes.size())) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs.avail_in = static_cast<uInt>(bytes.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return makeError(ErrorCode::Internal, "gzip: compression did not finish");
    return out;
}

Result<std::string> gzipDecompress(std::string_view bytes, const std::string& source, size_t limit) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return makeError(ErrorCode::Internal, "gzip: cannot start the decompressor");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs.avail_in = static_cast<uInt>(bytes.size());
    std::string out;
    char buf[1 << 16];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof buf;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&zs);
            return makeError(ErrorCode::Corrupt, source + ": the gzip data are damaged or cut short");
        }
        out.append(buf, sizeof buf - zs.avail_out);
        if (out.size() > limit) {
            inflateEnd(&zs);
            return makeError(ErrorCode::Unsupported, source + ": decompresses to more than " +
                                                         std::to_string(limit >> 20) + " MiB");
        }
        if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
            inflateEnd(&zs);
            return makeError(ErrorCode::Corrupt, source + ": the gzip data are cut short");
        }
    }
    inflateEnd(&zs);
    return out;
}

} // namespace tokenlens
