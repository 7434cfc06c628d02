#include "model/compute_dtype.h"

#include <torch/torch.h>

namespace tokenlens {
namespace {

at::Tensor toFloat32(const at::Tensor& t) {
    return t.defined() && t.is_floating_point() && t.scalar_type() != torch::kFloat32 ? t.to(torch::kFloat32) : t;
}

class ComputeDtypeLM final : public CausalLM {
public:
    ComputeDtypeLM(std::unique_ptr<TorchCausalLM> inner, at::ScalarType dtype)
        : m_inner(std::move(inner)), m_dtype(dtype) {}

    const ModelConfig& config() const override { return m_inner->config(); }
    at::Tensor embed(const at::Tensor& ids) const override { return toFloat32(m_inner->embed(ids)); }

    ForwardOutput forward(const at::Tensor& inputsEmbeds, const ForwardOptions& options) const override {
        ForwardOptions o = options;
        if (options.capture) {
            o.capture = [&options](const std::string& name, const at::Tensor& v) { options.capture(name, toFloat32(v)); };
        }
        if (options.valueHook) {
            o.valueHook = [&options, this](int64_t layer, const at::Tensor& v) {
                return options.valueHook(layer, toFloat32(v)).to(m_dtype);
            };
        }
        ForwardOutput out = m_inner->forward(inputsEmbeds.to(m_dtype), o);
        out.logits = toFloat32(out.logits);
        out.finalHidden = toFloat32(out.finalHidden);
        out.lastHidden = toFloat32(out.lastHidden);
        for (auto& a : out.attentions) a = toFloat32(a);
        for (auto& h : out.hiddenStates) h = toFloat32(h);
        return out;
    }

    at::Tensor lmHead(const at::Tensor& finalHidden) const override {
        return toFloat32(m_inner->lmHead(finalHidden.to(m_dtype)));
    }
    // In the compute dtype: callers take the device, or rows that promote to
    // float32 when multiplied with float32 hidden states.
    at::Tensor embeddingMatrix() const override { return m_inner->embeddingMatrix(); }
    at::Tensor headMatrix() const override { return m_inner->headMatrix(); }
    OutputProjection attentionOutputProjection(int64_t layer) const override {
        auto p = m_inner->attentionOutputProjection(layer);
        return {toFloat32(p.weight), toFloat32(p.bias)};
    }

    int64_t parameterCount() const override { return m_inner->parameterCount(); }
    int64_t parameterBytes() const override { return m_inner->parameterBytes(); }
    std::string device() const override { return m_inner->device(); }
    at::ScalarType computeType() const { return m_dtype; }

private:
    std::unique_ptr<TorchCausalLM> m_inner;
    at::ScalarType m_dtype;
};

} // namespace

std::optional<at::ScalarType> computeScalarType(const std::string& computeDtype) {
    if (computeDtype == "float32") return torch::kFloat32;
    if (computeDtype == "bfloat16") return torch::kBFloat16;
    return std::nullopt;
}

std::shared_ptr<const CausalLM> computeIn(std::unique_ptr<TorchCausalLM> model, at::ScalarType dtype, bool convert) {
    if (convert) {
        torch::NoGradGuard noGrad;
        model->module().to(dtype);
    }
    model->setComputeType(dtype);
    model->finishLoading(); // ties the head again, to the converted matrix
    return std::make_shared<ComputeDtypeLM>(std::move(model), dtype);
}

at::ScalarType computeTypeOf(const CausalLM& model) {
    const auto* wrapped = dynamic_cast<const ComputeDtypeLM*>(&model);
    return wrapped ? wrapped->computeType() : at::kFloat;
}

} // namespace tokenlens
