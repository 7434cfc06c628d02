#pragma once
// Reads tokenizer.json in one streaming (SAX) pass: model.vocab and
// model.merges go straight into their tables, everything else into a JSON
// tree. Vocabularies of 150k tokens and 280k merges would otherwise cost a
// large temporary tree.

#include "tokenizer/factory.h"

#include <nlohmann/json.hpp>

#include <string_view>

namespace tokenlens::tok {

struct LoadedTokenizerJson {
    nlohmann::json root; // without model.vocab / model.merges when those went to `tables`
    ModelTables tables;
};

// Throws ConfigError (Corrupt) on invalid JSON or a malformed vocab/merges.
LoadedTokenizerJson loadTokenizerJson(std::string_view text);

} // namespace tokenlens::tok
