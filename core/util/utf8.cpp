#include "util/utf8.h"

namespace tokenlens::utf8 {

std::optional<size_t> firstInvalid(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const size_t len = validSequenceAt(s, i);
        if (len == 0) return i;
        i += len;
    }
    return std::nullopt;
}

char32_t next(std::string_view s, size_t& pos) {
    const auto c = static_cast<unsigned char>(s[pos]);
    if (c < 0x80) {
        ++pos;
        return c;
    }
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    char32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < len && pos + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[pos + k]) & 0x3F);
    pos += len;
    return cp;
}

void append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

size_t validSequenceAt(std::string_view s, size_t pos) {
    if (pos >= s.size()) return 0;
    const auto c = static_cast<unsigned char>(s[pos]);
    if (c < 0x80) return 1;
    size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (pos + len > s.size()) return 0;
    for (size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[pos + k]);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

namespace {

// Length of the maximal subpart of an ill-formed sequence at `pos` (Unicode
// 3.9, "U+FFFD substitution of maximal subparts"): the longest prefix that
// could still begin a valid sequence, at least one byte.
size_t maximalSubpart(std::string_view s, size_t pos) {
    const auto c = static_cast<unsigned char>(s[pos]);
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 1;
    }
    size_t k = 1;
    for (; k < len && pos + k < s.size(); ++k) {
        const auto cc = static_cast<unsigned char>(s[pos + k]);
        const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (cc < l || cc > h) break;
    }
    return k;
}

// Copies the valid sequences of `bytes` to `out` as they are; at an
// ill-formed one `replace(pos)` appends what stands for it and returns how
// many bytes it covers.
template <class Replace>
void copyValid(std::string& out, std::string_view bytes, Replace replace) {
    size_t i = 0;
    while (i < bytes.size()) {
        if (size_t n = validSequenceAt(bytes, i)) {
            out.append(bytes.substr(i, n));
            i += n;
        } else {
            i += replace(i);
        }
    }
}

} // namespace

void appendLossy(std::string& out, std::string_view bytes) {
    copyValid(out, bytes, [&](size_t i) {
        out.append("\xEF\xBF\xBD");
        return maximalSubpart(bytes, i);
    });
}

std::string escapeInvalid(std::string_view bytes) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    copyValid(out, bytes, [&](size_t i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
        return size_t{1};
    });
    return out;
}

std::string describeInvalid(std::string_view s) {
    auto bad = firstInvalid(s);
    if (!bad) return "valid UTF-8";
    return "invalid UTF-8 at byte " + std::to_string(*bad);
}

} // namespace tokenlens::utf8
