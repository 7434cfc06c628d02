#pragma once
// Shared by the context-mixing methods (attention_rollout, value_zeroing,
// alti): each produces, per layer l, a row-stochastic token-to-token matrix
// C_l (width x width, width = n + t - 1 positions; row p is how position p's
// output of the layer mixes the layer's input positions) and combines the
// layers by rollout, C_last · … · C_first. Column j of the attribution
// matrix is row p_j of that product.

#include "attribution/common.h"

namespace tokenlens::attr {

// The (n x 0) result of a run without output tokens.
MethodOutput emptyOutput(const AttributionInput& input);

// first_layer (index) and last_layer (index or all).
std::vector<OptionSpec> layerRangeOptions();
// combine: rollout | last_layer.
OptionSpec combineOption();
// memory_budget_mb and chunk_seconds, as the target-function methods spell them.
std::vector<OptionSpec> chunkOptions();

struct LayerSpan {
    int64_t first = 0;
    int64_t last = 0; // inclusive
};
// Fails with a message naming the method and the option when the range does
// not fit a model of `numLayers` layers (numLayers < 0: unknown, only the
// order is checked).
Result<LayerSpan> layerSpan(const std::string& method, const nlohmann::json& resolved, int64_t numLayers);
// The layers a method computes: first..last for rollout, last alone for last_layer.
bool combineIsRollout(const nlohmann::json& resolved);

// A run of a context-mixing method past the common checks.
struct MixingRun {
    const AttributionInput& input;
    const nlohmann::json& resolved;
    const Sequence& seq;
    LayerSpan span;
    int64_t width; // n + t − 1 positions
    int64_t total; // work units of the run
    Progress& progress;
};

// A context-mixing method: its layer range is checked against the model, and
// run() does what every such method does first (a prompt, output tokens, a
// layer range that fits, the sequence, progress, no gradients) before mix().
class ContextMixingMethod : public NamedMethod {
public:
    using NamedMethod::NamedMethod;

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& resolved,
                             const RunControl& control) const final;

protected:
    // Fills out.matrix (and its pass count), or sets out.cancelled.
    virtual Status mix(const MixingRun& run, MethodOutput& out) const = 0;
    // The work units of a run on a model of `numLayers` layers (< 0: the
    // depth is unknown, an upper bound), which is what estimateWork() gives.
    virtual int64_t runWork(int64_t n, int64_t t, const nlohmann::json& resolved, int64_t numLayers) const = 0;
    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& resolved) const override {
        return runWork(n, t, resolved, -1);
    }
    // The passes a run reports from its start, even when cancelled before
    // the first (attention_rollout: its one pass).
    virtual int64_t passesFromStart() const { return 0; }
    // How many layers a run on `numLayers` layers computes; nullopt when
    // the layer range does not fit.
    std::optional<int64_t> computedLayers(const nlohmann::json& resolved, int64_t numLayers) const {
        auto span = layerSpan(id(), resolved, numLayers);
        if (!span) return std::nullopt;
        return combineIsRollout(resolved) ? span->last - span->first + 1 : 1;
    }
    Status checkResolved(const nlohmann::json& r, const ModelConfig* config) const override {
        auto span = layerSpan(id(), r, config ? config->numLayers : -1);
        if (!span) return span.error();
        return {};
    }
    // The options of the methods that decompose layers (alti, value_zeroing):
    // the layer range, combine, memory_budget_mb and chunk_seconds.
    static std::vector<OptionSpec> decompositionOptions() {
        auto o = layerRangeOptions();
        o.push_back(combineOption());
        for (auto& c : chunkOptions()) o.push_back(c);
        return o;
    }
};

// Rows [rowBegin, width) of C_last · … · C_first, for matrices added in layer
// order. Keeps the matrices while they fit `budgetBytes` (then the result
// costs rows · width² per layer); beyond it, multiplies them out as they
// come (width³ per layer) so memory stays at two matrices.
class Rollout {
public:
    explicit Rollout(int64_t budgetBytes) : m_budget(budgetBytes) {}
    void add(const at::Tensor& c); // (width, width), a layer below the last
    // A layer's matrix: add(c) below the last layer; for the last, `c` is
    // (k, width), the rows of its matrix the result needs.
    void addLayer(const at::Tensor& c, bool last) {
        if (last) {
            m_lastRows = c;
        } else {
            add(c);
        }
    }
    bool hasLastLayer() const { return m_lastRows.defined(); }
    // The (k, width) rows of the product, from the last layer's rows.
    at::Tensor finish() const;

private:
    int64_t m_budget;
    at::Tensor m_lastRows;
    std::vector<at::Tensor> m_stored; // in layer order; a collapsed product counts as one
};

// Rows of `scores` (rows, cols) made to sum to 1; a row that sums to zero (or
// less) becomes one-hot at column `diagonalOffset + row` (the position keeps
// only itself).
at::Tensor normalizeRows(const at::Tensor& scores, int64_t diagonalOffset);

// Progress in fractional units (a position through one of L blocks is 1/L
// of a position through the model); finish() tops up to the total so the
// report ends at 100% when the estimate was an upper bound.
class FractionalProgress {
public:
    explicit FractionalProgress(Progress& p) : m_progress(p) {}
    void add(double units);
    void finish(int64_t total) { m_progress.add(total); }
    bool cancelled() const { return m_progress.cancelled(); }

private:
    Progress& m_progress;
    double m_pending = 0;
};

// Work units of the layers a method computes, as a fraction of the model's
// depth: exact when every layer is computed, else an upper bound (the
// estimate does not know the depth; a numeric last_layer bounds it below).
double layerFraction(const nlohmann::json& resolved);

} // namespace tokenlens::attr
