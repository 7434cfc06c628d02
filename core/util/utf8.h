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

// "invalid UTF-8 at byte 12" style message fragment.
std::string describeInvalid(std::string_view s);

} // namespace tokenlens::utf8
