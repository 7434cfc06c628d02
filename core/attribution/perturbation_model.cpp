// The perturbation methods' model side: scoring masked sequences (with the
// unperturbed prefix shared), and prompt segments as features. The estimators
// and the options are in perturbation.cpp.

#include "attribution/perturbation.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

namespace tokenlens::attr {

// ------------------------------------------------------------- the model

namespace {

// f of columns [j0, j1) read from finalHidden (rows, positions from.., hidden): (rows, j1 - j0) float64 on the CPU.
at::Tensor targetsAt(const CausalLM& model, const Sequence& seq, TargetFn fn, const at::Tensor& finalHidden,
                     int64_t from, int64_t j0, int64_t j1) {
    const auto dev = seq.embeds.device();
    const int64_t rows = finalHidden.size(0), tj = j1 - j0;
    const auto where = torch::arange(seq.n - 1 + j0 - from, seq.n - 1 + j1 - from, torch::kInt64).to(dev);
    auto h = finalHidden.index_select(1, where).reshape({rows * tj, -1});
    const auto contrasts = seq.contrasts.defined() ? seq.contrasts.slice(0, j0, j1).repeat({rows}) : at::Tensor();
    return targetValues(model, h, seq.targets().slice(0, j0, j1).repeat({rows}), fn, contrasts)
        .view({rows, tj})
        .to(torch::kCPU, torch::kFloat64);
}

int64_t headBytesPerColumn(const ModelConfig& cfg, TargetFn fn) {
    const bool headRows = fn == TargetFn::Logit || fn == TargetFn::ContrastLogitDiff;
    return (headRows ? 2 * cfg.hiddenSize : cfg.vocabSize) * 8;
}

} // namespace

bool scoreSharingCleanPrefix(const CausalLM& model, const Sequence& seq, const at::Tensor& baseline, TargetFn fn,
                             const at::Tensor& masks, int64_t c0, int64_t c1, int64_t budget, ChunkSizer& sizer,
                             Progress& progress, int64_t& forwardPasses, CleanPrefix& clean, at::Tensor& scores) {
    torch::NoGradGuard noGrad;
    const auto dev = seq.embeds.device();
    const auto& cfg = model.config();
    const int64_t total = masks.size(0), len = masks.size(1), width = seq.length() - 1;
    scores = torch::zeros({total, c1 - c0}, torch::kFloat64);
    if (total == 0 || c1 <= c0) return true;
    // f_r: the first replaced position of row r (len when it keeps every position).
    const int64_t cacheBytes = width * cfg.numLayers * 2 * cfg.numKvHeads * cfg.headDim * 4;
    const bool share = cacheBytes <= budget / 4;
    std::vector<int64_t> first(static_cast<size_t>(total), 0);
    if (share) {
        const auto ma = masks.accessor<bool, 2>();
        for (int64_t r = 0; r < total; ++r) {
            int64_t f = 0;
            while (f < len && ma[r][f]) ++f;
            first[static_cast<size_t>(r)] = f;
        }
    }
    std::vector<int64_t> order(static_cast<size_t>(total));
    for (int64_t r = 0; r < total; ++r) order[static_cast<size_t>(r)] = r;
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return first[static_cast<size_t>(a)] < first[static_cast<size_t>(b)]; });
    const bool anyShared = share && first[static_cast<size_t>(order.back())] > 0;
    if (anyShared && !clean.computed()) {
        if (progress.cancelled()) return false;
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.cache = &clean.cache;
        auto h = model.forward(seq.embeds.slice(0, 0, width).unsqueeze(0), fo).finalHidden; // (1, width, hidden)
        clean.scores = targetsAt(model, seq, fn, h, 0, 0, seq.t);                           // (1, t)
        ++forwardPasses;
    }
    const auto embeds = seq.embeds.slice(0, 0, len).unsqueeze(0);
    const auto base = baseline.slice(0, 0, len).unsqueeze(0);
    const int64_t headBytes = headBytesPerColumn(cfg, fn);
    int64_t r0 = 0;
    while (r0 < total) {
        if (progress.cancelled()) return false;
        const int64_t left = total - r0;
        const int64_t p = first[static_cast<size_t>(order[static_cast<size_t>(r0)])]; // the chunk's smallest f_r
        // Columns whose position is before p see the unperturbed sequence only.
        const int64_t jSplit = std::clamp<int64_t>(p - (seq.n - 1), c0, c1);
        if (jSplit >= c1) {
            // These rows and all after them (f_r >= p) keep every position the columns see.
            scores.index_copy_(0, torch::tensor(std::vector<int64_t>(order.begin() + r0, order.end()), torch::kInt64),
                               clean.scores.slice(1, c0, c1).expand({left, c1 - c0}).contiguous());
            progress.add(left * len);
            break;
        }
        const int64_t span = len - p;
        const int64_t perRow = span * activationBytesPerToken(cfg, len) / 4 + (c1 - jSplit) * headBytes;
        // A chunk runs every row from its first row's position: it takes only rows that need more than
        // half of that span, so that no row computes more than twice what it needs (at most one band
        // per halving of the span, each batched as usual).
        int64_t band = 1;
        while (band < left && 2 * (len - first[static_cast<size_t>(order[static_cast<size_t>(r0 + band)])]) > span) {
            ++band;
        }
        const int64_t rows = std::min({std::clamp<int64_t>(budget / std::max<int64_t>(perRow, 1), 1, left),
                                       sizer.next(left, minRowsFor(span)), band});
        sizer.start();
        const auto idx = torch::tensor(std::vector<int64_t>(order.begin() + r0, order.begin() + r0 + rows), torch::kInt64);
        auto keep = masks.index_select(0, idx).slice(1, p, len).to(dev).unsqueeze(-1); // (rows, span, 1)
        auto inputs = torch::where(keep, embeds.slice(1, p, len), base.slice(1, p, len));
        KvCache past;
        ForwardOptions fo;
        fo.computeLogits = false;
        if (p > 0) {
            for (size_t l = 0; l < clean.cache.keys.size(); ++l) {
                past.keys.push_back(clean.cache.keys[l].slice(2, 0, p).expand({rows, -1, -1, -1}));
                past.values.push_back(clean.cache.values[l].slice(2, 0, p).expand({rows, -1, -1, -1}));
            }
            fo.cache = &past;
        }
        auto h = model.forward(inputs, fo).finalHidden; // (rows, span, hidden)
        auto chunk = torch::empty({rows, c1 - c0}, torch::kFloat64);
        if (jSplit > c0) chunk.slice(1, 0, jSplit - c0).copy_(clean.scores.slice(1, c0, jSplit).expand({rows, -1}));
        chunk.slice(1, jSplit - c0).copy_(targetsAt(model, seq, fn, h, p, jSplit, c1));
        scores.index_copy_(0, idx, chunk);
        ++forwardPasses;
        progress.add(rows * len);
        sizer.finish(rows);
        r0 += rows;
    }
    return true;
}

MaskScorer modelScorer(const CausalLM& model, const Sequence& seq, const at::Tensor& baseline, TargetFn fn,
                       int64_t budget, double chunkSecs, Progress& progress, int64_t& forwardPasses) {
    auto sizer = std::make_shared<ChunkSizer>(chunkSecs, 1);
    auto clean = std::make_shared<CleanPrefix>();
    return MaskScorer::fromRequests([&model, &seq, baseline, fn, budget, sizer, clean, &progress,
                                     &forwardPasses](const ScoreRequest& request, at::Tensor& scores) {
        torch::NoGradGuard noGrad;
        const auto dev = seq.embeds.device();
        const auto& cfg = model.config();
        const int64_t c0 = request.firstColumn, c1 = request.lastColumn < 0 ? seq.t : request.lastColumn;
        const int64_t d = request.prefixLength(), groups = request.groups(), k = request.masks.size(0);
        const int64_t len = request.length(), total = groups * k;
        if (d == 0) {
            return scoreSharingCleanPrefix(model, seq, baseline, fn, request.masks, c0, c1, budget, *sizer, progress,
                                           forwardPasses, *clean, scores);
        }
        scores = torch::zeros({total, c1 - c0}, torch::kFloat64);
        if (total == 0 || c1 <= c0) return true;
        const int64_t headBytes = headBytesPerColumn(cfg, fn);
        const auto embeds = seq.embeds.slice(0, 0, len).unsqueeze(0);
        const auto base = baseline.slice(0, 0, len).unsqueeze(0);
        auto targetsFrom = [&](const at::Tensor& finalHidden, int64_t from, int64_t j0, int64_t j1) {
            return targetsAt(model, seq, fn, finalHidden, from, j0, j1);
        };
        // Columns whose position is before d are read in the prefix pass, the others in the suffix pass.
        const int64_t jSplit = std::clamp<int64_t>(d - (seq.n - 1), c0, c1);
        // Prefix states kept per group: keys and values of every layer.
        const int64_t cachePerGroup = std::max<int64_t>(1, d * cfg.numLayers * 2 * cfg.numKvHeads * cfg.headDim * 4);
        const int64_t groupsPerChunk = d > 0 ? std::clamp<int64_t>(budget / 4 / cachePerGroup, 1, groups) : 1;
        for (int64_t g0 = 0; g0 < groups; g0 += groupsPerChunk) {
            const int64_t g1 = std::min(groups, g0 + groupsPerChunk);
            KvCache prefixCache;
            if (d > 0) {
                if (progress.cancelled()) return false;
                // The prefixes of groups g0..g1-1: one pass of d positions each (small next to the suffixes).
                auto keep = request.prefixes.slice(0, g0, g1).to(dev).unsqueeze(-1);
                auto inputs = torch::where(keep, embeds.slice(1, 0, d), base.slice(1, 0, d));
                ForwardOptions fo;
                fo.computeLogits = false;
                fo.cache = &prefixCache;
                auto h = model.forward(inputs, fo).finalHidden; // (g, d, hidden)
                ++forwardPasses;
                progress.add((g1 - g0) * d);
                if (jSplit > c0) {
                    // Scores that depend on the prefix only: the same for its k rows.
                    auto f = targetsFrom(h, 0, c0, jSplit).repeat_interleave(k, 0);
                    scores.slice(0, g0 * k, g1 * k).slice(1, 0, jSplit - c0).copy_(f);
                }
            }
            if (jSplit >= c1) continue;
            const int64_t span = len - d;
            const int64_t perRow = span * activationBytesPerToken(cfg, len) / 4 + (c1 - jSplit) * headBytes;
            int64_t r0 = g0 * k;
            const int64_t rEnd = g1 * k;
            while (r0 < rEnd) {
                if (progress.cancelled()) return false;
                const int64_t left = rEnd - r0;
                const int64_t rows = std::min(std::clamp<int64_t>(budget / std::max<int64_t>(perRow, 1), 1, left),
                                              sizer->next(left, minRowsFor(span)));
                sizer->start();
                const auto idx = torch::arange(r0, r0 + rows, torch::kInt64);
                auto keep = request.masks.index_select(0, idx.remainder(k)).to(dev).unsqueeze(-1); // (rows, span, 1)
                auto inputs = torch::where(keep, embeds.slice(1, d, len), base.slice(1, d, len));
                KvCache past;
                ForwardOptions fo;
                fo.computeLogits = false;
                if (d > 0) {
                    const auto group = (idx.div(k, "floor") - g0).to(dev);
                    for (size_t l = 0; l < prefixCache.keys.size(); ++l) {
                        past.keys.push_back(prefixCache.keys[l].index_select(0, group));
                        past.values.push_back(prefixCache.values[l].index_select(0, group));
                    }
                    fo.cache = &past;
                }
                auto h = model.forward(inputs, fo).finalHidden; // (rows, span, hidden)
                scores.slice(0, r0, r0 + rows).slice(1, jSplit - c0, c1 - c0).copy_(targetsFrom(h, d, jSplit, c1));
                ++forwardPasses;
                progress.add(rows * span);
                sizer->finish(rows);
                r0 += rows;
            }
        }
        return true;
    });
}

Status checkPromptGroups(const std::vector<std::pair<int64_t, int64_t>>& groups, int64_t n) {
    int64_t at = 0;
    bool ordered = !groups.empty();
    for (const auto& [a, b] : groups) {
        ordered = ordered && a == at && b > a;
        at = b;
    }
    if (!ordered || at != n) {
        return makeError(ErrorCode::InvalidArgument, "the prompt's segments do not cover its " + std::to_string(n) +
                                                         " tokens in order (granularity)");
    }
    return {};
}

FeatureGroups featureGroupsFor(const std::vector<std::pair<int64_t, int64_t>>& promptGroups, int64_t n, int64_t t) {
    FeatureGroups g;
    const int64_t width = std::max<int64_t>(n + t - 1, 0);
    g.featureOf.assign(static_cast<size_t>(width), 0);
    auto add = [&](int64_t a, int64_t b) {
        for (int64_t p = a; p < b && p < width; ++p) g.featureOf[static_cast<size_t>(p)] = g.features();
        g.start.push_back(a);
        g.end.push_back(b);
    };
    if (promptGroups.empty()) {
        for (int64_t p = 0; p < n; ++p) add(p, p + 1);
    } else {
        for (const auto& [a, b] : promptGroups) add(a, b);
    }
    g.promptFeatures = g.features();
    for (int64_t p = n; p < width; ++p) add(p, p + 1);
    return g;
}

MaskScorer groupedScorer(MaskScorer positions, const FeatureLayout& positionLayout, FeatureGroups groups) {
    return MaskScorer::fromRequests([positions = std::move(positions), positionLayout,
                                     groups = std::move(groups)](const ScoreRequest& r, at::Tensor& scores) {
        // The positions of features [from, to), as indices into a mask of features starting at `from`.
        auto expand = [&](const at::Tensor& masks, int64_t from, int64_t to) {
            const int64_t a = groups.start[static_cast<size_t>(from)], b = groups.end[static_cast<size_t>(to - 1)];
            std::vector<int64_t> idx;
            idx.reserve(static_cast<size_t>(b - a));
            for (int64_t p = a; p < b; ++p) idx.push_back(groups.featureOf[static_cast<size_t>(p)] - from);
            return masks.index_select(1, torch::tensor(idx, torch::kInt64));
        };
        ScoreRequest out;
        const int64_t d = r.prefixLength(), len = r.length();
        out.firstColumn = r.firstColumn;
        out.lastColumn = r.lastColumn < 0 ? positionLayout.columns() : r.lastColumn;
        if (d > 0) out.prefixes = expand(r.prefixes, 0, d);
        out.masks = expand(r.masks, d, len);
        return positions(positionLayout, out, scores);
    });
}

at::Tensor spreadOverPositions(const at::Tensor& values, const FeatureGroups& groups) {
    const int64_t width = static_cast<int64_t>(groups.featureOf.size());
    auto index = torch::tensor(groups.featureOf, torch::kInt64);
    auto sizes = torch::zeros({groups.features()}, torch::kFloat64);
    for (int64_t f = 0; f < groups.features(); ++f) {
        sizes[f] = static_cast<double>(groups.end[static_cast<size_t>(f)] - groups.start[static_cast<size_t>(f)]);
    }
    if (width == 0) return torch::zeros({values.size(0), 0}, values.options());
    return values.index_select(1, index) / sizes.index_select(0, index).to(values.dtype()).unsqueeze(0);
}

} // namespace tokenlens::attr
