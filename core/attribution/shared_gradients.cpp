// The shared-forward path of the gradient passes (common.h,
// sharedForwardGradients): items with the same input share one forward, and
// their input gradients come from batched backward passes over its graph.
//
// Per row, column j pays a forward and a backward over its own prefix; here
// the forward is paid once per input, and a backward with B cotangents runs
// B vector–Jacobian products through one graph as one batch (matrix products
// of B × positions rows). The batch is LibTorch's legacy vmap: each
// cotangent is a BatchedTensor level, so that the autograd engine, which
// checks gradient shapes against the graph's own, sees one gradient, and the
// backward kernels see the batch. Several inputs (integrated gradients'
// steps) go forward as batch rows of one graph, and a column's cotangent
// covers its items on every row. What this costs against per row: every
// backward covers all L-1 positions, also those after p_j (zero gradient, a
// causal model), and the kept graph's memory.

#include "attribution/common.h"

#include <ATen/VmapMode.h>

#include <algorithm>
#include <atomic>
#include <map>

namespace tokenlens::attr {
namespace {

// One vmap level for the lifetime of the object (also when a cancel throws
// out of the backward).
class VmapLevel {
public:
    VmapLevel() : m_level(at::impl::VmapMode::increment_nesting()) {}
    ~VmapLevel() { at::impl::VmapMode::decrement_nesting(); }
    VmapLevel(const VmapLevel&) = delete;
    VmapLevel& operator=(const VmapLevel&) = delete;
    int64_t level() const { return m_level; }

private:
    int64_t m_level;
};

// ∂⟨output, c_b⟩/∂input for each cotangent c_b of `cotangents` (B, output
// sizes...): (B, input sizes...). The graph is kept when `retain`.
at::Tensor batchedInputGradients(const at::Tensor& output, const at::Tensor& input, const at::Tensor& cotangents,
                                 bool retain) {
    const int64_t b = cotangents.size(0);
    if (b == 1) return torch::autograd::grad({output}, {input}, {cotangents[0]}, retain)[0].unsqueeze(0);
    VmapLevel vmap;
    auto batched = at::_add_batch_dim(cotangents, 0, vmap.level());
    auto g = torch::autograd::grad({output}, {input}, {batched}, retain)[0];
    return at::_remove_batch_dim(g, vmap.level(), b, 0);
}

struct InputKey {
    double alpha;
    int64_t noise;
    bool operator<(const InputKey& o) const { return alpha != o.alpha ? alpha < o.alpha : noise < o.noise; }
};

std::atomic<int64_t> g_inputsPerForward{0};

} // namespace

void setSharedInputsPerForward(int64_t inputs) { g_inputsPerForward = std::max<int64_t>(inputs, 0); }

std::optional<GradientSums> sharedForwardGradients(const CausalLM& model, const Sequence& seq,
                                                   const at::Tensor& baseline, const std::vector<GradientItem>& items,
                                                   TargetFn fn, int64_t budget, double chunkSecs, Progress& progress,
                                                   const GradientExtras& extras) {
    const bool noisy = extras.noise.defined();
    std::map<InputKey, std::vector<GradientItem>> byInput; // columns in order within an input
    for (const auto& item : items) byInput[{item.alpha, noisy ? item.noise : -1}].push_back(item);
    // Sharing pays when inputs are shared: the column gradients (one input),
    // integrated gradients (one input per step, every column on it); not
    // gradient_shap, whose every point has its own alpha.
    if (items.size() < 2 || items.size() < 2 * byInput.size()) return std::nullopt;
    const auto& cfg = model.config();
    const int64_t width = seq.length() - 1; // the last token is never an input
    // Per input row of a forward: its kept graph, and one cotangent's backward over it.
    const int64_t graphBytes = width * activationBytesPerToken(cfg, width);
    const int64_t perCotangent = cotangentBytes(cfg, width);
    if (graphBytes + perCotangent > budget) return std::nullopt;
    // Inputs per forward (batch rows of one forward, their cotangents in the
    // same backwards): one by default. Measured on the GPT-2-small-sized
    // workload (integrated gradients, 16 steps, docs/benchmarks.md), one
    // forward per step ran faster than 8 or 16 steps per forward, whose
    // backwards carry cotangents of every row.
    const auto inputCount = static_cast<int64_t>(byInput.size());
    int64_t perForward = g_inputsPerForward > 0 ? g_inputsPerForward.load() : 1;
    perForward = std::clamp<int64_t>(std::min(perForward, budget / (graphBytes + perCotangent)), 1, inputCount);
    const int64_t forwards = (inputCount + perForward - 1) / perForward; // of even sizes

    torch::AutoGradMode enableGrad(true);
    const int64_t hidden = seq.embeds.size(1);
    const auto dev = seq.embeds.device();
    GradientSums out;
    out.grads = torch::zeros({seq.t, width, hidden}, seq.embeds.options());
    const auto targetIds = seq.targets().to(torch::kCPU);
    const auto contrastIds = seq.contrasts.defined() ? seq.contrasts.to(torch::kCPU) : at::Tensor();
    const auto base = baseline.slice(0, 0, width);
    const auto delta = (seq.embeds - baseline).slice(0, 0, width); // (width, hidden)
    const std::vector<std::pair<InputKey, std::vector<GradientItem>>> inputs(byInput.begin(), byInput.end());
    ChunkSizer sizer(chunkSecs);
    for (int64_t k = 0; k < forwards; ++k) {
        if (progress.cancelled()) {
            out.cancelled = true;
            return out;
        }
        const auto i0 = static_cast<size_t>(evenSplit(inputCount, forwards, k));
        const auto i1 = static_cast<size_t>(evenSplit(inputCount, forwards, k + 1));
        const auto g = static_cast<int64_t>(i1 - i0); // batch rows of this forward
        // Row r: base + alpha_r (e + noise_r − base), alpha a float32 tensor as
        // the per-row path makes it (same input, same type promotion).
        std::vector<at::Tensor> rowDeltas;
        std::vector<double> alphas;
        for (size_t i = i0; i < i1; ++i) {
            const auto& key = inputs[i].first;
            rowDeltas.push_back(key.noise >= 0 ? delta + extras.noise[key.noise] : delta);
            alphas.push_back(key.alpha);
        }
        auto alpha = torch::tensor(alphas, torch::kFloat64).to(torch::kFloat32).to(dev).view({g, 1, 1});
        auto rowDelta = g == 1 ? rowDeltas[0].unsqueeze(0) : torch::stack(rowDeltas); // (g, width, hidden)
        auto x = (base.unsqueeze(0) + alpha * rowDelta).detach().requires_grad_(true);
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.lrp = extras.lrp;
        const auto finalHidden = model.forward(x, fo).finalHidden; // (g, width, hidden), its graph kept
        ++out.forwardPasses;
        // The items of this forward by column: a column's cotangent covers its rows.
        std::map<int64_t, std::vector<std::pair<int64_t, const GradientItem*>>> byColumn;
        for (size_t i = i0; i < i1; ++i) {
            for (const auto& item : inputs[i].second) byColumn[item.column].emplace_back(i - i0, &item);
        }
        const int64_t maxCotangents = std::max<int64_t>(1, (budget - g * graphBytes) / (g * perCotangent));
        auto next = byColumn.begin();
        while (next != byColumn.end()) {
            if (progress.cancelled()) {
                out.cancelled = true;
                return out;
            }
            const int64_t left = static_cast<int64_t>(std::distance(next, byColumn.end()));
            const int64_t c = std::min(sizer.next(left, minRowsFor(g * width)), maxCotangents); // columns in this backward
            sizer.start();
            std::vector<int64_t> columns, slots, rowsOf, positions, targets, contrasts;
            std::vector<double> weights;
            int64_t units = 0;
            for (int64_t slot = 0; slot < c; ++slot, ++next) {
                const int64_t j = next->first;
                columns.push_back(j);
                for (const auto& [r, item] : next->second) {
                    slots.push_back(slot);
                    rowsOf.push_back(r);
                    positions.push_back(seq.position(j));
                    targets.push_back(targetIds[j].item<int64_t>());
                    if (contrastIds.defined()) contrasts.push_back(contrastIds[j].item<int64_t>());
                    weights.push_back(item->weight);
                    units += 2 * (seq.position(j) + 1);
                }
            }
            const auto pos = torch::tensor(positions).to(dev);
            const auto rowIdx = torch::tensor(rowsOf).to(dev);
            // The head apart: w_k ∂f_k/∂h at each item's row and position (items, hidden).
            auto h = finalHidden.index({rowIdx, pos}).detach().requires_grad_(true);
            auto f = passTargets(model, h, torch::tensor(targets).to(dev),
                                 contrasts.empty() ? at::Tensor() : torch::tensor(contrasts).to(dev), fn, extras.lrp);
            auto w = torch::tensor(weights, torch::kFloat64).to(torch::kFloat32).to(dev);
            auto gh = torch::autograd::grad({(f * w).sum()}, {h})[0];
            // Cotangent k of the body: its items' gh at (row, p_j), zero elsewhere.
            auto cotangents = torch::zeros({c, g, width, hidden}, gh.options());
            c10::List<c10::optional<at::Tensor>> at3;
            for (const auto& index : {torch::tensor(slots).to(dev), rowIdx, pos}) at3.push_back(index);
            cotangents.index_put_(at3, gh, /*accumulate=*/true); // an input's items on one column add up
            const bool last = next == byColumn.end();
            auto grads = batchedInputGradients(finalHidden, x, cotangents, !last); // (c, g, width, hidden)
            if (extras.timesDelta) grads = grads * rowDelta.unsqueeze(0);
            out.grads.index_add_(0, torch::tensor(columns).to(dev), g == 1 ? grads.squeeze(1) : grads.sum(1));
            progress.add(units);
            sizer.finish(c);
        }
    }
    return out;
}

} // namespace tokenlens::attr
