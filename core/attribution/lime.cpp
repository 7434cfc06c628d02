// lime: token masking with a replacement baseline. Random masks keep each
// input token with probability 1 − mask_probability (the others get the
// baseline embedding); one teacher-forced pass per mask scores every output
// token. Per output token j a weighted ridge regression on its own context
// tokens (positions ≤ p_j) — weights exp(−d²/kernel_width²), d the fraction
// of those tokens replaced — gives the attributions (its coefficients).

#include "attribution/perturbation.h"

namespace tokenlens::attr {
namespace {

class Lime final : public SampledPerturbationMethod<LimeSettings> {
public:
    Lime()
        : SampledPerturbationMethod(
              "lime",
              "Coefficients of a weighted linear model fitted to the output token's score on random maskings "
              "of the context (masked tokens get the baseline embedding).") {}

    std::vector<OptionSpec> options() const override {
        auto o = perturbationOptions();
        o.push_back({"samples", "int", 200, 1, 1000000, {}, "random masks (perturbed sequences)"});
        o.push_back({"mask_probability", "number", 0.3, 0, 1, {},
                     "probability that a token is replaced by the baseline in a mask, strictly between 0 and 1"});
        o.push_back({"kernel_width", "number", 0.25, 1e-6, 1e6, {},
                     "width of the exponential kernel exp(-d^2/width^2) on the fraction d of replaced tokens"});
        o.push_back({"alpha", "number", 1.0, 0, 1e12, {}, "ridge penalty of the surrogate (the intercept is free)"});
        return o;
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& r) const override {
        return limeRows(settings(r)) * layoutFor(n, t).width;
    }


protected:
    Status checkResolved(const nlohmann::json& r, const ModelConfig*) const override {
        const double p = r["mask_probability"];
        if (!(p > 0 && p < 1)) {
            return makeError(ErrorCode::InvalidArgument, "lime: option 'mask_probability' is " + r["mask_probability"].dump() +
                                                             "; it must be strictly between 0 and 1");
        }
        return {};
    }

protected:
    Estimate estimate(const FeatureLayout& layout, const LimeSettings& s, const MaskScorer& score) const override {
        return limeEstimate(layout, s, score);
    }

    LimeSettings settings(const nlohmann::json& r) const override {
        LimeSettings s;
        s.samples = r.value("samples", s.samples);
        s.maskProbability = r.value("mask_probability", s.maskProbability);
        s.kernelWidth = r.value("kernel_width", s.kernelWidth);
        s.alpha = r.value("alpha", s.alpha);
        s.seed = r.value("seed", uint64_t{0});
        return s;
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(Lime, limeMethod)

} // namespace tokenlens::attr
