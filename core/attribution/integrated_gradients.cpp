// Integrated gradients: (e_i − e'_i) ⊙ ∫₀¹ ∂f_j/∂e_i(e' + α(e − e')) dα,
// by Captum's quadratures, with the per-column convergence delta
// Σ_i Σ_d A_sum[i, j] − (f_j(e) − f_j(e')).

#include "attribution/common.h"
#include "attribution/quadrature.h"

#include <cmath>
#include <sstream>

namespace tokenlens::attr {
namespace {

class IntegratedGradients final : public NamedMethod {
public:
    IntegratedGradients()
        : NamedMethod(
              "integrated_gradients",
              "Gradients averaged along a straight path from a baseline to the real input, times the input "
              "difference; the scores add up to the change in the output score.") {}

    std::vector<OptionSpec> options() const override {
        auto o = gradientOptions();
        o.push_back({"steps", "int", 50, 1, 100000, {}, "integration steps (more steps: smaller convergence delta)"});
        o.push_back({"quadrature", "choice", "gausslegendre", {}, {},
                     {"gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle"},
                     "integration rule, as in Captum"});
        o.push_back(baselineOption());
        return o;
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& r) const override {
        const int64_t steps = r.value("steps", 50);
        return steps * 2 * (t * n + t * (t - 1) / 2) + 2 * (n + t);
    }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        auto made = targetSequenceWithBaseline(input, r);
        if (!made) return made.error();
        const auto& [seq, baseline] = *made;
        const int64_t steps = r["steps"];
        const auto q = quadrature(r["quadrature"], steps);
        Progress progress(control, estimateWork(seq.n, seq.t, r));
        std::vector<GradientItem> items;
        for (int64_t j = 0; j < seq.t; ++j) {
            for (size_t k = 0; k < q.alphas.size(); ++k) items.push_back({j, q.alphas[k], q.weights[k]});
        }
        const auto fn = targetFnFrom(r);
        MethodOutput out;
        auto sums = gradientPasses(input, seq, baseline, items, r, progress, out);
        if (!sums) return sums.error();
        if (out.cancelled) return out;
        out.forwardPasses += 2;
        torch::NoGradGuard noGrad;
        const int64_t width = seq.length() - 1;
        auto diff = (seq.embeds - baseline).slice(0, 0, width);   // (L-1, hidden)
        auto vectors = sums->grads * diff.unsqueeze(0);             // (t, L-1, hidden)
        out.matrix = matrixFromColumns(seq, reduceHidden(vectors, reductionFrom(r)));

        auto fInput = targetsAllColumns(*input.model, seq, seq.embeds, fn).to(torch::kCPU, torch::kFloat64);
        auto fBase = targetsAllColumns(*input.model, seq, baseline, fn).to(torch::kCPU, torch::kFloat64);
        progress.add(2 * (seq.n + seq.t));
        // Summed in float64: the delta is a small difference of large sums, and a float32
        // sum's rounding (which follows how the passes were chunked) would weigh in it.
        auto total = vectors.sum({1, 2}, /*keepdim=*/false, torch::kFloat64).to(torch::kCPU); // (t)
        auto delta = total - (fInput - fBase);
        std::vector<int64_t> bad;
        double worst = 0;
        for (int64_t j = 0; j < seq.t; ++j) {
            const double d = delta[j].item<double>();
            const double change = std::abs(fInput[j].item<double>() - fBase[j].item<double>());
            out.convergenceDelta.push_back(d);
            out.fInput.push_back(fInput[j].item<double>());
            out.fBaseline.push_back(fBase[j].item<double>());
            const double rel = change > 0 ? std::abs(d) / change : (std::abs(d) > 0 ? INFINITY : 0.0);
            if (rel > 0.05) {
                bad.push_back(j);
                worst = std::max(worst, rel);
            }
        }
        if (!bad.empty()) {
            std::ostringstream os;
            os << "integrated gradients has not converged in " << bad.size() << " of " << seq.t
               << " output tokens (convergence delta up to ";
            if (std::isfinite(worst)) os << static_cast<int64_t>(std::round(worst * 100)) << "%";
            else os << "more than 100%";
            os << " of f(x) - f(baseline), columns";
            for (size_t k = 0; k < bad.size() && k < 10; ++k) os << " " << bad[k];
            if (bad.size() > 10) os << " ...";
            os << "): raise steps (now " << steps << ")";
            if (r["baseline"] == "zero") os << " or use the unk baseline";
            out.warnings.push_back(os.str());
        }
        return out;
    }

protected:
    Status checkResolved(const nlohmann::json& r, const ModelConfig*) const override {
        if (r["quadrature"] == "riemann_trapezoid" && r["steps"].get<int64_t>() < 2) {
            return makeError(ErrorCode::InvalidArgument,
                             "integrated_gradients: the riemann_trapezoid rule needs steps >= 2");
        }
        return {};
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(IntegratedGradients, integratedGradientsMethod)

} // namespace tokenlens::attr
