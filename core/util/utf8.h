#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenlens::utf8 {

// Byte offset of the first invalid UTF-8 sequence (overlong forms, surrogates
// and code points above U+10FFFF are invalid), or nullopt when `s` is valid.
std::optional<size_t> firstInvalid(std::string_view s);
inline bool isValid(std::string_view s) { return !firstInvalid(s).has_value(); }

// Decodes the code point at `pos` of valid UTF-8 and advances `pos`.
char32_t next(std::string_view s, size_t& pos);
void append(std::string& out, char32_t cp);
inline std::string encode(char32_t cp) {
    std::string s;
    append(s, cp);
    return s;
}

// Length of the sequence announced by a lead byte (1 for ASCII and for bytes
// that cannot start a sequence, so that loops always advance).
inline size_t sequenceLength(unsigned char lead) {
    if (lead < 0xC0) return 1;
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) return 3;
    return 4;
}

// Number of bytes of the longest valid UTF-8 sequence starting at `pos`
// (0 when the bytes there do not start a valid sequence).
size_t validSequenceAt(std::string_view s, size_t pos);

// Appends `bytes` to `out`, replacing every maximal invalid subpart with
// U+FFFD (the WHATWG / Rust from_utf8_lossy convention).
void appendLossy(std::string& out, std::string_view bytes);
inline std::string lossy(std::string_view bytes) {
    std::string out;
    appendLossy(out, bytes);
    return out;
}

// Valid sequences copied, every byte of an invalid one written as "\xNN".
std::string escapeInvalid(std::string_view bytes);

// "invalid UTF-8 at byte 12" style message fragment.
std::string describeInvalid(std::string_view s);

} // namespace tokenlens::utf8
