#include "commands.h"
#include "common.h"

#include "io/model_folder.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

namespace tokenlens::cli {

namespace {

using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

// One id as a number, several as a list, none as null (as config.json writes them).
ojson idsJson(const std::vector<int64_t>& ids) {
    if (ids.empty()) return nullptr;
    if (ids.size() == 1) return ids.front();
    return ids;
}

ojson tokenJson(const Tokenizer& tok, const std::optional<int32_t>& id) {
    if (!id) return nullptr;
    return ojson{{"id", *id}, {"content", tok.idToToken(*id)}};
}

ojson tokenizerJson(const Tokenizer& tok, const ModelConfig& config, std::vector<std::string>& warnings) {
    ojson t;
    t["type"] = tok.modelType();
    t["vocab_size"] = tok.vocabSize();
    t["adds_bos"] = tok.addsBos();
    const SpecialTokens& sp = tok.specialTokens();
    t["bos_token"] = tokenJson(tok, sp.bos);
    t["eos_token"] = tokenJson(tok, sp.eos);
    t["unk_token"] = tokenJson(tok, sp.unk);
    t["pad_token"] = tokenJson(tok, sp.pad);
    ojson specials = ojson::array();
    for (const auto& [id, content] : tok.specialTokenList()) specials.push_back({{"id", id}, {"content", content}});
    t["special_tokens"] = std::move(specials);

    const auto tokVocab = static_cast<int64_t>(tok.vocabSize());
    if (tokVocab > config.vocabSize) {
        warnings.push_back("the tokenizer has " + std::to_string(tokVocab) + " tokens but config.json vocab_size is " +
                           std::to_string(config.vocabSize) + ": ids from " + std::to_string(config.vocabSize) +
                           " on have no embedding row");
    }
    return t;
}

ojson ropeScalingJson(const ModelConfig& c) {
    if (c.family == ArchFamily::Gpt2 || c.ropeScaling.type == "none") return nullptr;
    ojson r{{"type", c.ropeScaling.type}, {"factor", c.ropeScaling.factor}};
    if (c.ropeScaling.type == "llama3") {
        r["low_freq_factor"] = c.ropeScaling.lowFreqFactor;
        r["high_freq_factor"] = c.ropeScaling.highFreqFactor;
    }
    r["original_max_position_embeddings"] = c.ropeScaling.originalMaxPositions;
    return r;
}

} // namespace

int runInspect(const Args& args) {
    const std::string cmd = "inspect";
    ArgParser p(cmd, "[options] DIR");
    p.flag("tensors", "also list every stored tensor (name, dtype, shape, file)");
    p.flag("no-tokenizer", "do not load tokenizer.json");
    if (auto code = handleParse(p, args)) return *code;
    if (p.positional().size() != 1) {
        std::cerr << "tokenlens-cli inspect: expected one model folder, got " << p.positional().size()
                  << " arguments\n\n"
                  << p.helpText();
        return kExitUsage;
    }
    const fs::path dir = p.positional().front();

    auto info = inspectModelFolder(dir);
    if (!info) {
        std::cerr << "tokenlens-cli inspect: " << info.error().message << "\n";
        return kExitFailure;
    }
    const ModelConfig& c = info->config;
    std::vector<std::string> warnings;

    ojson tokenizer = nullptr;
    if (!p.has("no-tokenizer")) {
        std::error_code ec;
        if (!fs::exists(dir / "tokenizer.json", ec)) {
            warnings.push_back("no tokenizer.json in the folder");
        } else {
            auto tok = Tokenizer::fromFolder(dir);
            if (!tok) {
                std::cerr << "tokenlens-cli inspect: " << tok.error().message << "\n";
                return kExitFailure;
            }
            tokenizer = tokenizerJson(**tok, c, warnings);
        }
    }

    std::error_code ec;
    fs::path shown = fs::absolute(dir, ec);
    if (ec) shown = dir;

    ojson out;
    out["path"] = shown.lexically_normal().string();
    out["architecture"] = c.architecture.empty() ? ojson(nullptr) : ojson(c.architecture);
    out["model_type"] = c.modelType;
    out["dtype_on_disk"] = dtypeTorchName(info->storedDType);
    out["torch_dtype"] = c.torchDtype.empty() ? ojson(nullptr) : ojson(c.torchDtype);
    out["parameter_count"] = info->parameterCount;
    out["vocab_size"] = c.vocabSize;
    out["num_layers"] = c.numLayers;
    out["num_heads"] = c.numHeads;
    out["num_kv_heads"] = c.numKvHeads;
    out["hidden_size"] = c.hiddenSize;
    out["head_dim"] = c.headDim;
    out["intermediate_size"] = c.intermediateSize;
    out["max_positions"] = c.maxPositions;
    out["norm_eps"] = c.normEps;
    out["activation"] = c.activation;
    out["rope_theta"] = c.family == ArchFamily::Gpt2 ? ojson(nullptr) : ojson(c.ropeTheta);
    out["rope_scaling"] = ropeScalingJson(c);
    out["sliding_window"] = c.slidingWindow ? ojson(*c.slidingWindow) : ojson(nullptr);
    out["tie_word_embeddings"] = c.tieWordEmbeddings;
    out["attention_bias"] = c.attentionBias;
    out["mlp_bias"] = c.mlpBias;
    out["bos_token_id"] = idsJson(c.bosTokenIds);
    out["eos_token_id"] = idsJson(c.eosTokenIds);
    out["pad_token_id"] = c.padTokenId ? ojson(*c.padTokenId) : ojson(nullptr);
    out["weight_files"] = info->weightFiles;
    out["tensor_count"] = info->weights.names().size();
    out["tokenizer"] = std::move(tokenizer);
    out["warnings"] = warnings;
    if (p.has("tensors")) {
        ojson tensors = ojson::array();
        for (const auto& name : info->weights.names()) {
            const auto* e = info->weights.find(name);
            tensors.push_back({{"name", name},
                               {"dtype", dtypeName(e->info->dtype)},
                               {"shape", e->info->shape},
                               {"file", e->file->path().filename().string()}});
        }
        out["tensors"] = std::move(tensors);
    }
    std::cout << out.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
    return kExitOk;
}

} // namespace tokenlens::cli
