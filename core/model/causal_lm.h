#pragma once
// The interface the attribution engine drives: a decoder-only language model
// that runs from input embeddings, so gradients can be taken w.r.t. them.
// Implementations (gpt2.cpp, llama.cpp) stay behind this header; it pulls in
// ATen's Tensor only, not <torch/torch.h>.

#include "io/model_config.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

// Keys and values of every layer for the positions seen so far.
struct KvCache {
    std::vector<at::Tensor> keys;   // per layer (batch, kv_heads, past, head_dim), RoPE already applied
    std::vector<at::Tensor> values; // per layer (batch, kv_heads, past, head_dim)
    at::Tensor attentionMask;       // (batch, past) 1 = real token; undefined = all real
    int64_t length() const;
    void clear();
};

// Called with a name such as "layers.3.attn.probs" or "layers.3.mlp.out"
// and the activation tensor, for every activation the model produces.
using CaptureHook = std::function<void(const std::string& name, const at::Tensor& value)>;

struct ForwardOptions {
    bool outputAttentions = false;   // fill ForwardOutput::attentions
    bool outputHiddenStates = false; // fill ForwardOutput::hiddenStates
    bool computeLogits = true;       // false: only finalHidden (use CausalLM::lmHead on what you need)
    // (batch, seq) with 1 for real tokens and 0 for padding (left or right).
    // When set and positionIds is not, positions count real tokens only.
    at::Tensor attentionMask;
    at::Tensor positionIds;          // (batch, seq) int64; default past .. past+seq-1
    KvCache* cache = nullptr;        // read and extended in place
    CaptureHook capture;
};

struct ForwardOutput {
    at::Tensor logits;                    // (batch, seq, vocab), float32
    at::Tensor finalHidden;               // (batch, seq, hidden) after the final norm
    std::vector<at::Tensor> attentions;   // per layer (batch, heads, seq, past+seq)
    std::vector<at::Tensor> hiddenStates; // num_layers+1 entries (batch, seq, hidden): input of each block, then final (pre-norm)
};

class CausalLM {
public:
    virtual ~CausalLM() = default;

    virtual const ModelConfig& config() const = 0;
    // Token embeddings only (GPT-2's position embeddings are added in forward).
    // ids (batch, seq) int64 -> (batch, seq, hidden)
    virtual at::Tensor embed(const at::Tensor& ids) const = 0;
    virtual ForwardOutput forward(const at::Tensor& inputsEmbeds, const ForwardOptions& options) const = 0;
    // finalHidden (..., hidden) -> logits (..., vocab)
    virtual at::Tensor lmHead(const at::Tensor& finalHidden) const = 0;
    // The input embedding matrix (vocab, hidden).
    virtual at::Tensor embeddingMatrix() const = 0;
    // The output (head) matrix (vocab, hidden): logits = finalHidden · Wᵀ.
    virtual at::Tensor headMatrix() const = 0;

    virtual int64_t parameterCount() const = 0;
    virtual int64_t parameterBytes() const = 0;
    virtual std::string device() const = 0;
};

} // namespace tokenlens
