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

class KernelShap final : public SampledPerturbationMethod<KernelShapSettings> {
public:
    KernelShap()
        : SampledPerturbationMethod("kernel_shap", "Shapley values of the context tokens estimated by a "
                                     "Shapley-kernel-weighted regression on random "
                                     "coalitions (absent tokens get the baseline embedding); each column "
                                     "adds up to f(x) - f(baseline).") {}

    std::vector<OptionSpec> options() const override {
        auto o = perturbationOptions();
        o.push_back({"samples", "int", 200, 1, 1000000, {}, "random coalitions (besides x and the all-baseline input)"});
        return o;
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& r) const override {
        const auto layout = layoutFor(n, t);
        return kernelShapRows(layout, settings(r)) * layout.width;
    }


protected:
    Estimate estimate(const FeatureLayout& layout, const KernelShapSettings& s, const MaskScorer& score) const override {
        return kernelShapEstimate(layout, s, score);
    }

    KernelShapSettings settings(const nlohmann::json& r) const override {
        KernelShapSettings s;
        s.samples = r.value("samples", s.samples);
        s.seed = r.value("seed", uint64_t{0});
        return s;
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(KernelShap, kernelShapMethod)

} // namespace tokenlens::attr
