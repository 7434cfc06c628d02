// shapley_sampling: Shapley values of the context tokens (absent tokens get
// the baseline embedding). Output tokens whose context has at most
// exact_max_tokens tokens get the exact values, by enumerating every
// coalition of the first m* positions (m* the largest such context; the 2^m*
// rows are shared by all such columns, scored at those columns only, and
// run as 2^d prefixes whose KV cache the 2^m* suffix rows reuse); the
// others are estimated by permutation sampling (Castro et al. 2009, Captum's
// ShapleyValueSampling): tokens are added one by one in random orders, and a
// token's value is its mean marginal change. Every permutation's rows score
// all output tokens; each permutation's changes add up to
// f_j(x) − f_j(baseline), so efficiency holds for every sample count.

#include "attribution/perturbation.h"

namespace tokenlens::attr {
namespace {

class ShapleySampling final : public SampledPerturbationMethod<ShapleySettings> {
public:
    ShapleySampling()
        : SampledPerturbationMethod(
              "shapley_sampling",
              "Shapley values of the context tokens (absent tokens get the baseline embedding): exact when "
              "an "
              "output token's context has at most exact_max_tokens tokens, else by permutation sampling.") {}

    std::vector<OptionSpec> options() const override {
        auto o = perturbationOptions();
        o.push_back({"samples", "int", 25, 1, 1000000, {}, "random permutations for the sampled columns"});
        o.push_back({"exact_max_tokens", "int", 10, 0, 16, {},
                     "output tokens whose context has at most this many tokens get exact Shapley values "
                     "(2^tokens coalitions); 0 samples every column"});
        return o;
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& r) const override {
        return shapleyWork(layoutFor(n, t), settings(r));
    }


protected:
    Estimate estimate(const FeatureLayout& layout, const ShapleySettings& s, const MaskScorer& score) const override {
        return shapleyEstimate(layout, s, score);
    }

    ShapleySettings settings(const nlohmann::json& r) const override {
        ShapleySettings s;
        s.samples = r.value("samples", s.samples);
        s.exactMaxTokens = r.value("exact_max_tokens", s.exactMaxTokens);
        s.seed = r.value("seed", uint64_t{0});
        return s;
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(ShapleySampling, shapleySamplingMethod)

} // namespace tokenlens::attr
