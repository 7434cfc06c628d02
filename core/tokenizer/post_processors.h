#pragma once
// Post-processors: TemplateProcessing, BertProcessing, RobertaProcessing and
// Sequence (ByteLevel lives in byte_level.h). Only single sequences are
// encoded, so only the "single" template is used.

#include "tokenizer/components.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tokenlens::tok {

struct SpecialPiece {
    std::vector<int32_t> ids;
    std::vector<std::string> tokens;
};

class TemplatePostProcessor final : public PostProcessor {
public:
    // One template item: a special token (key into `specials`) or the sequence.
    struct Item {
        bool isSequence = false;
        std::string special;
    };
    TemplatePostProcessor(std::vector<Item> single, std::map<std::string, SpecialPiece> specials);
    void process(Encoding& encoding, bool addSpecialTokens) const override;
    bool prependsSpecial() const override;

private:
    std::vector<Item> m_single;
    std::map<std::string, SpecialPiece> m_specials;
};

// [CLS] A [SEP] (Bert) or <s> A </s> (Roberta, which may also trim offsets).
class ClsSepPostProcessor final : public PostProcessor {
public:
    ClsSepPostProcessor(SpecialPiece cls, SpecialPiece sep, std::unique_ptr<PostProcessor> offsetTrimmer)
        : m_cls(std::move(cls)), m_sep(std::move(sep)), m_trimmer(std::move(offsetTrimmer)) {}
    void process(Encoding& encoding, bool addSpecialTokens) const override;
    bool prependsSpecial() const override { return true; }

private:
    SpecialPiece m_cls;
    SpecialPiece m_sep;
    std::unique_ptr<PostProcessor> m_trimmer;
};

class SequencePostProcessor final : public PostProcessor {
public:
    explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> items) : m_items(std::move(items)) {}
    void process(Encoding& encoding, bool addSpecialTokens) const override;
    bool prependsSpecial() const override;

private:
    std::vector<std::unique_ptr<PostProcessor>> m_items;
};

} // namespace tokenlens::tok
