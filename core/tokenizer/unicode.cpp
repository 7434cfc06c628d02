#include "tokenizer/unicode.h"

#include "util/utf8.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <stdexcept>

namespace tokenlens::tok::unicode {

namespace {

const UNormalizer2* instance(Form form) {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* n = nullptr;
    switch (form) {
    case Form::NFC: n = unorm2_getNFCInstance(&status); break;
    case Form::NFD: n = unorm2_getNFDInstance(&status); break;
    case Form::NFKC: n = unorm2_getNFKCInstance(&status); break;
    case Form::NFKD: n = unorm2_getNFKDInstance(&status); break;
    }
    if (U_FAILURE(status) || !n) throw std::runtime_error("ICU normalizer unavailable");
    return n;
}

std::u16string toUtf16(std::string_view s) {
    std::u16string out;
    size_t pos = 0;
    while (pos < s.size()) {
        const char32_t c = utf8::next(s, pos);
        if (c >= 0x10000) {
            out.push_back(static_cast<char16_t>(0xD800 + ((c - 0x10000) >> 10)));
            out.push_back(static_cast<char16_t>(0xDC00 + ((c - 0x10000) & 0x3FF)));
        } else {
            out.push_back(static_cast<char16_t>(c));
        }
    }
    return out;
}

std::u32string toUtf32(const std::u16string& s) {
    std::u32string out;
    for (size_t i = 0; i < s.size(); ++i) {
        char32_t c = s[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.size()) {
            c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00);
            ++i;
        }
        out.push_back(c);
    }
    return out;
}

bool allAscii(std::string_view s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

// Appends the normalized form of the run [b, e) of `ns`.
void normalizeRun(const UNormalizer2* n, const NormalizedString& ns, size_t b, size_t e,
                  NormalizedString& out) {
    const std::string_view run = std::string_view(ns.text()).substr(b, e - b);
    const std::u16string src = toUtf16(run);
    UErrorCode status = U_ZERO_ERROR;
    if (unorm2_isNormalized(n, reinterpret_cast<const UChar*>(src.data()), static_cast<int32_t>(src.size()),
                            &status) &&
        U_SUCCESS(status)) {
        out.appendFrom(ns, b, e);
        return;
    }
    status = U_ZERO_ERROR;
    std::u16string dst(src.size() * 4 + 8, u'\0');
    const int32_t len = unorm2_normalize(n, reinterpret_cast<const UChar*>(src.data()),
                                         static_cast<int32_t>(src.size()), reinterpret_cast<UChar*>(dst.data()),
                                         static_cast<int32_t>(dst.size()), &status);
    if (U_FAILURE(status)) {
        out.appendFrom(ns, b, e);
        return;
    }
    dst.resize(static_cast<size_t>(len));
    const std::u32string outChars = toUtf32(dst);
    // Same number of characters: map one to one; otherwise the whole run.
    std::vector<std::pair<size_t, size_t>> inChars;
    for (size_t pos = b; pos < e;) {
        const size_t start = pos;
        pos += utf8::sequenceLength(static_cast<unsigned char>(ns.text()[pos]));
        inChars.emplace_back(start, pos);
    }
    const Span whole = ns.originalSpan(b, e);
    for (size_t k = 0; k < outChars.size(); ++k) {
        const Span span = outChars.size() == inChars.size()
                              ? ns.originalSpan(inChars[k].first, inChars[k].second)
                              : whole;
        out.append(utf8::encode(outChars[k]), span);
    }
}

} // namespace

void normalize(NormalizedString& ns, Form form) {
    if (allAscii(ns.text())) return; // ASCII is invariant under every form
    const UNormalizer2* n = instance(form);
    const std::string& s = ns.text();
    NormalizedString out = ns.emptyLike();
    out.reserve(s.size());
    // Runs start at characters that have a normalization boundary before them;
    // each run normalizes independently of the others.
    size_t runStart = 0;
    size_t pos = 0;
    while (pos < s.size()) {
        const size_t at = pos;
        const char32_t c = utf8::next(s, pos);
        if (at > runStart && unorm2_hasBoundaryBefore(n, static_cast<UChar32>(c))) {
            normalizeRun(n, ns, runStart, at, out);
            runStart = at;
        }
    }
    if (runStart < s.size()) normalizeRun(n, ns, runStart, s.size(), out);
    ns = std::move(out);
}

void lowercase(NormalizedString& ns) {
    const std::string& s = ns.text();
    NormalizedString out = ns.emptyLike();
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) {
        const size_t at = pos;
        const char32_t c = utf8::next(s, pos);
        if (c < 0x80) {
            out.append(std::string(1, static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c)), ns.alignment()[at]);
            continue;
        }
        const std::u16string src = toUtf16(std::string_view(s).substr(at, pos - at));
        std::u16string dst(16, u'\0');
        UErrorCode status = U_ZERO_ERROR;
        const int32_t len = u_strToLower(reinterpret_cast<UChar*>(dst.data()), static_cast<int32_t>(dst.size()),
                                         reinterpret_cast<const UChar*>(src.data()),
                                         static_cast<int32_t>(src.size()), "", &status);
        if (U_FAILURE(status)) {
            out.appendFrom(ns, at, pos);
            continue;
        }
        dst.resize(static_cast<size_t>(len));
        if (dst == src) {
            out.appendFrom(ns, at, pos);
            continue;
        }
        std::string lowered;
        for (char32_t lc : toUtf32(dst)) utf8::append(lowered, lc);
        out.append(lowered, ns.originalSpan(at, pos));
    }
    ns = std::move(out);
}

bool isWhitespace(char32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE);
}

bool isNumeric(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    const auto t = u_charType(static_cast<UChar32>(c));
    return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

bool isAlphanumeric(char32_t c) {
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC) || isNumeric(c);
}

bool isPunctuation(char32_t c) {
    if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
                         (c >= 0x7B && c <= 0x7E);
    return u_ispunct(static_cast<UChar32>(c));
}

bool isNonSpacingMark(char32_t c) { return u_charType(static_cast<UChar32>(c)) == U_NON_SPACING_MARK; }

} // namespace tokenlens::tok::unicode
