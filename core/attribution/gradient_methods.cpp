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
        return 2 * (t * n + t * (t - 1) / 2); // forward + backward over each column's prefix
    }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        auto made = makeTargetSequence(input, r);
        if (!made) return made.error();
        const Sequence& seq = *made;
        Progress progress(control, estimateWork(seq.n, seq.t, r));
        std::vector<GradientItem> items;
        for (int64_t j = 0; j < seq.t; ++j) items.push_back({j, 1.0, 1.0});
        MethodOutput out;
        auto sums = gradientPasses(input, seq, torch::zeros_like(seq.embeds), items, r, progress, out);
        if (out.cancelled) return out;
        torch::NoGradGuard noGrad;
        auto vectors = perTokenVectors(sums.grads, seq.embeds.slice(0, 0, seq.length() - 1)); // (t, L-1, hidden)
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
