#pragma once
// config.json (+ generation_config.json) of a Hugging Face causal LM.

#include "util/result.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

enum class ArchFamily { Gpt2, Llama }; // Llama covers llama, mistral, qwen2

struct RopeScaling {
    std::string type = "none"; // none | linear | llama3 | dynamic | ...
    double factor = 1.0;
    // llama3 only
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    int64_t originalMaxPositions = 8192;
};

struct ModelConfig {
    std::string modelType;      // "gpt2", "llama", "mistral", "qwen2"
    std::string architecture;   // "GPT2LMHeadModel", ... (first of "architectures")
    ArchFamily family = ArchFamily::Gpt2;
    int64_t vocabSize = 0;
    int64_t hiddenSize = 0;
    int64_t numLayers = 0;
    int64_t numHeads = 0;
    int64_t numKvHeads = 0;
    int64_t headDim = 0;
    int64_t intermediateSize = 0;
    int64_t maxPositions = 0;
    double normEps = 1e-5;
    std::string activation;     // "gelu_new", "silu", ...
    double ropeTheta = 10000.0;
    RopeScaling ropeScaling;
    bool tieWordEmbeddings = false;
    bool attentionBias = false; // q/k/v (and o for llama when set) biases
    bool mlpBias = false;
    std::string torchDtype;     // as written in config.json, may be empty
    std::vector<int64_t> bosTokenIds;
    std::vector<int64_t> eosTokenIds;
    std::optional<int64_t> padTokenId;
    // Mistral's sliding_window (and qwen2's when use_sliding_window is true);
    // recorded for display, not enforced.
    std::optional<int64_t> slidingWindow;
};

// "gpt2, llama, mistral, qwen2"
const char* supportedModelTypes();

// Reads DIR/config.json and, when present, DIR/generation_config.json (whose
// bos/eos ids take precedence). Unknown model_type, missing or ill-typed keys
// and inconsistent sizes (hidden % heads, heads % kv heads) are errors naming
// the file and the key.
Result<ModelConfig> loadModelConfig(const std::filesystem::path& dir);
Result<ModelConfig> parseModelConfig(const std::string& configJson, const std::string& fileName);

} // namespace tokenlens
