// The Llama family: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
// Qwen3ForCausalLM, Phi3ForCausalLM and Gemma3ForCausalLM (also the text part
// of Gemma3ForConditionalGeneration). RMSNorm in float32, rotary embeddings,
// grouped-query attention, a gated MLP, tied or untied head; the config's
// flags add what differs:
//   Qwen2    q/k/v biases;
//   Qwen3    per-head q_norm/k_norm before RoPE, head_dim from the config;
//   Phi-3    fused qkv_proj and gate_up_proj, partial rotary dims;
//   Gemma 3  (1 + w) norms, embeddings × sqrt(hidden), post-attention and
//            post-feedforward norms on the block outputs, q/k norms,
//            query_pre_attn_scalar, sliding and global layers with their own
//            RoPE bases, optional softcaps;
//   Mistral, Phi-3, Qwen (use_sliding_window) sliding windows.

#include "model/architectures.h"
#include "model/layers.h"
#include "model/rope.h"

#include <cmath>

namespace tokenlens {
namespace {

using namespace layers;

bool isSilu(const std::string& act) { return act == "silu" || act == "swish"; }

at::Tensor activate(const std::string& act, const at::Tensor& x) {
    if (isSilu(act)) return torch::silu(x);
    if (act == "gelu") return torch::gelu(x);
    if (act == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
    if (act == "relu") return torch::relu(x);
    TORCH_CHECK(false, "unsupported hidden_act '", act, "'");
    return x; // not reached (TORCH_CHECK throws); unoptimised builds cannot tell
}

struct LlamaLayerImpl : torch::nn::Module {
    LlamaLayerImpl(const ModelConfig& c) {
        const int64_t h = c.hiddenSize, hd = c.headDim, I = c.intermediateSize;
        const bool gemma = c.gemmaNorms;
        const bool qkvBias = c.attentionBias;
        const bool oBias = c.attentionBias && c.modelType != "qwen2";
        inputNorm = register_module("input_layernorm", RMSNorm(h, c.normEps, gemma));
        auto attn = register_module("self_attn", std::make_shared<torch::nn::Module>());
        if (c.fusedProjections) {
            qkv = attn->register_module("qkv_proj", Linear(h, (c.numHeads + 2 * c.numKvHeads) * hd, qkvBias));
        } else {
            q = attn->register_module("q_proj", Linear(h, c.numHeads * hd, qkvBias));
            k = attn->register_module("k_proj", Linear(h, c.numKvHeads * hd, qkvBias));
            v = attn->register_module("v_proj", Linear(h, c.numKvHeads * hd, qkvBias));
        }
        o = attn->register_module("o_proj", Linear(c.numHeads * hd, h, oBias));
        if (c.qkNorm) {
            qNorm = attn->register_module("q_norm", RMSNorm(hd, c.normEps, gemma));
            kNorm = attn->register_module("k_norm", RMSNorm(hd, c.normEps, gemma));
        }
        if (gemma) {
            attnPostNorm = register_module("post_attention_layernorm", RMSNorm(h, c.normEps, true));
            mlpNorm = register_module("pre_feedforward_layernorm", RMSNorm(h, c.normEps, true));
            mlpPostNorm = register_module("post_feedforward_layernorm", RMSNorm(h, c.normEps, true));
        } else {
            // Llama's "post_attention_layernorm" is the MLP's input norm.
            mlpNorm = register_module("post_attention_layernorm", RMSNorm(h, c.normEps));
        }
        auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
        if (c.fusedProjections) {
            gateUp = mlp->register_module("gate_up_proj", Linear(h, 2 * I, c.mlpBias));
        } else {
            gate = mlp->register_module("gate_proj", Linear(h, I, c.mlpBias));
            up = mlp->register_module("up_proj", Linear(h, I, c.mlpBias));
        }
        down = mlp->register_module("down_proj", Linear(I, h, c.mlpBias));
    }
    RMSNorm inputNorm{nullptr}, attnPostNorm{nullptr}, mlpNorm{nullptr}, mlpPostNorm{nullptr};
    RMSNorm qNorm{nullptr}, kNorm{nullptr};
    Linear q{nullptr}, k{nullptr}, v{nullptr}, qkv{nullptr}, o{nullptr};
    Linear gate{nullptr}, up{nullptr}, gateUp{nullptr}, down{nullptr};
};
TORCH_MODULE(LlamaLayer);

class Llama final : public TorchCausalLM {
public:
    Llama(const ModelConfig& c, Rope rope, std::optional<Rope> localRope)
        : m_config(c), m_rope(std::move(rope)), m_localRope(std::move(localRope)) {
        if (c.gemmaNorms) m_embedScale = static_cast<float>(std::sqrt(static_cast<double>(c.hiddenSize)));
        if (c.queryPreAttnScalar) m_scale = std::pow(*c.queryPreAttnScalar, -0.5);
        m_root = std::make_shared<torch::nn::Module>();
        auto model = m_root->register_module("model", std::make_shared<ParamModule>());
        m_embed = childParam(*model, "embed_tokens", "weight", {c.vocabSize, c.hiddenSize});
        auto list = model->register_module("layers", torch::nn::ModuleList());
        for (int64_t i = 0; i < c.numLayers; ++i) {
            m_layers.push_back(LlamaLayer(c));
            list->push_back(m_layers.back());
        }
        m_norm = model->register_module("norm", RMSNorm(c.hiddenSize, c.normEps, c.gemmaNorms));
        if (!c.tieWordEmbeddings) m_head = childParam(*m_root, "lm_head", "weight", {c.vocabSize, c.hiddenSize});
    }

    const ModelConfig& config() const override { return m_config; }
    torch::nn::Module& module() override { return *m_root; }
    void finishLoading() override {
        if (m_config.tieWordEmbeddings) m_head = m_embed;
    }

    // Gemma scales the looked-up rows by sqrt(hidden) (a float32 number):
    // the scaled rows are the inputs the engine attributes to.
    at::Tensor embed(const at::Tensor& ids) const override {
        auto e = torch::embedding(m_embed, ids);
        if (e.scalar_type() != computeType()) e = e.to(computeType()); // rows of a narrower stored matrix
        return m_embedScale ? e * static_cast<double>(*m_embedScale) : e;
    }
    at::Tensor embeddingMatrix() const override { return m_embed; }
    at::Tensor headMatrix() const override { return m_head; }
    at::Tensor lmHead(const at::Tensor& hidden) const override {
        auto logits = project(hidden, m_head);
        if (const auto& cap = m_config.finalLogitSoftcap) logits = torch::tanh(logits / *cap) * *cap;
        return logits;
    }
    OutputProjection attentionOutputProjection(int64_t layer) const override {
        const auto& o = m_layers.at(static_cast<size_t>(layer))->o; // Linear: stored [out, in]
        return {o->weight.t().to(computeType()), o->bias};
    }

    ForwardOutput forward(const at::Tensor& inputsEmbeds, const ForwardOptions& o) const override {
        const int64_t batch = inputsEmbeds.size(0), seq = inputsEmbeds.size(1);
        const auto [first, last] = blockRange(o, m_layers.size());
        const int64_t past = o.cache ? o.cache->lengthAt(first) : 0;
        const int64_t heads = m_config.numHeads, kvHeads = m_config.numKvHeads, hd = m_config.headDim;
        const auto dev = inputsEmbeds.device();
        const at::Tensor fullMask = fullKeyMask(o, batch, seq, past);
        const at::Tensor pos = positionIds(o, batch, seq, past, fullMask).to(dev);
        const at::Tensor allowedFull = allowedMask(fullMask, batch, seq, past, dev);
        at::Tensor allowedSliding; // computed when a layer in range slides
        auto [cos, sin] = m_rope.cosSin(pos); // (b, seq, rotary_dim)
        at::Tensor localCos, localSin;
        if (m_localRope) std::tie(localCos, localSin) = m_localRope->cosSin(pos);
        const double softcap = m_config.attnLogitSoftcap.value_or(0.0);
        const bool lrp = o.lrp != LrpMode::Off;
        // The gated MLP's act(gate) · up under the LRP rules: identity, then uniform.
        auto gated = [&](const at::Tensor& gate, const at::Tensor& up) {
            if (!lrp) {
                const auto& act = m_config.activation;
                return isSilu(act) ? siluGate(gate, up) : activate(act, gate) * up;
            }
            auto a = identityRule(gate, activate(m_config.activation, gate.detach()));
            return halfGradient(a * up); // both factors' gradients halved
        };

        ForwardOutput out;
        at::Tensor h = inputsEmbeds; // (b, seq, hidden)
        if (o.capture && !o.blocks) o.capture("embeddings", h);
        for (size_t i = first; i < last; ++i) {
            cancelPoint(h);
            const auto& l = m_layers[i];
            const std::string prefix = "layers." + std::to_string(i) + ".";
            const int64_t window = m_config.windowAt(static_cast<int64_t>(i));
            if (window > 0 && !allowedSliding.defined()) {
                allowedSliding = allowedMask(fullMask, batch, seq, past, dev, window);
            }
            const bool local = window > 0 && m_localRope.has_value();
            if (o.outputHiddenStates) out.hiddenStates.push_back(h);
            auto x = l->inputNorm->forward(h, lrp);
            cancelPoint(x); // backward: after q, k and v
            at::Tensor q, k, v; // (b, seq, heads or kv heads, hd)
            if (l->qkv) {
                auto qkv = l->qkv->forward(x); // (b, seq, (heads + 2 kv heads) hd): q, then k, then v
                q = qkv.slice(-1, 0, heads * hd).reshape({batch, seq, heads, hd});
                k = qkv.slice(-1, heads * hd, (heads + kvHeads) * hd).reshape({batch, seq, kvHeads, hd});
                v = qkv.slice(-1, (heads + kvHeads) * hd).reshape({batch, seq, kvHeads, hd});
            } else {
                q = l->q->forward(x).reshape({batch, seq, heads, hd});
                k = l->k->forward(x).reshape({batch, seq, kvHeads, hd});
                v = l->v->forward(x).reshape({batch, seq, kvHeads, hd});
            }
            if (l->qNorm) {
                q = l->qNorm->forward(q, lrp);
                k = l->kNorm->forward(k, lrp);
            }
            q = q.transpose(1, 2); // (b, heads, seq, hd)
            k = k.transpose(1, 2); // (b, kvh, seq, hd)
            v = v.transpose(1, 2);
            if (o.valueHook) v = o.valueHook(static_cast<int64_t>(i), v);
            if (o.capture) o.capture(prefix + "attn.values", v);
            q = Rope::apply(q, local ? localCos : cos, local ? localSin : sin);
            k = Rope::apply(k, local ? localCos : cos, local ? localSin : sin);
            auto [kAll, vAll] = updateCache(o.cache, i, k, v);
            auto att = attend(q, kAll, vAll, window > 0 ? allowedSliding : allowedFull, /*divideBy=*/false, m_scale,
                              softcap, o.lrp, probsRowsOf(o));
            if (o.outputAttentions) out.attentions.push_back(att.probs);
            if (o.capture) o.capture(prefix + "attn.probs", att.probs);
            cancelPoint(att.output); // backward: after o
            auto attnOut = l->o->forward(att.output);
            if (l->attnPostNorm) {
                // Gemma: the block output is normed before the residual addition.
                if (o.capture) o.capture(prefix + "attn.out_scale", l->attnPostNorm->scale(attnOut));
                attnOut = l->attnPostNorm->forward(attnOut, lrp);
            }
            if (o.capture) o.capture(prefix + "attn.out", attnOut);
            h = h + attnOut;
            cancelPoint(h); // also between attention and MLP: half a block at most
            x = l->mlpNorm->forward(h, lrp);
            cancelPoint(x); // backward: after gate and up
            at::Tensor act;
            if (l->gateUp) {
                auto gu = l->gateUp->forward(x); // (b, seq, 2 I): gate, then up
                const int64_t I = m_config.intermediateSize;
                act = gated(gu.slice(-1, 0, I), gu.slice(-1, I));
            } else {
                auto gate = l->gate->forward(x);
                // up reads a view of x whose hook runs once up's backward is
                // done (the engine takes up before gate: made later).
                auto xUp = x.view_as(x);
                cancelPoint(xUp);
                act = gated(gate, l->up->forward(xUp));
            }
            cancelPoint(act); // backward: after down
            at::Tensor mlpOut = l->down->forward(act);
            if (l->mlpPostNorm) mlpOut = l->mlpPostNorm->forward(mlpOut, lrp);
            h = addMlpOutput(h, mlpOut, o, prefix);
        }
        cancelPoint(h);
        return finishForward(*this, std::move(out), h, o, fullMask,
                             [this, lrp](const at::Tensor& x) { return m_norm->forward(x, lrp); });
    }

private:
    ModelConfig m_config;
    Rope m_rope;
    std::optional<Rope> m_localRope; // Gemma's sliding layers
    std::optional<float> m_embedScale;
    double m_scale = 0; // 0: head_dim^-0.5
    std::shared_ptr<torch::nn::Module> m_root;
    at::Tensor m_embed, m_head;
    std::vector<LlamaLayer> m_layers;
    RMSNorm m_norm{nullptr};
};

} // namespace

Result<std::unique_ptr<TorchCausalLM>> makeLlama(const ModelConfig& config) {
    static const char* const kActivations[] = {"silu", "swish", "gelu", "gelu_pytorch_tanh", "relu"};
    if (std::find(std::begin(kActivations), std::end(kActivations), config.activation) == std::end(kActivations)) {
        return makeError(ErrorCode::Unsupported, "config.json: hidden_act '" + config.activation +
                                                     "' is not supported (supported: silu, gelu, gelu_pytorch_tanh, relu)");
    }
    auto rope = Rope::create(config);
    if (!rope) return rope.error();
    std::optional<Rope> local;
    if (config.ropeLocalTheta) {
        auto r = Rope::createLocal(config, *config.ropeLocalTheta);
        if (!r) return r.error();
        local = std::move(r.value());
    }
    return std::unique_ptr<TorchCausalLM>(std::make_unique<Llama>(config, std::move(rope.value()), std::move(local)));
}

} // namespace tokenlens
