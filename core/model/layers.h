#pragma once
// Building blocks shared by the architecture files. Internal to core/model:
// includes <torch/torch.h>, so only .cpp files include this header.

#include "model/causal_lm.h"

#include <torch/torch.h>

#include <functional>
#include <string>

namespace tokenlens::layers {

// x (…, in) · wᵀ (+ bias) for a weight w (out, in) — any strides, e.g. a
// Conv1D weight's transpose — whose dtype may differ from x's. Same dtype:
// torch's linear. Otherwise w stays as stored (a bfloat16 matrix mapped from
// its file) and is converted to x's dtype as it is used, a slice of at most
// kConvertChunkElements at a time, into a scratch buffer each thread keeps
// and reuses (fresh memory costs far more to write than converting does):
// no float32 copy of the weights is ever held. The gradient w.r.t. x is
// taken the same way (the backward converts again); w gets none.
at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias = {});
constexpr int64_t kConvertChunkElements = int64_t{8} << 20; // 32 MB of float32
// Bytes of the calling thread's conversion buffer (0 until it converts).
int64_t conversionScratchBytes();

// A module whose only job is to own parameters under Hugging Face names.
// Parameters start uninitialised (torch::empty): loading fills them.
struct ParamModule : torch::nn::Module {
    at::Tensor param(const std::string& name, at::IntArrayRef shape) {
        return register_parameter(name, torch::empty(shape));
    }
};

// x (..., in) times `weight` (out, in), plus `bias` (out) when defined. One
// row (a generation step) outside autograd goes through matvec::multiply on
// the calling thread (model/matvec.h): the weights streamed once, in their
// stored dtype, are the step's floor, and handing the product to BLAS
// threads at the default thread count costs more than it gains. Float32
// rows take float32, bfloat16 and float16 weights, bfloat16 rows bfloat16
// ones. Otherwise (the row kernel off, or another dtype pair) one float32
// row goes through torch's gemv (OpenBLAS's matrix product packs the whole
// weight matrix first, about doubling the traffic), other shapes and dtypes
// through linear() (bfloat16 rows to oneDNN; a weight stored narrower than x
// converted as used).
at::Tensor project(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

// Whether project() sends single rows to the row kernel (default on).
// Process-wide: for benchmarks and tests that compare it with torch's path.
void setRowKernelEnabled(bool on);
bool rowKernelEnabled();
// Products the calling thread has run through the row kernel (tests check the path is taken).
int64_t rowKernelCalls();

// y = x W + b with W stored [in, out] (GPT-2's Conv1D).
struct Conv1DImpl : ParamModule {
    Conv1DImpl(int64_t in, int64_t out);
    at::Tensor forward(const at::Tensor& x) const; // (..., in) -> (..., out)
    at::Tensor weight, bias;
};
TORCH_MODULE(Conv1D);

// Registers a child module `child` of `parent` owning one parameter `name`
// (torch forbids dots in parameter names, so "wte.weight" is child "wte").
at::Tensor childParam(torch::nn::Module& parent, const std::string& child, const std::string& name,
                      at::IntArrayRef shape);

// y = x Wᵀ + b with W stored [out, in] (nn.Linear).
struct LinearImpl : ParamModule {
    LinearImpl(int64_t in, int64_t out, bool withBias);
    at::Tensor forward(const at::Tensor& x) const;
    at::Tensor weight, bias;
};
TORCH_MODULE(Linear);

// LRP rules as modified gradients (see LrpMode): `x` with its gradient
// halved (the uniform rule of a product of two activations a·b: halving the
// product's gradient halves both factors' gradients; `x` must be a fresh
// tensor used only through the result: the halving is a hook on `x`), and
// `y = act(x)` with gradient y/x (the identity rule; 0 where x is 0, whose
// relevance x·g is 0 anyway; pass `y` computed from x.detach() so that no
// graph is recorded for it).
at::Tensor halfGradient(const at::Tensor& x);
at::Tensor identityRule(const at::Tensor& x, const at::Tensor& y);

struct LayerNormImpl : ParamModule {
    LayerNormImpl(int64_t dim, double eps);
    // lrp: (x − mean) / σ with σ a constant (the centering is linear).
    at::Tensor forward(const at::Tensor& x, bool lrp = false) const;
    at::Tensor weight, bias;
    double eps;
};
TORCH_MODULE(LayerNorm);

// w · x / sqrt(mean(x²) + eps), computed in float32; Gemma's form
// (offsetOne) scales by (1 + w), its stored weights being offsets from 1.
struct RMSNormImpl : ParamModule {
    RMSNormImpl(int64_t dim, double eps, bool offsetOne = false);
    // lrp: 1/rms a constant.
    at::Tensor forward(const at::Tensor& x, bool lrp = false) const;
    // The per-element factor forward applies to x: (…, dim), so that forward(x) = x · scale(x).
    at::Tensor scale(const at::Tensor& x) const;
    at::Tensor weight;
    double eps;
    bool offsetOne;
};
TORCH_MODULE(RMSNorm);

// Positions of the new tokens: given ids, else counted over real tokens of
// the mask (left padding), else past .. past+seq-1.  Returns (batch, seq) int64.
at::Tensor positionIds(const ForwardOptions& options, int64_t batch, int64_t seq, int64_t past,
                       const at::Tensor& fullMask);

// Combined mask of the new keys appended to the cache: (batch, past+seq) of
// 1/0, or undefined when every token is real.
at::Tensor fullKeyMask(const ForwardOptions& options, int64_t batch, int64_t seq, int64_t past);

// Boolean (batch, 1, seq, past+seq): true where query i may attend key j
// (causal, the key is not padding and, with window > 0, i - window < j).
at::Tensor allowedMask(const at::Tensor& fullMask, int64_t batch, int64_t seq, int64_t past,
                       const at::Device& device, int64_t window = 0);

struct AttentionResult {
    at::Tensor output; // (batch, seq, heads*head_dim)
    at::Tensor probs;  // (batch, heads, seq, past+seq)
};

// The query rows whose probabilities attend() returns: [first, last) of the
// new positions, every row (last < 0) or none (first == last).
struct ProbsRows {
    int64_t first = 0;
    int64_t last = -1;
    bool all() const { return last < 0; }
};
// What a forward reports: options.probsRows, else every row when something
// reads them (capture, outputAttentions), else none.
ProbsRows probsRowsOf(const ForwardOptions& options);

// softmax(q kᵀ · scale, masked) v with grouped-query heads:
// q (batch, heads, seq, d), k/v (batch, kv_heads, keys, d); query head h uses
// kv head h / (heads / kv_heads). `divideBy` selects q kᵀ / sqrt(d) (GPT-2)
// over q kᵀ · d^-0.5 (Llama) to follow each reference's rounding; a
// positive `scale` replaces d^-0.5 (Gemma's query_pre_attn_scalar^-0.5), a
// positive `softcap` caps the scores at cap · tanh(s / cap) before the mask.
// `lrp` applies the LRP rules of LrpMode to q·kᵀ, the softcap and probs·v.
// `rows` selects the probabilities returned; when not all of them are
// needed and autograd records nothing, the attention is computed a block of
// query rows at a time (each block over the keys up to its last row) in
// buffers the thread reuses (model/attend_blocked.cpp), unless the maps are
// small: no seq × keys map per head is allocated. When autograd records,
// without LRP rules or softcap, for a prompt whose probabilities nobody
// reads (the gradient passes), the core is one autograd node (attentionCore).
// Under LRP rules and otherwise its operations are recorded one by one.
AttentionResult attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                       bool divideBy, double scale = 0, double softcap = 0, LrpMode lrp = LrpMode::Off,
                       ProbsRows rows = {});
// attend()'s core under autograd without LRP rules or softcap, for a
// prompt (seq > 1) whose probabilities nobody reads: softmax(q kᵀ · scale,
// masked) v, q (b, heads, seq, d), k/v (b, kv_heads, keys, d), allowed
// (b, 1, seq, keys), recorded as one autograd node whose forward is
// attend()'s operations and whose backward (of one cotangent or a vmap
// batch of them) runs the products per head for the whole batch and the
// softmax's backward as one pass in place (model/attention_core.cpp).
// Returns (b, heads, seq, d). `divideBy` and `scale` as attend()'s.
at::Tensor attentionCore(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                         bool divideBy, double scale);
// Whether attend() takes attentionCore when it can (default on;
// TOKENLENS_ATTENTION_CORE=recorded in the environment turns it off).
// Process-wide: for benchmarks and tests that compare it with the recorded operations.
void setAttentionCoreFused(bool on);
bool attentionCoreFused();
// Whether a gradient pass's attention under `lrp` with this `softcap` is
// the node (attend() takes it; the memory estimate counts its maps): no LRP
// rule, no softcap, and the node not switched off.
bool attentionCoreTakes(LrpMode lrp, double softcap);
// The node takes queries in blocks of about this many rows, each over the
// keys up to the last one its rows may attend, when a prompt has at least
// twice as many: the causal mask's upper triangle beyond each block is then
// neither computed, kept, nor gone through in the backward.
constexpr int64_t kAttentionCoreBlockRows = 256;
// How many query blocks the node takes `seq` queries in (even blocks, the
// last one taking the rest; 1: the whole maps).
int64_t attentionCoreBlockCount(int64_t seq);
// Process-wide, for tests and benchmarks: rows per block (0: one block of
// every query; negative: the default; TOKENLENS_ATTENTION_CORE_ROWS in the
// environment sets the start value).
void setAttentionCoreBlockRows(int64_t rows);
// silu(gate) · up, the gated MLP's product: under autograd (and unless
// TOKENLENS_ATTENTION_CORE=recorded) one autograd node whose backward is one
// pass per cotangent (model/silu_gate.cpp), the same values as the ATen
// operations; outside autograd, contiguous bfloat16 on an AVX2 CPU (and
// unless TOKENLENS_ATTENTION_CORE=recorded), one pass in float rounded once
// (the operations round twice); otherwise the ATen operations. gate and up of one shape and dtype.
at::Tensor siluGate(const at::Tensor& gate, const at::Tensor& up);
// RMSNormImpl::forward without LRP rules as one autograd node whose backward
// is one pass per cotangent (model/rms_norm.cpp): taken under autograd when
// x takes a gradient and the weight does not (unless
// TOKENLENS_ATTENTION_CORE=recorded or TOKENLENS_RMSNORM_NODE=0). The same values as the operations.
bool rmsNormNodeTakes(const at::Tensor& x, const at::Tensor& weight);
at::Tensor rmsNormNode(const at::Tensor& x, const at::Tensor& weight, double eps, bool offsetOne);
// GPT-2's gelu_new as the reference writes it, 0.5·x·(1 + tanh(√(2/π)·(x +
// 0.044715·x³))): under autograd (and unless TOKENLENS_ATTENTION_CORE=recorded
// or TOKENLENS_GELU_NODE=0) one autograd node whose backward is one pass per cotangent
// (model/gelu_new.cpp); otherwise the ATen operations. The same values either way.
at::Tensor geluNewNode(const at::Tensor& x);
// The blocked form (called by attend; same arguments, k and v already one per query head).
// A block's map holds about attentionBlockElements() elements; attend also
// takes the blocked form, when no row is asked for, once all heads' maps
// would exceed that. Process-wide; tests lower it to exercise many blocks
// (0 restores the default).
constexpr int64_t kAttentionBlockElements = int64_t{4} << 20; // 16 MB of float32
int64_t attentionBlockElements();
void setAttentionBlockElements(int64_t elements);
// In bfloat16 without softcap (and with AVX2) the blocked form scales,
// masks and normalises each row in one pass in float (default on); off:
// ATen's operations over float32 copies of the block. Process-wide, for
// tests and A/B runs; TOKENLENS_FUSED_SOFTMAX=0 sets the start value.
void setAttentionBlockFusedSoftmax(bool on);
AttentionResult attendBlocked(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const at::Tensor& allowed, bool divideBy, double scale, double softcap,
                              ProbsRows rows);

// Appends new keys/values for `layer` to the cache (if any) and returns the
// full keys/values to attend over. A cache with a capacity (KvCache::reserve)
// writes them in place into its per-layer buffers while they fit, and
// returns views of the buffers; otherwise the old and new are concatenated.
std::pair<at::Tensor, at::Tensor> updateCache(KvCache* cache, size_t layer, const at::Tensor& k,
                                              const at::Tensor& v);

int64_t countParameters(const torch::nn::Module& module);

// h + an MLP's output, captured as "<prefix>mlp.out" and the sum as "<prefix>output".
at::Tensor addMlpOutput(const at::Tensor& h, const at::Tensor& mlpOut, const ForwardOptions& options,
                        const std::string& prefix);

// The end of a forward pass after its blocks: the last hidden state (and the
// cache's mask), then, unless only blocks were asked for, `finalNorm` of it
// and the logits when asked.
ForwardOutput finishForward(const CausalLM& model, ForwardOutput out, const at::Tensor& h,
                            const ForwardOptions& options, const at::Tensor& fullMask,
                            const std::function<at::Tensor(const at::Tensor&)>& finalNorm);

// A cancel point between blocks (util/cancellation.h): throws CancelledError
// when this thread's cancel check says stop and, when `h` (the residual
// stream entering a block, or leaving the last) is a non-leaf that requires
// gradient, hooks it so that a backward through it checks the same flag
// before going on into the blocks below. Every family calls it before each
// block and once after the last.
void cancelPoint(const at::Tensor& h);

// The blocks a forward runs: options.blocks, checked against `numBlocks`, or all.
std::pair<size_t, size_t> blockRange(const ForwardOptions& options, size_t numBlocks);

} // namespace tokenlens::layers
