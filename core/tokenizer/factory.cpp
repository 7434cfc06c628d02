#include "tokenizer/factory.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/decoders.h"
#include "tokenizer/json_util.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/post_processors.h"
#include "tokenizer/pre_tokenizers.h"
#include "util/utf8.h"

#include <functional>
#include <map>

namespace tokenlens::tok {

using json::Json;

namespace {

template <class T>
using Table = std::map<std::string, std::function<std::unique_ptr<T>(const Json&, const std::string&)>>;

template <class T>
std::unique_ptr<T> dispatch(const Json& j, const std::string& component, const Table<T>& table) {
    if (!j.is_object()) throw ConfigError(ErrorCode::Corrupt, component + " must be an object");
    const auto type = json::optString(j, "type", component);
    if (!type) throw ConfigError(ErrorCode::Corrupt, component + ": missing 'type'");
    auto it = table.find(*type);
    if (it == table.end())
        throw ConfigError(ErrorCode::Unsupported, "unsupported " + component + " type '" + *type + "'");
    return it->second(j, component + " " + *type);
}

template <class T>
std::vector<std::unique_ptr<T>> buildList(const Json& j, const char* key, const std::string& where,
                                          std::unique_ptr<T> (*build)(const Json&)) {
    std::vector<std::unique_ptr<T>> items;
    for (const auto& item : json::array(j, key, where)) items.push_back(build(item));
    return items;
}

std::shared_ptr<const Regex> pattern(const Json& j, const std::string& where) {
    const Json& p = json::require(j, "pattern", where);
    if (const Json* s = json::find(p, "String"); s && s->is_string()) return Regex::literal(s->get<std::string>());
    if (const Json* r = json::find(p, "Regex"); r && r->is_string()) {
        std::string error;
        auto re = Regex::compile(r->get<std::string>(), error);
        if (!re) throw ConfigError(ErrorCode::Unsupported, where + ": regex does not compile: " + error);
        return re;
    }
    throw ConfigError(ErrorCode::Corrupt, where + ": 'pattern' must be {\"String\": ...} or {\"Regex\": ...}");
}

SplitBehavior behavior(const Json& j, const std::string& where, SplitBehavior fallback) {
    const auto name = json::optString(j, "behavior", where);
    if (!name) return fallback;
    static const std::map<std::string, SplitBehavior> names = {
        {"Removed", SplitBehavior::Removed},
        {"Isolated", SplitBehavior::Isolated},
        {"MergedWithPrevious", SplitBehavior::MergedWithPrevious},
        {"MergedWithNext", SplitBehavior::MergedWithNext},
        {"Contiguous", SplitBehavior::Contiguous},
    };
    auto it = names.find(*name);
    if (it == names.end()) throw ConfigError(ErrorCode::Unsupported, where + ": unsupported behavior '" + *name + "'");
    return it->second;
}

char32_t singleChar(const std::string& s, const std::string& where, const char* key) {
    size_t pos = 0;
    if (s.empty() || !utf8::isValid(s)) throw ConfigError(ErrorCode::Corrupt, where + ": bad '" + key + "'");
    const char32_t c = utf8::next(s, pos);
    if (pos != s.size()) throw ConfigError(ErrorCode::Corrupt, where + ": '" + key + "' must be one character");
    return c;
}

PrependScheme prependScheme(const Json& j, const std::string& where) {
    if (auto s = json::optString(j, "prepend_scheme", where)) {
        if (*s == "always") return PrependScheme::Always;
        if (*s == "first") return PrependScheme::First;
        if (*s == "never") return PrependScheme::Never;
        throw ConfigError(ErrorCode::Unsupported, where + ": unsupported prepend_scheme '" + *s + "'");
    }
    return json::boolean(j, "add_prefix_space", true, where) ? PrependScheme::Always : PrependScheme::Never;
}

char32_t replacementChar(const Json& j, const std::string& where) {
    auto s = json::optString(j, "replacement", where);
    return s ? singleChar(*s, where, "replacement") : U'\u2581';
}

SpecialPiece tokenIdPair(const Json& j, const char* key, const std::string& where) {
    const Json& v = json::array(j, key, where);
    if (v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer())
        throw ConfigError(ErrorCode::Corrupt, where + ": '" + key + "' must be [token, id]");
    return SpecialPiece{{v[1].get<int32_t>()}, {v[0].get<std::string>()}};
}

} // namespace

std::unique_ptr<Normalizer> buildNormalizer(const Json& j) {
    static const Table<Normalizer> table = {
        {"NFC", [](const Json&, const std::string&) { return std::make_unique<UnicodeNormalizer>(unicode::Form::NFC); }},
        {"NFD", [](const Json&, const std::string&) { return std::make_unique<UnicodeNormalizer>(unicode::Form::NFD); }},
        {"NFKC", [](const Json&, const std::string&) { return std::make_unique<UnicodeNormalizer>(unicode::Form::NFKC); }},
        {"NFKD", [](const Json&, const std::string&) { return std::make_unique<UnicodeNormalizer>(unicode::Form::NFKD); }},
        {"Lowercase", [](const Json&, const std::string&) { return std::make_unique<LowercaseNormalizer>(); }},
        {"StripAccents", [](const Json&, const std::string&) { return std::make_unique<StripAccentsNormalizer>(); }},
        {"Strip",
         [](const Json& o, const std::string& w) {
             return std::make_unique<StripNormalizer>(json::boolean(o, "strip_left", true, w),
                                                      json::boolean(o, "strip_right", true, w));
         }},
        {"Prepend",
         [](const Json& o, const std::string& w) {
             return std::make_unique<PrependNormalizer>(json::string(o, "prepend", w));
         }},
        {"Replace",
         [](const Json& o, const std::string& w) {
             return std::make_unique<ReplaceNormalizer>(pattern(o, w), json::string(o, "content", w));
         }},
        {"Sequence",
         [](const Json& o, const std::string& w) {
             return std::make_unique<SequenceNormalizer>(buildList<Normalizer>(o, "normalizers", w, buildNormalizer));
         }},
    };
    return dispatch(j, "normalizer", table);
}

std::unique_ptr<PreTokenizer> buildPreTokenizer(const Json& j) {
    static const Table<PreTokenizer> table = {
        {"ByteLevel",
         [](const Json& o, const std::string& w) {
             return std::make_unique<ByteLevelPreTokenizer>(json::boolean(o, "add_prefix_space", true, w),
                                                            json::boolean(o, "use_regex", true, w));
         }},
        {"Split",
         [](const Json& o, const std::string& w) {
             return std::make_unique<SplitPreTokenizer>(pattern(o, w), behavior(o, w, SplitBehavior::Isolated),
                                                        json::boolean(o, "invert", false, w));
         }},
        {"Whitespace", [](const Json&, const std::string&) { return std::make_unique<WhitespacePreTokenizer>(); }},
        {"WhitespaceSplit",
         [](const Json&, const std::string&) { return std::make_unique<WhitespaceSplitPreTokenizer>(); }},
        {"BertPreTokenizer", [](const Json&, const std::string&) { return std::make_unique<BertPreTokenizer>(); }},
        {"Metaspace",
         [](const Json& o, const std::string& w) {
             return std::make_unique<MetaspacePreTokenizer>(replacementChar(o, w), prependScheme(o, w),
                                                            json::boolean(o, "split", true, w));
         }},
        {"Digits",
         [](const Json& o, const std::string& w) {
             return std::make_unique<DigitsPreTokenizer>(json::boolean(o, "individual_digits", false, w));
         }},
        {"Punctuation",
         [](const Json& o, const std::string& w) {
             return std::make_unique<PunctuationPreTokenizer>(behavior(o, w, SplitBehavior::Isolated));
         }},
        {"CharDelimiterSplit",
         [](const Json& o, const std::string& w) {
             return std::make_unique<CharDelimiterPreTokenizer>(
                 singleChar(json::string(o, "delimiter", w), w, "delimiter"));
         }},
        {"Sequence",
         [](const Json& o, const std::string& w) {
             return std::make_unique<SequencePreTokenizer>(
                 buildList<PreTokenizer>(o, "pretokenizers", w, buildPreTokenizer));
         }},
    };
    return dispatch(j, "pre_tokenizer", table);
}

std::unique_ptr<PostProcessor> buildPostProcessor(const Json& j) {
    static const Table<PostProcessor> table = {
        {"ByteLevel",
         [](const Json& o, const std::string& w) {
             return std::make_unique<ByteLevelPostProcessor>(json::boolean(o, "trim_offsets", true, w),
                                                             json::boolean(o, "add_prefix_space", true, w));
         }},
        {"TemplateProcessing",
         [](const Json& o, const std::string& w) {
             std::vector<TemplatePostProcessor::Item> single;
             for (const auto& item : json::array(o, "single", w)) {
                 if (const Json* s = json::find(item, "SpecialToken")) {
                     single.push_back({false, json::string(*s, "id", w + " single")});
                 } else if (json::find(item, "Sequence")) {
                     single.push_back({true, {}});
                 } else {
                     throw ConfigError(ErrorCode::Corrupt, w + ": bad item in 'single'");
                 }
             }
             std::map<std::string, SpecialPiece> specials;
             if (const Json* st = json::find(o, "special_tokens")) {
                 if (!st->is_object()) throw ConfigError(ErrorCode::Corrupt, w + ": 'special_tokens' must be an object");
                 for (const auto& [key, v] : st->items()) {
                     SpecialPiece piece;
                     for (const auto& id : json::array(v, "ids", w + " special_tokens")) piece.ids.push_back(id.get<int32_t>());
                     if (const Json* toks = json::find(v, "tokens"))
                         for (const auto& t : *toks) piece.tokens.push_back(t.get<std::string>());
                     specials[key] = std::move(piece);
                 }
             }
             return std::make_unique<TemplatePostProcessor>(std::move(single), std::move(specials));
         }},
        {"BertProcessing",
         [](const Json& o, const std::string& w) {
             return std::make_unique<ClsSepPostProcessor>(tokenIdPair(o, "cls", w), tokenIdPair(o, "sep", w), nullptr);
         }},
        {"RobertaProcessing",
         [](const Json& o, const std::string& w) {
             std::unique_ptr<PostProcessor> trim;
             if (json::boolean(o, "trim_offsets", true, w))
                 trim = std::make_unique<ByteLevelPostProcessor>(true, json::boolean(o, "add_prefix_space", true, w));
             return std::make_unique<ClsSepPostProcessor>(tokenIdPair(o, "cls", w), tokenIdPair(o, "sep", w),
                                                          std::move(trim));
         }},
        {"Sequence",
         [](const Json& o, const std::string& w) {
             return std::make_unique<SequencePostProcessor>(
                 buildList<PostProcessor>(o, "processors", w, buildPostProcessor));
         }},
    };
    return dispatch(j, "post_processor", table);
}

std::unique_ptr<Decoder> buildDecoder(const Json& j) {
    static const Table<Decoder> table = {
        {"ByteLevel", [](const Json&, const std::string&) { return std::make_unique<ByteLevelDecoder>(); }},
        {"ByteFallback", [](const Json&, const std::string&) { return std::make_unique<ByteFallbackDecoder>(); }},
        {"Fuse", [](const Json&, const std::string&) { return std::make_unique<FuseDecoder>(); }},
        {"Replace",
         [](const Json& o, const std::string& w) {
             return std::make_unique<ReplaceDecoder>(pattern(o, w), json::string(o, "content", w));
         }},
        {"Strip",
         [](const Json& o, const std::string& w) {
             const int64_t start = json::integer(o, "start", 0, w), stop = json::integer(o, "stop", 0, w);
             if (start < 0 || stop < 0) throw ConfigError(ErrorCode::Corrupt, w + ": negative start/stop");
             return std::make_unique<StripDecoder>(singleChar(json::string(o, "content", w), w, "content"),
                                                   static_cast<size_t>(start), static_cast<size_t>(stop));
         }},
        {"Metaspace",
         [](const Json& o, const std::string& w) {
             return std::make_unique<MetaspaceDecoder>(replacementChar(o, w), prependScheme(o, w));
         }},
        {"WordPiece",
         [](const Json& o, const std::string& w) {
             return std::make_unique<WordPieceDecoder>(json::optString(o, "prefix", w).value_or("##"),
                                                       json::boolean(o, "cleanup", true, w));
         }},
        {"BPEDecoder",
         [](const Json& o, const std::string& w) {
             return std::make_unique<BpeSuffixDecoder>(json::optString(o, "suffix", w).value_or("</w>"));
         }},
        {"Sequence",
         [](const Json& o, const std::string& w) {
             return std::make_unique<SequenceDecoder>(buildList<Decoder>(o, "decoders", w, buildDecoder));
         }},
    };
    return dispatch(j, "decoder", table);
}

std::vector<AddedToken> buildAddedTokens(const Json& j) {
    std::vector<AddedToken> out;
    if (!j.is_array()) throw ConfigError(ErrorCode::Corrupt, "'added_tokens' must be a list");
    for (const auto& t : j) {
        const std::string w = "added_tokens";
        AddedToken a;
        const int64_t id = json::integer(t, "id", -1, w);
        if (id < 0 || id > INT32_MAX) throw ConfigError(ErrorCode::Corrupt, w + ": missing or bad 'id'");
        a.id = static_cast<int32_t>(id);
        a.content = json::string(t, "content", w);
        if (!utf8::isValid(a.content)) throw ConfigError(ErrorCode::Corrupt, w + ": content is not UTF-8");
        a.singleWord = json::boolean(t, "single_word", false, w);
        a.lstrip = json::boolean(t, "lstrip", false, w);
        a.rstrip = json::boolean(t, "rstrip", false, w);
        a.special = json::boolean(t, "special", false, w);
        a.normalized = json::boolean(t, "normalized", !a.special, w);
        out.push_back(std::move(a));
    }
    return out;
}

Pipeline buildPipeline(const Json& root, ModelTables* tables) {
    if (!root.is_object()) throw ConfigError(ErrorCode::Corrupt, "the top level must be a JSON object");
    Pipeline p;
    p.model = buildModel(json::require(root, "model", "tokenizer"), tables);
    if (const Json* n = json::find(root, "normalizer")) p.normalizer = buildNormalizer(*n);
    if (const Json* n = json::find(root, "pre_tokenizer")) p.preTokenizer = buildPreTokenizer(*n);
    if (const Json* n = json::find(root, "post_processor")) p.postProcessor = buildPostProcessor(*n);
    if (const Json* n = json::find(root, "decoder")) p.decoder = buildDecoder(*n);
    if (const Json* n = json::find(root, "added_tokens")) p.addedTokens = buildAddedTokens(*n);
    return p;
}

} // namespace tokenlens::tok
