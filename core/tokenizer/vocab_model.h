#pragma once
// A model over one token <-> id table (BPE, WordLevel): the table's lookups
// answer the Model interface's questions about tokens and ids.

#include "tokenizer/components.h"
#include "tokenizer/vocab.h"

namespace tokenlens::tok {

class VocabModel : public Model {
public:
    std::optional<int32_t> tokenToId(std::string_view token) const override { return m_vocab.find(token); }
    const std::string* idToToken(int32_t id) const override { return m_vocab.token(id); }
    size_t vocabSize() const override { return m_vocab.size(); }
    size_t idLimit() const override { return m_vocab.idLimit(); }

protected:
    // Throws ConfigError naming `type` when the ids are too sparse to index.
    VocabModel(Vocab vocab, const std::string& type) : m_vocab(std::move(vocab)) {
        if (!m_vocab.finalize())
            throw ConfigError(ErrorCode::Corrupt, "model " + type + ": vocabulary ids are far too sparse");
    }

    Vocab m_vocab;
};

} // namespace tokenlens::tok
