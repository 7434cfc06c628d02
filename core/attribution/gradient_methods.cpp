// saliency (|∂f_j/∂e_i|) and input × gradient (e_i ⊙ ∂f_j/∂e_i), reduced over
// the hidden dimension. Both need one gradient per column.

#include "attribution/common.h"

namespace tokenlens::attr {
namespace {

class GradientMethod : public AttributionMethod {
public:
    std::vector<OptionSpec> options() const override {
        return gradientOptions();
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json&) const override {
        return columnGradientWork(n, t);
    }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        MethodOutput out;
        auto cg = columnGradients(input, r, control, out);
        if (!cg) return cg.error();
        if (out.cancelled) return out;
        torch::NoGradGuard noGrad;
        const Sequence& seq = cg->seq;
        auto vectors = perTokenVectors(cg->grads, seq.embeds.slice(0, 0, seq.length() - 1)); // (t, L-1, hidden)
        out.matrix = matrixFromColumns(seq, reduceHidden(vectors, reductionFrom(r)));
        return out;
    }

protected:
    virtual at::Tensor perTokenVectors(const at::Tensor& grads, const at::Tensor& embeds) const = 0;
};

class Saliency final : public GradientMethod {
public:
    std::string id() const override { return "saliency"; }
    std::string description() const override {
        return "Size of the gradient of the output token's score with respect to each input token's embedding.";
    }

protected:
    at::Tensor perTokenVectors(const at::Tensor& grads, const at::Tensor&) const override { return grads.abs(); }
};

class InputXGradient final : public GradientMethod {
public:
    std::string id() const override { return "input_x_gradient"; }
    std::string description() const override {
        return "Each input token's embedding multiplied element-wise by the gradient of the output token's score.";
    }

protected:
    at::Tensor perTokenVectors(const at::Tensor& grads, const at::Tensor& embeds) const override {
        return grads * embeds.unsqueeze(0);
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(Saliency, saliencyMethod)

TOKENLENS_METHOD_ACCESSOR(InputXGradient, inputXGradientMethod)

} // namespace tokenlens::attr
