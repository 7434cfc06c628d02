#pragma once
// Added tokens (special or not): matched in the text before the model sees it
// and never split. Tokens flagged `normalized` are matched in the normalized
// text, the others in the raw text; at each position the longest wins.

#include "tokenizer/components.h"
#include "tokenizer/vocab.h"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tokenlens::tok {

struct AddedToken {
    int32_t id = 0;
    std::string content;
    bool singleWord = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = false;
    bool special = false;
};

// A piece of text: an added token (id set) or text for the normal pipeline.
struct TextSegment {
    std::optional<int32_t> id;
    size_t begin = 0;
    size_t end = 0;
};

class AddedVocabulary {
public:
    // `normalizer` (may be null) normalizes the contents of `normalized` tokens.
    void build(std::vector<AddedToken> tokens, const Normalizer* normalizer);

    // Splits `text` into segments, matching raw-text tokens (normalizedPass
    // false) or normalized-text tokens (true). An empty text gives nothing.
    std::vector<TextSegment> split(std::string_view text, bool normalizedPass) const;
    bool hasNormalizedTokens() const { return !m_normalized.patterns.empty(); }

    const AddedToken* byId(int32_t id) const;
    std::optional<int32_t> byContent(std::string_view content) const;
    bool isSpecial(int32_t id) const;
    const std::vector<AddedToken>& tokens() const { return m_tokens; }

private:
    struct Matcher {
        struct Pattern {
            std::string text; // what is matched (normalized content for normalized tokens)
            size_t token;     // index into m_tokens
        };
        std::vector<Pattern> patterns;
        std::array<std::vector<uint32_t>, 256> byFirstByte; // pattern indices, longest first
        void index();
    };
    std::vector<TextSegment> splitWith(const Matcher& m, std::string_view text) const;

    std::vector<AddedToken> m_tokens;
    std::unordered_map<int32_t, size_t> m_byId;
    StringMap<int32_t> m_byContent;
    Matcher m_raw;
    Matcher m_normalized;
};

} // namespace tokenlens::tok
