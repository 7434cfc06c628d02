#pragma once
// PCRE2 regular expressions (UTF + Unicode properties), compiled once and
// usable from any number of threads at the same time.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokenlens::tok {

class Regex {
public:
    // nullptr with `error` filled when the pattern does not compile.
    static std::shared_ptr<const Regex> compile(std::string_view pattern, std::string& error);
    // A regex matching `literal` exactly.
    static std::shared_ptr<const Regex> literal(std::string_view literal);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // All successive non-overlapping matches [begin, end) of the valid UTF-8
    // `subject`, leftmost first. Empty matches are reported too; the search
    // then resumes one character further on.
    std::vector<std::pair<size_t, size_t>> findAll(std::string_view subject) const;

    const std::string& pattern() const { return m_pattern; }

private:
    Regex() = default;
    void* m_code = nullptr; // pcre2_code_8*
    std::string m_pattern;
};

// Escapes `s` so that it matches literally inside a PCRE2 pattern.
std::string regexEscape(std::string_view s);

} // namespace tokenlens::tok
