#pragma once
// WordLevel: every pre-token is looked up whole; unknown words become unk.

#include "tokenizer/vocab_model.h"

namespace tokenlens::tok {

class WordLevelModel final : public VocabModel {
public:
    WordLevelModel(Vocab vocab, std::string unkToken);

    std::string type() const override { return "WordLevel"; }
    Status tokenize(std::string_view word, std::vector<ModelToken>& out) const override;

private:
    std::string m_unkToken;
    std::optional<int32_t> m_unkId;
};

} // namespace tokenlens::tok
