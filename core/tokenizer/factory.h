#pragma once
// Builds the pipeline stages from a parsed tokenizer.json, dispatching on each
// object's "type". Throws ConfigError (unsupported type, malformed object).

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/components.h"
#include "tokenizer/vocab.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tokenlens::tok {

struct Pipeline {
    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> preTokenizer;
    std::unique_ptr<Model> model;
    std::unique_ptr<PostProcessor> postProcessor;
    std::unique_ptr<Decoder> decoder;
    std::vector<AddedToken> addedTokens;
};

// The big tables of the model, when read by the streaming loader
// (json_loader.h) rather than kept in the JSON tree.
struct ModelTables {
    std::optional<Vocab> vocab;
    std::optional<std::vector<std::pair<std::string, std::string>>> merges;
};

Pipeline buildPipeline(const nlohmann::json& root, ModelTables* tables = nullptr);

std::unique_ptr<Normalizer> buildNormalizer(const nlohmann::json& j);
std::unique_ptr<PreTokenizer> buildPreTokenizer(const nlohmann::json& j);
std::unique_ptr<Model> buildModel(const nlohmann::json& j, ModelTables* tables = nullptr); // model_factory.cpp
std::unique_ptr<PostProcessor> buildPostProcessor(const nlohmann::json& j);
std::unique_ptr<Decoder> buildDecoder(const nlohmann::json& j);
std::vector<AddedToken> buildAddedTokens(const nlohmann::json& j);

} // namespace tokenlens::tok
