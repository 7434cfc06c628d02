#pragma once
// GPT-2's byte-level scheme: every byte is shown as a printable character
// (space -> "Ġ", newline -> "Ċ"), so that BPE runs on bytes. The
// pre-tokenizer, decoder and post-processor of the "ByteLevel" type.

#include "tokenizer/components.h"
#include "tokenizer/regex.h"

#include <array>
#include <memory>
#include <optional>
#include <string>

namespace tokenlens::tok {

// The printable character standing for each byte, UTF-8 encoded.
const std::array<std::string, 256>& byteToChar();
// The byte a byte-level character stands for, if any.
std::optional<unsigned char> charToByte(char32_t c);
// The bytes a string of byte-level characters stands for; nullopt if one of
// its characters is not a byte-level character.
std::optional<std::string> byteLevelToBytes(std::string_view s);

// The GPT-2 pre-tokenization regex used when use_regex is true.
extern const char* const kGpt2Pattern;

class ByteLevelPreTokenizer final : public PreTokenizer {
public:
    ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex);
    void preTokenize(std::vector<NormalizedString>& pieces) const override;

protected:
    void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const override;

private:
    bool m_addPrefixSpace;
    std::shared_ptr<const Regex> m_regex; // null when use_regex is false
};

// Maps a string's bytes to byte-level characters; each character keeps the
// alignment of the byte it stands for.
NormalizedString toByteLevel(const NormalizedString& s);

class ByteLevelDecoder final : public Decoder {
public:
    void decodeChain(std::vector<std::string>& tokens) const override;
    std::string displayPiece(std::string piece) const override;
};

// Adds nothing; with trim_offsets, offsets leave out leading/trailing spaces.
class ByteLevelPostProcessor final : public PostProcessor {
public:
    ByteLevelPostProcessor(bool trimOffsets, bool addPrefixSpace)
        : m_trimOffsets(trimOffsets), m_addPrefixSpace(addPrefixSpace) {}
    void process(Encoding& encoding, bool addSpecialTokens) const override;

private:
    bool m_trimOffsets;
    bool m_addPrefixSpace;
};

} // namespace tokenlens::tok
