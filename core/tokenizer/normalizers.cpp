#include "tokenizer/normalizers.h"

#include "util/utf8.h"

namespace tokenlens::tok {

void UnicodeNormalizer::normalize(NormalizedString& s) const { unicode::normalize(s, m_form); }

void LowercaseNormalizer::normalize(NormalizedString& s) const { unicode::lowercase(s); }

void StripNormalizer::normalize(NormalizedString& s) const {
    const std::string& t = s.text();
    size_t b = 0, e = t.size();
    if (m_left) {
        size_t pos = 0;
        while (pos < t.size()) {
            const size_t at = pos;
            if (!unicode::isWhitespace(utf8::next(t, pos))) {
                pos = at;
                break;
            }
        }
        b = pos;
    }
    if (m_right) {
        while (e > b) {
            size_t start = e - 1;
            while (start > b && (static_cast<unsigned char>(t[start]) & 0xC0) == 0x80) --start;
            size_t pos = start;
            if (!unicode::isWhitespace(utf8::next(t, pos))) break;
            e = start;
        }
    }
    if (b == 0 && e == t.size()) return;
    NormalizedString out = s.slice(b, e);
    if (out.empty()) out.setAnchor(s.originalSpan(b, b).begin);
    s = std::move(out);
}

void StripAccentsNormalizer::normalize(NormalizedString& s) const {
    const std::string& t = s.text();
    NormalizedString out = s.emptyLike();
    out.reserve(t.size());
    size_t pos = 0;
    while (pos < t.size()) {
        const size_t at = pos;
        if (!unicode::isNonSpacingMark(utf8::next(t, pos))) out.appendFrom(s, at, pos);
    }
    s = std::move(out);
}

void PrependNormalizer::normalize(NormalizedString& s) const {
    if (!s.empty()) s.prepend(m_prepend);
}

void replaceAll(NormalizedString& s, const Regex& pattern, std::string_view content) {
    const auto matches = pattern.findAll(s.text());
    if (matches.empty()) return;
    NormalizedString out = s.emptyLike();
    out.reserve(s.size() + matches.size() * content.size());
    size_t prev = 0;
    for (const auto& [b, e] : matches) {
        out.appendFrom(s, prev, b);
        if (!content.empty()) out.append(content, s.originalSpan(b, e));
        prev = e;
    }
    out.appendFrom(s, prev, s.size());
    s = std::move(out);
}

void ReplaceNormalizer::normalize(NormalizedString& s) const { replaceAll(s, *m_pattern, m_content); }

void SequenceNormalizer::normalize(NormalizedString& s) const {
    for (const auto& n : m_items) n->normalize(s);
}

} // namespace tokenlens::tok
