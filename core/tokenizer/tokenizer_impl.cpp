#include "tokenizer/tokenizer_impl.h"

#include "tokenizer/decoders.h"
#include "tokenizer/json_loader.h"
#include "tokenizer/json_util.h"
#include "util/utf8.h"

#include <algorithm>

namespace tokenlens {

using tok::NormalizedString;

TokenizerImpl::TokenizerImpl(std::string_view tokenizerJson, std::string_view configJson,
                             const std::string& configName) {
    {
        auto loaded = tok::loadTokenizerJson(tokenizerJson);
        m_pipeline = tok::buildPipeline(loaded.root, &loaded.tables);
    }
    m_added.build(m_pipeline.addedTokens, m_pipeline.normalizer.get());
    if (!configJson.empty()) readConfig(configJson, configName);
}

void TokenizerImpl::readConfig(std::string_view configJson, const std::string& configName) {
    nlohmann::json cfg;
    try {
        cfg = nlohmann::json::parse(configJson);
    } catch (const nlohmann::json::exception& e) {
        throw tok::ConfigError(ErrorCode::Corrupt, std::string("invalid JSON: ") + e.what(), configName);
    }
    if (!cfg.is_object()) throw tok::ConfigError(ErrorCode::Corrupt, "not a JSON object", configName);
    if (const auto* c = tok::json::find(cfg, "clean_up_tokenization_spaces"); c && c->is_boolean())
        m_cleanup = c->get<bool>();
    auto special = [&](const char* key) -> std::optional<int32_t> {
        const auto* v = tok::json::find(cfg, key);
        if (!v) return std::nullopt;
        std::string content;
        if (v->is_string()) content = v->get<std::string>();
        else if (const auto* c = tok::json::find(*v, "content"); c && c->is_string()) content = c->get<std::string>();
        else return std::nullopt;
        return tokenToId(content);
    };
    m_specials.bos = special("bos_token");
    m_specials.eos = special("eos_token");
    m_specials.unk = special("unk_token");
    m_specials.pad = special("pad_token");
}

void TokenizerImpl::pushAdded(int32_t id, size_t b, size_t e, Encoding& out) const {
    const tok::AddedToken* t = m_added.byId(id);
    out.ids.push_back(id);
    out.tokens.push_back(t ? t->content : idToToken(id));
    out.offsets.emplace_back(b, e);
    out.special.push_back(t && t->special);
}

Status TokenizerImpl::encodeWords(const NormalizedString& piece, Encoding& out) const {
    std::vector<NormalizedString> words{piece};
    if (m_pipeline.preTokenizer) m_pipeline.preTokenizer->preTokenize(words);
    std::vector<tok::ModelToken> tokens;
    for (const auto& w : words) {
        if (w.empty()) continue;
        tokens.clear();
        if (Status st = m_pipeline.model->tokenize(w.text(), tokens); !st) return st;
        for (const auto& t : tokens) {
            const tok::Span span = w.originalSpan(t.begin, t.end);
            const std::string* s = m_pipeline.model->idToToken(t.id);
            out.ids.push_back(t.id);
            out.tokens.push_back(s ? *s : std::string());
            out.offsets.emplace_back(span.begin, span.end);
            out.special.push_back(false);
        }
    }
    return {};
}

Status TokenizerImpl::encodeSegment(std::string_view text, size_t b, size_t e, Encoding& out) const {
    NormalizedString ns = NormalizedString::fromOriginal(text.substr(b, e - b), b);
    if (m_pipeline.normalizer) m_pipeline.normalizer->normalize(ns);
    if (!m_added.hasNormalizedTokens()) return encodeWords(ns, out);
    for (const auto& seg : m_added.split(ns.text(), true)) {
        if (seg.id) {
            const tok::Span span = ns.originalSpan(seg.begin, seg.end);
            pushAdded(*seg.id, span.begin, span.end, out);
        } else if (Status st = encodeWords(ns.slice(seg.begin, seg.end), out); !st) {
            return st;
        }
    }
    return {};
}

Result<Encoding> TokenizerImpl::encode(std::string_view text, bool addSpecialTokens) const {
    if (auto bad = utf8::firstInvalid(text))
        return makeError(ErrorCode::InvalidArgument, "invalid UTF-8 in text at byte " + std::to_string(*bad));
    Encoding enc;
    try {
        for (const auto& seg : m_added.split(text, false)) {
            if (seg.id) pushAdded(*seg.id, seg.begin, seg.end, enc);
            else if (Status st = encodeSegment(text, seg.begin, seg.end, enc); !st) return st.error();
        }
        if (m_pipeline.postProcessor) m_pipeline.postProcessor->process(enc, addSpecialTokens);
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Internal, std::string("tokenizer failure: ") + e.what());
    }
    return enc;
}

std::string TokenizerImpl::decode(std::span<const int32_t> ids, bool skipSpecialTokens,
                                  std::optional<bool> cleanup) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
        if (const tok::AddedToken* t = m_added.byId(id)) {
            if (!(skipSpecialTokens && t->special)) tokens.push_back(t->content);
        } else if (const std::string* s = m_pipeline.model->idToToken(id)) {
            tokens.push_back(*s);
        }
    }
    std::string text;
    if (m_pipeline.decoder) {
        m_pipeline.decoder->decodeChain(tokens);
        for (const auto& t : tokens) text += t;
    } else {
        for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
    }
    if (cleanup.value_or(m_cleanup)) text = tok::cleanUpTokenizationSpaces(std::move(text));
    return text;
}

std::string TokenizerImpl::displayToken(int32_t id) const {
    if (const tok::AddedToken* t = m_added.byId(id)) return t->content;
    const std::string* s = m_pipeline.model->idToToken(id);
    if (!s) return {};
    std::string shown = m_pipeline.decoder ? m_pipeline.decoder->displayPiece(*s) : *s;
    return utf8::isValid(shown) ? shown : utf8::escapeInvalid(shown);
}

std::optional<int32_t> TokenizerImpl::tokenToId(std::string_view token) const {
    if (auto id = m_added.byContent(token)) return id;
    return m_pipeline.model->tokenToId(token);
}

std::string TokenizerImpl::idToToken(int32_t id) const {
    if (const tok::AddedToken* t = m_added.byId(id)) return t->content;
    const std::string* s = m_pipeline.model->idToToken(id);
    return s ? *s : std::string();
}

size_t TokenizerImpl::vocabSize() const {
    size_t n = m_pipeline.model->vocabSize();
    std::vector<std::string_view> seen;
    for (const auto& t : m_added.tokens()) {
        if (m_pipeline.model->tokenToId(t.content)) continue;
        if (std::find(seen.begin(), seen.end(), t.content) != seen.end()) continue;
        seen.push_back(t.content);
        ++n;
    }
    return n;
}

std::vector<std::pair<int32_t, std::string>> TokenizerImpl::specialTokenList() const {
    std::vector<std::pair<int32_t, std::string>> out;
    for (const auto& t : m_added.tokens()) {
        if (t.special) out.emplace_back(t.id, t.content);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

} // namespace tokenlens
