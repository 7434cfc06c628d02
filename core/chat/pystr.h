#pragma once
// Python str semantics on UTF-8 text: code-point indexing, the str.isspace
// set for strip/split, case mapping, splitlines.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenlens::chat::detail {

std::u32string toU32(std::string_view s);
std::string fromU32(std::u32string_view s);
size_t codePointCount(std::string_view s);

bool pyIsSpace(char32_t c); // str.isspace
char32_t pyUpper(char32_t c);
char32_t pyLower(char32_t c);
bool pyIsUpper(char32_t c);
bool pyIsLower(char32_t c);
bool pyIsAlpha(char32_t c); // letters with a case mapping, plus ASCII / Latin letters
bool pyIsDigit(char32_t c);

enum class StripSide { Both, Left, Right };
// chars == nullopt: whitespace (str.isspace)
std::string pyStrip(std::string_view s, const std::optional<std::string>& chars, StripSide side);
std::vector<std::string> pySplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxSplit);
std::vector<std::string> pyRSplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxSplit);
std::vector<std::string> pySplitLines(std::string_view s, bool keepEnds);
std::string pyReplace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);
std::string pyUpperStr(std::string_view s);
std::string pyLowerStr(std::string_view s);
std::string pyCapitalize(std::string_view s);
std::string pyTitleMethod(std::string_view s); // str.title()
std::string jinjaTitle(std::string_view s);   // the `title` filter
int64_t pyCount(std::string_view s, std::string_view sub);
// Python find/rfind in code points (-1 when absent).
int64_t pyFind(std::string_view s, std::string_view sub, bool reverse);

// Python's int(text) (whitespace, sign, underscores); nullopt when invalid or out of range.
std::optional<int64_t> pyParseInt(std::string_view text, int base = 10);
std::optional<double> pyParseFloat(std::string_view text);

} // namespace tokenlens::chat::detail
