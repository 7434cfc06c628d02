#include "tokenizer/word_level.h"

namespace tokenlens::tok {

WordLevelModel::WordLevelModel(Vocab vocab, std::string unkToken)
    : VocabModel(std::move(vocab), "WordLevel"), m_unkToken(std::move(unkToken)) {
    m_unkId = m_vocab.find(m_unkToken);
}

Status WordLevelModel::tokenize(std::string_view word, std::vector<ModelToken>& out) const {
    if (word.empty()) return {};
    auto id = m_vocab.find(word);
    if (!id) id = m_unkId;
    if (!id) {
        return makeError(ErrorCode::InvalidArgument, "WordLevel: '" + std::string(word) +
                                                         "' is not in the vocabulary and the unk_token '" +
                                                         m_unkToken + "' is missing from it");
    }
    out.push_back(ModelToken{*id, 0, static_cast<uint32_t>(word.size())});
    return {};
}

} // namespace tokenlens::tok
