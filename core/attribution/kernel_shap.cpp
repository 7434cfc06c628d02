// kernel_shap: KernelSHAP (Lundberg & Lee 2017). Coalitions of context tokens
// (the others get the baseline embedding) drawn by the Shapley kernel's size
// distribution; one teacher-forced pass per coalition scores every output
// token. Per output token j the Shapley-kernel-weighted linear regression on
// its own context tokens, with efficiency enforced as in the SHAP paper's
// implementation: φ_0 = f_j(baseline) and Σ_i φ_i = f_j(x) − f_j(baseline)
// exactly (the last feature is eliminated). Captum instead fits a free
// intercept, so its sums only approximate that difference.

#include "attribution/perturbation.h"

namespace tokenlens::attr {
namespace {

class KernelShap final : public AttributionMethod {
public:
    std::string id() const override { return "kernel_shap"; }
    std::string description() const override {
        return "Shapley values of the context tokens estimated by a Shapley-kernel-weighted regression on random "
               "coalitions (absent tokens get the baseline embedding); each column adds up to f(x) - f(baseline).";
    }

    std::vector<OptionSpec> options() const override {
        auto o = perturbationOptions();
        o.push_back({"samples", "int", 200, 1, 1000000, {}, "random coalitions (besides x and the all-baseline input)"});
        return o;
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& r) const override {
        const auto layout = layoutFor(n, t);
        return kernelShapRows(layout, settings(r)) * layout.width;
    }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        const auto s = settings(r);
        const int64_t work = estimateWork(static_cast<int64_t>(input.promptIds.size()),
                                          static_cast<int64_t>(input.outputIds.size()), r);
        return runPerturbation(input, r, control, work, [&](const FeatureLayout& layout, const MaskScorer& score) {
            return kernelShapEstimate(layout, s, score);
        });
    }

private:
    static KernelShapSettings settings(const nlohmann::json& r) {
        KernelShapSettings s;
        s.samples = r.value("samples", s.samples);
        s.seed = r.value("seed", uint64_t{0});
        return s;
    }
};

} // namespace

const AttributionMethod& kernelShapMethod() {
    static const KernelShap m;
    return m;
}

} // namespace tokenlens::attr
