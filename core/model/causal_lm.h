#pragma once
// The interface the attribution engine drives: a decoder-only language model
// that runs from input embeddings, so gradients can be taken w.r.t. them.
// Implementations (gpt2.cpp, llama.cpp for the rotary families) stay behind this header; it pulls in
// ATen's Tensor only, not <torch/torch.h>.

#include "io/model_config.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tokenlens {

// Keys and values of every layer for the positions seen so far.
struct KvCache {
    std::vector<at::Tensor> keys;   // per layer (batch, kv_heads, past, head_dim), RoPE already applied
    std::vector<at::Tensor> values; // per layer (batch, kv_heads, past, head_dim)
    at::Tensor attentionMask;       // (batch, past) 1 = real token; undefined = all real
    // With a capacity (reserve), a forward writes new keys and values in
    // place into one buffer per layer of that many positions, and keys/values
    // are views of the buffers: no concatenation and no new memory per step
    // (generation reserves prompt + new tokens). Beyond the capacity it
    // concatenates as without one. For passes without gradients: the
    // buffers are written in place.
    int64_t capacity = 0;
    std::vector<at::Tensor> keyBuffers;   // per layer (batch, kv_heads, capacity, head_dim)
    std::vector<at::Tensor> valueBuffers;
    void reserve(int64_t positions);
    int64_t length() const;
    int64_t lengthAt(size_t layer) const; // positions cached for `layer` (0 when none)
    void clear();
};

// Called with a name such as "layers.3.attn.probs" or "layers.3.mlp.out"
// and the activation tensor, for every activation the model produces.
// Besides the names above, "layers.N.attn.values" gives block N's value
// vectors (batch, kv_heads, seq, head_dim) of the new positions as attention
// uses them (after their bias and any ValueHook); "layers.N.attn.out" is
// what the attention adds to the residual stream. Blocks that norm the
// attention output before adding it (Gemma 3) also report
// "layers.N.attn.out_scale" (batch, seq, hidden): the per-position factor s
// with attn.out = s ⊙ (output projection's result), the norm taken as
// linear at its value.
using CaptureHook = std::function<void(const std::string& name, const at::Tensor& value)>;

// An intervention on block `layer`'s value vectors (batch, kv_heads, seq,
// head_dim) of the new positions, before they are attended to and cached:
// returns the tensor to use instead (same shape). Value zeroing zeroes one
// token's vectors with it.
using ValueHook = std::function<at::Tensor(int64_t layer, const at::Tensor& values)>;

// Blocks first .. last-1 only. inputsEmbeds is then the residual stream
// entering block `first` (ForwardOutput::hiddenStates[first]: GPT-2's
// position embeddings are already in it and are not added again); the KV
// cache, if given, must hold `first`'s past keys and values. The final norm
// and the logits are skipped: ForwardOutput::lastHidden is the result.
struct BlockRange {
    int64_t first = 0;
    int64_t last = 0;
};

// Layer-wise relevance propagation as modified gradients (attnlrp, cp_lrp):
// the forward's values are unchanged, its gradient follows the LRP rules, so
// that relevance = input ⊙ gradient at every layer. Norms: the scale 1/σ
// (1/rms) is a constant; element-wise activations: the identity rule
// (gradient act(x)/x); products of two activations (gate·up, q·kᵀ,
// attention·v): the uniform rule (each factor gets half the gradient);
// softmax, linear layers, RoPE and constant scalings: the ordinary gradient.
// CpLrp detaches the attention weights instead (no relevance to q and k,
// the whole gradient of attention·v to v).
enum class LrpMode { Off, AttnLrp, CpLrp };

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
    ValueHook valueHook;             // unset: values as computed
    std::optional<BlockRange> blocks; // unset: the whole model
    LrpMode lrp = LrpMode::Off;       // see LrpMode
    // Query rows [first, last) of the new positions whose attention
    // probabilities are reported (capture "layers.N.attn.probs" and
    // outputAttentions then hold (batch, heads, last - first, past+seq));
    // unset: every row. A pass without gradients then holds no full maps.
    std::optional<std::pair<int64_t, int64_t>> probsRows;
};

struct ForwardOutput {
    at::Tensor logits;                    // (batch, seq, vocab), float32
    at::Tensor finalHidden;               // (batch, seq, hidden) after the final norm
    std::vector<at::Tensor> attentions;   // per layer (batch, heads, seq, past+seq)
    std::vector<at::Tensor> hiddenStates; // num_layers+1 entries (batch, seq, hidden): input of each block, then final (pre-norm)
    at::Tensor lastHidden;                // (batch, seq, hidden) leaving the last block run (before the final norm)
};

// A block's attention output projection: attn.out = heads' outputs
// concatenated (…, heads*head_dim) · weight (heads*head_dim, hidden) + bias.
struct OutputProjection {
    at::Tensor weight;
    at::Tensor bias; // undefined when the model has none
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
    // Block `layer`'s attention output projection (for decompositions such as ALTI).
    virtual OutputProjection attentionOutputProjection(int64_t layer) const = 0;

    virtual int64_t parameterCount() const = 0;
    virtual int64_t parameterBytes() const = 0;
    virtual std::string device() const = 0;
};

} // namespace tokenlens
