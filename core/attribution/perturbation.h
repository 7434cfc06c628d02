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
#include <type_traits>
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

// Column j's features are positions 0..counts[j]-1 (counts[j] = p_j + 1 <= width).
struct FeatureLayout {
    int64_t width = 0;
    std::vector<int64_t> counts;
    int64_t columns() const { return static_cast<int64_t>(counts.size()); }
};
FeatureLayout layoutFor(int64_t n, int64_t t);

// Masks to score for the columns [firstColumn, lastColumn) only, over the
// positions 0..len-1 those columns see (len >= counts[lastColumn-1]). Without
// prefixes the rows are `masks` (R, len). With prefixes (G, d) the rows are
// every combination: row g*K + k is prefix g on positions 0..d-1 followed by
// masks[k] (K, len-d) on positions d..len-1; a model computes each prefix's
// states once and reuses them (its KV cache) for the K rows that share it.
struct ScoreRequest {
    at::Tensor prefixes; // (G, d) bool, or undefined
    at::Tensor masks;    // (K, len - d) bool
    int64_t firstColumn = 0;
    int64_t lastColumn = 0;
    int64_t prefixLength() const { return prefixes.defined() ? prefixes.size(1) : 0; }
    int64_t groups() const { return prefixes.defined() ? prefixes.size(0) : 1; }
    int64_t length() const { return prefixLength() + masks.size(1); }
    int64_t rows() const { return groups() * masks.size(0); }
};

// Scores masks on the CPU into scores float64 on the CPU (one row per mask,
// one column per requested column); false when cancelled. Made either from a
// function of whole masks (R, width) -> (R, t), which then sees a request
// expanded to whole rows (positions the request leaves out are `false`; the
// requested columns cannot see them), or from a function of requests.
class MaskScorer {
public:
    using Whole = std::function<bool(const at::Tensor& masks, at::Tensor& scores)>;
    using Requests = std::function<bool(const ScoreRequest& request, at::Tensor& scores)>;

    MaskScorer() = default;
    template <class F>
        requires std::is_invocable_r_v<bool, F, const at::Tensor&, at::Tensor&>
    MaskScorer(F f) : m_whole(std::move(f)) {} // NOLINT: implicit, as the plain function it wraps
    static MaskScorer fromRequests(Requests f) {
        MaskScorer s;
        s.m_requests = std::move(f);
        return s;
    }

    // Whole masks (R, width): every column of the layout, (R, t).
    bool operator()(const at::Tensor& masks, at::Tensor& scores) const;
    // A request: (rows, lastColumn - firstColumn).
    bool operator()(const FeatureLayout& layout, const ScoreRequest& request, at::Tensor& scores) const;

private:
    Whole m_whole;
    Requests m_requests;
};

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
// Token positions the estimate pushes through the scorer (the work units of
// modelScorer's progress): the exact part's prefix and suffix passes, and
// width per sampled row.
int64_t shapleyWork(const FeatureLayout& layout, const ShapleySettings& s);
Estimate shapleyEstimate(const FeatureLayout& layout, const ShapleySettings& s, const MaskScorer& score);

// context_cite: features are segments [start, end) of the prompt positions
// (the output positions are always kept). `ablations` random keep-masks
// over the segments (each kept with probability 1/2), the response the
// scorer's log-probability turned into the log-odds log(p/(1−p)), per
// column a LASSO (λ = lambdaRatio · λ_max) whose weights are the segment
// scores; leaveOneOut: the exact drop of the log-odds when one segment is
// removed (segments + 1 rows). values spreads a segment's score evenly over
// its tokens; segmentScores (t, segments) holds the scores themselves.
using Segments = std::vector<std::pair<int64_t, int64_t>>;
struct ContextCiteSettings {
    int64_t ablations = 64;
    double lambdaRatio = 0.01;
    bool leaveOneOut = false;
    uint64_t seed = 0;
};
int64_t contextCiteRows(const Segments& segments, const ContextCiteSettings& s);
Estimate contextCiteEstimate(const FeatureLayout& layout, const Segments& segments, const ContextCiteSettings& s,
                             const MaskScorer& score, at::Tensor* segmentScores = nullptr);
// Sentences of the prompt from its tokens' display texts joined, by the rule
// of granularity "sentence" (analysis/segments.h): a sentence ends after '.',
// '!' or '?' (and closing quotes) followed by a space, or at a line break.
Segments sentenceSegments(const std::vector<std::string>& tokens);

// Features made of whole runs of positions (AttributionInput::promptGroups):
// feature f covers positions [start[f], end[f]); the prompt's groups come
// first, then each output position but the last on its own. Without groups
// every position is a feature.
struct FeatureGroups {
    std::vector<int64_t> start, end;
    std::vector<int64_t> featureOf; // per position 0..width-1
    int64_t features() const { return static_cast<int64_t>(start.size()); }
    int64_t promptFeatures = 0;     // the groups of the prompt (n without groups)
};
// The groups cover positions 0..n-1 in order, without gaps or empty groups.
Status checkPromptGroups(const std::vector<std::pair<int64_t, int64_t>>& groups, int64_t n);
FeatureGroups featureGroupsFor(const std::vector<std::pair<int64_t, int64_t>>& promptGroups, int64_t n, int64_t t);
// A scorer of feature masks over a scorer of position masks: a request over
// features (prefixes and masks) becomes the request over their positions.
MaskScorer groupedScorer(MaskScorer positions, const FeatureLayout& positionLayout, FeatureGroups groups);
// Feature values (t, features) spread evenly over each feature's positions: (t, width).
at::Tensor spreadOverPositions(const at::Tensor& values, const FeatureGroups& groups);

// Scores masks with the model: each mask becomes one batch row (kept
// positions from the sequence, the others from the baseline), every requested
// column's target read from that row's one teacher-forced pass over the
// request's positions. A request without prefixes goes through
// scoreSharingCleanPrefix (rows start at their first replaced position, on
// the unperturbed sequence's cache, computed once per scorer). A request
// with prefixes runs the prefixes first (keeping their KV cache) and then
// the suffix rows on top of it. Rows are
// chunked to the memory budget and to chunkSecs per pass; cancellation is
// checked between passes; progress advances by the token positions each pass
// computes (rows x positions).
MaskScorer modelScorer(const CausalLM& model, const Sequence& seq, const at::Tensor& baseline, TargetFn fn,
                       int64_t budgetBytes, double chunkSecs, Progress& progress, int64_t& forwardPasses);

// The unperturbed sequence's one pass, shared by the perturbed rows: its
// keys and values at every position (the past of any row up to its first
// replaced position) and the target of every column. Filled on first use.
struct CleanPrefix {
    KvCache cache;
    at::Tensor scores; // (1, t) float64 on the CPU: f_j of the unperturbed sequence
    bool computed() const { return scores.defined(); }
};

// Scores keep-masks (R, len) over positions 0..len-1 for columns [c0, c1)
// into scores (R, c1 - c0) float64 on the CPU, like modelScorer's whole
// rows, but each row runs only from its first replaced position f_r: up to
// there it is the unperturbed sequence, whose keys and values `clean` holds
// (a row's columns before f_r are the unperturbed scores). Rows are
// ordered by f_r and a chunk of them runs from its smallest one on top of
// the cached past; a chunk holds only rows whose own span len - f_r is more
// than half of its first row's, so no row computes more than twice what it
// needs. When the unperturbed cache of `width` positions would
// take more than a quarter of the budget, every row runs whole. Progress
// advances by len per row (reused positions count as done); false when
// cancelled. The forward/batching layer of the perturbation methods:
// whatever their features (tokens, segments), they come down to keep-masks.
bool scoreSharingCleanPrefix(const CausalLM& model, const Sequence& seq, const at::Tensor& baseline, TargetFn fn,
                             const at::Tensor& masks, int64_t c0, int64_t c1, int64_t budgetBytes, ChunkSizer& sizer,
                             Progress& progress, int64_t& forwardPasses, CleanPrefix& clean, at::Tensor& scores);

// The options shared by the perturbation methods: target_fn, the contrast
// options, baseline, memory_budget_mb, chunk_seconds, seed.
std::vector<OptionSpec> perturbationOptions();

// run() of a perturbation method: the sequence, the baseline, the scorer and
// the matrix around `estimate`.
Result<MethodOutput> runPerturbation(const AttributionInput& input, const nlohmann::json& resolved,
                                     const RunControl& control, int64_t totalWork,
                                     const std::function<Estimate(const FeatureLayout&, const MaskScorer&)>& estimate);

// A sampling perturbation method (LIME, KernelSHAP, Shapley sampling): its
// settings read from the resolved options, and its estimator; run() is the
// shared runPerturbation around them.
template <class Settings>
class SampledPerturbationMethod : public NamedMethod {
public:
    using NamedMethod::NamedMethod;

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        const Settings s = settings(r);
        const auto n = static_cast<int64_t>(input.promptIds.size()), t = static_cast<int64_t>(input.outputIds.size());
        const int64_t work = input.promptGroups.empty()
                                 ? estimateWork(n, t, r)
                                 : groupedWork(*this, n, static_cast<int64_t>(input.promptGroups.size()), t, r);
        return runPerturbation(input, r, control, work, [&](const FeatureLayout& layout, const MaskScorer& score) {
            return estimate(layout, s, score);
        });
    }

protected:
    virtual Settings settings(const nlohmann::json& r) const = 0;
    virtual Estimate estimate(const FeatureLayout& layout, const Settings& s, const MaskScorer& score) const = 0;
};

} // namespace tokenlens::attr
