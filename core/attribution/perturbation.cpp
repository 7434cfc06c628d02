#include "attribution/perturbation.h"

#include <cmath>
#include <memory>
#include <set>

namespace tokenlens::attr {

// ------------------------------------------------------------------ Rng

double Rng::uniform() { return static_cast<double>(m_engine() >> 11) * 0x1.0p-53; }

double Rng::normal() {
    if (m_haveSpare) {
        m_haveSpare = false;
        return m_spare;
    }
    double u = 0;
    while (u <= 0) u = uniform();
    const double v = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u));
    m_spare = radius * std::sin(2 * M_PI * v);
    m_haveSpare = true;
    return radius * std::cos(2 * M_PI * v);
}

int64_t Rng::below(int64_t n) {
    if (n <= 1) return 0;
    // Rejection keeps every value equally likely.
    const uint64_t un = static_cast<uint64_t>(n);
    const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % un;
    uint64_t x = m_engine();
    while (x >= limit) x = m_engine();
    return static_cast<int64_t>(x % un);
}

std::vector<int64_t> Rng::permutation(int64_t n) {
    std::vector<int64_t> p(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
    for (int64_t i = n - 1; i > 0; --i) std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(below(i + 1))]);
    return p;
}

FeatureLayout layoutFor(int64_t n, int64_t t) {
    FeatureLayout l;
    l.width = std::max<int64_t>(n + t - 1, 0);
    for (int64_t j = 0; j < t; ++j) l.counts.push_back(n + j);
    return l;
}

namespace {

at::Tensor f64(at::IntArrayRef sizes) { return torch::zeros(sizes, torch::kFloat64); }

// Solves (A + ridge I) x = b for a symmetric positive semi-definite A; a
// zero ridge on a singular A gets a tiny one so that the solve never fails.
at::Tensor solveRidge(const at::Tensor& a, const at::Tensor& b, double ridge) {
    const int64_t m = a.size(0);
    const double scale = a.diagonal().abs().mean().item<double>();
    const double jitter = 1e-10 * (scale > 0 ? scale : 1.0);
    auto eye = torch::eye(m, torch::kFloat64);
    return at::linalg_solve(a + (ridge + jitter) * eye, b.unsqueeze(1)).squeeze(1);
}

double logBinomial(int64_t n, int64_t k) {
    if (k < 0 || k > n) return -INFINITY;
    return std::lgamma(static_cast<double>(n + 1)) - std::lgamma(static_cast<double>(k + 1)) -
           std::lgamma(static_cast<double>(n - k + 1));
}

} // namespace

// ------------------------------------------------------------------ LIME

int64_t limeRows(const LimeSettings& s) { return s.samples; }

Estimate limeEstimate(const FeatureLayout& layout, const LimeSettings& s, const MaskScorer& score) {
    Estimate e;
    const int64_t width = layout.width, t = layout.columns();
    e.values = f64({t, width});
    Rng rng(s.seed);
    auto masks = torch::zeros({s.samples, width}, torch::kBool);
    auto ma = masks.accessor<bool, 2>();
    for (int64_t r = 0; r < s.samples; ++r) {
        for (int64_t i = 0; i < width; ++i) ma[r][i] = rng.uniform() >= s.maskProbability;
    }
    at::Tensor scores;
    if (!score(masks, scores)) {
        e.cancelled = true;
        return e;
    }
    const auto z = masks.to(torch::kFloat64);
    for (int64_t j = 0; j < t; ++j) {
        const int64_t m = layout.counts[static_cast<size_t>(j)];
        auto zj = z.slice(1, 0, m);                                   // (S, m)
        auto d = 1.0 - zj.sum(1) / static_cast<double>(m);          // fraction of the column's tokens replaced
        auto w = torch::exp(-(d * d) / (s.kernelWidth * s.kernelWidth)); // (S)
        auto y = scores.select(1, j);
        const double sw = w.sum().item<double>();
        // Weighted ridge with an unpenalised intercept: centre on the weighted means.
        auto xbar = (w.unsqueeze(1) * zj).sum(0) / sw;
        auto ybar = (w * y).sum() / sw;
        auto xc = zj - xbar.unsqueeze(0);
        auto yc = y - ybar;
        auto a = xc.t().mm(w.unsqueeze(1) * xc);
        auto b = xc.t().mv(w * yc);
        e.values[j].slice(0, 0, m).copy_(solveRidge(a, b, s.alpha));
    }
    return e;
}

// ------------------------------------------------------------ KernelSHAP

int64_t kernelShapRows(const FeatureLayout& layout, const KernelShapSettings& s) {
    return 2 + (layout.width >= 2 ? s.samples : 0);
}

Estimate kernelShapEstimate(const FeatureLayout& layout, const KernelShapSettings& s, const MaskScorer& score) {
    Estimate e;
    const int64_t width = layout.width, t = layout.columns();
    e.values = f64({t, width});
    const int64_t samples = width >= 2 ? s.samples : 0;
    // Coalition sizes k of the whole width W drawn from the Shapley kernel's
    // size distribution P(k) ∝ (W-1) / (k (W-k)), members uniform given k.
    std::vector<double> sizeProb(static_cast<size_t>(std::max<int64_t>(width, 1)), 0.0);
    double total = 0;
    for (int64_t k = 1; k < width; ++k) total += sizeProb[static_cast<size_t>(k)] = 1.0 / (k * (width - k));
    for (auto& p : sizeProb) p /= total > 0 ? total : 1.0;
    Rng rng(s.seed);
    auto masks = torch::zeros({2 + samples, width}, torch::kBool);
    masks[0].fill_(true); // row 0: x, row 1: all baseline
    auto ma = masks.accessor<bool, 2>();
    std::vector<int64_t> pool(static_cast<size_t>(width));
    for (int64_t r = 0; r < samples; ++r) {
        double u = rng.uniform(), acc = 0;
        int64_t k = width - 1;
        for (int64_t c = 1; c < width; ++c) {
            acc += sizeProb[static_cast<size_t>(c)];
            if (u < acc) {
                k = c;
                break;
            }
        }
        for (int64_t i = 0; i < width; ++i) pool[static_cast<size_t>(i)] = i;
        for (int64_t c = 0; c < k; ++c) { // partial Fisher–Yates: k distinct positions
            std::swap(pool[static_cast<size_t>(c)], pool[static_cast<size_t>(c + rng.below(width - c))]);
            ma[2 + r][pool[static_cast<size_t>(c)]] = true;
        }
    }
    at::Tensor scores;
    if (!score(masks, scores)) {
        e.cancelled = true;
        return e;
    }
    const auto z = masks.to(torch::kFloat64);
    for (int64_t j = 0; j < t; ++j) {
        const int64_t m = layout.counts[static_cast<size_t>(j)];
        const double full = scores[0][j].item<double>(), empty = scores[1][j].item<double>();
        const double delta = full - empty;
        if (m == 1) {
            e.values[j][0] = delta;
            continue;
        }
        // Column j sees the prefix of m positions. Under the sampling above
        // its kept count k_j has probability q(k_j) = Σ_k P(k) C(m,k_j)
        // C(W-m,k-k_j) / C(W,k), each prefix coalition of that size equally
        // likely; weighting a sample by π(k_j) / (q(k_j) / C(m,k_j)), with the
        // Shapley kernel π(k) = (m-1) / (C(m,k) k (m-k)), makes the
        // regression the column's own KernelSHAP regression.
        std::vector<double> weightOf(static_cast<size_t>(m + 1), 0.0);
        for (int64_t kj = 1; kj < m; ++kj) {
            double q = 0;
            for (int64_t k = std::max<int64_t>(kj, 1); k < width; ++k) {
                const double lp = logBinomial(m, kj) + logBinomial(width - m, k - kj) - logBinomial(width, k);
                if (std::isfinite(lp)) q += sizeProb[static_cast<size_t>(k)] * std::exp(lp);
            }
            weightOf[static_cast<size_t>(kj)] = q > 0 ? (m - 1.0) / (kj * (m - kj) * q) : 0.0;
        }
        auto zj = z.slice(0, 2).slice(1, 0, m); // (S, m)
        auto counts = zj.sum(1).to(torch::kInt64);
        auto w = torch::zeros({samples}, torch::kFloat64);
        int64_t usable = 0;
        for (int64_t r = 0; r < samples; ++r) {
            const double wr = weightOf[static_cast<size_t>(counts[r].item<int64_t>())];
            w[r] = wr;
            usable += wr > 0;
        }
        if (usable > 0) w = w / (w.sum() / usable);
        // Efficiency as in the SHAP paper's implementation: φ_0 = f(baseline)
        // is fixed and the last feature is eliminated with Σφ = f(x) − f(baseline).
        auto last = zj.select(1, m - 1);
        auto x = zj.slice(1, 0, m - 1) - last.unsqueeze(1);
        auto y = scores.slice(0, 2).select(1, j) - empty - last * delta;
        auto a = x.t().mm(w.unsqueeze(1) * x);
        auto b = x.t().mv(w * y);
        auto phi = solveRidge(a, b, 0.0);
        e.values[j].slice(0, 0, m - 1).copy_(phi);
        e.values[j][m - 1] = delta - phi.sum().item<double>();
        if (usable < m - 1) {
            e.warnings.push_back("kernel_shap: output token " + std::to_string(j) + " has " + std::to_string(m) +
                                 " context tokens but only " + std::to_string(usable) +
                                 " informative samples: raise samples (now " + std::to_string(s.samples) + ")");
        }
    }
    if (e.warnings.size() > 3) {
        const auto more = e.warnings.size() - 3;
        e.warnings.resize(3);
        e.warnings.push_back("kernel_shap: " + std::to_string(more) + " more output tokens have too few samples");
    }
    return e;
}

// ------------------------------------------------------------- Shapley

namespace {

struct ShapleyPlan {
    int64_t exactTokens = 0; // m*: the exact part enumerates 2^m* masks over positions 0..m*-1
    bool sampled = false;    // some column has more features than exactMaxTokens
};

ShapleyPlan planFor(const FeatureLayout& layout, const ShapleySettings& s) {
    ShapleyPlan p;
    for (int64_t m : layout.counts) {
        if (m <= s.exactMaxTokens) p.exactTokens = std::max(p.exactTokens, m);
        else p.sampled = true;
    }
    return p;
}

} // namespace

int64_t shapleyRows(const FeatureLayout& layout, const ShapleySettings& s) {
    const auto p = planFor(layout, s);
    int64_t rows = p.exactTokens > 0 ? (int64_t{1} << p.exactTokens) : 0;
    if (p.sampled) rows += 2 + s.samples * std::max<int64_t>(layout.width - 1, 0);
    return rows;
}

Estimate shapleyEstimate(const FeatureLayout& layout, const ShapleySettings& s, const MaskScorer& score) {
    Estimate e;
    const int64_t width = layout.width, t = layout.columns();
    e.values = f64({t, width});
    const auto plan = planFor(layout, s);

    if (plan.exactTokens > 0) {
        // Row b keeps position i iff bit i of b is set. Column j (m <= m*)
        // reads v(S) from row S (S < 2^m): positions m.. do not reach it.
        const int64_t ms = plan.exactTokens, rows = int64_t{1} << ms;
        auto masks = torch::zeros({rows, width}, torch::kBool);
        auto ma = masks.accessor<bool, 2>();
        for (int64_t b = 0; b < rows; ++b) {
            for (int64_t i = 0; i < ms; ++i) ma[b][i] = (b >> i) & 1;
        }
        at::Tensor scores;
        if (!score(masks, scores)) {
            e.cancelled = true;
            return e;
        }
        auto sa = scores.accessor<double, 2>();
        for (int64_t j = 0; j < t; ++j) {
            const int64_t m = layout.counts[static_cast<size_t>(j)];
            if (m > s.exactMaxTokens) continue;
            // φ_i = Σ_{S ∌ i} |S|! (m-|S|-1)! / m! (v(S ∪ {i}) − v(S))
            std::vector<double> weight(static_cast<size_t>(m));
            for (int64_t k = 0; k < m; ++k) {
                weight[static_cast<size_t>(k)] = std::exp(std::lgamma(k + 1.0) + std::lgamma(static_cast<double>(m - k)) -
                                                          std::lgamma(m + 1.0));
            }
            for (int64_t i = 0; i < m; ++i) {
                double phi = 0;
                for (int64_t b = 0; b < (int64_t{1} << m); ++b) {
                    if ((b >> i) & 1) continue;
                    phi += weight[static_cast<size_t>(__builtin_popcountll(static_cast<unsigned long long>(b)))] *
                           (sa[b | (int64_t{1} << i)][j] - sa[b][j]);
                }
                e.values[j][i] = phi;
            }
        }
    }

    if (plan.sampled) {
        // Permutation sampling: add the tokens one by one in a random order,
        // from all-baseline to x; a token's value is the mean change it makes.
        // Each permutation's rows score every column; restricted to column
        // j's features the order is a uniformly random order of them, and the
        // changes add up to f_j(x) − f_j(baseline) (efficiency per permutation).
        Rng rng(s.seed);
        auto sums = f64({t, width});
        const int64_t inner = std::max<int64_t>(width - 1, 0);
        const int64_t perGroup = std::clamp<int64_t>(
            (int64_t{1} << 24) / std::max<int64_t>(1, inner * std::max(width, t)), 1, std::max<int64_t>(s.samples, 1));
        at::Tensor ends; // (2, t): all baseline, x
        for (int64_t p0 = 0; p0 < s.samples; p0 += perGroup) {
            const int64_t count = std::min(perGroup, s.samples - p0);
            const int64_t lead = p0 == 0 ? 2 : 0;
            auto masks = torch::zeros({lead + count * inner, width}, torch::kBool);
            auto ma = masks.accessor<bool, 2>();
            if (lead) masks[1].fill_(true);
            std::vector<std::vector<int64_t>> orders;
            for (int64_t q = 0; q < count; ++q) {
                orders.push_back(rng.permutation(width));
                std::vector<bool> kept(static_cast<size_t>(width), false);
                for (int64_t r = 0; r < inner; ++r) {
                    kept[static_cast<size_t>(orders.back()[static_cast<size_t>(r)])] = true;
                    for (int64_t i = 0; i < width; ++i) ma[lead + q * inner + r][i] = kept[static_cast<size_t>(i)];
                }
            }
            at::Tensor scores;
            if (!score(masks, scores)) {
                e.cancelled = true;
                return e;
            }
            if (lead) ends = scores.slice(0, 0, 2).clone();
            for (int64_t q = 0; q < count; ++q) {
                // Rows: baseline, the inner prefixes, x -> (W+1, t); changes (W, t).
                auto chain = torch::cat({ends[0].unsqueeze(0), scores.slice(0, lead + q * inner, lead + (q + 1) * inner),
                                         ends[1].unsqueeze(0)});
                auto changes = chain.slice(0, 1) - chain.slice(0, 0, width);
                sums.index_add_(1, torch::tensor(orders[static_cast<size_t>(q)], torch::kInt64), changes.t());
            }
        }
        for (int64_t j = 0; j < t; ++j) {
            const int64_t m = layout.counts[static_cast<size_t>(j)];
            if (m <= s.exactMaxTokens) continue;
            e.values[j].slice(0, 0, m).copy_(sums[j].slice(0, 0, m) / static_cast<double>(s.samples));
        }
    }
    return e;
}

// ------------------------------------------------------------- the model

MaskScorer modelScorer(const CausalLM& model, const Sequence& seq, const at::Tensor& baseline, TargetFn fn,
                       int64_t budget, double chunkSecs, Progress& progress, int64_t& forwardPasses) {
    auto sizer = std::make_shared<ChunkSizer>(chunkSecs, 1);
    return [&model, &seq, baseline, fn, budget, sizer, &progress, &forwardPasses](const at::Tensor& masks,
                                                                                 at::Tensor& scores) {
        torch::NoGradGuard noGrad;
        const int64_t width = seq.length() - 1, t = seq.t, total = masks.size(0);
        const auto dev = seq.embeds.device();
        const auto& cfg = model.config();
        scores = torch::zeros({total, t}, torch::kFloat64);
        const bool headRows = fn == TargetFn::Logit || fn == TargetFn::ContrastLogitDiff;
        const int64_t perRow = width * activationBytesPerToken(cfg, width) / 4 +
                               t * (headRows ? 2 * cfg.hiddenSize : cfg.vocabSize) * 8;
        const auto positions = torch::arange(seq.n - 1, seq.n - 1 + t, torch::kInt64).to(dev);
        const auto embeds = seq.embeds.slice(0, 0, width).unsqueeze(0);
        const auto base = baseline.slice(0, 0, width).unsqueeze(0);
        int64_t r0 = 0;
        while (r0 < total) {
            if (progress.cancelled()) return false;
            const int64_t left = total - r0;
            const int64_t rows = std::min(std::clamp<int64_t>(budget / std::max<int64_t>(perRow, 1), 1, left),
                                          sizer->next(left, minRowsFor(width)));
            sizer->start();
            auto keep = masks.slice(0, r0, r0 + rows).to(dev).unsqueeze(-1); // (rows, width, 1)
            auto inputs = torch::where(keep, embeds, base);                  // (rows, width, hidden)
            ForwardOptions fo;
            fo.computeLogits = false;
            auto h = model.forward(inputs, fo).finalHidden.index_select(1, positions); // (rows, t, hidden)
            auto f = targetValues(model, h.reshape({rows * t, -1}), seq.targets().repeat({rows}), fn,
                                  seq.contrasts.defined() ? seq.contrasts.repeat({rows}) : at::Tensor())
                         .view({rows, t});
            scores.slice(0, r0, r0 + rows).copy_(f.to(torch::kCPU, torch::kFloat64));
            ++forwardPasses;
            progress.add(rows * width);
            sizer->finish(rows);
            r0 += rows;
        }
        return true;
    };
}

std::vector<OptionSpec> perturbationOptions() {
    auto o = targetFnOptions();
    o.push_back(baselineOption());
    for (const auto& spec : targetOptions()) {
        if (spec.name == "memory_budget_mb" || spec.name == "chunk_seconds") o.push_back(spec);
    }
    o.push_back({"seed", "int", 0, 0, 9007199254740992.0, {},
                 "seed of the random samples (the same seed gives the same result); a job-level seed also seeds "
                 "generation"});
    return o;
}

Result<MethodOutput> runPerturbation(const AttributionInput& input, const nlohmann::json& r, const RunControl& control,
                                     int64_t totalWork,
                                     const std::function<Estimate(const FeatureLayout&, const MaskScorer&)>& estimate) {
    auto made = makeTargetSequence(input, r);
    if (!made) return made.error();
    const Sequence& seq = *made;
    if (seq.n < 1 || seq.t < 1) {
        return makeError(ErrorCode::InvalidArgument, "the prompt and the output need at least one token each");
    }
    auto baseline = baselineEmbeds(input, seq, r);
    if (!baseline) return baseline.error();
    Progress progress(control, totalWork);
    MethodOutput out;
    out.targetFn = r["target_fn"];
    torch::NoGradGuard noGrad;
    auto scorer = modelScorer(*input.model, seq, *baseline, targetFnFrom(r), memoryBudgetBytes(r), chunkSeconds(r),
                              progress, out.forwardPasses);
    Estimate e = estimate(layoutFor(seq.n, seq.t), scorer);
    if (e.cancelled) {
        out.cancelled = true;
        return out;
    }
    out.matrix = matrixFromColumns(seq, e.values.to(torch::kFloat32));
    out.warnings = std::move(e.warnings);
    return out;
}

} // namespace tokenlens::attr
