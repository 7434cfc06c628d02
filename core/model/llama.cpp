// The Llama family (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM):
// RMSNorm in float32, rotary embeddings, grouped-query attention, SiLU-gated
// MLP, q/k/v biases for Qwen2, tied or untied head.

#include "model/architectures.h"
#include "model/layers.h"
#include "model/rope.h"

namespace tokenlens {
namespace {

using namespace layers;

at::Tensor activate(const std::string& act, const at::Tensor& x) {
    if (act == "silu" || act == "swish") return torch::silu(x);
    if (act == "gelu") return torch::gelu(x);
    if (act == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
    if (act == "relu") return torch::relu(x);
    TORCH_CHECK(false, "unsupported hidden_act '", act, "'");
    return x; // not reached (TORCH_CHECK throws); unoptimised builds cannot tell
}

struct LlamaLayerImpl : torch::nn::Module {
    LlamaLayerImpl(const ModelConfig& c) {
        const int64_t h = c.hiddenSize, hd = c.headDim;
        const bool qkvBias = c.attentionBias;
        const bool oBias = c.attentionBias && c.modelType != "qwen2";
        inputNorm = register_module("input_layernorm", RMSNorm(h, c.normEps));
        auto attn = register_module("self_attn", std::make_shared<torch::nn::Module>());
        q = attn->register_module("q_proj", Linear(h, c.numHeads * hd, qkvBias));
        k = attn->register_module("k_proj", Linear(h, c.numKvHeads * hd, qkvBias));
        v = attn->register_module("v_proj", Linear(h, c.numKvHeads * hd, qkvBias));
        o = attn->register_module("o_proj", Linear(c.numHeads * hd, h, oBias));
        postNorm = register_module("post_attention_layernorm", RMSNorm(h, c.normEps));
        auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
        gate = mlp->register_module("gate_proj", Linear(h, c.intermediateSize, c.mlpBias));
        up = mlp->register_module("up_proj", Linear(h, c.intermediateSize, c.mlpBias));
        down = mlp->register_module("down_proj", Linear(c.intermediateSize, h, c.mlpBias));
    }
    RMSNorm inputNorm{nullptr}, postNorm{nullptr};
    Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, gate{nullptr}, up{nullptr}, down{nullptr};
};
TORCH_MODULE(LlamaLayer);

class Llama final : public TorchCausalLM {
public:
    Llama(const ModelConfig& c, Rope rope) : m_config(c), m_rope(std::move(rope)) {
        m_root = std::make_shared<torch::nn::Module>();
        auto model = m_root->register_module("model", std::make_shared<ParamModule>());
        m_embed = childParam(*model, "embed_tokens", "weight", {c.vocabSize, c.hiddenSize});
        auto list = model->register_module("layers", torch::nn::ModuleList());
        for (int64_t i = 0; i < c.numLayers; ++i) {
            m_layers.push_back(LlamaLayer(c));
            list->push_back(m_layers.back());
        }
        m_norm = model->register_module("norm", RMSNorm(c.hiddenSize, c.normEps));
        if (!c.tieWordEmbeddings) m_head = childParam(*m_root, "lm_head", "weight", {c.vocabSize, c.hiddenSize});
    }

    const ModelConfig& config() const override { return m_config; }
    torch::nn::Module& module() override { return *m_root; }
    void finishLoading() override {
        if (m_config.tieWordEmbeddings) m_head = m_embed;
    }

    at::Tensor embed(const at::Tensor& ids) const override { return torch::embedding(m_embed, ids); }
    at::Tensor embeddingMatrix() const override { return m_embed; }
    at::Tensor headMatrix() const override { return m_head; }
    at::Tensor lmHead(const at::Tensor& hidden) const override { return torch::matmul(hidden, m_head.t()); }
    OutputProjection attentionOutputProjection(int64_t layer) const override {
        const auto& o = m_layers.at(static_cast<size_t>(layer))->o; // Linear: stored [out, in]
        return {o->weight.t(), o->bias};
    }

    ForwardOutput forward(const at::Tensor& inputsEmbeds, const ForwardOptions& o) const override {
        const int64_t batch = inputsEmbeds.size(0), seq = inputsEmbeds.size(1);
        const auto [first, last] = blockRange(o, m_layers.size());
        const int64_t past = o.cache ? o.cache->lengthAt(first) : 0;
        const int64_t heads = m_config.numHeads, kvHeads = m_config.numKvHeads, hd = m_config.headDim;
        const at::Tensor fullMask = fullKeyMask(o, batch, seq, past);
        const at::Tensor pos = positionIds(o, batch, seq, past, fullMask).to(inputsEmbeds.device());
        const at::Tensor allowed = allowedMask(fullMask, batch, seq, past, inputsEmbeds.device());
        auto [cos, sin] = m_rope.cosSin(pos); // (b, seq, hd)

        ForwardOutput out;
        at::Tensor h = inputsEmbeds; // (b, seq, hidden)
        if (o.capture && !o.blocks) o.capture("embeddings", h);
        for (size_t i = first; i < last; ++i) {
            const auto& l = m_layers[i];
            const std::string prefix = "layers." + std::to_string(i) + ".";
            if (o.outputHiddenStates) out.hiddenStates.push_back(h);
            auto x = l->inputNorm->forward(h);
            auto q = l->q->forward(x).view({batch, seq, heads, hd}).transpose(1, 2);   // (b, heads, seq, hd)
            auto k = l->k->forward(x).view({batch, seq, kvHeads, hd}).transpose(1, 2); // (b, kvh, seq, hd)
            auto v = l->v->forward(x).view({batch, seq, kvHeads, hd}).transpose(1, 2);
            if (o.valueHook) v = o.valueHook(static_cast<int64_t>(i), v);
            if (o.capture) o.capture(prefix + "attn.values", v);
            q = Rope::apply(q, cos, sin);
            k = Rope::apply(k, cos, sin);
            auto [kAll, vAll] = updateCache(o.cache, i, k, v);
            auto att = attend(q, kAll, vAll, allowed, /*divideBy=*/false);
            if (o.outputAttentions) out.attentions.push_back(att.probs);
            if (o.capture) o.capture(prefix + "attn.probs", att.probs);
            auto attnOut = l->o->forward(att.output);
            if (o.capture) o.capture(prefix + "attn.out", attnOut);
            h = h + attnOut;
            x = l->postNorm->forward(h);
            auto mlpOut = l->down->forward(activate(m_config.activation, l->gate->forward(x)) * l->up->forward(x));
            if (o.capture) o.capture(prefix + "mlp.out", mlpOut);
            h = h + mlpOut;
            if (o.capture) o.capture(prefix + "output", h);
        }
        if (o.outputHiddenStates) out.hiddenStates.push_back(h);
        if (o.cache && fullMask.defined()) o.cache->attentionMask = fullMask;
        out.lastHidden = h;
        if (o.blocks) return out;
        out.finalHidden = m_norm->forward(h);
        if (o.capture) o.capture("final_hidden", out.finalHidden);
        if (o.computeLogits) out.logits = lmHead(out.finalHidden);
        return out;
    }

private:
    ModelConfig m_config;
    Rope m_rope;
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
    return std::unique_ptr<TorchCausalLM>(std::make_unique<Llama>(config, std::move(rope.value())));
}

} // namespace tokenlens
