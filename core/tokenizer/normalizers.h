#pragma once
// Normalizers: NFC/NFD/NFKC/NFKD, Lowercase, Strip, StripAccents, Prepend,
// Replace and Sequence, with HF `tokenizers` semantics.

#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

#include <memory>
#include <vector>

namespace tokenlens::tok {

class UnicodeNormalizer final : public Normalizer {
public:
    explicit UnicodeNormalizer(unicode::Form form) : m_form(form) {}
    void normalize(NormalizedString& s) const override;

private:
    unicode::Form m_form;
};

class LowercaseNormalizer final : public Normalizer {
public:
    void normalize(NormalizedString& s) const override;
};

class StripNormalizer final : public Normalizer {
public:
    StripNormalizer(bool left, bool right) : m_left(left), m_right(right) {}
    void normalize(NormalizedString& s) const override;

private:
    bool m_left;
    bool m_right;
};

// Removes non-spacing marks (usually after NFD).
class StripAccentsNormalizer final : public Normalizer {
public:
    void normalize(NormalizedString& s) const override;
};

// Inserts a string in front of non-empty text (SentencePiece's "▁").
class PrependNormalizer final : public Normalizer {
public:
    explicit PrependNormalizer(std::string prepend) : m_prepend(std::move(prepend)) {}
    void normalize(NormalizedString& s) const override;

private:
    std::string m_prepend;
};

// Replaces every match of a literal string or a regex with `content`.
class ReplaceNormalizer final : public Normalizer {
public:
    ReplaceNormalizer(std::shared_ptr<const Regex> pattern, std::string content)
        : m_pattern(std::move(pattern)), m_content(std::move(content)) {}
    void normalize(NormalizedString& s) const override;

private:
    std::shared_ptr<const Regex> m_pattern;
    std::string m_content;
};

class SequenceNormalizer final : public Normalizer {
public:
    explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> items) : m_items(std::move(items)) {}
    void normalize(NormalizedString& s) const override;

private:
    std::vector<std::unique_ptr<Normalizer>> m_items;
};

// Replaces every match of `pattern` in `s` with `content`, keeping alignment:
// untouched bytes keep theirs, a replacement maps onto the span it replaced.
void replaceAll(NormalizedString& s, const Regex& pattern, std::string_view content);

} // namespace tokenlens::tok
