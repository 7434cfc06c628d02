#include "chat/pystr.h"

#include "util/utf8.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace tokenlens::chat::detail {

std::u32string toU32(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) out.push_back(utf8::next(s, pos));
    return out;
}

std::string fromU32(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) utf8::append(out, c);
    return out;
}

size_t codePointCount(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
    return n;
}

bool pyIsSpace(char32_t c) {
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return true;
    if (c < 0x80) return false;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

namespace {

// Simple case pairs of the scripts chat data uses most: Latin-1, Latin
// Extended-A, Greek and Cyrillic. Other characters map to themselves.
bool latinExtAUpper(char32_t c) {
    if (c >= 0x100 && c <= 0x137) return c % 2 == 0 && c != 0x130;
    if (c >= 0x139 && c <= 0x148) return c % 2 == 1;
    if (c >= 0x14A && c <= 0x177) return c % 2 == 0;
    return c == 0x178 || c == 0x179 || c == 0x17B || c == 0x17D;
}

} // namespace

char32_t pyUpper(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
    if (c == 0xFF) return 0x178;
    if (c == 0xB5) return 0x39C;
    if (c >= 0x100 && c <= 0x17E) {
        if (c == 0x131) return 'I';
        if (c == 0x17A || c == 0x17C || c == 0x17E) return c - 1;
        if (c >= 0x139 && c <= 0x148) return c % 2 == 0 ? c - 1 : c;
        if (c == 0x138 || c == 0x149 || c == 0x130 || c == 0x178 || c == 0x179 || c == 0x17B || c == 0x17D) return c;
        return c % 2 == 1 ? c - 1 : c;
    }
    if (c >= 0x3B1 && c <= 0x3C9) return c == 0x3C2 ? 0x3A3 : c - 32;
    if (c >= 0x3AC && c <= 0x3AF) {
        static const char32_t map[] = {0x386, 0x388, 0x389, 0x38A};
        return map[c - 0x3AC];
    }
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    return c;
}

char32_t pyLower(char32_t c) {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
    if (c == 0x178) return 0xFF;
    if (c >= 0x100 && c <= 0x17E) {
        if (c == 0x130) return 'i';
        return latinExtAUpper(c) ? c + 1 : c;
    }
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c == 0x386) return 0x3AC;
    if (c >= 0x388 && c <= 0x38A) return c + 37;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}

bool pyIsUpper(char32_t c) { return pyLower(c) != c; }
bool pyIsLower(char32_t c) { return pyUpper(c) != c || c == 0xDF; }
bool pyIsAlpha(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return pyIsUpper(c) || pyIsLower(c) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3040 && c <= 0x30FF) ||
           (c >= 0xAC00 && c <= 0xD7A3);
}
bool pyIsDigit(char32_t c) { return c >= '0' && c <= '9'; }

std::string pyStrip(std::string_view s, const std::optional<std::string>& chars, StripSide side) {
    const std::u32string u = toU32(s);
    const std::u32string set = chars ? toU32(*chars) : std::u32string();
    auto strip = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : pyIsSpace(c); };
    size_t b = 0, e = u.size();
    if (side != StripSide::Right) {
        while (b < e && strip(u[b])) ++b;
    }
    if (side != StripSide::Left) {
        while (e > b && strip(u[e - 1])) --e;
    }
    return fromU32(std::u32string_view(u).substr(b, e - b));
}

std::vector<std::string> pySplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxSplit) {
    std::vector<std::string> out;
    if (sep) {
        size_t start = 0;
        while (maxSplit < 0 || static_cast<int64_t>(out.size()) < maxSplit) {
            const size_t at = s.find(*sep, start);
            if (at == std::string_view::npos) break;
            out.emplace_back(s.substr(start, at - start));
            start = at + sep->size();
        }
        out.emplace_back(s.substr(start));
        return out;
    }
    const std::u32string u = toU32(s);
    size_t i = 0;
    while (i < u.size()) {
        while (i < u.size() && pyIsSpace(u[i])) ++i;
        if (i >= u.size()) break;
        if (maxSplit >= 0 && static_cast<int64_t>(out.size()) >= maxSplit) {
            size_t e = u.size();
            while (e > i && pyIsSpace(u[e - 1])) --e;
            out.push_back(fromU32(std::u32string_view(u).substr(i, e - i)));
            return out;
        }
        size_t j = i;
        while (j < u.size() && !pyIsSpace(u[j])) ++j;
        out.push_back(fromU32(std::u32string_view(u).substr(i, j - i)));
        i = j;
    }
    return out;
}

std::vector<std::string> pyRSplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxSplit) {
    if (maxSplit < 0) return pySplit(s, sep, maxSplit);
    std::vector<std::string> out;
    if (sep) {
        size_t end = s.size();
        while (static_cast<int64_t>(out.size()) < maxSplit) {
            if (end < sep->size()) break;
            const size_t at = s.rfind(*sep, end - sep->size());
            if (at == std::string_view::npos) break;
            out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
            end = at;
        }
        out.emplace_back(s.substr(0, end));
        std::reverse(out.begin(), out.end());
        return out;
    }
    const std::u32string u = toU32(s);
    size_t e = u.size();
    while (e > 0) {
        while (e > 0 && pyIsSpace(u[e - 1])) --e;
        if (e == 0) break;
        if (static_cast<int64_t>(out.size()) >= maxSplit) {
            size_t b = 0;
            while (b < e && pyIsSpace(u[b])) ++b;
            out.push_back(fromU32(std::u32string_view(u).substr(b, e - b)));
            e = 0;
            break;
        }
        size_t b = e;
        while (b > 0 && !pyIsSpace(u[b - 1])) --b;
        out.push_back(fromU32(std::u32string_view(u).substr(b, e - b)));
        e = b;
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<std::string> pySplitLines(std::string_view s, bool keepEnds) {
    const std::u32string u = toU32(s);
    std::vector<std::string> out;
    size_t start = 0, i = 0;
    auto isBreak = [](char32_t c) {
        return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
               c == 0x85 || c == 0x2028 || c == 0x2029;
    };
    while (i < u.size()) {
        if (!isBreak(u[i])) {
            ++i;
            continue;
        }
        size_t eol = i + 1;
        if (u[i] == '\r' && eol < u.size() && u[eol] == '\n') ++eol;
        out.push_back(fromU32(std::u32string_view(u).substr(start, (keepEnds ? eol : i) - start)));
        start = i = eol;
    }
    if (start < u.size()) out.push_back(fromU32(std::u32string_view(u).substr(start)));
    return out;
}

std::string pyReplace(std::string_view s, std::string_view old, std::string_view repl, int64_t count) {
    std::string out;
    if (old.empty()) {
        // Python inserts `repl` before every code point and at the end.
        const std::u32string u = toU32(s);
        int64_t done = 0;
        for (char32_t c : u) {
            if (count < 0 || done < count) {
                out += repl;
                ++done;
            }
            utf8::append(out, c);
        }
        if (count < 0 || done < count) out += repl;
        return out;
    }
    size_t pos = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const size_t at = s.find(old, pos);
        if (at == std::string_view::npos) break;
        out.append(s.substr(pos, at - pos));
        out.append(repl);
        pos = at + old.size();
        ++done;
    }
    out.append(s.substr(pos));
    return out;
}

std::string pyUpperStr(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) utf8::append(out, pyUpper(utf8::next(s, pos)));
    return out;
}

std::string pyLowerStr(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) utf8::append(out, pyLower(utf8::next(s, pos)));
    return out;
}

std::string pyCapitalize(std::string_view s) {
    std::u32string u = toU32(s);
    for (size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? pyUpper(u[i]) : pyLower(u[i]);
    return fromU32(u);
}

std::string pyTitleMethod(std::string_view s) {
    std::u32string u = toU32(s);
    bool previousCased = false;
    for (char32_t& c : u) {
        const bool cased = pyIsUpper(c) || pyIsLower(c);
        c = previousCased ? pyLower(c) : pyUpper(c);
        previousCased = cased;
    }
    return fromU32(u);
}

std::string jinjaTitle(std::string_view s) {
    // Words start after runs of whitespace, '-', '(', '{', '[', '<'.
    std::u32string u = toU32(s);
    bool wordStart = true;
    for (char32_t& c : u) {
        const bool sep = pyIsSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
        if (sep) {
            wordStart = true;
            continue;
        }
        c = wordStart ? pyUpper(c) : pyLower(c);
        wordStart = false;
    }
    return fromU32(u);
}

int64_t pyCount(std::string_view s, std::string_view sub) {
    if (sub.empty()) return static_cast<int64_t>(codePointCount(s)) + 1;
    int64_t n = 0;
    size_t pos = 0;
    while ((pos = s.find(sub, pos)) != std::string_view::npos) {
        ++n;
        pos += sub.size();
    }
    return n;
}

int64_t pyFind(std::string_view s, std::string_view sub, bool reverse) {
    const size_t at = reverse ? s.rfind(sub) : s.find(sub);
    if (at == std::string_view::npos) return -1;
    return static_cast<int64_t>(codePointCount(s.substr(0, at)));
}

std::optional<int64_t> pyParseInt(std::string_view text, int base) {
    const std::string t = pyStrip(text, std::nullopt, StripSide::Both);
    std::string digits;
    size_t i = 0;
    bool negative = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
    bool lastUnderscore = true;
    for (; i < t.size(); ++i) {
        if (t[i] == '_') {
            if (lastUnderscore) return std::nullopt;
            lastUnderscore = true;
            continue;
        }
        digits += t[i];
        lastUnderscore = false;
    }
    if (digits.empty() || lastUnderscore) return std::nullopt;
    int64_t v = 0;
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return std::nullopt;
    return negative ? -v : v;
}

std::optional<double> pyParseFloat(std::string_view text) {
    std::string t = pyStrip(text, std::nullopt, StripSide::Both);
    t.erase(std::remove(t.begin(), t.end(), '_'), t.end());
    if (t.empty()) return std::nullopt;
    std::string lower = pyLowerStr(t);
    const bool neg = !lower.empty() && lower[0] == '-';
    const std::string body = (!lower.empty() && (lower[0] == '-' || lower[0] == '+')) ? lower.substr(1) : lower;
    if (body == "inf" || body == "infinity") return neg ? -HUGE_VAL : HUGE_VAL;
    if (body == "nan") return std::nan("");
    for (char c : body) {
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == '+' || c == '-')) return std::nullopt;
    }
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size()) return std::nullopt;
    return v;
}

} // namespace tokenlens::chat::detail
