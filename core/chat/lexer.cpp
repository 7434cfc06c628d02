#include "chat/lexer.h"

#include "chat/error.h"
#include "chat/pystr.h"
#include "util/utf8.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace tokenlens::chat::detail {
namespace {

class Lexer {
public:
    explicit Lexer(std::string source) : m_src(std::move(source)) {
        m_lineStarts.push_back(0);
        for (size_t i = 0; i < m_src.size(); ++i) {
            if (m_src[i] == '\n') m_lineStarts.push_back(i + 1);
        }
    }

    std::vector<Token> run() {
        const size_t n = m_src.size();
        while (m_pos < n) {
            const size_t idx = findTagStart(m_pos);
            if (idx == std::string::npos) {
                emitData(m_src.substr(m_pos), m_pos);
                break;
            }
            const char kind = m_src[idx + 1];
            const char sign = (idx + 2 < n && (m_src[idx + 2] == '-' || m_src[idx + 2] == '+')) ? m_src[idx + 2] : 0;
            std::string text = m_src.substr(m_pos, idx - m_pos);
            const size_t textStart = m_pos;
            const size_t rawEnd = kind == '%' ? matchRawBegin(idx + 2 + (sign ? 1 : 0)) : std::string::npos;
            stripBefore(text, sign, kind != '{');
            emitData(std::move(text), textStart);
            m_pos = idx + 2 + (sign ? 1 : 0);
            m_lineStarting = false;
            if (kind == '#') {
                lexComment(idx);
            } else if (rawEnd != std::string::npos) {
                m_pos = rawEnd;
                m_lineStarting = m_pos > 0 && m_src[m_pos - 1] == '\n';
                lexRaw(idx);
            } else {
                lexTag(kind == '%', idx);
            }
        }
        Token eof;
        eof.type = TokenType::Eof;
        locate(eof, m_src.size());
        m_tokens.push_back(std::move(eof));
        return std::move(m_tokens);
    }

private:
    size_t findTagStart(size_t from) const {
        size_t p = from;
        while ((p = m_src.find('{', p)) != std::string::npos) {
            if (p + 1 < m_src.size() && (m_src[p + 1] == '{' || m_src[p + 1] == '%' || m_src[p + 1] == '#')) return p;
            ++p;
        }
        return std::string::npos;
    }

    void locate(Token& t, size_t offset) const {
        const auto it = std::upper_bound(m_lineStarts.begin(), m_lineStarts.end(), offset);
        const size_t line = static_cast<size_t>(it - m_lineStarts.begin());
        t.line = static_cast<int>(line);
        t.column = static_cast<int>(codePointCount(std::string_view(m_src).substr(m_lineStarts[line - 1], offset - m_lineStarts[line - 1])) + 1);
    }

    [[noreturn]] void error(const std::string& message, size_t offset) const {
        Token t;
        locate(t, offset);
        fail(FailureKind::Syntax, message, t.line, t.column);
    }

    void emitData(std::string text, size_t offset) {
        if (text.empty()) return;
        Token t;
        t.type = TokenType::Data;
        t.text = std::move(text);
        locate(t, offset);
        m_tokens.push_back(std::move(t));
    }

    void emit(TokenType type, size_t offset, std::string text = {}) {
        Token t;
        t.type = type;
        t.text = std::move(text);
        locate(t, offset);
        m_tokens.push_back(std::move(t));
    }

    // '-' strips all whitespace before the tag; otherwise lstrip_blocks
    // removes spaces before a block / comment tag that starts its line.
    void stripBefore(std::string& text, char sign, bool blockOrComment) const {
        if (sign == '-') {
            text = pyStrip(text, std::nullopt, StripSide::Right);
            return;
        }
        if (sign == '+' || !blockOrComment) return;
        const size_t nl = text.rfind('\n');
        const size_t lpos = nl == std::string::npos ? 0 : nl + 1;
        if (lpos == 0 && !m_lineStarting) return;
        if (lpos >= text.size()) return;
        const std::u32string tail = toU32(std::string_view(text).substr(lpos));
        if (std::all_of(tail.begin(), tail.end(), pyIsSpace)) text.resize(lpos);
    }

    size_t skipSpaces(size_t p) const {
        while (p < m_src.size()) {
            size_t q = p;
            const size_t len = utf8::validSequenceAt(m_src, q);
            if (len == 0) return p;
            const char32_t c = utf8::next(m_src, q);
            if (!pyIsSpace(c)) return p;
            p = q;
        }
        return p;
    }

    bool startsWith(size_t p, std::string_view s) const { return m_src.compare(p, s.size(), s) == 0; }

    // "{% raw %}": returns the offset after the tag, npos when it is another tag.
    size_t matchRawBegin(size_t p) const {
        p = skipSpaces(p);
        if (!startsWith(p, "raw")) return std::string::npos;
        p += 3;
        const size_t afterName = p;
        p = skipSpaces(p);
        if (startsWith(p, "-%}")) return skipSpaces(p + 3);
        if (startsWith(p, "%}")) return p + 2;
        (void)afterName;
        return std::string::npos;
    }

    void lexComment(size_t tagStart) {
        const size_t end = m_src.find("#}", m_pos);
        if (end == std::string::npos) error("missing end of comment tag", tagStart);
        size_t p = end + 2;
        const char before = end > m_pos ? m_src[end - 1] : 0;
        if (before == '-') p = skipSpaces(p);
        else if (before != '+' && p < m_src.size() && m_src[p] == '\n') ++p;
        m_pos = p;
        m_lineStarting = p > 0 && m_src[p - 1] == '\n';
    }

    void lexRaw(size_t tagStart) {
        size_t search = m_pos;
        while (true) {
            const size_t at = m_src.find("{%", search);
            if (at == std::string::npos) error("missing end of raw directive", tagStart);
            size_t p = at + 2;
            char sign = 0;
            if (p < m_src.size() && (m_src[p] == '-' || m_src[p] == '+')) sign = m_src[p++];
            p = skipSpaces(p);
            if (!startsWith(p, "endraw")) {
                search = at + 2;
                continue;
            }
            p = skipSpaces(p + 6);
            size_t end;
            if (startsWith(p, "+%}")) end = p + 3;
            else if (startsWith(p, "-%}")) end = skipSpaces(p + 3);
            else if (startsWith(p, "%}")) end = (p + 2 < m_src.size() && m_src[p + 2] == '\n') ? p + 3 : p + 2;
            else {
                search = at + 2;
                continue;
            }
            std::string text = m_src.substr(m_pos, at - m_pos);
            const size_t textStart = m_pos;
            stripBefore(text, sign, true);
            emitData(std::move(text), textStart);
            m_pos = end;
            m_lineStarting = end > 0 && m_src[end - 1] == '\n';
            return;
        }
    }

    void lexTag(bool block, size_t tagStart) {
        emit(block ? TokenType::BlockBegin : TokenType::VarBegin, tagStart);
        int depth = 0;
        const size_t n = m_src.size();
        while (true) {
            m_pos = skipSpaces(m_pos);
            if (m_pos >= n) error(std::string("unexpected end of template, expected '") + (block ? "%}" : "}}") + "'", tagStart);
            const size_t p = m_pos;
            if (depth == 0) {
                if (block) {
                    if (startsWith(p, "-%}")) {
                        emit(TokenType::BlockEnd, p);
                        m_pos = skipSpaces(p + 3);
                        break;
                    }
                    if (startsWith(p, "+%}")) {
                        emit(TokenType::BlockEnd, p);
                        m_pos = p + 3;
                        break;
                    }
                    if (startsWith(p, "%}")) {
                        emit(TokenType::BlockEnd, p);
                        m_pos = (p + 2 < n && m_src[p + 2] == '\n') ? p + 3 : p + 2;
                        break;
                    }
                } else {
                    if (startsWith(p, "-}}")) {
                        emit(TokenType::VarEnd, p);
                        m_pos = skipSpaces(p + 3);
                        break;
                    }
                    if (startsWith(p, "}}")) {
                        emit(TokenType::VarEnd, p);
                        m_pos = p + 2;
                        break;
                    }
                }
            }
            const char c = m_src[p];
            if (c == '\'' || c == '"') {
                lexString(p);
            } else if (c >= '0' && c <= '9') {
                lexNumber(p);
            } else if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                size_t q = p;
                while (q < n && (m_src[q] == '_' || std::isalnum(static_cast<unsigned char>(m_src[q])))) ++q;
                emit(TokenType::Name, p, m_src.substr(p, q - p));
                m_pos = q;
            } else {
                static const char* twoChar[] = {"//", "**", "==", "!=", "<=", ">="};
                std::string op;
                for (const char* t : twoChar) {
                    if (startsWith(p, t)) op = t;
                }
                if (op.empty() && std::string_view("+-*/%~<>=.,:|()[]{};").find(c) != std::string_view::npos) op = std::string(1, c);
                if (op.empty()) {
                    size_t q = p;
                    const std::string shown = utf8::validSequenceAt(m_src, q) ? m_src.substr(p, utf8::validSequenceAt(m_src, q)) : "?";
                    error("unexpected character '" + shown + "'", p);
                }
                if (op == "(" || op == "[" || op == "{") ++depth;
                if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
                emit(TokenType::Op, p, op);
                m_pos = p + op.size();
            }
        }
        m_lineStarting = m_pos > 0 && m_src[m_pos - 1] == '\n';
    }

    void lexString(size_t p) {
        const char quote = m_src[p];
        size_t q = p + 1;
        std::string value;
        while (true) {
            if (q >= m_src.size()) error("unexpected end of string", p);
            const char c = m_src[q];
            if (c == quote) break;
            if (c != '\\') {
                value += c;
                ++q;
                continue;
            }
            if (q + 1 >= m_src.size()) error("unexpected end of string", p);
            const char e = m_src[q + 1];
            q += 2;
            switch (e) {
            case '\n': break;
            case '\\': value += '\\'; break;
            case '\'': value += '\''; break;
            case '"': value += '"'; break;
            case 'a': value += '\a'; break;
            case 'b': value += '\b'; break;
            case 'f': value += '\f'; break;
            case 'n': value += '\n'; break;
            case 'r': value += '\r'; break;
            case 't': value += '\t'; break;
            case 'v': value += '\v'; break;
            case 'x':
            case 'u':
            case 'U': {
                const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                uint32_t cp = 0;
                const auto r = std::from_chars(m_src.data() + q, m_src.data() + std::min(q + digits, m_src.size()), cp, 16);
                if (r.ec != std::errc() || static_cast<size_t>(r.ptr - (m_src.data() + q)) != digits)
                    error(std::string("truncated \\") + e + " escape in a string", q - 2);
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) error("invalid code point in a string escape", q - 2);
                utf8::append(value, static_cast<char32_t>(cp));
                q += digits;
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    uint32_t cp = static_cast<uint32_t>(e - '0');
                    for (int k = 0; k < 2 && q < m_src.size() && m_src[q] >= '0' && m_src[q] <= '7'; ++k, ++q)
                        cp = cp * 8 + static_cast<uint32_t>(m_src[q] - '0');
                    utf8::append(value, static_cast<char32_t>(cp));
                } else {
                    value += '\\';
                    value += e;
                }
            }
        }
        emit(TokenType::String, p, std::move(value));
        m_pos = q + 1;
    }

    void lexNumber(size_t p) {
        const size_t n = m_src.size();
        auto digitsAt = [&](size_t q) {
            size_t r = q;
            while (r < n && (std::isdigit(static_cast<unsigned char>(m_src[r])) ||
                             (m_src[r] == '_' && r + 1 < n && std::isdigit(static_cast<unsigned char>(m_src[r + 1])) && r > q)))
                ++r;
            return r;
        };
        size_t q = digitsAt(p);
        bool isFloat = false;
        if (q + 1 < n && m_src[q] == '.' && std::isdigit(static_cast<unsigned char>(m_src[q + 1]))) {
            q = digitsAt(q + 1);
            isFloat = true;
        }
        if (q < n && (m_src[q] == 'e' || m_src[q] == 'E')) {
            size_t r = q + 1;
            if (r < n && (m_src[r] == '+' || m_src[r] == '-')) ++r;
            if (r < n && std::isdigit(static_cast<unsigned char>(m_src[r]))) {
                q = digitsAt(r);
                isFloat = true;
            }
        }
        std::string text = m_src.substr(p, q - p);
        text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
        Token t;
        locate(t, p);
        if (isFloat) {
            t.type = TokenType::Float;
            t.floatValue = std::strtod(text.c_str(), nullptr);
        } else {
            t.type = TokenType::Int;
            const auto r = std::from_chars(text.data(), text.data() + text.size(), t.intValue);
            if (r.ec != std::errc()) error("integer literal out of range", p);
        }
        t.text = std::move(text);
        m_tokens.push_back(std::move(t));
        m_pos = q;
    }

    std::string m_src;
    std::vector<size_t> m_lineStarts;
    std::vector<Token> m_tokens;
    size_t m_pos = 0;
    bool m_lineStarting = true;
};

} // namespace

std::vector<Token> lexTemplate(std::string_view source) {
    std::string src;
    src.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\r') {
            src += '\n';
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            src += source[i];
        }
    }
    if (!src.empty() && src.back() == '\n') src.pop_back();
    return Lexer(std::move(src)).run();
}

} // namespace tokenlens::chat::detail
