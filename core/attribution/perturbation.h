#pragma once
// Shared machinery of the sampling perturbation methods (lime, kernel_shap,
// shapley_sampling; internal). A perturbation is a mask z over the L-1 input
// positions of X ⊕ Y (true = the token's embedding is kept, false = replaced
// by the baseline). One teacher-forced forward pass of the masked sequence
// scores every column at once: column j's score depends only on z[0..p_j]
// (causality), so column j's features are the positions 0..p_j and the
// prefix of a mask is column j's perturbation.
//
// The estimators (sampling and fitting) only see a MaskScorer, so the tests
// drive them with a plain scoring function instead of a model.

#include "attribution/common.h"

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace tokenlens::attr {

// Deterministic random numbers from a seed (std::mt19937_64, whose output the
// C++ standard fixes; the conversions below are our own, so a seed gives the
// same numbers with every standard library).
class Rng {
public:
    explicit Rng(uint64_t seed) : m_engine(seed) {}
    double uniform();               // [0, 1)
    double normal();                // N(0, 1), Box–Muller
    int64_t below(int64_t n);       // 0..n-1
    std::vector<int64_t> permutation(int64_t n);

private:
    std::mt19937_64 m_engine;
    bool m_haveSpare = false;
    double m_spare = 0;
};

// Scores masks (R, width) bool on the CPU into scores (R, t) float64 on the
// CPU; returns false when cancelled.
using MaskScorer = std::function<bool(const at::Tensor& masks, at::Tensor& scores)>;

// Column j's features are positions 0..counts[j]-1 (counts[j] = p_j + 1 <= width).
struct FeatureLayout {
    int64_t width = 0;
    std::vector<int64_t> counts;
    int64_t columns() const { return static_cast<int64_t>(counts.size()); }
};
FeatureLayout layoutFor(int64_t n, int64_t t);

struct Estimate {
    at::Tensor values; // (t, width) float64; row j holds column j's values in [0, counts[j]), 0 after
    bool cancelled = false;
    std::vector<std::string> warnings;
};

struct LimeSettings {
    int64_t samples = 200;
    double maskProbability = 0.3; // probability that a token is replaced
    double kernelWidth = 0.25;
    double alpha = 1.0;           // ridge penalty (the intercept is not penalised)
    uint64_t seed = 0;
};
int64_t limeRows(const LimeSettings& s);
Estimate limeEstimate(const FeatureLayout& layout, const LimeSettings& s, const MaskScorer& score);

struct KernelShapSettings {
    int64_t samples = 200;
    uint64_t seed = 0;
};
int64_t kernelShapRows(const FeatureLayout& layout, const KernelShapSettings& s);
Estimate kernelShapEstimate(const FeatureLayout& layout, const KernelShapSettings& s, const MaskScorer& score);

struct ShapleySettings {
    int64_t samples = 25;      // permutations
    int64_t exactMaxTokens = 10; // columns with at most this many features are enumerated exactly
    uint64_t seed = 0;
};
int64_t shapleyRows(const FeatureLayout& layout, const ShapleySettings& s);
Estimate shapleyEstimate(const FeatureLayout& layout, const ShapleySettings& s, const MaskScorer& score);

// Scores masks with the model: each mask becomes one batch row (kept
// positions from the sequence, the others from the baseline), every column's
// target read from that row's one teacher-forced pass. Rows are chunked to
// the memory budget and to chunkSecs per pass; cancellation is checked
// between passes; progress advances by rows x width per pass.
MaskScorer modelScorer(const CausalLM& model, const Sequence& seq, const at::Tensor& baseline, TargetFn fn,
                       int64_t budgetBytes, double chunkSecs, Progress& progress, int64_t& forwardPasses);

// The options shared by the perturbation methods: target_fn, the contrast
// options, baseline, memory_budget_mb, chunk_seconds, seed.
std::vector<OptionSpec> perturbationOptions();

// run() of a perturbation method: the sequence, the baseline, the scorer and
// the matrix around `estimate`.
Result<MethodOutput> runPerturbation(const AttributionInput& input, const nlohmann::json& resolved,
                                     const RunControl& control, int64_t totalWork,
                                     const std::function<Estimate(const FeatureLayout&, const MaskScorer&)>& estimate);

} // namespace tokenlens::attr
