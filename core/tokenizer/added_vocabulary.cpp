#include "tokenizer/added_vocabulary.h"

#include "tokenizer/unicode.h"
#include "util/utf8.h"

#include <algorithm>

namespace tokenlens::tok {

namespace {

bool isWordChar(char32_t c) { return c == '_' || unicode::isAlphanumeric(c); }

char32_t lastChar(std::string_view s) {
    size_t start = s.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    return utf8::next(s, start);
}

} // namespace

void AddedVocabulary::Matcher::index() {
    for (auto& list : byFirstByte) list.clear();
    for (size_t i = 0; i < patterns.size(); ++i) {
        if (!patterns[i].text.empty())
            byFirstByte[static_cast<unsigned char>(patterns[i].text[0])].push_back(static_cast<uint32_t>(i));
    }
    for (auto& list : byFirstByte) {
        std::stable_sort(list.begin(), list.end(), [this](uint32_t a, uint32_t b) {
            return patterns[a].text.size() > patterns[b].text.size();
        });
    }
}

void AddedVocabulary::build(std::vector<AddedToken> tokens, const Normalizer* normalizer) {
    m_tokens = std::move(tokens);
    m_raw = Matcher{};
    m_normalized = Matcher{};
    m_byId.clear();
    m_byContent.clear();
    for (size_t i = 0; i < m_tokens.size(); ++i) {
        const AddedToken& t = m_tokens[i];
        m_byId[t.id] = i;
        m_byContent[t.content] = t.id;
        if (t.content.empty()) continue;
        if (t.normalized && normalizer) {
            NormalizedString ns = NormalizedString::fromOriginal(t.content, 0);
            normalizer->normalize(ns);
            m_normalized.patterns.push_back({ns.text(), i});
        } else if (t.normalized) {
            m_normalized.patterns.push_back({t.content, i});
        } else {
            m_raw.patterns.push_back({t.content, i});
        }
    }
    m_raw.index();
    m_normalized.index();
}

std::vector<TextSegment> AddedVocabulary::split(std::string_view text, bool normalizedPass) const {
    return splitWith(normalizedPass ? m_normalized : m_raw, text);
}

std::vector<TextSegment> AddedVocabulary::splitWith(const Matcher& m, std::string_view text) const {
    std::vector<TextSegment> out;
    if (text.empty()) return out;
    size_t emitted = 0; // text before this is already in `out`
    size_t pos = 0;
    while (pos < text.size()) {
        // Leftmost-longest: the first position where some pattern matches.
        const Matcher::Pattern* hit = nullptr;
        size_t start = pos;
        for (; start < text.size() && !hit; ++start) {
            for (uint32_t idx : m.byFirstByte[static_cast<unsigned char>(text[start])]) {
                const auto& p = m.patterns[idx];
                if (text.compare(start, p.text.size(), p.text) == 0) {
                    hit = &p;
                    break;
                }
            }
            if (hit) break;
        }
        if (!hit) break;
        size_t b = start, e = start + hit->text.size();
        pos = e;
        const AddedToken& tok = m_tokens[hit->token];
        if (tok.singleWord) {
            const bool spaceBefore = b == 0 || !isWordChar(lastChar(text.substr(0, b)));
            size_t after = e;
            const bool spaceAfter = e == text.size() || !isWordChar(utf8::next(text, after));
            if (!spaceBefore || !spaceAfter) continue;
        }
        if (tok.lstrip) {
            size_t nb = b;
            while (nb > emitted) {
                size_t cs = nb - 1;
                while (cs > 0 && (static_cast<unsigned char>(text[cs]) & 0xC0) == 0x80) --cs;
                size_t tmp = cs;
                if (!unicode::isWhitespace(utf8::next(text, tmp))) break;
                nb = cs;
            }
            b = nb;
        }
        if (tok.rstrip) {
            while (e < text.size()) {
                size_t tmp = e;
                if (!unicode::isWhitespace(utf8::next(text, tmp))) break;
                e = tmp;
            }
            pos = e;
        }
        if (emitted < b) out.push_back(TextSegment{std::nullopt, emitted, b});
        out.push_back(TextSegment{tok.id, b, e});
        emitted = e;
    }
    if (emitted < text.size()) out.push_back(TextSegment{std::nullopt, emitted, text.size()});
    return out;
}

const AddedToken* AddedVocabulary::byId(int32_t id) const {
    auto it = m_byId.find(id);
    return it == m_byId.end() ? nullptr : &m_tokens[it->second];
}

std::optional<int32_t> AddedVocabulary::byContent(std::string_view content) const {
    auto it = m_byContent.find(content);
    if (it == m_byContent.end()) return std::nullopt;
    return it->second;
}

bool AddedVocabulary::isSpecial(int32_t id) const {
    const AddedToken* t = byId(id);
    return t && t->special;
}

} // namespace tokenlens::tok
