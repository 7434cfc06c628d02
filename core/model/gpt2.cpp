// GPT-2 (GPT2LMHeadModel): learned positions, pre-LN blocks, Conv1D weights
// stored [in, out], gelu_new MLP, final ln_f, head tied to wte.

#include "model/architectures.h"
#include "model/layers.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace tokenlens {
namespace {

using namespace layers;

// Elements per chunk of the no-grad gelu_new: its float32 buffers (2 × 256
// KB) stay in cache across the chunk's passes.
constexpr int64_t kGeluChunk = int64_t{1} << 16;

// gelu_new, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Under autograd
// (and off the CPU) as the reference writes it: eight operations, recorded
// as one node (layers::geluNewNode, model/gelu_new.cpp). Otherwise through 0.5·(1 + tanh(z)) = sigmoid(2z), as
// x·sigmoid(2√(2/π)·x·(1 + 0.044715·x²)), in float32 (a bfloat16 x widened
// and the result rounded once), chunk by chunk in per-thread buffers, into
// x itself when `reuse` (the caller's fresh product, not read again) or
// else a new tensor. LibTorch 1.13's CPU tanh costs about five times its
// sigmoid, the eight bfloat16 operations round every intermediate, and
// each whole-tensor operation wrote fresh memory (a KernelSHAP pass's
// 9,450 × 3,072 activations: 116 MB of float32 per operation, page faults
// included): docs/benchmarks.md, "bfloat16 fixed costs at GPT-2 small".
// Both forms are within float32's rounding of the float64 function (about
// 5e-7 absolute over |x| ≤ 12).
at::Tensor geluNew(const at::Tensor& x, bool reuse) {
    if ((torch::GradMode::is_enabled() && x.requires_grad()) || !x.device().is_cpu()) return geluNewNode(x);
    const at::Tensor src = x.contiguous();
    at::Tensor dst = reuse || !src.is_same(x) ? src : torch::empty_like(src);
    const auto from = src.view({-1});
    auto to = dst.view({-1});
    const bool wide = src.scalar_type() == torch::kFloat32;
    const double c = 2.0 * std::sqrt(2.0 / M_PI);
    at::parallel_for(0, from.numel(), kGeluChunk, [&](int64_t begin, int64_t end) {
        thread_local at::Tensor t_x, t_y; // float32, kGeluChunk each
        if (!t_y.defined()) {
            t_x = torch::empty({kGeluChunk}, torch::kFloat32);
            t_y = torch::empty({kGeluChunk}, torch::kFloat32);
        }
        for (int64_t s = begin; s < end; s += kGeluChunk) {
            const int64_t m = std::min(end, s + kGeluChunk) - s;
            const auto part = from.narrow(0, s, m);
            const at::Tensor x32 = wide ? part : t_x.narrow(0, 0, m).copy_(part);
            auto y = t_y.narrow(0, 0, m);
            at::mul_out(y, x32, x32);
            y.mul_(0.044715 * c).add_(c).mul_(x32).sigmoid_().mul_(x32);
            to.narrow(0, s, m).copy_(y);
        }
    });
    return dst;
}

struct Gpt2BlockImpl : torch::nn::Module {
    Gpt2BlockImpl(const ModelConfig& c) {
        const int64_t h = c.hiddenSize;
        ln1 = register_module("ln_1", LayerNorm(h, c.normEps));
        auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
        cAttn = attn->register_module("c_attn", Conv1D(h, 3 * h));
        cAttnProj = attn->register_module("c_proj", Conv1D(h, h));
        ln2 = register_module("ln_2", LayerNorm(h, c.normEps));
        auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
        cFc = mlp->register_module("c_fc", Conv1D(h, c.intermediateSize));
        cMlpProj = mlp->register_module("c_proj", Conv1D(c.intermediateSize, h));
    }
    LayerNorm ln1{nullptr}, ln2{nullptr};
    Conv1D cAttn{nullptr}, cAttnProj{nullptr}, cFc{nullptr}, cMlpProj{nullptr};
};
TORCH_MODULE(Gpt2Block);

class Gpt2 final : public TorchCausalLM {
public:
    explicit Gpt2(const ModelConfig& c) : m_config(c) {
        m_root = std::make_shared<torch::nn::Module>();
        auto t = m_root->register_module("transformer", std::make_shared<ParamModule>());
        m_wte = childParam(*t, "wte", "weight", {c.vocabSize, c.hiddenSize});
        m_wpe = childParam(*t, "wpe", "weight", {c.maxPositions, c.hiddenSize});
        auto list = t->register_module("h", torch::nn::ModuleList());
        for (int64_t i = 0; i < c.numLayers; ++i) {
            m_blocks.push_back(Gpt2Block(c));
            list->push_back(m_blocks.back());
        }
        m_lnf = t->register_module("ln_f", LayerNorm(c.hiddenSize, c.normEps));
        if (!c.tieWordEmbeddings) {
            m_head = childParam(*m_root, "lm_head", "weight", {c.vocabSize, c.hiddenSize});
        }
    }

    const ModelConfig& config() const override { return m_config; }
    torch::nn::Module& module() override { return *m_root; }
    void finishLoading() override {
        if (m_config.tieWordEmbeddings) m_head = m_wte;
    }

    at::Tensor embed(const at::Tensor& ids) const override { return torch::embedding(m_wte, ids).to(computeType()); }
    at::Tensor embeddingMatrix() const override { return m_wte; }
    at::Tensor headMatrix() const override { return m_head; }
    at::Tensor lmHead(const at::Tensor& hidden) const override { return project(hidden, m_head); }
    OutputProjection attentionOutputProjection(int64_t layer) const override {
        const auto& p = m_blocks.at(static_cast<size_t>(layer))->cAttnProj; // Conv1D: stored [in, out]
        return {p->weight.to(computeType()), p->bias};
    }

    ForwardOutput forward(const at::Tensor& inputsEmbeds, const ForwardOptions& o) const override {
        const int64_t batch = inputsEmbeds.size(0), seq = inputsEmbeds.size(1);
        const auto [first, last] = blockRange(o, m_blocks.size());
        const int64_t past = o.cache ? o.cache->lengthAt(first) : 0;
        const int64_t heads = m_config.numHeads, hd = m_config.headDim;
        const at::Tensor fullMask = fullKeyMask(o, batch, seq, past);
        const at::Tensor pos = positionIds(o, batch, seq, past, fullMask);
        TORCH_CHECK(pos.max().item<int64_t>() < m_config.maxPositions, "position ", pos.max().item<int64_t>(),
                    " is beyond the model's ", m_config.maxPositions, " positions");
        const at::Tensor allowed = allowedMask(fullMask, batch, seq, past, inputsEmbeds.device());
        const bool lrp = o.lrp != LrpMode::Off;

        ForwardOutput out;
        at::Tensor h = inputsEmbeds; // (b, seq, hidden)
        if (!o.blocks) {
            h = h + torch::embedding(m_wpe, pos.to(inputsEmbeds.device())).to(h.scalar_type());
            if (o.capture) o.capture("embeddings", h);
        }
        for (size_t i = first; i < last; ++i) {
            cancelPoint(h);
            const auto& b = m_blocks[i];
            const std::string prefix = "layers." + std::to_string(i) + ".";
            if (o.outputHiddenStates) out.hiddenStates.push_back(h);
            auto x = b->ln1->forward(h, lrp);
            cancelPoint(x); // backward: after c_attn
            auto qkv = b->cAttn->forward(x).split(m_config.hiddenSize, -1);
            auto split = [&](const at::Tensor& t) { return t.view({batch, seq, heads, hd}).transpose(1, 2); };
            at::Tensor newV = split(qkv[2]);
            if (o.valueHook) newV = o.valueHook(static_cast<int64_t>(i), newV);
            if (o.capture) o.capture(prefix + "attn.values", newV);
            auto [k, v] = updateCache(o.cache, i, split(qkv[1]), newV);
            auto att = attend(split(qkv[0]), k, v, allowed, /*divideBy=*/true, 0, 0, o.lrp, probsRowsOf(o));
            if (o.outputAttentions) out.attentions.push_back(att.probs);
            if (o.capture) o.capture(prefix + "attn.probs", att.probs);
            cancelPoint(att.output); // backward: after c_proj
            auto attnOut = b->cAttnProj->forward(att.output);
            if (o.capture) o.capture(prefix + "attn.out", attnOut);
            h = h + attnOut;
            cancelPoint(h); // also between attention and MLP: half a block at most
            x = b->ln2->forward(h, lrp);
            cancelPoint(x); // backward: after c_fc
            auto fc = b->cFc->forward(x);
            auto act = lrp ? identityRule(fc, geluNew(fc.detach(), false)) : geluNew(fc, /*reuse=*/true);
            cancelPoint(act); // backward: after the MLP's c_proj
            auto mlpOut = b->cMlpProj->forward(act);
            h = addMlpOutput(h, mlpOut, o, prefix);
        }
        cancelPoint(h);
        return finishForward(*this, std::move(out), h, o, fullMask,
                             [this, lrp](const at::Tensor& x) { return m_lnf->forward(x, lrp); });
    }

private:
    ModelConfig m_config;
    std::shared_ptr<torch::nn::Module> m_root;
    at::Tensor m_wte, m_wpe, m_head;
    std::vector<Gpt2Block> m_blocks;
    LayerNorm m_lnf{nullptr};
};

} // namespace

Result<std::unique_ptr<TorchCausalLM>> makeGpt2(const ModelConfig& config) {
    if (config.activation != "gelu_new" && !config.activation.empty()) {
        return makeError(ErrorCode::Unsupported,
                         "config.json: activation_function '" + config.activation + "' is not supported for gpt2");
    }
    return std::unique_ptr<TorchCausalLM>(std::make_unique<Gpt2>(config));
}

} // namespace tokenlens
