#include "attribution/common.h"

#include <limits>

namespace tokenlens::attr {

TargetFn targetFnFrom(const nlohmann::json& r) {
    const auto s = r.value("target_fn", std::string("probability"));
    if (s == "log_probability") return TargetFn::LogProbability;
    if (s == "logit") return TargetFn::Logit;
    return TargetFn::Probability;
}

Reduction reductionFrom(const nlohmann::json& r) {
    const auto s = r.value("reduction", std::string("l2"));
    if (s == "sum") return Reduction::Sum;
    if (s == "mean") return Reduction::Mean;
    return Reduction::L2;
}

Strategy strategyFrom(const nlohmann::json& r) {
    return r.value("strategy", std::string("batched")) == "per_step" ? Strategy::PerStep : Strategy::Batched;
}

int64_t memoryBudgetBytes(const nlohmann::json& r) {
    return static_cast<int64_t>(r.value("memory_budget_mb", 1024.0) * 1024.0 * 1024.0);
}

double chunkSeconds(const nlohmann::json& r) { return r.value("chunk_seconds", kDefaultChunkSeconds); }

std::vector<OptionSpec> targetOptions() {
    return {
        {"target_fn", "choice", "probability", {}, {}, {"probability", "log_probability", "logit"},
         "what is attributed: the output token's probability, its log-probability, or its logit"},
        {"strategy", "choice", "batched", {}, {}, {"batched", "per_step"},
         "batched: many columns per pass (fast); per_step: one column per pass on its own prefix, as Inseq"},
        {"memory_budget_mb", "number", 1024, 16, 1 << 20, {},
         "memory the activations of one batched pass may take; larger jobs are split into chunks"},
        {"chunk_seconds", "number", kDefaultChunkSeconds, 0.005, 3600, {},
         "time one batched pass aims at; a cancel is seen between passes: smaller stops sooner, larger puts "
         "more rows in each pass (faster on large models)"},
    };
}

OptionSpec reductionOption() {
    return {"reduction", "choice", "l2", {}, {}, {"l2", "sum", "mean"},
            "how a token's hidden-size vector becomes one score: L2 norm, signed sum or mean"};
}

OptionSpec baselineOption() {
    return {"baseline", "choice", "zero", {}, {}, {"zero", "unk"},
            "reference input: all-zero embeddings, or the embedding of the unknown token"};
}

Sequence makeSequence(const AttributionInput& input) {
    Sequence s;
    std::vector<int64_t> ids = input.promptIds;
    ids.insert(ids.end(), input.outputIds.begin(), input.outputIds.end());
    s.n = static_cast<int64_t>(input.promptIds.size());
    s.t = static_cast<int64_t>(input.outputIds.size());
    const auto device = input.model->embeddingMatrix().device();
    s.ids = torch::tensor(ids, torch::kInt64).to(device);
    torch::NoGradGuard noGrad;
    s.embeds = input.model->embed(s.ids.unsqueeze(0)).squeeze(0).detach(); // (L, hidden)
    return s;
}

Result<at::Tensor> baselineEmbeds(const AttributionInput& input, const Sequence& seq, const nlohmann::json& r) {
    if (r.value("baseline", std::string("zero")) != "unk") return torch::zeros_like(seq.embeds);
    if (!input.unkBaselineId) {
        return makeError(ErrorCode::InvalidArgument,
                         "baseline 'unk' needs an unk, pad or eos token, and this tokenizer has none: use baseline zero");
    }
    torch::NoGradGuard noGrad;
    auto id = torch::full({1, 1}, *input.unkBaselineId, torch::kInt64).to(seq.ids.device());
    return input.model->embed(id).reshape({1, -1}).expand_as(seq.embeds).contiguous();
}

at::Tensor targetValues(const CausalLM& model, const at::Tensor& h, const at::Tensor& targets, TargetFn fn) {
    if (fn == TargetFn::Logit) {
        // logits[y] = h · W[y]: one head row per target, not the whole vocabulary.
        return (h * model.headMatrix().index_select(0, targets)).sum(-1);
    }
    auto logits = model.lmHead(h); // (B, vocab)
    auto logp = torch::log_softmax(logits, -1).gather(1, targets.unsqueeze(1)).squeeze(1);
    return fn == TargetFn::LogProbability ? logp : logp.exp();
}

at::Tensor targetsAllColumns(const CausalLM& model, const Sequence& seq, const at::Tensor& embeds, TargetFn fn) {
    torch::NoGradGuard noGrad;
    ForwardOptions fo;
    fo.computeLogits = false;
    auto out = model.forward(embeds.slice(0, 0, seq.length() - 1).unsqueeze(0), fo);
    auto h = out.finalHidden.squeeze(0).slice(0, seq.n - 1, seq.n - 1 + seq.t); // (t, hidden)
    return targetValues(model, h, seq.targets(), fn);
}

at::Tensor reduceHidden(const at::Tensor& v, Reduction r) {
    switch (r) {
    case Reduction::Sum: return v.sum(-1);
    case Reduction::Mean: return v.mean(-1);
    case Reduction::L2: break;
    }
    return v.norm(2, -1);
}

AttributionMatrix matrixFromColumns(const Sequence& seq, const at::Tensor& values) {
    auto m = AttributionMatrix::filled(seq.length(), seq.t);
    auto v = values.to(torch::kCPU, torch::kFloat32).contiguous(); // (t, L-1)
    const float* p = v.data_ptr<float>();
    const int64_t width = v.size(1);
    for (int64_t j = 0; j < seq.t; ++j) {
        for (int64_t i = 0; i <= seq.position(j); ++i) m.at(i, j) = p[j * width + i];
    }
    return m;
}

int64_t activationBytesPerToken(const ModelConfig& c, int64_t seqLen) {
    // Per layer: ~10 hidden-sized tensors (norms, q/k/v/o, residuals), 3 MLP
    // intermediates, and the attention scores/probabilities of every head.
    const int64_t perLayer = 10 * c.hiddenSize + 3 * c.intermediateSize + 3 * c.numHeads * seqLen;
    return 4 * (c.numLayers * perLayer + 4 * c.hiddenSize);
}

int64_t ChunkSizer::next(int64_t maxRows, int64_t minRows) const {
    maxRows = std::max<int64_t>(maxRows, 1);
    minRows = std::clamp<int64_t>(minRows, 1, maxRows);
    if (m_lastRows <= 0) return std::clamp<int64_t>(std::max<int64_t>(m_first, minRows), 1, maxRows);
    const double perRow = m_lastSeconds / static_cast<double>(m_lastRows);
    int64_t want = 2 * m_lastRows;
    if (perRow > 0) want = std::min<int64_t>(want, static_cast<int64_t>(m_target / perRow));
    return std::clamp<int64_t>(want, minRows, maxRows);
}

void ChunkSizer::start() { m_start = std::chrono::steady_clock::now(); }

void ChunkSizer::finish(int64_t rows) {
    m_lastRows = std::max<int64_t>(rows, 1);
    m_lastSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
}

void Progress::add(int64_t units) {
    m_done = std::min(m_total, m_done + units);
    if (m_control.progress) m_control.progress(m_done, m_total);
}

namespace {

// One forward/backward over `rows` batch rows cut to `len` tokens; returns the
// input gradients (rows, len, hidden) weighted per row.
at::Tensor gradientPass(const CausalLM& model, const at::Tensor& inputs, const at::Tensor& positions,
                        const at::Tensor& targets, const at::Tensor& weights, TargetFn fn, bool fullLogits) {
    auto x = inputs.detach().requires_grad_(true); // (B, len, hidden)
    ForwardOptions fo;
    fo.computeLogits = fullLogits;
    auto out = model.forward(x, fo);
    const auto rowIdx = torch::arange(x.size(0), torch::kInt64).to(x.device());
    at::Tensor f;
    if (fullLogits) {
        // Inseq's way: logits at every position, then the target's position.
        auto logits = out.logits.index({rowIdx, positions}); // (B, vocab)
        if (fn == TargetFn::Logit) {
            f = logits.gather(1, targets.unsqueeze(1)).squeeze(1);
        } else {
            f = torch::log_softmax(logits, -1).gather(1, targets.unsqueeze(1)).squeeze(1);
            if (fn == TargetFn::Probability) f = f.exp();
        }
    } else {
        f = targetValues(model, out.finalHidden.index({rowIdx, positions}), targets, fn); // (B)
    }
    auto grads = torch::autograd::grad({(f * weights).sum()}, {x});
    return grads[0];
}

} // namespace

GradientSums accumulateGradients(const CausalLM& model, const Sequence& seq, const at::Tensor& baseline,
                                 const std::vector<GradientItem>& items, TargetFn fn, Strategy strategy,
                                 int64_t budget, double chunkSecs, Progress& progress) {
    torch::AutoGradMode enableGrad(true);
    const int64_t width = seq.length() - 1; // the last token is never an input
    const int64_t hidden = seq.embeds.size(1);
    GradientSums out;
    out.grads = torch::zeros({seq.t, width, hidden}, seq.embeds.options());
    if (seq.t == 0 || items.empty()) return out;

    std::vector<GradientItem> sorted = items;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.column < b.column; });
    const auto& cfg = model.config();
    const bool perStep = strategy == Strategy::PerStep;
    const auto delta = (seq.embeds - baseline).slice(0, 0, width); // (width, hidden)
    const auto base = baseline.slice(0, 0, width);

    ChunkSizer sizer(chunkSecs);
    size_t begin = 0;
    while (begin < sorted.size()) {
        if (progress.cancelled()) {
            out.cancelled = true;
            return out;
        }
        // Grow the chunk while it fits the budget and the time per chunk
        // (per-step: one column only).
        const auto maxRows = static_cast<size_t>(sizer.next(
            static_cast<int64_t>(sorted.size() - begin), perStep ? 1 : minRowsFor(seq.position(sorted[begin].column) + 1)));
        sizer.start();
        size_t end = begin + 1;
        int64_t len = seq.position(sorted[begin].column) + 1;
        while (end < sorted.size() && end - begin < maxRows) {
            if (perStep && sorted[end].column != sorted[begin].column) break;
            const int64_t newLen = std::max(len, seq.position(sorted[end].column) + 1);
            const auto rows = static_cast<int64_t>(end - begin + 1);
            const int64_t bytes = rows * (newLen * activationBytesPerToken(cfg, newLen) + 8 * cfg.vocabSize);
            if (!perStep && bytes > budget) break;
            len = newLen;
            ++end;
        }
        const auto rows = static_cast<int64_t>(end - begin);
        std::vector<double> alphas, weights;
        std::vector<int64_t> columns, positions, targets;
        const auto targetIds = seq.targets().to(torch::kCPU);
        for (size_t k = begin; k < end; ++k) {
            alphas.push_back(sorted[k].alpha);
            weights.push_back(sorted[k].weight);
            columns.push_back(sorted[k].column);
            positions.push_back(seq.position(sorted[k].column));
            targets.push_back(targetIds[sorted[k].column].item<int64_t>());
        }
        const auto dev = seq.embeds.device();
        auto alpha = torch::tensor(alphas, torch::kFloat64).to(torch::kFloat32).to(dev).view({rows, 1, 1});
        auto inputs = base.slice(0, 0, len).unsqueeze(0) + alpha * delta.slice(0, 0, len).unsqueeze(0);
        auto g = gradientPass(model, inputs, torch::tensor(positions).to(dev), torch::tensor(targets).to(dev),
                              torch::tensor(weights, torch::kFloat64).to(torch::kFloat32).to(dev), fn, perStep);
        // Rows of the same column add up; rows past p_j carry zero gradient.
        auto colIdx = torch::tensor(columns).to(dev);
        out.grads.slice(1, 0, len).index_add_(0, colIdx, g.detach());
        ++out.forwardPasses;
        int64_t units = 0;
        for (int64_t p : positions) units += 2 * (p + 1);
        progress.add(units);
        sizer.finish(rows);
        begin = end;
    }
    return out;
}

} // namespace tokenlens::attr
