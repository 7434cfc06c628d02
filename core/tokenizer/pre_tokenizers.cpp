#include "tokenizer/pre_tokenizers.h"

#include "tokenizer/normalizers.h"
#include "tokenizer/unicode.h"
#include "util/utf8.h"

namespace tokenlens::tok {

void PreTokenizer::preTokenize(std::vector<NormalizedString>& pieces) const {
    std::vector<NormalizedString> out;
    out.reserve(pieces.size());
    for (auto& p : pieces) splitPiece(std::move(p), out);
    pieces = std::move(out);
}

void SplitPreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    piece.split(matchesToRanges(m_pattern->findAll(piece.text()), piece.size()), m_behavior, m_invert, out);
}

WhitespacePreTokenizer::WhitespacePreTokenizer() {
    std::string error;
    m_regex = Regex::compile(R"(\w+|[^\w\s]+)", error);
}

void WhitespacePreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    piece.split(matchesToRanges(m_regex->findAll(piece.text()), piece.size()), SplitBehavior::Removed, true, out);
}

void WhitespaceSplitPreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    piece.split(charMatches(piece.text(), unicode::isWhitespace), SplitBehavior::Removed, false, out);
}

void CharDelimiterPreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    piece.split(charMatches(piece.text(), [this](char32_t c) { return c == m_delimiter; }), SplitBehavior::Removed,
                false, out);
}

void DigitsPreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    piece.split(charMatches(piece.text(), unicode::isNumeric),
                m_individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false, out);
}

void PunctuationPreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    piece.split(charMatches(piece.text(), unicode::isPunctuation), m_behavior, false, out);
}

void BertPreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    std::vector<NormalizedString> words;
    piece.split(charMatches(piece.text(), unicode::isWhitespace), SplitBehavior::Removed, false, words);
    for (const auto& w : words)
        w.split(charMatches(w.text(), unicode::isPunctuation), SplitBehavior::Isolated, false, out);
}

MetaspacePreTokenizer::MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
    : m_replacement(replacement), m_replacementUtf8(utf8::encode(replacement)), m_scheme(scheme), m_split(split),
      m_space(Regex::literal(" ")) {}

void MetaspacePreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    replaceAll(piece, *m_space, m_replacementUtf8);
    const bool startsWithReplacement = piece.text().compare(0, m_replacementUtf8.size(), m_replacementUtf8) == 0;
    if (!startsWithReplacement) {
        // "first": only the piece that starts the original text.
        if (m_scheme == PrependScheme::Always ||
            (m_scheme == PrependScheme::First && piece.originalSpan().begin == 0))
            piece.prepend(m_replacementUtf8);
    }
    if (!m_split) {
        out.push_back(std::move(piece));
        return;
    }
    piece.split(charMatches(piece.text(), [this](char32_t c) { return c == m_replacement; }),
                SplitBehavior::MergedWithNext, false, out);
}

void SequencePreTokenizer::preTokenize(std::vector<NormalizedString>& pieces) const {
    for (const auto& p : m_items) p->preTokenize(pieces);
}

void SequencePreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    std::vector<NormalizedString> pieces{std::move(piece)};
    preTokenize(pieces);
    for (auto& p : pieces) out.push_back(std::move(p));
}

} // namespace tokenlens::tok
