#pragma once
// Decoders: Replace, ByteFallback, Fuse, Strip, Metaspace, WordPiece, BPEDecoder
// and Sequence (ByteLevel lives in byte_level.h), plus transformers'
// clean_up_tokenization.

#include "tokenizer/components.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/regex.h"

#include <memory>
#include <string>
#include <vector>

namespace tokenlens::tok {

class ReplaceDecoder final : public Decoder {
public:
    ReplaceDecoder(std::shared_ptr<const Regex> pattern, std::string content)
        : m_pattern(std::move(pattern)), m_content(std::move(content)) {}
    void decodeChain(std::vector<std::string>& tokens) const override;
    std::string displayPiece(std::string piece) const override;

private:
    std::string replace(const std::string& s) const;
    std::shared_ptr<const Regex> m_pattern;
    std::string m_content;
};

// Runs of "<0xNN>" tokens become the text of their bytes (U+FFFD per byte if
// the run is not valid UTF-8).
class ByteFallbackDecoder final : public Decoder {
public:
    void decodeChain(std::vector<std::string>& tokens) const override;
};

class FuseDecoder final : public Decoder {
public:
    void decodeChain(std::vector<std::string>& tokens) const override;
};

// Removes up to `start` leading and `stop` trailing `content` characters of each token.
class StripDecoder final : public Decoder {
public:
    StripDecoder(char32_t content, size_t start, size_t stop) : m_content(content), m_start(start), m_stop(stop) {}
    void decodeChain(std::vector<std::string>& tokens) const override;

private:
    char32_t m_content;
    size_t m_start;
    size_t m_stop;
};

class MetaspaceDecoder final : public Decoder {
public:
    MetaspaceDecoder(char32_t replacement, PrependScheme scheme) : m_replacement(replacement), m_scheme(scheme) {}
    void decodeChain(std::vector<std::string>& tokens) const override;
    std::string displayPiece(std::string piece) const override;

private:
    char32_t m_replacement;
    PrependScheme m_scheme;
};

class WordPieceDecoder final : public Decoder {
public:
    WordPieceDecoder(std::string prefix, bool cleanup) : m_prefix(std::move(prefix)), m_cleanup(cleanup) {}
    void decodeChain(std::vector<std::string>& tokens) const override;
    std::string displayPiece(std::string piece) const override;

private:
    std::string m_prefix;
    bool m_cleanup;
};

// End-of-word suffix ("</w>") becomes a space, dropped after the last token.
class BpeSuffixDecoder final : public Decoder {
public:
    explicit BpeSuffixDecoder(std::string suffix) : m_suffix(std::move(suffix)) {}
    void decodeChain(std::vector<std::string>& tokens) const override;
    std::string displayPiece(std::string piece) const override;

private:
    std::string m_suffix;
};

class SequenceDecoder final : public Decoder {
public:
    explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> items) : m_items(std::move(items)) {}
    void decodeChain(std::vector<std::string>& tokens) const override;
    std::string displayPiece(std::string piece) const override;

private:
    std::vector<std::unique_ptr<Decoder>> m_items;
};

// transformers' clean_up_tokenization: " ." -> ".", " n't" -> "n't", ...
std::string cleanUpTokenizationSpaces(std::string text);

} // namespace tokenlens::tok
