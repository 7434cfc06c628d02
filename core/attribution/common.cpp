#include "attribution/common.h"

#include "model/compute_dtype.h"
#include "model/layers.h"
#include "model/serial_scope.h"
#include "util/memory.h"

#include <atomic>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace tokenlens::attr {

TargetFn targetFnFrom(const nlohmann::json& r) {
    const auto s = r.value("target_fn", std::string("probability"));
    if (s == "log_probability") return TargetFn::LogProbability;
    if (s == "logit") return TargetFn::Logit;
    if (s == "contrast_probability_diff") return TargetFn::ContrastProbabilityDiff;
    if (s == "contrast_logit_diff") return TargetFn::ContrastLogitDiff;
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
    // 0 (the default): TOKENLENS_MEMORY_BUDGET_MB, else free memory minus a margin (util/memory.h).
    return memoryBudgetBytesFor(r.value("memory_budget_mb", 0.0));
}

double chunkSeconds(const nlohmann::json& r) { return r.value("chunk_seconds", kDefaultChunkSeconds); }

std::vector<OptionSpec> targetFnOptions() {
    return {
        {"target_fn", "choice", "probability", {}, {},
         {"probability", "log_probability", "logit", "contrast_probability_diff", "contrast_logit_diff"},
         "what is attributed: the output token's probability, its log-probability, its logit, or (contrastive) "
         "p(y) - p(c) or logit(y) - logit(c) against the alternative c of contrast_token or contrast_text"},
        {"contrast_token", "int", -1, -1, {}, {},
         "the alternative token id c of a contrastive target_fn, the same for every output token (-1: none)"},
        {"contrast_text", "text", "", {}, {}, {},
         "the alternative of a contrastive target_fn as text, tokenized without special tokens: one token is "
         "the alternative of every output token, k tokens the alternatives of the k output tokens in order"},
    };
}

std::vector<OptionSpec> targetOptions() {
    auto o = targetFnOptions();
    std::vector<OptionSpec> rest = {
        {"strategy", "choice", "batched", {}, {}, {"batched", "per_step"},
         "batched: many columns per pass (fast); per_step: one column per pass on its own prefix, as Inseq (its "
         "integration steps or samples in that pass, as Captum batches them)"},
        {"memory_budget_mb", "number", 0, 0, 1 << 20, {},
         "memory the activations of one batched pass may take; larger jobs are split into chunks. 0: "
         "TOKENLENS_MEMORY_BUDGET_MB if set, else the memory available (MemAvailable) minus the larger of 1 GiB "
         "and 1/8 of RAM"},
        {"chunk_seconds", "number", kDefaultChunkSeconds, 0.005, 3600, {},
         "time one batched pass aims at; a cancel is seen between passes: smaller stops sooner, larger puts "
         "more rows in each pass (faster on large models)"},
    };
    o.insert(o.begin() + 1, rest.begin(), rest.end());
    return o;
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

Result<Sequence> makeTargetSequence(const AttributionInput& input, const nlohmann::json& r) {
    Sequence s = makeSequence(input);
    const auto fn = targetFnFrom(r);
    if (fn != TargetFn::ContrastProbabilityDiff && fn != TargetFn::ContrastLogitDiff) return s;
    const std::string fnName = r.value("target_fn", std::string());
    const int64_t token = r.value("contrast_token", int64_t{-1});
    const std::string text = r.value("contrast_text", std::string());
    const int64_t vocab = input.model->config().vocabSize;
    std::vector<int64_t> ids;
    if (token >= 0) {
        ids.assign(static_cast<size_t>(s.t), token);
    } else if (!text.empty()) {
        const auto k = static_cast<int64_t>(input.contrastIds.size());
        if (k == 0) {
            return makeError(ErrorCode::InvalidArgument,
                             "option 'contrast_text' was not tokenized (it needs the model's tokenizer): run the job "
                             "through the engine, or give 'contrast_token'");
        }
        if (k != 1 && k != s.t) {
            return makeError(ErrorCode::InvalidArgument,
                             "option 'contrast_text' is " + std::to_string(k) + " tokens but the output has " +
                                 std::to_string(s.t) +
                                 ": give a text of one token (the alternative of every output token) or of exactly " +
                                 std::to_string(s.t) + " (one alternative per output token)");
        }
        for (int64_t j = 0; j < s.t; ++j) ids.push_back(input.contrastIds[static_cast<size_t>(k == 1 ? 0 : j)]);
    } else {
        return makeError(ErrorCode::InvalidArgument, "target_fn '" + fnName +
                                                         "' needs the alternative token: option 'contrast_token' "
                                                         "(a token id) or 'contrast_text'");
    }
    for (int64_t id : ids) {
        if (id < 0 || id >= vocab) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string("option '") + (token >= 0 ? "contrast_token" : "contrast_text") + "' gives id " +
                                 std::to_string(id) + " but the model's vocabulary has ids 0.." +
                                 std::to_string(vocab - 1));
        }
    }
    s.contrasts = torch::tensor(ids, torch::kInt64).to(s.ids.device());
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

namespace {

bool isContrast(TargetFn fn) { return fn == TargetFn::ContrastProbabilityDiff || fn == TargetFn::ContrastLogitDiff; }

void requireContrasts(TargetFn fn, const at::Tensor& contrasts, const at::Tensor& targets) {
    if (!isContrast(fn)) return;
    if (!contrasts.defined() || contrasts.sizes() != targets.sizes()) {
        throw std::invalid_argument("a contrastive target_fn needs one alternative token per target "
                                    "(this method does not support contrastive targets)");
    }
}

} // namespace

at::Tensor targetValues(const CausalLM& model, const at::Tensor& h, const at::Tensor& targets, TargetFn fn,
                        const at::Tensor& contrasts) {
    requireContrasts(fn, contrasts, targets);
    // A final logit softcap (Gemma) lives in lmHead: take logits from there.
    if (model.config().finalLogitSoftcap) return targetFromLogits(model.lmHead(h), targets, fn, contrasts);
    if (fn == TargetFn::Logit) {
        // logits[y] = h · W[y]: one head row per target, not the whole vocabulary.
        // Rows in h's dtype: a head stored narrower (mapped bfloat16) is converted row by row.
        return (h * model.headMatrix().index_select(0, targets).to(h.scalar_type())).sum(-1);
    }
    if (fn == TargetFn::ContrastLogitDiff) {
        const auto& w = model.headMatrix();
        return (h * (w.index_select(0, targets).to(h.scalar_type()) - w.index_select(0, contrasts).to(h.scalar_type())))
            .sum(-1);
    }
    return targetFromLogits(model.lmHead(h), targets, fn, contrasts);
}

at::Tensor targetFromLogits(const at::Tensor& logits, const at::Tensor& targets, TargetFn fn,
                            const at::Tensor& contrasts) {
    requireContrasts(fn, contrasts, targets);
    auto pick = [&](const at::Tensor& m, const at::Tensor& ids) { return m.gather(1, ids.unsqueeze(1)).squeeze(1); };
    switch (fn) {
    case TargetFn::Logit: return pick(logits, targets);
    case TargetFn::ContrastLogitDiff: return pick(logits, targets) - pick(logits, contrasts);
    case TargetFn::ContrastProbabilityDiff: {
        auto logp = torch::log_softmax(logits, -1);
        return pick(logp, targets).exp() - pick(logp, contrasts).exp();
    }
    case TargetFn::LogProbability: return pick(torch::log_softmax(logits, -1), targets);
    case TargetFn::Probability: break;
    }
    return pick(torch::log_softmax(logits, -1), targets).exp();
}

void serialForFloat32(std::optional<SerialScope>& scope, const CausalLM& model) {
    if (!scope && computeTypeOf(model) == torch::kFloat32 && float32WantsSerialScope()) scope.emplace();
}

at::Tensor targetsAllColumns(const CausalLM& model, const Sequence& seq, const at::Tensor& embeds, TargetFn fn) {
    torch::NoGradGuard noGrad;
    std::optional<SerialScope> serial;
    serialForFloat32(serial, model);
    ForwardOptions fo;
    fo.computeLogits = false;
    auto out = model.forward(embeds.slice(0, 0, seq.length() - 1).unsqueeze(0), fo);
    auto h = out.finalHidden.squeeze(0).slice(0, seq.n - 1, seq.n - 1 + seq.t); // (t, hidden)
    return targetValues(model, h, seq.targets(), fn, seq.contrasts);
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

MapsKept gradientMapsKept(const CausalLM& model, LrpMode lrp) {
    if (!layers::attentionCoreTakes(lrp, model.config().attnLogitSoftcap.value_or(0))) return {};
    return {static_cast<int64_t>(c10::elementSize(computeTypeOf(model))), true};
}

int64_t activationBytesPerToken(const ModelConfig& c, int64_t seqLen, const MapsKept& maps) {
    // Per layer: ~10 hidden-sized tensors (norms, q/k/v/o, residuals) and 3
    // MLP intermediates (counted in float32), and the attention maps of
    // every head: over every key, or (query blocks, causal) over the keys
    // up to each block's last row, (count + 1) / (2 count) of them for
    // `count` even blocks.
    int64_t keys = seqLen;
    if (maps.causalBlocks && seqLen > 0) {
        const int64_t count = layers::attentionCoreBlockCount(seqLen);
        keys = (seqLen * (count + 1) + 2 * count - 1) / (2 * count);
    }
    const int64_t perLayer = 4 * (10 * c.hiddenSize + 3 * c.intermediateSize) + maps.bytes * c.numHeads * keys;
    return c.numLayers * perLayer + 16 * c.hiddenSize;
}

int64_t cotangentBytes(const ModelConfig& c, int64_t width, const MapsKept& maps) {
    const int64_t hidden = 4 * width * (2 * (10 * c.hiddenSize + 3 * c.intermediateSize) + 2 * c.hiddenSize);
    if (!maps.causalBlocks || width <= 0) return hidden + 4 * width * 2 * 3 * c.numHeads * width;
    // The node's backward (model/attention_core.cpp): per cotangent its
    // rows of gOut and gQ, gK and gV summed in float32 over the blocks and
    // converted back (at most eight values per head, key and head dimension,
    // at 4 bytes), and one query block's score gradients in the compute
    // dtype.
    const int64_t blocks = layers::attentionCoreBlockCount(width);
    const int64_t rows = (width + blocks - 1) / blocks;
    const int64_t headDim = c.headDim > 0 ? c.headDim : c.hiddenSize / std::max<int64_t>(c.numHeads, 1);
    return hidden + 4 * 8 * c.numHeads * width * headDim + 2 * maps.bytes * c.numHeads * rows * width;
}

Status gradientMemoryFits(const ModelConfig& c, int64_t positions, std::optional<int64_t> availableBytes,
                          bool blockByBlock, const MapsKept& maps) {
    if (!availableBytes || positions <= 0) return {};
    const double head = 8.0 * static_cast<double>(c.vocabSize);
    const double need = blockByBlock ? static_cast<double>(blockByBlockMinBytes(c, positions, maps)) + head
                                     : static_cast<double>(positions) *
                                               static_cast<double>(activationBytesPerToken(c, positions, maps)) +
                                           head;
    if (need <= static_cast<double>(*availableBytes)) return {};
    char msg[512];
    std::snprintf(msg, sizeof msg,
                  "a gradient pass over these %lld token positions needs about %.1f GB of activations (%s of %lld "
                  "heads included), more than the %.1f GB of memory available: shorten the input (fewer tokens, or "
                  "a context window), or use a method without gradients (attention, occlusion at sentence or "
                  "paragraph granularity, context_cite)",
                  static_cast<long long>(positions), need / 1e9,
                  blockByBlock ? "one layer at a time, its attention maps" : "the attention maps of every layer",
                  static_cast<long long>(c.numHeads), static_cast<double>(*availableBytes) / 1e9);
    return makeError(ErrorCode::InvalidArgument, msg);
}

Status gradientMemoryFits(const CausalLM& model, const Sequence& seq, bool blockByBlock, LrpMode lrp) {
    const auto info = readMemInfo();
    return gradientMemoryFits(model.config(), seq.length() - 1,
                              info ? std::optional<int64_t>(info->availableBytes) : std::nullopt, blockByBlock,
                              gradientMapsKept(model, lrp));
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

// The logits of final hidden states h (B, hidden) under the LRP rules: a
// final softcap cap·tanh(z/cap) is an element-wise activation (identity rule).
at::Tensor lrpLogits(const CausalLM& model, const at::Tensor& h) {
    auto raw = torch::matmul(h, model.headMatrix().t().to(h.scalar_type())); // a head stored narrower: converted
    const double cap = *model.config().finalLogitSoftcap;
    auto rd = raw.detach();
    auto capped = torch::tanh(rd / cap) * cap;
    auto ratio = torch::where(rd != 0, capped / rd, torch::zeros_like(rd));
    return capped + (raw - rd) * ratio;
}

bool lrpSoftcap(const CausalLM& model, LrpMode lrp) {
    return lrp != LrpMode::Off && model.config().finalLogitSoftcap.has_value();
}

// One forward/backward over `rows` batch rows cut to `len` tokens; returns the
// input gradients (rows, len, hidden) weighted per row.
at::Tensor gradientPass(const CausalLM& model, const at::Tensor& inputs, const at::Tensor& positions,
                        const at::Tensor& targets, const at::Tensor& contrasts, const at::Tensor& weights, TargetFn fn,
                        bool fullLogits, LrpMode lrp) {
    auto x = inputs.detach().requires_grad_(true); // (B, len, hidden)
    ForwardOptions fo;
    fo.computeLogits = fullLogits && !lrpSoftcap(model, lrp);
    fo.lrp = lrp;
    auto out = model.forward(x, fo);
    const auto rowIdx = torch::arange(x.size(0), torch::kInt64).to(x.device());
    at::Tensor f;
    if (fo.computeLogits) {
        // Inseq's way: logits at every position, then the target's position.
        auto logits = out.logits.index({rowIdx, positions}); // (B, vocab)
        f = targetFromLogits(logits, targets, fn, contrasts);
    } else {
        f = passTargets(model, out.finalHidden.index({rowIdx, positions}), targets, contrasts, fn, lrp); // (B)
    }
    auto grads = torch::autograd::grad({(f * weights).sum()}, {x});
    return grads[0];
}

std::atomic<GradientForward> g_gradientForward{GradientForward::Shared};

// The per-step strategy's passes over `sorted` (items ordered by column):
// the end of each pass. Captum's IntegratedGradients and GradientShap run all
// the steps (samples) of one attribution call (Inseq: one column) in one
// forward/backward (internal_batch_size=None), so each column's items are one
// pass, whatever chunk_seconds says; split only when that pass (the
// activations kept for backward and the full logits with their gradient)
// would not fit the memory budget, then into passes of even size (like
// Captum's internal_batch_size).
std::vector<size_t> perStepPassEnds(const Sequence& seq, const ModelConfig& cfg, const std::vector<GradientItem>& sorted,
                                    int64_t budget, const MapsKept& maps) {
    std::vector<size_t> ends;
    size_t begin = 0;
    while (begin < sorted.size()) {
        size_t runEnd = begin;
        while (runEnd < sorted.size() && sorted[runEnd].column == sorted[begin].column) ++runEnd;
        const int64_t len = seq.position(sorted[begin].column) + 1;
        const int64_t rowBytes = len * (activationBytesPerToken(cfg, len, maps) + 8 * cfg.vocabSize);
        const auto count = static_cast<int64_t>(runEnd - begin);
        const int64_t fit = std::clamp<int64_t>(budget / std::max<int64_t>(rowBytes, 1), 1, count);
        const int64_t passes = (count + fit - 1) / fit;
        for (int64_t k = 1; k <= passes; ++k) ends.push_back(begin + static_cast<size_t>(evenSplit(count, passes, k)));
        begin = runEnd;
    }
    return ends;
}

} // namespace

void setGradientForward(GradientForward path) { g_gradientForward = path; }
GradientForward gradientForward() { return g_gradientForward; }

at::Tensor passTargets(const CausalLM& model, const at::Tensor& h, const at::Tensor& targets,
                       const at::Tensor& contrasts, TargetFn fn, LrpMode lrp) {
    if (lrpSoftcap(model, lrp)) return targetFromLogits(lrpLogits(model, h), targets, fn, contrasts);
    return targetValues(model, h, targets, fn, contrasts);
}

Result<ColumnGradients> columnGradients(const AttributionInput& input, const nlohmann::json& r,
                                        const RunControl& control, MethodOutput& out, const GradientExtras& extras) {
    auto made = makeTargetSequence(input, r);
    if (!made) return made.error();
    ColumnGradients cg{std::move(*made), {}};
    const Sequence& seq = cg.seq;
    Progress progress(control, columnGradientWork(seq.n, seq.t));
    std::vector<GradientItem> items;
    for (int64_t j = 0; j < seq.t; ++j) items.push_back({j, 1.0, 1.0});
    auto sums = gradientPasses(input, seq, torch::zeros_like(seq.embeds), items, r, progress, out, extras);
    if (!sums) return sums.error();
    cg.grads = std::move(sums->grads);
    return cg;
}

std::optional<int64_t> attentionProbsLayer(const std::string& name) {
    static const std::string prefix = "layers.";
    if (!name.starts_with(prefix) || !name.ends_with(".attn.probs")) return std::nullopt;
    return std::stoll(name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size()));
}

Result<GradientSums> gradientPasses(const AttributionInput& input, const Sequence& seq, const at::Tensor& baseline,
                                    const std::vector<GradientItem>& items, const nlohmann::json& resolved,
                                    Progress& progress, MethodOutput& out, const GradientExtras& extras) {
    const bool blockByBlock = strategyFrom(resolved) == Strategy::Batched &&
                              gradientForward() == GradientForward::Shared && itemsShareInputs(items, extras);
    if (auto fits = gradientMemoryFits(*input.model, seq, blockByBlock, extras.lrp); !fits) return fits.error();
    auto sums = accumulateGradients(*input.model, seq, baseline, items, targetFnFrom(resolved), strategyFrom(resolved),
                                    memoryBudgetBytes(resolved), chunkSeconds(resolved), progress, extras);
    out.targetFn = resolved["target_fn"];
    out.reduction = resolved["reduction"];
    out.forwardPasses = sums.forwardPasses;
    out.cancelled = sums.cancelled;
    return sums;
}

GradientSums accumulateGradients(const CausalLM& model, const Sequence& seq, const at::Tensor& baseline,
                                 const std::vector<GradientItem>& items, TargetFn fn, Strategy strategy,
                                 int64_t budget, double chunkSecs, Progress& progress, const GradientExtras& extras) {
    torch::AutoGradMode enableGrad(true);
    std::optional<SerialScope> serial;
    serialForFloat32(serial, model);
    const int64_t width = seq.length() - 1; // the last token is never an input
    const int64_t hidden = seq.embeds.size(1);
    GradientSums out;
    out.grads = torch::zeros({seq.t, width, hidden}, seq.embeds.options());
    if (seq.t == 0 || items.empty()) return out;

    const bool perStep = strategy == Strategy::PerStep;
    if (!perStep && gradientForward() == GradientForward::Shared) {
        if (auto shared = sharedForwardGradients(model, seq, baseline, items, fn, budget, chunkSecs, progress, extras)) {
            return std::move(*shared);
        }
    }
    std::vector<GradientItem> sorted = items;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.column < b.column; });
    const auto& cfg = model.config();
    const auto delta = (seq.embeds - baseline).slice(0, 0, width); // (width, hidden)
    const auto base = baseline.slice(0, 0, width);

    // Per step: where each pass ends (perStepPassEnds).
    const auto maps = gradientMapsKept(model, extras.lrp);
    const std::vector<size_t> stepEnds = perStep ? perStepPassEnds(seq, cfg, sorted, budget, maps) : std::vector<size_t>{};
    auto stepEnd = stepEnds.begin();
    ChunkSizer sizer(chunkSecs);
    size_t begin = 0;
    while (begin < sorted.size()) {
        if (progress.cancelled()) {
            out.cancelled = true;
            return out;
        }
        size_t end = begin + 1;
        int64_t len = seq.position(sorted[begin].column) + 1;
        if (perStep) {
            end = *stepEnd++;
        } else {
            // Grow the chunk while it fits the budget and the time per chunk.
            const auto maxRows = static_cast<size_t>(
                sizer.next(static_cast<int64_t>(sorted.size() - begin), minRowsFor(len)));
            while (end < sorted.size() && end - begin < maxRows) {
                const int64_t newLen = std::max(len, seq.position(sorted[end].column) + 1);
                const auto rows = static_cast<int64_t>(end - begin + 1);
                const int64_t bytes = rows * (newLen * activationBytesPerToken(cfg, newLen, maps) + 8 * cfg.vocabSize);
                if (bytes > budget) break;
                len = newLen;
                ++end;
            }
        }
        sizer.start();
        const auto rows = static_cast<int64_t>(end - begin);
        std::vector<double> alphas, weights;
        std::vector<int64_t> columns, positions, targets, contrasts, noises;
        const auto targetIds = seq.targets().to(torch::kCPU);
        const auto contrastIds = seq.contrasts.defined() ? seq.contrasts.to(torch::kCPU) : at::Tensor();
        bool noisy = false;
        for (size_t k = begin; k < end; ++k) {
            alphas.push_back(sorted[k].alpha);
            weights.push_back(sorted[k].weight);
            columns.push_back(sorted[k].column);
            positions.push_back(seq.position(sorted[k].column));
            targets.push_back(targetIds[sorted[k].column].item<int64_t>());
            if (contrastIds.defined()) contrasts.push_back(contrastIds[sorted[k].column].item<int64_t>());
            noises.push_back(sorted[k].noise);
            noisy = noisy || (sorted[k].noise >= 0 && extras.noise.defined());
        }
        const auto dev = seq.embeds.device();
        auto alpha = torch::tensor(alphas, torch::kFloat64).to(torch::kFloat32).to(dev).view({rows, 1, 1});
        // (rows or 1, len, hidden): the input minus the baseline of each row.
        at::Tensor rowDelta = delta.slice(0, 0, len).unsqueeze(0);
        if (noisy) {
            std::vector<at::Tensor> parts;
            for (int64_t k : noises) {
                parts.push_back(k >= 0 ? extras.noise[k].slice(0, 0, len) : torch::zeros_like(delta.slice(0, 0, len)));
            }
            rowDelta = rowDelta + torch::stack(parts);
        }
        auto inputs = base.slice(0, 0, len).unsqueeze(0) + alpha * rowDelta;
        auto g = gradientPass(model, inputs, torch::tensor(positions).to(dev), torch::tensor(targets).to(dev),
                              contrasts.empty() ? at::Tensor() : torch::tensor(contrasts).to(dev),
                              torch::tensor(weights, torch::kFloat64).to(torch::kFloat32).to(dev), fn, perStep,
                              extras.lrp);
        if (extras.timesDelta) g = g * rowDelta;
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

std::vector<OptionSpec> gradientOptions() {
    auto o = targetOptions();
    o.insert(o.begin() + 1, reductionOption());
    return o;
}

Result<BaselinedSequence> targetSequenceWithBaseline(const AttributionInput& input, const nlohmann::json& resolved) {
    auto made = makeTargetSequence(input, resolved);
    if (!made) return made.error();
    auto baseline = baselineEmbeds(input, *made, resolved);
    if (!baseline) return baseline.error();
    return BaselinedSequence{std::move(made.value()), std::move(baseline.value())};
}

} // namespace tokenlens::attr
