// attnlrp and cp_lrp: layer-wise relevance propagation for transformers
// (Achtibat et al., ICML 2024) as modified gradients. The model runs in an
// LRP mode (ForwardOptions::lrp, the rules in causal_lm.h), so that the
// relevance of input embedding e_i for f_j is e_i ⊙ ∂̃f_j/∂e_i with ∂̃ the
// modified gradient: one backward per output column, batched like saliency.
// Summed over the hidden dimension (the default reduction) the relevances of
// a column add up to f_j minus what the rules absorb (biases, softmax,
// GPT-2's position embeddings); that gap is reported per column as the
// convergence delta Σ_i A[i,j] − f_j.

#include "attribution/common.h"

namespace tokenlens::attr {
namespace {

class LrpMethod : public NamedMethod {
public:
    LrpMethod(std::string id, std::string description, LrpMode mode)
        : NamedMethod(std::move(id), std::move(description)), m_mode(mode) {}

    std::vector<OptionSpec> options() const override {
        auto o = gradientOptions();
        for (auto& spec : o) {
            // Relevance is signed and conserving, and it starts from a logit.
            if (spec.name == "target_fn") spec.defaultValue = "logit";
            if (spec.name == "reduction") spec.defaultValue = "sum";
        }
        return o;
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json&) const override {
        return columnGradientWork(n, t);
    }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        GradientExtras extras;
        extras.lrp = m_mode;
        MethodOutput out;
        auto cg = columnGradients(input, r, control, out, extras);
        if (!cg) return cg.error();
        if (out.cancelled) return out;
        const Sequence& seq = cg->seq;
        torch::NoGradGuard noGrad;
        auto relevance = cg->grads * seq.embeds.slice(0, 0, seq.length() - 1).unsqueeze(0); // (t, L-1, hidden)
        out.matrix = matrixFromColumns(seq, reduceHidden(relevance, reductionFrom(r)));
        auto total = relevance.sum({1, 2}).to(torch::kCPU, torch::kFloat64);
        auto f = targetsAllColumns(*input.model, seq, seq.embeds, targetFnFrom(r)).to(torch::kCPU, torch::kFloat64);
        for (int64_t j = 0; j < seq.t; ++j) {
            out.fInput.push_back(f[j].item<double>());
            out.fBaseline.push_back(0.0);
            out.convergenceDelta.push_back(total[j].item<double>() - f[j].item<double>());
        }
        return out;
    }

private:
    LrpMode m_mode;
};

class AttnLrp final : public LrpMethod {
public:
    AttnLrp()
        : LrpMethod("attnlrp",
                    "Layer-wise relevance propagation for transformers (AttnLRP): the output token's logit shared "
                    "out over the input tokens layer by layer, through attention's queries, keys and values; one "
                    "backward pass per output token.",
                    LrpMode::AttnLrp) {}
};

class CpLrp final : public LrpMethod {
public:
    CpLrp()
        : LrpMethod("cp_lrp",
                    "Layer-wise relevance propagation with the attention weights held fixed (CP-LRP): relevance "
                    "flows through the values only, not through queries and keys; one backward pass per output "
                    "token.",
                    LrpMode::CpLrp) {}
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(AttnLrp, attnLrpMethod)

TOKENLENS_METHOD_ACCESSOR(CpLrp, cpLrpMethod)

} // namespace tokenlens::attr
