// gradient_shap: Captum's GradientShap (Lundberg & Lee 2017, expected
// gradients). For sample s of column j: the input with Gaussian noise,
// x̃ = e + ε (ε ~ N(0, stdevs²) per embedding element), a random α ~ U(0, 1),
// and the gradient at b + α (x̃ − b) times (x̃ − b); the attribution is the
// mean over samples, reduced over the hidden dimension. The baseline b is one
// (zero or unk embedding), so "a random baseline from the distribution" is
// always that one. Noise samples are shared by the columns (sample s uses the
// same ε for every output token); α is drawn per column and sample.

#include "attribution/common.h"
#include "attribution/perturbation.h"

namespace tokenlens::attr {
namespace {

class GradientShap final : public NamedMethod {
public:
    GradientShap()
        : NamedMethod(
              "gradient_shap",
              "Expected gradients: gradients at random points between the baseline and the (noised) input, "
              "times their difference, averaged over samples.") {}

    std::vector<OptionSpec> options() const override {
        auto o = gradientOptions();
        o.push_back(baselineOption());
        o.push_back({"samples", "int", 5, 1, 100000, {}, "random points per output token"});
        o.push_back({"stdevs", "number", 0.0, 0, 1e6, {}, "standard deviation of the Gaussian noise added to the input"});
        o.push_back({"seed", "int", 0, 0, 9007199254740992.0, {},
                     "seed of the noise and of the random points (a job-level seed also seeds generation)"});
        return o;
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& r) const override {
        const int64_t samples = r.value("samples", 5);
        return samples * 2 * (t * n + t * (t - 1) / 2);
    }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        auto made = targetSequenceWithBaseline(input, r);
        if (!made) return made.error();
        const auto& [seq, baseline] = *made;
        const int64_t samples = r["samples"];
        const double stdev = r["stdevs"];
        Rng rng(r["seed"].get<uint64_t>());
        const int64_t width = seq.length() - 1;
        GradientExtras extras;
        extras.timesDelta = true;
        if (stdev > 0) {
            std::vector<float> noise(static_cast<size_t>(samples * width * seq.embeds.size(1)));
            for (auto& v : noise) v = static_cast<float>(stdev * rng.normal());
            extras.noise = torch::tensor(noise).view({samples, width, seq.embeds.size(1)}).to(seq.embeds.device());
        }
        std::vector<GradientItem> items;
        for (int64_t j = 0; j < seq.t; ++j) {
            for (int64_t s = 0; s < samples; ++s) {
                items.push_back({j, rng.uniform(), 1.0 / static_cast<double>(samples), stdev > 0 ? s : -1});
            }
        }
        Progress progress(control, estimateWork(seq.n, seq.t, r));
        MethodOutput out;
        auto sums = gradientPasses(input, seq, baseline, items, r, progress, out, extras);
        if (!sums) return sums.error();
        if (out.cancelled) return out;
        torch::NoGradGuard noGrad;
        out.matrix = matrixFromColumns(seq, reduceHidden(sums->grads, reductionFrom(r)));
        return out;
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(GradientShap, gradientShapMethod)

} // namespace tokenlens::attr
