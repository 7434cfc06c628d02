// occlusion (leave one token out): f_j(X ⊕ Y) − f_j(X ⊕ Y with e_i replaced
// by the baseline). With a granularity (AttributionInput::promptGroups) a
// whole prompt segment is replaced at once, and its drop is spread evenly
// over its tokens; one-token segments give exactly the token-level result. Batched, every column comes from the same perturbed
// pass, and positions before the occluded token are reused from a KV cache
// of the clean sequence; per-step replays Captum (one prefix, one occluded
// token, full logits per forward).
//
// Batched passes: a pass's rows all run from its first feature's position
// (one batch of equal spans on the clean cache), so the features are
// grouped into passes by a cost plan (planPasses: a row recomputes
// unperturbed positions only where a pass of its own would be too small to
// run at the products' rate), and the final hidden states wait for the head
// (PendingScores), which then reads its matrix once for many passes' rows.

#include "attribution/perturbation.h"

#include <limits>

namespace tokenlens::attr {
namespace {

// The clean sequence's cache up to position i0, viewed (not copied) for a
// pass of `rows` perturbed rows.
KvCache cleanPrefixFor(const KvCache& clean, int64_t i0, int64_t rows) {
    KvCache past;
    for (size_t l = 0; l < clean.keys.size(); ++l) {
        past.keys.push_back(clean.keys[l].slice(2, 0, i0).expand({rows, -1, -1, -1}));
        past.values.push_back(clean.values[l].slice(2, 0, i0).expand({rows, -1, -1, -1}));
    }
    return past;
}

// A pass's fixed cost in positions' worth of work: reading the weights
// (a pass of few positions runs below the products' rate), dispatching its
// operations, the cache views. Measured on GPT-2 small (one row of 7 to
// 135 positions against batches of 4 × 135, float32 and bfloat16): a pass
// takes about (positions + 20 to 30) × the time of one position.
constexpr double kPassOverheadPositions = 24;
constexpr int64_t kMaxPassRows = 512;

// The passes of features starting at `starts` (in order) over positions
// 0..width-1: for each feature f, the end (exclusive) of the pass that
// begins at f in the best plan of features f.. (so a pass cut short by
// time continues from a valid entry). A pass of rows
// f..g-1 runs every row from starts[f]; its cost is taken as
// rows × a row's cost + the overhead, a row's cost being
// its positions plus its attention scores (in positions' worth of
// products), and the plan minimises the sum (dynamic programming over the
// ordered features). Rows per pass are held to `budget` bytes at
// `bytesPerPosition` of activations each.
std::vector<int64_t> planPasses(const ModelConfig& c, const std::vector<int64_t>& starts, int64_t width,
                                int64_t bytesPerPosition, int64_t budget) {
    const auto features = static_cast<int64_t>(starts.size());
    const double h = static_cast<double>(c.hiddenSize);
    const double qDim = static_cast<double>(c.numHeads * c.headDim), kvDim = static_cast<double>(c.numKvHeads * c.headDim);
    const double mlpMats = c.family == ArchFamily::Gpt2 ? 2.0 : 3.0; // gated MLPs have three matrices
    const double body = h * qDim + 2 * h * kvDim + qDim * h + mlpMats * h * static_cast<double>(c.intermediateSize);
    const double perKey = body > 0 ? 2 * qDim / body : 0; // q·k and p·v of one (query, key) pair, in positions
    const auto w = static_cast<double>(width);
    auto rowCost = [&](int64_t i0) {
        const auto a = static_cast<double>(i0);
        return (w - a) + perKey * (w * (w + 1) - a * (a + 1)) / 2;
    };
    std::vector<double> best(static_cast<size_t>(features) + 1, 0);
    std::vector<int64_t> end(static_cast<size_t>(features), 0);
    for (int64_t f = features - 1; f >= 0; --f) {
        const int64_t span = std::max<int64_t>(width - starts[static_cast<size_t>(f)], 1);
        const int64_t fit = budget / std::max<int64_t>(span * bytesPerPosition, 1);
        const int64_t most = std::clamp<int64_t>(fit, 1, std::min(kMaxPassRows, features - f));
        const double row = rowCost(starts[static_cast<size_t>(f)]);
        double b = std::numeric_limits<double>::infinity();
        for (int64_t r = 1; r <= most; ++r) {
            const double cost = static_cast<double>(r) * row + kPassOverheadPositions + best[static_cast<size_t>(f + r)];
            if (cost < b) {
                b = cost;
                end[static_cast<size_t>(f)] = f + r;
            }
        }
        best[static_cast<size_t>(f)] = b;
    }
    return end;
}

// Logits one head call may hold: scored rows are batched up to this (the
// allocator then reuses the same memory instead of touching fresh pages).
constexpr int64_t kHeadLogitBytes = int64_t{24} << 20;

// Final hidden rows waiting for the head: score row s, column j holds
// f_j of the pass that row s stands for (row 0: the clean sequence). Rows
// of many passes are scored together, so the head's matrix (the whole
// vocabulary for a probability) is read once per kHeadLogitBytes of
// logits instead of once per pass; each row's score is what scoring it
// alone computes, up to the products' blocking.
class PendingScores {
public:
    PendingScores(const CausalLM& model, const Sequence& seq, TargetFn fn, int64_t features)
        : m_model(model), m_seq(seq), m_fn(fn), m_scores(torch::zeros({features + 1, seq.t}, seq.embeds.options())),
          m_maxRows(std::max<int64_t>(
              {int64_t{1}, seq.t, kHeadLogitBytes / std::max<int64_t>(4 * model.config().vocabSize, 1)})) {}

    // h (rows, span, hidden) holds positions from..from+span-1 of `rows`
    // passes; row k's columns firsts[k]..t-1 go to score row slots[k].
    void add(const at::Tensor& h, int64_t from, const std::vector<int64_t>& slots, const std::vector<int64_t>& firsts) {
        const int64_t span = h.size(1), t = m_seq.t;
        std::vector<int64_t> at, columns;
        for (size_t k = 0; k < slots.size(); ++k) {
            for (int64_t j = firsts[k]; j < t; ++j) {
                at.push_back(static_cast<int64_t>(k) * span + m_seq.position(j) - from);
                columns.push_back(j);
                m_dest.push_back(slots[k] * t + j);
            }
        }
        if (at.empty()) return;
        const auto dev = h.device();
        m_hidden.push_back(h.reshape({-1, h.size(2)}).index_select(0, torch::tensor(at, torch::kInt64).to(dev)));
        m_columns.push_back(torch::tensor(columns, torch::kInt64).to(dev));
        m_pending += static_cast<int64_t>(at.size());
        if (m_pending >= 2 * m_maxRows) flush(false);
    }

    // (features + 1, t): every row added so far scored.
    const at::Tensor& scores() {
        flush(true);
        return m_scores;
    }

private:
    // Scores the pending rows in calls of m_maxRows; without `all` a last
    // partial call waits for more rows, with it the rows left are split
    // evenly (a call of a few rows reads the whole head for little work).
    void flush(bool all) {
        if (m_pending == 0) return;
        auto h = m_hidden.size() == 1 ? m_hidden[0] : torch::cat(m_hidden);
        auto columns = m_columns.size() == 1 ? m_columns[0] : torch::cat(m_columns);
        const auto targets = m_seq.targets().index_select(0, columns);
        const auto contrasts = m_seq.contrasts.defined() ? m_seq.contrasts.index_select(0, columns) : at::Tensor();
        const auto dest = torch::tensor(m_dest, torch::kInt64).to(m_scores.device());
        auto flat = m_scores.view({-1});
        const int64_t calls = (m_pending + m_maxRows - 1) / m_maxRows;
        const int64_t step = all ? (m_pending + calls - 1) / calls : m_maxRows;
        int64_t r = 0;
        for (; r < m_pending && (all || m_pending - r >= m_maxRows); r += step) {
            const int64_t e = std::min(m_pending, r + step);
            auto f = targetValues(m_model, h.slice(0, r, e), targets.slice(0, r, e), m_fn,
                                  contrasts.defined() ? contrasts.slice(0, r, e) : at::Tensor());
            flat.index_copy_(0, dest.slice(0, r, e), f.to(m_scores.scalar_type()));
        }
        m_hidden.clear();
        m_columns.clear();
        if (r < m_pending) { // the rest waits
            m_hidden.push_back(h.slice(0, r));
            m_columns.push_back(columns.slice(0, r));
        }
        m_dest.erase(m_dest.begin(), m_dest.begin() + std::min<int64_t>(r, m_pending));
        m_pending = std::max<int64_t>(m_pending - r, 0);
    }

    const CausalLM& m_model;
    const Sequence& m_seq;
    TargetFn m_fn;
    at::Tensor m_scores;
    int64_t m_maxRows;
    std::vector<at::Tensor> m_hidden, m_columns;
    std::vector<int64_t> m_dest;
    int64_t m_pending = 0;
};

class Occlusion final : public NamedMethod {
public:
    Occlusion()
        : NamedMethod("occlusion", "How much the output token's score drops when one input token's embedding "
                                   "is replaced by the baseline.") {}

    std::vector<OptionSpec> options() const override {
        auto o = targetOptions();
        o.push_back(baselineOption());
        return o;
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& r) const override {
        const int64_t width = n + t - 1;
        if (strategyFrom(r) == Strategy::PerStep) {
            int64_t w = 0;
            for (int64_t j = 0; j < t; ++j) w += (n + j) * (n + j);
            return w + width;
        }
        return width * (width + 1) / 2 + width; // rows i..L-2 for each occluded i, plus the clean pass
    }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        auto made = targetSequenceWithBaseline(input, r);
        if (!made) return made.error();
        const auto& [seq, baseline] = *made;
        std::optional<SerialScope> serial;
        serialForFloat32(serial, *input.model);
        Progress progress(control, input.promptGroups.empty()
                                       ? estimateWork(seq.n, seq.t, r)
                                       : groupedWork(*this, seq.n, static_cast<int64_t>(input.promptGroups.size()),
                                                     seq.t, r));
        const auto fn = targetFnFrom(r);
        MethodOutput out;
        out.targetFn = r["target_fn"];
        torch::NoGradGuard noGrad;
        const int64_t width = seq.length() - 1;
        auto values = torch::zeros({seq.t, width}, seq.embeds.options()); // (t, L-1)
        if (!input.promptGroups.empty()) {
            if (auto st = checkPromptGroups(input.promptGroups, seq.n); !st) return st.error();
        }
        const auto groups = featureGroupsFor(input.promptGroups, seq.n, seq.t);
        const bool ok = strategyFrom(r) == Strategy::PerStep
                            ? perStep(*input.model, seq, groups, baseline, fn, values, progress, out)
                            : batched(*input.model, seq, groups, baseline, fn, memoryBudgetBytes(r), chunkSeconds(r),
                                      values, progress, out);
        if (!ok) {
            out.cancelled = true;
            return out;
        }
        out.matrix = matrixFromColumns(seq, values);
        return out;
    }

private:
    // Passes by planPasses; PendingScores scores the rows of many passes at once.
    static bool batched(const CausalLM& model, const Sequence& seq, const FeatureGroups& groups,
                        const at::Tensor& baseline, TargetFn fn, int64_t budget, double chunkSecs, at::Tensor& values,
                        Progress& progress, MethodOutput& out) {
        const int64_t width = seq.length() - 1;
        const auto& cfg = model.config();
        PendingScores pending(model, seq, fn, groups.features());
        // Clean pass: the KV cache of every position, and f_j of every column (score row 0).
        KvCache clean;
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.cache = &clean;
        pending.add(model.forward(seq.embeds.slice(0, 0, width).unsqueeze(0), fo).finalHidden, 0, {0}, {0});
        ++out.forwardPasses;
        progress.add(width);

        const int64_t features = groups.features();
        const auto firstColumn = [&](int64_t f) { // the first column feature f can change
            return std::max<int64_t>(0, groups.start[static_cast<size_t>(f)] - (seq.n - 1));
        };
        const auto plan = planPasses(cfg, groups.start, width, activationBytesPerToken(cfg, width) / 4, budget);
        // A pass's size in positions (rows × span) is also held to chunk_seconds, so a cancel is seen promptly.
        ChunkSizer sizer(chunkSecs, kMinPositionsPerPass);
        int64_t f0 = 0;
        while (f0 < features) {
            if (progress.cancelled()) return false;
            const int64_t i0 = groups.start[static_cast<size_t>(f0)];
            const int64_t span = width - i0;
            const int64_t planned = plan[static_cast<size_t>(f0)] - f0;
            const int64_t units = sizer.next(planned * span, kMinPositionsPerPass);
            const int64_t rows = std::clamp<int64_t>(units / span, 1, planned);
            sizer.start();
            auto inputs = seq.embeds.slice(0, i0, width).unsqueeze(0).repeat({rows, 1, 1}); // (rows, span, hidden)
            std::vector<int64_t> slots, firsts;
            for (int64_t k = 0; k < rows; ++k) {
                const int64_t a = groups.start[static_cast<size_t>(f0 + k)], b = groups.end[static_cast<size_t>(f0 + k)];
                inputs[k].slice(0, a - i0, b - i0).copy_(baseline.slice(0, a, b));
                slots.push_back(f0 + k + 1);
                firsts.push_back(firstColumn(f0 + k));
            }
            KvCache past = cleanPrefixFor(clean, i0, rows);
            ForwardOptions po;
            po.computeLogits = false;
            po.cache = i0 > 0 ? &past : nullptr;
            pending.add(model.forward(inputs, po).finalHidden, i0, slots, firsts); // (rows, span, hidden)
            ++out.forwardPasses;
            progress.add(rows * span);
            sizer.finish(rows * span);
            f0 += rows;
        }
        // drop = f_j(clean) − f_j(feature replaced), spread evenly over the feature's tokens.
        const auto scores = pending.scores(); // (features + 1, t)
        const auto base = scores[0];
        for (int64_t f = 0; f < features; ++f) {
            const int64_t a = groups.start[static_cast<size_t>(f)], b = groups.end[static_cast<size_t>(f)];
            const int64_t j0 = firstColumn(f);
            if (j0 >= seq.t) continue;
            auto drop = base.slice(0, j0) - scores[f + 1].slice(0, j0); // (t')
            auto share = b - a == 1 ? drop : drop / static_cast<double>(b - a);
            values.slice(0, j0).slice(1, a, b).copy_(share.unsqueeze(1).expand({seq.t - j0, b - a}));
        }
        return true;
    }

    static bool perStep(const CausalLM& model, const Sequence& seq, const FeatureGroups& groups,
                        const at::Tensor& baseline, TargetFn fn, at::Tensor& values, Progress& progress,
                        MethodOutput& out) {
        const auto targets = seq.targets().to(torch::kCPU);
        for (int64_t j = 0; j < seq.t; ++j) {
            const int64_t len = seq.position(j) + 1;
            const auto target = torch::full({1}, targets[j].item<int64_t>(), torch::kInt64).to(seq.ids.device());
            const auto contrast = seq.contrasts.defined() ? seq.contrasts.slice(0, j, j + 1) : at::Tensor();
            auto score = [&](const at::Tensor& embeds) {
                auto logits = model.forward(embeds.unsqueeze(0), {}).logits.squeeze(0)[-1].unsqueeze(0); // (1, vocab)
                ++out.forwardPasses;
                return targetFromLogits(logits, target, fn, contrast).item<double>();
            };
            auto prefix = seq.embeds.slice(0, 0, len);
            const double clean = score(prefix);
            for (int64_t f = 0; f < groups.features() && groups.start[static_cast<size_t>(f)] < len; ++f) {
                if (progress.cancelled()) return false;
                const int64_t a = groups.start[static_cast<size_t>(f)], b = groups.end[static_cast<size_t>(f)];
                auto perturbed = prefix.clone();
                perturbed.slice(0, a, b).copy_(baseline.slice(0, a, b));
                values[j].slice(0, a, b).fill_((clean - score(perturbed)) / static_cast<double>(b - a));
                progress.add(len);
            }
        }
        return true;
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(Occlusion, occlusionMethod)

} // namespace tokenlens::attr
