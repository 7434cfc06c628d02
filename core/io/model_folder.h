#pragma once
// Finding model folders: user-given directories and the Hugging Face cache.

#include "io/model_config.h"
#include "io/safetensors.h"
#include "util/result.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

struct ModelLocation {
    std::string id;              // "ORG/NAME" for the HF cache, folder name otherwise
    std::filesystem::path path;  // folder holding config.json
    std::string source;          // "folder" | "hf-cache" | "demo"
};

// True when DIR has config.json and weights (model.safetensors or an index).
bool looksLikeModelFolder(const std::filesystem::path& dir);

// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
// HF_HUB_CACHE overrides all of them when set.
std::filesystem::path huggingFaceHubDir();

// models--ORG--NAME/snapshots/REV/ -> "ORG/NAME"; the snapshot named by
// refs/main is preferred, else the most recently modified one.
std::vector<ModelLocation> discoverHfCache(const std::filesystem::path& hubDir);

// Each folder that is a model, or whose direct children are models.
std::vector<ModelLocation> discoverFolders(const std::vector<std::filesystem::path>& folders);

// Where the weights of a family live: "transformer." / "" for gpt2 (checkpoints
// saved from GPT2Model have no prefix), "model." for the llama family.
struct WeightLayout {
    std::string prefix;          // prepended to every base-model tensor name
    std::string embedding;       // full name of the token embedding
    std::string layerPrefix;     // "transformer.h." / "model.layers."
};

// Checks that the stored tensors are the ones config.json implies: the token
// embedding [vocab, hidden] under its expected name, as many layers as
// num_hidden_layers / n_layer, every per-layer tensor with the shape the
// sizes give, lm_head when the embeddings are not tied, floating-point dtypes.
// Errors (Mismatch) name the weight file and the tensor, e.g.
// "model.safetensors: tensor 'model.embed_tokens.weight' has shape [32000, 64]
// but config.json says vocab_size 32000, hidden_size 32".
Result<WeightLayout> checkWeightsMatchConfig(const ModelConfig& config, const WeightSet& weights);

// A model folder read and cross-checked in full: config.json (+ generation
// config), all weight files, and their agreement. The tokenizer is not part
// of it (see Tokenizer::fromFolder).
struct ModelFolderInfo {
    std::filesystem::path path;
    ModelConfig config;
    WeightSet weights;
    WeightLayout layout;
    DType storedDType = DType::F32;   // dominant dtype on disk
    int64_t parameterCount = 0;       // elements of all stored tensors (tied heads are stored once)
    std::vector<std::string> weightFiles; // file names relative to `path`
};
Result<ModelFolderInfo> inspectModelFolder(const std::filesystem::path& dir);

} // namespace tokenlens
