#pragma once
// WordLevel: every pre-token is looked up whole; unknown words become unk.

#include "tokenizer/components.h"
#include "tokenizer/vocab.h"

namespace tokenlens::tok {

class WordLevelModel final : public Model {
public:
    WordLevelModel(Vocab vocab, std::string unkToken);

    std::string type() const override { return "WordLevel"; }
    Status tokenize(std::string_view word, std::vector<ModelToken>& out) const override;
    std::optional<int32_t> tokenToId(std::string_view token) const override { return m_vocab.find(token); }
    const std::string* idToToken(int32_t id) const override { return m_vocab.token(id); }
    size_t vocabSize() const override { return m_vocab.size(); }
    size_t idLimit() const override { return m_vocab.idLimit(); }

private:
    Vocab m_vocab;
    std::string m_unkToken;
    std::optional<int32_t> m_unkId;
};

} // namespace tokenlens::tok
