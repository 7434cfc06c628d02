#pragma once
// The assembled pipeline behind tokenlens::Tokenizer.

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/factory.h"
#include "tokenizer/tokenizer.h"

#include <string>
#include <string_view>

namespace tokenlens {

class TokenizerImpl {
public:
    // Throws tok::ConfigError or nlohmann::json exceptions.
    TokenizerImpl(std::string_view tokenizerJson, std::string_view configJson, const std::string& configName);

    Result<Encoding> encode(std::string_view text, bool addSpecialTokens) const;
    std::string decode(std::span<const int32_t> ids, bool skipSpecialTokens, std::optional<bool> cleanup) const;
    std::string displayToken(int32_t id) const;

    std::optional<int32_t> tokenToId(std::string_view token) const;
    std::string idToToken(int32_t id) const;
    size_t vocabSize() const;
    std::string modelType() const { return m_pipeline.model->type(); }
    const SpecialTokens& specialTokens() const { return m_specials; }
    std::vector<std::pair<int32_t, std::string>> specialTokenList() const;
    bool addsBos() const { return m_pipeline.postProcessor && m_pipeline.postProcessor->prependsSpecial(); }

private:
    void readConfig(std::string_view configJson, const std::string& configName);
    // Normalizes, pre-tokenizes and runs the model on the text [b, e) of `text`.
    Status encodeSegment(std::string_view text, size_t b, size_t e, Encoding& out) const;
    Status encodeWords(const tok::NormalizedString& piece, Encoding& out) const;
    void pushAdded(int32_t id, size_t b, size_t e, Encoding& out) const;

    tok::Pipeline m_pipeline;
    tok::AddedVocabulary m_added;
    SpecialTokens m_specials;
    bool m_cleanup = false;
};

} // namespace tokenlens
