#pragma once
// A Hugging Face tokenizer.json pipeline: added tokens -> normalizer ->
// pre-tokenizer -> model (BPE / WordLevel) -> post-processor, and the decoder.
// Every token keeps the byte span of the original text it came from.

#include "util/result.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tokenlens {

struct Encoding {
    std::vector<int32_t> ids;
    std::vector<std::string> tokens;                    // vocabulary strings ("Ġworld", "▁Hello", "<0xE2>")
    // [begin, end) byte span in the original text. A byte-level or <0xNN> token
    // holding part of a multi-byte character spans just the bytes it holds; a
    // character made by NFC from several (e + U+0301 -> é) spans all of them.
    // Text the pipeline inserts (llama's prepended "▁", ByteLevel's prefix
    // space) spans nothing: "▁Hello" spans "Hello", a lone inserted "▁" is an
    // empty span where its text segment starts. Tokens added by the
    // post-processor (BOS, ...) are (0, 0).
    std::vector<std::pair<size_t, size_t>> offsets;
    std::vector<bool> special;                          // added special token or post-processor token
};

struct SpecialTokens {
    std::optional<int32_t> bos, eos, unk, pad;
};

class TokenizerImpl;

class Tokenizer {
public:
    // Reads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json
    // (clean_up_tokenization_spaces, bos/eos/unk/pad token strings).
    static Result<std::shared_ptr<Tokenizer>> fromFolder(const std::filesystem::path& dir);
    static Result<std::shared_ptr<Tokenizer>> fromFiles(const std::filesystem::path& tokenizerJson,
                                                        const std::optional<std::filesystem::path>& configJson);
    // From in-memory JSON; `sourceName` is used in messages.
    static Result<std::shared_ptr<Tokenizer>> fromJson(std::string_view tokenizerJson,
                                                       std::string_view tokenizerConfigJson,
                                                       const std::string& sourceName);
    ~Tokenizer();

    // Invalid UTF-8 is an error (InvalidArgument), never a crash.
    Result<Encoding> encode(std::string_view text, bool addSpecialTokens = true) const;

    // decode with the tokenizer's defaults; cleanup overrides clean_up_tokenization_spaces
    // (false when tokenizer_config.json does not set it). Unknown ids are skipped;
    // bytes that do not form UTF-8 come out as U+FFFD.
    std::string decode(std::span<const int32_t> ids, bool skipSpecialTokens = false,
                       std::optional<bool> cleanup = std::nullopt) const;

    // A single token as readable text for display: "Ġworld" -> " world",
    // "▁Hello" -> " Hello", byte-fallback pieces such as "<0xE2>" kept as they are.
    // Bytes of a byte-level piece that are not UTF-8 on their own (part of a
    // character) are written as "\xNN" escapes, so the result is always valid UTF-8.
    std::string displayToken(int32_t id) const;

    std::optional<int32_t> tokenToId(std::string_view token) const;
    std::string idToToken(int32_t id) const; // "" when out of range
    size_t vocabSize() const;                // includes added tokens
    std::string modelType() const;           // "BPE" | "WordLevel"
    const SpecialTokens& specialTokens() const;
    // Added tokens flagged special, in id order.
    std::vector<std::pair<int32_t, std::string>> specialTokenList() const;
    bool addsBos() const; // post-processor prepends a BOS-like token

private:
    explicit Tokenizer(std::unique_ptr<TokenizerImpl> impl);
    std::unique_ptr<TokenizerImpl> m_impl;
};

} // namespace tokenlens
