// The shared-forward path of the gradient passes (common.h,
// sharedForwardGradients): items with the same input share one forward, and
// their input gradients come from batched backward passes over its graph.
//
// Per row, column j pays a forward and a backward over its own prefix; here
// the forward is paid once per input, and a backward with B cotangents runs
// B vector–Jacobian products through one graph as one batch (matrix products
// of B × positions rows). The batch is LibTorch's legacy vmap: each
// cotangent is a BatchedTensor level, so that the autograd engine, which
// checks gradient shapes against the graph's batch of one, sees one
// gradient, and the backward kernels see the batch. What this costs against
// per row: every backward covers all L-1 positions, also those after p_j
// (zero gradient, a causal model), and the kept graph's memory.

#include "attribution/common.h"

#include <ATen/VmapMode.h>

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

} // namespace

std::optional<GradientSums> sharedForwardGradients(const CausalLM& model, const Sequence& seq,
                                                   const at::Tensor& baseline, const std::vector<GradientItem>& items,
                                                   TargetFn fn, int64_t budget, double chunkSecs, Progress& progress,
                                                   const GradientExtras& extras) {
    const bool noisy = extras.noise.defined();
    std::map<InputKey, std::vector<GradientItem>> groups; // by input; columns in order within a group
    for (const auto& item : items) groups[{item.alpha, noisy ? item.noise : -1}].push_back(item);
    // One input for every item (the column gradients). Integrated
    // gradients' steps would share per step, but measured on gpt2-small
    // (docs/benchmarks.md) one forward per step with the step's few columns
    // ran 2x slower than per-row passes that batch many steps' rows at once.
    if (groups.size() != 1 || items.size() < 2) return std::nullopt;
    const auto& cfg = model.config();
    const int64_t width = seq.length() - 1; // the last token is never an input
    const int64_t graphBytes = width * activationBytesPerToken(cfg, width);
    const int64_t perCotangent = cotangentBytes(cfg, width);
    if (graphBytes + perCotangent > budget) return std::nullopt;
    const int64_t maxCotangents = std::max<int64_t>(1, (budget - graphBytes) / perCotangent);

    torch::AutoGradMode enableGrad(true);
    const int64_t hidden = seq.embeds.size(1);
    const auto dev = seq.embeds.device();
    GradientSums out;
    out.grads = torch::zeros({seq.t, width, hidden}, seq.embeds.options());
    const auto targetIds = seq.targets().to(torch::kCPU);
    const auto contrastIds = seq.contrasts.defined() ? seq.contrasts.to(torch::kCPU) : at::Tensor();
    const auto base = baseline.slice(0, 0, width);
    const auto delta = (seq.embeds - baseline).slice(0, 0, width); // (width, hidden)
    ChunkSizer sizer(chunkSecs);
    for (auto& [key, group] : groups) {
        std::stable_sort(group.begin(), group.end(), [](const auto& a, const auto& b) { return a.column < b.column; });
        if (progress.cancelled()) {
            out.cancelled = true;
            return out;
        }
        at::Tensor rowDelta = key.noise >= 0 ? delta + extras.noise[key.noise] : delta;
        // alpha a float32 tensor, as the per-row path makes it (same input, same type promotion).
        auto alpha = torch::full({1, 1}, key.alpha, torch::kFloat64).to(torch::kFloat32).to(dev);
        auto x = (base + alpha * rowDelta).unsqueeze(0).detach().requires_grad_(true);
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.lrp = extras.lrp;
        const auto finalHidden = model.forward(x, fo).finalHidden; // (1, width, hidden), its graph kept
        ++out.forwardPasses;
        size_t begin = 0;
        while (begin < group.size()) {
            if (progress.cancelled()) {
                out.cancelled = true;
                return out;
            }
            const auto rows = static_cast<size_t>(std::min(
                sizer.next(static_cast<int64_t>(group.size() - begin), minRowsFor(width)), maxCotangents));
            sizer.start();
            const size_t end = begin + rows;
            std::vector<int64_t> columns, positions, targets, contrasts;
            std::vector<double> weights;
            int64_t units = 0;
            for (size_t k = begin; k < end; ++k) {
                const int64_t j = group[k].column;
                columns.push_back(j);
                positions.push_back(seq.position(j));
                targets.push_back(targetIds[j].item<int64_t>());
                if (contrastIds.defined()) contrasts.push_back(contrastIds[j].item<int64_t>());
                weights.push_back(group[k].weight);
                units += 2 * (seq.position(j) + 1);
            }
            const auto pos = torch::tensor(positions).to(dev);
            // The head apart: w_k ∂f_k/∂h at each item's own position (B, hidden).
            auto h = finalHidden[0].index_select(0, pos).detach().requires_grad_(true);
            auto f = passTargets(model, h, torch::tensor(targets).to(dev),
                                 contrasts.empty() ? at::Tensor() : torch::tensor(contrasts).to(dev), fn, extras.lrp);
            auto w = torch::tensor(weights, torch::kFloat64).to(torch::kFloat32).to(dev);
            auto gh = torch::autograd::grad({(f * w).sum()}, {h})[0];
            // Cotangent k of the body: gh[k] at position p_k, zero elsewhere.
            const auto b = static_cast<int64_t>(rows);
            auto cotangents = torch::zeros({b, width, hidden}, gh.options());
            cotangents.index_put_({torch::arange(b, torch::kInt64).to(dev), pos}, gh);
            const bool last = end == group.size();
            auto g = batchedInputGradients(finalHidden, x, cotangents.unsqueeze(1), !last).squeeze(1); // (B, width, hidden)
            if (extras.timesDelta) g = g * rowDelta.unsqueeze(0);
            out.grads.index_add_(0, torch::tensor(columns).to(dev), g.detach());
            progress.add(units);
            sizer.finish(b);
            begin = end;
        }
    }
    return out;
}

} // namespace tokenlens::attr
