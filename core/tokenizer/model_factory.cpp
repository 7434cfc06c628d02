// The "model" object of tokenizer.json: BPE or WordLevel.
#include "tokenizer/bpe.h"
#include "tokenizer/factory.h"
#include "tokenizer/json_util.h"
#include "tokenizer/word_level.h"

namespace tokenlens::tok {

using json::Json;

namespace {

Vocab readVocab(const Json& model, const std::string& where, ModelTables* tables) {
    if (tables && tables->vocab) {
        Vocab v = std::move(*tables->vocab);
        tables->vocab.reset();
        return v;
    }
    const Json& v = json::require(model, "vocab", where);
    if (!v.is_object()) throw ConfigError(ErrorCode::Corrupt, where + ": 'vocab' must be an object");
    Vocab vocab;
    vocab.reserve(v.size());
    for (auto it = v.begin(); it != v.end(); ++it) {
        if (!it->is_number_integer() || !vocab.add(it.key(), it->get<int64_t>()))
            throw ConfigError(ErrorCode::Corrupt, where + ": bad id for token '" + it.key() + "'");
    }
    return vocab;
}

std::vector<std::pair<std::string, std::string>> readMerges(const Json& model, const std::string& where,
                                                            ModelTables* tables) {
    if (tables && tables->merges) return std::move(*tables->merges);
    std::vector<std::pair<std::string, std::string>> merges;
    const Json* m = json::find(model, "merges");
    if (!m) return merges;
    if (!m->is_array()) throw ConfigError(ErrorCode::Corrupt, where + ": 'merges' must be a list");
    merges.reserve(m->size());
    for (const auto& item : *m) {
        if (item.is_string()) {
            // "a b": the two parts around the first space
            const std::string& s = item.get_ref<const std::string&>();
            const size_t space = s.find(' ');
            if (space == std::string::npos)
                throw ConfigError(ErrorCode::Corrupt, where + ": merge '" + s + "' is not two tokens");
            merges.emplace_back(s.substr(0, space), s.substr(space + 1));
        } else if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
            merges.emplace_back(item[0].get<std::string>(), item[1].get<std::string>());
        } else {
            throw ConfigError(ErrorCode::Corrupt, where + ": a merge must be \"a b\" or [\"a\", \"b\"]");
        }
    }
    return merges;
}

std::unique_ptr<Model> buildBpe(const Json& j, const std::string& where, ModelTables* tables) {
    BpeOptions o;
    o.unkToken = json::optString(j, "unk_token", where);
    o.continuingSubwordPrefix = json::optString(j, "continuing_subword_prefix", where).value_or("");
    o.endOfWordSuffix = json::optString(j, "end_of_word_suffix", where).value_or("");
    o.fuseUnk = json::boolean(j, "fuse_unk", false, where);
    o.byteFallback = json::boolean(j, "byte_fallback", false, where);
    o.ignoreMerges = json::boolean(j, "ignore_merges", false, where);
    // "dropout" only matters for training-time sampling; encoding here is deterministic.
    return std::make_unique<BpeModel>(readVocab(j, where, tables), readMerges(j, where, tables), std::move(o));
}

std::unique_ptr<Model> buildWordLevel(const Json& j, const std::string& where, ModelTables* tables) {
    return std::make_unique<WordLevelModel>(readVocab(j, where, tables),
                                            json::optString(j, "unk_token", where).value_or("<unk>"));
}

} // namespace

std::unique_ptr<Model> buildModel(const Json& j, ModelTables* tables) {
    if (!j.is_object()) throw ConfigError(ErrorCode::Corrupt, "model must be an object");
    auto type = json::optString(j, "type", "model");
    if (!type && (json::find(j, "merges") || (tables && tables->merges))) type = "BPE"; // old files leave the type out
    if (!type) throw ConfigError(ErrorCode::Corrupt, "model: missing 'type'");
    if (*type == "BPE") return buildBpe(j, "model BPE", tables);
    if (*type == "WordLevel") return buildWordLevel(j, "model WordLevel", tables);
    throw ConfigError(ErrorCode::Unsupported, "unsupported model type '" + *type + "'");
}

} // namespace tokenlens::tok
