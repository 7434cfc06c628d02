#pragma once
// Pre-tokenizers: Split, Whitespace, WhitespaceSplit, Metaspace, Digits,
// Punctuation, CharDelimiterSplit, BertPreTokenizer and Sequence (ByteLevel
// lives in byte_level.h).

#include "tokenizer/components.h"
#include "tokenizer/regex.h"

#include <memory>
#include <vector>

namespace tokenlens::tok {

// Splits on the matches of a regex (or of a literal string, escaped into one).
class SplitPreTokenizer final : public PreTokenizer {
public:
    SplitPreTokenizer(std::shared_ptr<const Regex> pattern, SplitBehavior behavior, bool invert)
        : m_pattern(std::move(pattern)), m_behavior(behavior), m_invert(invert) {}

protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;

private:
    std::shared_ptr<const Regex> m_pattern;
    SplitBehavior m_behavior;
    bool m_invert;
};

// Words and runs of punctuation: \w+|[^\w\s]+, whitespace dropped.
class WhitespacePreTokenizer final : public PreTokenizer {
public:
    WhitespacePreTokenizer();

protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;

private:
    std::shared_ptr<const Regex> m_regex;
};

// Splits on whitespace characters, which are dropped.
class WhitespaceSplitPreTokenizer final : public PreTokenizer {
protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;
};

class CharDelimiterPreTokenizer final : public PreTokenizer {
public:
    explicit CharDelimiterPreTokenizer(char32_t delimiter) : m_delimiter(delimiter) {}

protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;

private:
    char32_t m_delimiter;
};

class DigitsPreTokenizer final : public PreTokenizer {
public:
    explicit DigitsPreTokenizer(bool individualDigits) : m_individual(individualDigits) {}

protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;

private:
    bool m_individual;
};

class PunctuationPreTokenizer final : public PreTokenizer {
public:
    explicit PunctuationPreTokenizer(SplitBehavior behavior) : m_behavior(behavior) {}

protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;

private:
    SplitBehavior m_behavior;
};

// Whitespace split, then every punctuation character on its own.
class BertPreTokenizer final : public PreTokenizer {
protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;
};

enum class PrependScheme { Always, First, Never };

// SentencePiece style: spaces become `replacement` ("▁"), which is prepended
// (always, or to the first piece of the text only) and starts every word.
class MetaspacePreTokenizer final : public PreTokenizer {
public:
    MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split);

protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;

private:
    char32_t m_replacement;
    std::string m_replacementUtf8;
    PrependScheme m_scheme;
    bool m_split;
    std::shared_ptr<const Regex> m_space;
};

class SequencePreTokenizer final : public PreTokenizer {
public:
    explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> items) : m_items(std::move(items)) {}
    void preTokenize(std::vector<NormalizedString>& pieces) const override;

protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;

private:
    std::vector<std::unique_ptr<PreTokenizer>> m_items;
};

} // namespace tokenlens::tok
