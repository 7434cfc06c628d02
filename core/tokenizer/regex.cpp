#include "tokenizer/regex.h"

#include "util/utf8.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace tokenlens::tok {

namespace {

pcre2_code* code(void* p) { return static_cast<pcre2_code*>(p); }

struct MatchData {
    explicit MatchData(const pcre2_code* c) : data(pcre2_match_data_create_from_pattern(c, nullptr)) {}
    ~MatchData() { pcre2_match_data_free(data); }
    MatchData(const MatchData&) = delete;
    MatchData& operator=(const MatchData&) = delete;
    pcre2_match_data* data;
};

} // namespace

std::shared_ptr<const Regex> Regex::compile(std::string_view pattern, std::string& error) {
    int errorCode = 0;
    PCRE2_SIZE errorOffset = 0;
    pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  PCRE2_UTF | PCRE2_UCP, &errorCode, &errorOffset, nullptr);
    if (!c) {
        PCRE2_UCHAR buffer[256];
        pcre2_get_error_message(errorCode, buffer, sizeof buffer);
        error = std::string(reinterpret_cast<const char*>(buffer)) + " at offset " + std::to_string(errorOffset);
        return nullptr;
    }
    // JIT when the platform has it; pcre2_match uses it transparently.
    (void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    std::shared_ptr<Regex> re(new Regex());
    re->m_code = c;
    re->m_pattern.assign(pattern);
    return re;
}

std::shared_ptr<const Regex> Regex::literal(std::string_view literal) {
    std::string error;
    return compile(regexEscape(literal), error);
}

Regex::~Regex() { pcre2_code_free(code(m_code)); }

std::vector<std::pair<size_t, size_t>> Regex::findAll(std::string_view subject) const {
    std::vector<std::pair<size_t, size_t>> out;
    MatchData md(code(m_code));
    if (!md.data) return out;
    const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
    const size_t n = subject.size();
    size_t start = 0;
    uint32_t options = 0;
    while (start <= n) {
        int rc = pcre2_match(code(m_code), s, n, start, options | PCRE2_NO_UTF_CHECK, md.data, nullptr);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
            // A resource limit of the JIT (its stack): try the interpreter once.
            rc = pcre2_match(code(m_code), s, n, start, options | PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md.data,
                             nullptr);
        }
        if (rc < 0) {
            if (options == 0) break; // no further match (or a matching error: stop there)
            // An empty match was found here before: move one character on.
            if (start >= n) break;
            start += utf8::sequenceLength(static_cast<unsigned char>(subject[start]));
            options = 0;
            continue;
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.data);
        const size_t b = ov[0], e = ov[1];
        if (e < b) break; // \K tricks; not used by tokenizers
        out.emplace_back(b, e);
        start = e;
        // After an empty match, look for a non-empty one at the same place first.
        options = b == e ? (PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED) : 0;
    }
    return out;
}

std::string regexEscape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    for (char c : s) {
        if (std::string_view("\\^$.|?*+()[]{}/-#").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

} // namespace tokenlens::tok
