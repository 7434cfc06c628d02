#pragma once
// config.json (+ generation_config.json) of a Hugging Face causal LM.

#include "util/result.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

// Llama covers the rotary, RMSNorm, gated-MLP decoders: llama, mistral,
// qwen2, qwen3, phi3 and gemma3_text (the flags below say how they differ).
enum class ArchFamily { Gpt2, Llama };

struct RopeScaling {
    std::string type = "none"; // none | linear | llama3 | dynamic | ...
    double factor = 1.0;
    // llama3 only
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    int64_t originalMaxPositions = 8192;
};

struct ModelConfig {
    std::string modelType;      // "gpt2", "llama", "mistral", "qwen2", "qwen3", "phi3", "gemma3_text"
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
    // The sliding window (keys i - w < j <= i) and which layers use it:
    // every layer for mistral and phi3 when sliding_window is set; qwen2/qwen3
    // layers from max_window_layers on when use_sliding_window is true;
    // gemma3 by layer_types (or sliding_window_pattern). An explicit
    // layer_types list wins. slidingLayers is empty or numLayers long.
    std::optional<int64_t> slidingWindow;
    std::vector<bool> slidingLayers;
    // Architecture details beyond the Llama layout.
    bool qkNorm = false;            // qwen3, gemma3: RMSNorm over each head's q and k before RoPE
    bool fusedProjections = false;  // phi3: self_attn.qkv_proj and mlp.gate_up_proj
    bool gemmaNorms = false;        // gemma3: (1 + w) RMSNorms, post-attention and post-feedforward
                                    // norms, token embeddings scaled by sqrt(hidden_size)
    std::optional<double> queryPreAttnScalar; // scores scaled by scalar^-0.5 instead of head_dim^-0.5
    double partialRotaryFactor = 1.0;         // phi3: RoPE on the first head_dim·factor dims
    std::optional<double> ropeLocalTheta;     // gemma3: rope_local_base_freq of the sliding layers
    std::optional<double> attnLogitSoftcap;   // scores = cap · tanh(scores / cap)
    std::optional<double> finalLogitSoftcap;  // logits = cap · tanh(logits / cap)
    // The text part of a multimodal folder (Gemma3ForConditionalGeneration):
    // weights under language_model.model.* / model.language_model.*, the
    // other towers' tensors ignored.
    bool textOfMultimodal = false;

    // 0 when layer `layer` attends to every earlier key.
    int64_t windowAt(int64_t layer) const;
    // Dims of each head that rotate: int(head_dim · partial_rotary_factor).
    int64_t rotaryDim() const;
};

// "gpt2, llama, mistral, qwen2, qwen3, phi3, gemma3_text, gemma3"
const char* supportedModelTypes();

// Reads DIR/config.json and, when present, DIR/generation_config.json (whose
// bos/eos ids take precedence). Unknown model_type, missing or ill-typed keys
// and inconsistent sizes (hidden % heads, heads % kv heads) are errors naming
// the file and the key.
Result<ModelConfig> loadModelConfig(const std::filesystem::path& dir);
Result<ModelConfig> parseModelConfig(const std::string& configJson, const std::string& fileName);

} // namespace tokenlens
