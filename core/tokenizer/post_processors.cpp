#include "tokenizer/post_processors.h"

namespace tokenlens::tok {

namespace {

void appendSpecial(Encoding& out, const SpecialPiece& piece) {
    for (size_t k = 0; k < piece.ids.size(); ++k) {
        out.ids.push_back(piece.ids[k]);
        out.tokens.push_back(k < piece.tokens.size() ? piece.tokens[k] : std::string());
        out.offsets.emplace_back(0, 0);
        out.special.push_back(true);
    }
}

void appendEncoding(Encoding& out, Encoding&& in) {
    out.ids.insert(out.ids.end(), in.ids.begin(), in.ids.end());
    for (auto& t : in.tokens) out.tokens.push_back(std::move(t));
    out.offsets.insert(out.offsets.end(), in.offsets.begin(), in.offsets.end());
    out.special.insert(out.special.end(), in.special.begin(), in.special.end());
}

} // namespace

TemplatePostProcessor::TemplatePostProcessor(std::vector<Item> single, std::map<std::string, SpecialPiece> specials)
    : m_single(std::move(single)), m_specials(std::move(specials)) {
    for (const auto& item : m_single) {
        if (!item.isSequence && !m_specials.count(item.special)) {
            throw ConfigError(ErrorCode::Corrupt,
                              "post_processor template uses '" + item.special + "', missing from special_tokens");
        }
    }
}

void TemplatePostProcessor::process(Encoding& encoding, bool addSpecialTokens) const {
    if (!addSpecialTokens) return;
    Encoding out;
    for (const auto& item : m_single) {
        if (item.isSequence) appendEncoding(out, std::move(encoding));
        else appendSpecial(out, m_specials.at(item.special));
    }
    encoding = std::move(out);
}

bool TemplatePostProcessor::prependsSpecial() const { return !m_single.empty() && !m_single.front().isSequence; }

void ClsSepPostProcessor::process(Encoding& encoding, bool addSpecialTokens) const {
    if (m_trimmer) m_trimmer->process(encoding, addSpecialTokens);
    if (!addSpecialTokens) return;
    Encoding out;
    appendSpecial(out, m_cls);
    appendEncoding(out, std::move(encoding));
    appendSpecial(out, m_sep);
    encoding = std::move(out);
}

void SequencePostProcessor::process(Encoding& encoding, bool addSpecialTokens) const {
    for (const auto& p : m_items) p->process(encoding, addSpecialTokens);
}

bool SequencePostProcessor::prependsSpecial() const {
    for (const auto& p : m_items) {
        if (p->prependsSpecial()) return true;
    }
    return false;
}

} // namespace tokenlens::tok
