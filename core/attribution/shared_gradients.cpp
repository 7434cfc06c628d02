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
// causal model), and the kept graph's memory. When that graph does not fit
// the budget (long prompts: every layer's attention maps), the backward goes
// block by block over recomputed segments (common.h, setGradientSegments).

#include "attribution/common.h"
#include "model/vmap_level.h"


#include <algorithm>
#include <atomic>
#include <map>
#include <set>

namespace tokenlens::attr {
namespace {

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
constexpr int64_t kFirstBackwardPositions = 2048; // cotangents × positions of the first backward
std::atomic<int64_t> g_layersPerSegment{0};
std::atomic<int64_t> g_groupColumns{0};

using ColumnItems = std::map<int64_t, std::vector<std::pair<int64_t, const GradientItem*>>>;

// The columns of one backward: slot k of the cotangent batch is columns[k];
// the item lists give each item's slot, forward row, p_j, target and weight.
struct ColumnBatch {
    std::vector<int64_t> columns, slots, rowsOf, positions, targets, contrasts;
    std::vector<double> weights;
    int64_t units = 0; // progress: a forward and a backward over each item's prefix
    int64_t added = 0; // of units, reported so far
};

ColumnBatch takeColumns(ColumnItems::const_iterator& next, int64_t c, const Sequence& seq, const at::Tensor& targetIds,
                        const at::Tensor& contrastIds) {
    ColumnBatch b;
    for (int64_t slot = 0; slot < c; ++slot, ++next) {
        const int64_t j = next->first;
        b.columns.push_back(j);
        for (const auto& [r, item] : next->second) {
            b.slots.push_back(slot);
            b.rowsOf.push_back(r);
            b.positions.push_back(seq.position(j));
            b.targets.push_back(targetIds[j].item<int64_t>());
            if (contrastIds.defined()) b.contrasts.push_back(contrastIds[j].item<int64_t>());
            b.weights.push_back(item->weight);
            b.units += 2 * (seq.position(j) + 1);
        }
    }
    return b;
}

// The body's cotangents of a batch (c, g, width, hidden): for each item
// w_k ∂f_k/∂h at its row and p_j of the final hidden states `finalHidden`
// (values only: the head is a small backward of its own), zero elsewhere.
at::Tensor headCotangents(const CausalLM& model, const at::Tensor& finalHidden, const ColumnBatch& b, TargetFn fn,
                          LrpMode lrp) {
    const auto dev = finalHidden.device();
    const auto c = static_cast<int64_t>(b.columns.size());
    const auto pos = torch::tensor(b.positions).to(dev);
    const auto rowIdx = torch::tensor(b.rowsOf).to(dev);
    auto h = finalHidden.index({rowIdx, pos}).detach().requires_grad_(true);
    auto f = passTargets(model, h, torch::tensor(b.targets).to(dev),
                         b.contrasts.empty() ? at::Tensor() : torch::tensor(b.contrasts).to(dev), fn, lrp);
    auto w = torch::tensor(b.weights, torch::kFloat64).to(torch::kFloat32).to(dev);
    auto gh = torch::autograd::grad({(f * w).sum()}, {h})[0];
    auto cotangents = torch::zeros({c, finalHidden.size(0), finalHidden.size(1), finalHidden.size(2)}, gh.options());
    c10::List<c10::optional<at::Tensor>> at3;
    for (const auto& index : {torch::tensor(b.slots).to(dev), rowIdx, pos}) at3.push_back(index);
    cotangents.index_put_(at3, gh, /*accumulate=*/true); // an input's items on one column add up
    return cotangents;
}

// What the block-by-block path holds for forwards of `g` input rows: one
// block's share of the kept graph, one cotangent's backward, the residual
// stream entering every block and, per column of a group, its carried
// gradients (two live at once; float32 at most).
struct BlockBytes {
    int64_t layerGraph, cotangent, states, carryPerColumn;
    BlockBytes(const ModelConfig& cfg, int64_t width, int64_t g, const MapsKept& maps) {
        const int64_t layers = std::max<int64_t>(cfg.numLayers, 1);
        const int64_t row = g * width * cfg.hiddenSize * 4;
        layerGraph = (g * width * activationBytesPerToken(cfg, width, maps) + layers - 1) / layers;
        cotangent = g * cotangentBytes(cfg, width, maps);
        states = (layers + 1) * row;
        carryPerColumn = 2 * row;
    }
    int64_t least() const { return layerGraph + cotangent + states + carryPerColumn; }
};

// The memory plan of the shared path for forwards of `g` input rows.
struct SharedPlan {
    int64_t layersPerSegment = 0; // numLayers: the whole graph kept; fewer: block by block
    int64_t maxCotangents = 1;
    int64_t groupColumns = 0;     // columns whose gradients go down the segments together
};

SharedPlan planShared(const ModelConfig& cfg, const Sequence& seq, int64_t g, int64_t columns, int64_t budget,
                      const MapsKept& maps) {
    const int64_t width = seq.length() - 1;
    const int64_t layers = std::max<int64_t>(cfg.numLayers, 1);
    const int64_t graphBytes = g * width * activationBytesPerToken(cfg, width, maps);
    const int64_t perCotangent = g * cotangentBytes(cfg, width, maps);
    SharedPlan plan;
    const int64_t forced = g_layersPerSegment; // tests and benchmarks: segments of this many layers
    if (forced > 0 ? forced >= layers : graphBytes + perCotangent <= budget) {
        plan.layersPerSegment = layers;
        plan.maxCotangents = std::max<int64_t>(1, (budget - graphBytes) / perCotangent);
        plan.groupColumns = columns;
        return plan;
    }
    // Block by block: the residual stream entering every block is kept (a
    // forward without a graph), then each segment's forward is recomputed
    // with its graph, top segment first, and every column's gradient goes
    // down through it; between segments each column carries the gradient
    // at the segment's input (two such carries live at once).
    const BlockBytes bytes(cfg, width, g, maps);
    // Half of what the least need leaves free for the carries, at least one
    // column (below that minimum a pass still holds one block, one column
    // and one cotangent).
    plan.groupColumns = std::clamp<int64_t>((budget - bytes.least()) / 2 / bytes.carryPerColumn + 1, 1, columns);
    if (g_groupColumns > 0) plan.groupColumns = std::min<int64_t>(g_groupColumns, columns);
    const int64_t left = budget - bytes.states - plan.groupColumns * bytes.carryPerColumn;
    plan.layersPerSegment = std::clamp<int64_t>((left - perCotangent) / bytes.layerGraph, 1, layers);
    if (forced > 0) plan.layersPerSegment = std::min(forced, layers);
    plan.maxCotangents = std::max<int64_t>(1, (left - plan.layersPerSegment * bytes.layerGraph) / perCotangent);
    return plan;
}

} // namespace

void setSharedInputsPerForward(int64_t inputs) { g_inputsPerForward = std::max<int64_t>(inputs, 0); }
int64_t blockByBlockMinBytes(const ModelConfig& c, int64_t width, const MapsKept& maps) {
    return BlockBytes(c, width, 1, maps).least();
}

void setGradientSegments(int64_t layersPerSegment, int64_t columnsPerGroup) {
    g_layersPerSegment = std::max<int64_t>(layersPerSegment, 0);
    g_groupColumns = std::max<int64_t>(columnsPerGroup, 0);
}

bool itemsShareInputs(const std::vector<GradientItem>& items, const GradientExtras& extras) {
    std::set<std::pair<double, int64_t>> inputs;
    for (const auto& item : items) inputs.insert({item.alpha, extras.noise.defined() ? item.noise : -1});
    // Sharing pays when inputs are shared: the column gradients (one input),
    // integrated gradients (one input per step, every column on it); not
    // gradient_shap, whose every point has its own alpha.
    return items.size() >= 2 && items.size() >= 2 * inputs.size();
}

std::optional<GradientSums> sharedForwardGradients(const CausalLM& model, const Sequence& seq,
                                                   const at::Tensor& baseline, const std::vector<GradientItem>& items,
                                                   TargetFn fn, int64_t budget, double chunkSecs, Progress& progress,
                                                   const GradientExtras& extras) {
    if (!itemsShareInputs(items, extras)) return std::nullopt;
    const bool noisy = extras.noise.defined();
    std::map<InputKey, std::vector<GradientItem>> byInput; // columns in order within an input
    for (const auto& item : items) byInput[{item.alpha, noisy ? item.noise : -1}].push_back(item);
    const auto& cfg = model.config();
    const int64_t width = seq.length() - 1; // the last token is never an input
    const auto inputCount = static_cast<int64_t>(byInput.size());
    const auto maps = gradientMapsKept(model, extras.lrp);
    const auto onePlan = planShared(cfg, seq, 1, seq.t, budget, maps);
    // Inputs per forward (batch rows of one forward, their cotangents in the
    // same backwards): one by default. Measured on the GPT-2-small-sized
    // workload (integrated gradients, 16 steps, docs/benchmarks.md), one
    // forward per step ran faster than 8 or 16 steps per forward, whose
    // backwards carry cotangents of every row.
    int64_t perForward = g_inputsPerForward > 0 ? g_inputsPerForward.load() : 1;
    if (onePlan.layersPerSegment < cfg.numLayers) perForward = 1;
    const int64_t graphBytes = width * activationBytesPerToken(cfg, width, maps) + cotangentBytes(cfg, width, maps);
    perForward = std::clamp<int64_t>(std::min(perForward, budget / graphBytes), 1, inputCount);
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
    // The first backward before any timing: up to four cotangents, fewer
    // over long prompts, where one cotangent's backward through a block is
    // already long (a cancel waits for a part of it).
    ChunkSizer sizer(chunkSecs, std::clamp<int64_t>(kFirstBackwardPositions / std::max<int64_t>(width, 1), 1, 4));
    auto stop = [&] {
        if (!progress.cancelled()) return false;
        out.cancelled = true;
        return true;
    };
    for (int64_t k = 0; k < forwards; ++k) {
        if (stop()) return out;
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
        // The items of this forward by column: a column's cotangent covers its rows.
        ColumnItems byColumn;
        for (size_t i = i0; i < i1; ++i) {
            for (const auto& item : inputs[i].second) byColumn[item.column].emplace_back(i - i0, &item);
        }
        const auto plan = planShared(cfg, seq, g, static_cast<int64_t>(byColumn.size()), budget, maps);
        // Adds a column batch's input gradients (c, g, width, hidden) to the sums.
        auto addColumns = [&](const std::vector<int64_t>& columns, at::Tensor grads) {
            if (extras.timesDelta) grads = grads * rowDelta.unsqueeze(0);
            out.grads.index_add_(0, torch::tensor(columns).to(dev), g == 1 ? grads.squeeze(1) : grads.sum(1));
        };
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.lrp = extras.lrp;
        if (plan.layersPerSegment >= cfg.numLayers) {
            const auto finalHidden = model.forward(x, fo).finalHidden; // (g, width, hidden), its graph kept
            ++out.forwardPasses;
            auto next = byColumn.cbegin();
            while (next != byColumn.cend()) {
                if (stop()) return out;
                const auto left = static_cast<int64_t>(std::distance(next, byColumn.cend()));
                const int64_t c = std::min(sizer.next(left, minRowsFor(g * width)), plan.maxCotangents);
                sizer.start();
                const auto batch = takeColumns(next, c, seq, targetIds, contrastIds);
                auto cotangents = headCotangents(model, finalHidden, batch, fn, extras.lrp);
                const bool last = next == byColumn.cend();
                addColumns(batch.columns, batchedInputGradients(finalHidden, x, cotangents, !last));
                progress.add(batch.units);
                sizer.finish(c);
            }
            continue;
        }
        // Block by block (planShared): the residual stream entering each block, without a graph.
        std::vector<at::Tensor> states;
        at::Tensor finalValues;
        {
            torch::NoGradGuard noGrad;
            ForwardOptions so = fo;
            so.outputHiddenStates = true;
            auto o = model.forward(x.detach(), so);
            states = std::move(o.hiddenStates); // numLayers + 1: each block's input, then the last block's output
            finalValues = o.finalHidden;
        }
        ++out.forwardPasses;
        const int64_t layers = cfg.numLayers;
        const int64_t segments = (layers + plan.layersPerSegment - 1) / plan.layersPerSegment;
        auto group = byColumn.cbegin();
        while (group != byColumn.cend()) {
            // This group's columns go down the segments together, in batches
            // sized at the top segment.
            std::vector<ColumnBatch> batches;
            const int64_t groupSize =
                std::min(plan.groupColumns, static_cast<int64_t>(std::distance(group, byColumn.cend())));
            at::Tensor carry; // (groupSize, g, width, hidden): the gradient at the current segment's output
            for (int64_t s = segments - 1; s >= 0; --s) {
                const int64_t first = evenSplit(layers, segments, s), end = evenSplit(layers, segments, s + 1);
                auto input = states[static_cast<size_t>(first)].detach().requires_grad_(true);
                ForwardOptions so = fo;
                so.blocks = BlockRange{first, end};
                auto o = model.forward(input, so);
                // The top segment ends in the final norm: a range that ends at
                // the last block, without logits, also gives finalHidden.
                const bool topSegment = s == segments - 1;
                const auto output = topSegment ? o.finalHidden : o.lastHidden;
                auto below = torch::empty({groupSize, g, width, hidden}, input.options());
                int64_t offset = 0;
                for (size_t b = 0; topSegment ? offset < groupSize : b < batches.size(); ++b) {
                    if (stop()) return out;
                    sizer.start();
                    if (topSegment) {
                        const int64_t c = std::min({sizer.next(groupSize - offset, minRowsFor(g * width)),
                                                    plan.maxCotangents, groupSize - offset});
                        batches.push_back(takeColumns(group, c, seq, targetIds, contrastIds));
                    }
                    auto& batch = batches[b];
                    const auto c = static_cast<int64_t>(batch.columns.size());
                    const auto cotangents = topSegment ? headCotangents(model, finalValues, batch, fn, extras.lrp)
                                                       : carry.slice(0, offset, offset + c);
                    const bool lastBatch = offset + c == groupSize;
                    below.slice(0, offset, offset + c)
                        .copy_(batchedInputGradients(output, input, cotangents, !lastBatch));
                    // This segment's share of the batch's progress (the rest at the bottom).
                    const int64_t share = s == 0 ? batch.units - batch.added : batch.units * (end - first) / layers;
                    batch.added += share;
                    progress.add(share);
                    sizer.finish(c);
                    offset += c;
                }
                carry = below;
            }
            int64_t offset = 0;
            for (const auto& batch : batches) {
                const auto c = static_cast<int64_t>(batch.columns.size());
                addColumns(batch.columns, carry.slice(0, offset, offset + c));
                offset += c;
            }
            ++out.forwardPasses; // the segments' forwards add up to one more
        }
    }
    return out;
}

} // namespace tokenlens::attr
