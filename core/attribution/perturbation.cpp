#include "attribution/perturbation.h"

#include <algorithm>
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

// ------------------------------------------------------------ MaskScorer

bool MaskScorer::operator()(const at::Tensor& masks, at::Tensor& scores) const {
    if (m_whole) return m_whole(masks, scores);
    ScoreRequest r;
    r.masks = masks;
    r.firstColumn = 0;
    r.lastColumn = -1; // all: resolved by the request function from its sequence
    return m_requests(r, scores);
}

bool MaskScorer::operator()(const FeatureLayout& layout, const ScoreRequest& r, at::Tensor& scores) const {
    if (m_requests) return m_requests(r, scores);
    // Expand to whole rows: prefix g, then suffix k, then `false` up to the width.
    const int64_t d = r.prefixLength(), g = r.groups(), k = r.masks.size(0), len = r.length();
    auto whole = torch::zeros({g * k, layout.width}, torch::kBool);
    if (d > 0) whole.slice(1, 0, d).copy_(r.prefixes.repeat_interleave(k, 0));
    whole.slice(1, d, len).copy_(r.masks.repeat({g, 1}));
    at::Tensor all;
    if (!m_whole(whole, all)) return false;
    scores = all.slice(1, r.firstColumn, r.lastColumn).contiguous();
    return true;
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

// Scores every mask row; false when cancelled (e.cancelled is set).
bool scoreMasks(const MaskScorer& score, const at::Tensor& masks, at::Tensor& scores, Estimate& e) {
    if (score(masks, scores)) return true;
    e.cancelled = true;
    return false;
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
    if (!scoreMasks(score, masks, scores, e)) return e;
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
    if (!scoreMasks(score, masks, scores, e)) return e;
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
    int64_t exactColumns = 0; // columns 0..exactColumns-1 are enumerated (their counts are <= exactMaxTokens)
    int64_t exactTokens = 0;  // m*: those columns' largest count; 2^m* coalitions of positions 0..m*-1
    int64_t split = 0;        // d: the coalitions are prefixes (2^d, positions 0..d-1) x suffixes (2^(m*-d))
    bool sampled = false;     // some column has more features than exactMaxTokens
};

ShapleyPlan planFor(const FeatureLayout& layout, const ShapleySettings& s) {
    ShapleyPlan p;
    for (int64_t m : layout.counts) {
        if (m <= s.exactMaxTokens) {
            p.exactTokens = std::max(p.exactTokens, m);
            ++p.exactColumns;
        } else {
            p.sampled = true;
        }
    }
    // The split with the fewest positions through the model: 2^d prefixes of
    // d positions, then 2^m* rows of the m* - d positions after them (d = 0:
    // 2^m* rows of m* positions). For m* = 10: d = 7, 3968 positions instead
    // of 10240.
    const int64_t ms = p.exactTokens;
    int64_t best = ms << ms;
    for (int64_t d = 1; d < ms; ++d) {
        const int64_t cost = (d << d) + ((ms - d) << ms);
        if (cost < best) {
            best = cost;
            p.split = d;
        }
    }
    return p;
}

} // namespace

int64_t shapleyWork(const FeatureLayout& layout, const ShapleySettings& s) {
    const auto p = planFor(layout, s);
    int64_t work = 0;
    if (p.exactTokens > 0) {
        work += p.split > 0 ? (p.split << p.split) + ((p.exactTokens - p.split) << p.exactTokens)
                            : p.exactTokens << p.exactTokens;
    }
    if (p.sampled) work += (2 + s.samples * std::max<int64_t>(layout.width - 1, 0)) * layout.width;
    return work;
}

Estimate shapleyEstimate(const FeatureLayout& layout, const ShapleySettings& s, const MaskScorer& score) {
    Estimate e;
    const int64_t width = layout.width, t = layout.columns();
    e.values = f64({t, width});
    const auto plan = planFor(layout, s);

    if (plan.exactTokens > 0) {
        // Coalition b keeps position i iff bit i of b is set. Column j (m <=
        // m*) reads v(S) from coalition S (S < 2^m): positions m.. do not
        // reach it. Only the exact columns are scored, over positions
        // 0..m*-1; prefix g = b's low d bits, suffix k = its high bits.
        const int64_t ms = plan.exactTokens, d = plan.split;
        const int64_t groups = int64_t{1} << d, suffixes = int64_t{1} << (ms - d);
        ScoreRequest req;
        if (d > 0) {
            req.prefixes = torch::zeros({groups, d}, torch::kBool);
            auto pa = req.prefixes.accessor<bool, 2>();
            for (int64_t g = 0; g < groups; ++g) {
                for (int64_t i = 0; i < d; ++i) pa[g][i] = (g >> i) & 1;
            }
        }
        req.masks = torch::zeros({suffixes, ms - d}, torch::kBool);
        auto ma = req.masks.accessor<bool, 2>();
        for (int64_t k = 0; k < suffixes; ++k) {
            for (int64_t i = 0; i < ms - d; ++i) ma[k][i] = (k >> i) & 1;
        }
        req.firstColumn = 0;
        req.lastColumn = plan.exactColumns;
        at::Tensor scores;
        if (!score(layout, req, scores)) {
            e.cancelled = true;
            return e;
        }
        auto sa = scores.accessor<double, 2>();
        // v(b) of column j: request row (b mod 2^d) * 2^(m*-d) + (b >> d).
        auto v = [&](int64_t b, int64_t j) { return sa[(b & (groups - 1)) * suffixes + (b >> d)][j]; };
        for (int64_t j = 0; j < plan.exactColumns; ++j) {
            const int64_t m = layout.counts[static_cast<size_t>(j)];
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
                           (v(b | (int64_t{1} << i), j) - v(b, j));
                }
                e.values[j][i] = phi;
            }
        }
    }

    if (plan.sampled) {
        // Permutation sampling: add the tokens one by one in a random order,
        // from all-baseline to x; a token's value is the mean change it makes.
        // Each permutation's rows score every sampled column (the exact ones
        // are not scored again); restricted to column j's features the order
        // is a uniformly random order of them, and the changes add up to
        // f_j(x) − f_j(baseline) (efficiency per permutation). All
        // permutations' rows go to the scorer together (it batches them).
        Rng rng(s.seed);
        const int64_t c0 = plan.exactColumns, tc = t - c0;
        auto sums = f64({tc, width});
        const int64_t inner = std::max<int64_t>(width - 1, 0);
        const int64_t perGroup = std::clamp<int64_t>(
            (int64_t{1} << 24) / std::max<int64_t>(1, inner * std::max(width, t)), 1, std::max<int64_t>(s.samples, 1));
        at::Tensor ends; // (2, tc): all baseline, x
        for (int64_t p0 = 0; p0 < s.samples; p0 += perGroup) {
            const int64_t count = std::min(perGroup, s.samples - p0);
            const int64_t lead = p0 == 0 ? 2 : 0;
            ScoreRequest req;
            req.masks = torch::zeros({lead + count * inner, width}, torch::kBool);
            req.firstColumn = c0;
            req.lastColumn = t;
            auto ma = req.masks.accessor<bool, 2>();
            if (lead) req.masks[1].fill_(true);
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
            if (!score(layout, req, scores)) {
                e.cancelled = true;
                return e;
            }
            if (lead) ends = scores.slice(0, 0, 2).clone();
            for (int64_t q = 0; q < count; ++q) {
                // Rows: baseline, the inner prefixes, x -> (W+1, tc); changes (W, tc).
                auto chain = torch::cat({ends[0].unsqueeze(0), scores.slice(0, lead + q * inner, lead + (q + 1) * inner),
                                         ends[1].unsqueeze(0)});
                auto changes = chain.slice(0, 1) - chain.slice(0, 0, width);
                sums.index_add_(1, torch::tensor(orders[static_cast<size_t>(q)], torch::kInt64), changes.t());
            }
        }
        for (int64_t j = c0; j < t; ++j) {
            const int64_t m = layout.counts[static_cast<size_t>(j)];
            e.values[j].slice(0, 0, m).copy_(sums[j - c0].slice(0, 0, m) / static_cast<double>(s.samples));
        }
    }
    return e;
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
    std::optional<SerialScope> serial;
    serialForFloat32(serial, *input.model);
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
    Estimate e;
    if (input.promptGroups.empty()) {
        e = estimate(layoutFor(seq.n, seq.t), scorer);
    } else {
        // Whole segments are the features; the estimators see them as a shorter sequence.
        if (auto st = checkPromptGroups(input.promptGroups, seq.n); !st) return st.error();
        auto groups = featureGroupsFor(input.promptGroups, seq.n, seq.t);
        const int64_t promptFeatures = groups.promptFeatures;
        auto grouped = groupedScorer(scorer, layoutFor(seq.n, seq.t), groups);
        e = estimate(layoutFor(promptFeatures, seq.t), grouped);
        if (!e.cancelled) e.values = spreadOverPositions(e.values, groups);
    }
    if (e.cancelled) {
        out.cancelled = true;
        return out;
    }
    out.matrix = matrixFromColumns(seq, e.values.to(torch::kFloat32));
    out.warnings = std::move(e.warnings);
    return out;
}

} // namespace tokenlens::attr
