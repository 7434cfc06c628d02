// occlusion (leave one token out): f_j(X ⊕ Y) − f_j(X ⊕ Y with e_i replaced
// by the baseline). With a granularity (AttributionInput::promptGroups) a
// whole prompt segment is replaced at once, and its drop is spread evenly
// over its tokens; one-token segments give exactly the token-level result. Batched, every column comes from the same perturbed
// pass, and positions before the occluded token are reused from a KV cache
// of the clean sequence; per-step replays Captum (one prefix, one occluded
// token, full logits per forward).

#include "attribution/perturbation.h"

namespace tokenlens::attr {
namespace {

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
    static bool batched(const CausalLM& model, const Sequence& seq, const FeatureGroups& groups,
                        const at::Tensor& baseline, TargetFn fn, int64_t budget, double chunkSecs, at::Tensor& values,
                        Progress& progress, MethodOutput& out) {
        const int64_t width = seq.length() - 1;
        const auto dev = seq.embeds.device();
        // Clean pass: f_j for every column and the KV cache of every position.
        KvCache clean;
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.cache = &clean;
        auto cleanOut = model.forward(seq.embeds.slice(0, 0, width).unsqueeze(0), fo);
        const auto targets = seq.targets();
        auto positions = torch::arange(seq.n - 1, seq.n - 1 + seq.t, torch::kInt64).to(dev); // (t)
        auto base = targetValues(model, cleanOut.finalHidden.squeeze(0).index_select(0, positions), targets, fn,
                                 seq.contrasts);
        ++out.forwardPasses;
        progress.add(width);

        const auto& cfg = model.config();
        // Bounds a chunk's time too, so a cancel is seen promptly. The first
        // chunk is one row: a row's head covers every column at full
        // vocabulary (tiny-qwen2: 151669), so the default 4 rows took several
        // times the 50 ms target and delayed a cancel by ~300 ms under load.
        ChunkSizer sizer(chunkSecs, 1);
        const int64_t features = groups.features();
        int64_t f0 = 0;
        while (f0 < features) {
            if (progress.cancelled()) return false;
            // Rows f0..f1-1 occlude one feature each and recompute positions i0..width-1.
            const int64_t i0 = groups.start[static_cast<size_t>(f0)];
            const int64_t span = width - i0;
            const int64_t left = features - f0;
            const int64_t perRow = span * activationBytesPerToken(cfg, width) / 4 + seq.t * cfg.vocabSize * 8;
            const int64_t rows = std::min(std::clamp<int64_t>(budget / std::max<int64_t>(perRow, 1), 1, left),
                                          sizer.next(left, minRowsFor(span)));
            sizer.start();
            const int64_t f1 = f0 + rows;
            auto inputs = seq.embeds.slice(0, i0, width).unsqueeze(0).repeat({rows, 1, 1}); // (rows, span, hidden)
            for (int64_t k = 0; k < rows; ++k) {
                const int64_t a = groups.start[static_cast<size_t>(f0 + k)], b = groups.end[static_cast<size_t>(f0 + k)];
                inputs[k].slice(0, a - i0, b - i0).copy_(baseline.slice(0, a, b));
            }
            KvCache past;
            for (size_t l = 0; l < clean.keys.size(); ++l) {
                past.keys.push_back(clean.keys[l].slice(2, 0, i0).expand({rows, -1, -1, -1}));
                past.values.push_back(clean.values[l].slice(2, 0, i0).expand({rows, -1, -1, -1}));
            }
            ForwardOptions po;
            po.computeLogits = false;
            po.cache = i0 > 0 ? &past : nullptr;
            auto h = model.forward(inputs, po).finalHidden; // (rows, span, hidden)
            ++out.forwardPasses;
            // Columns whose position p_j >= i0 are inside the recomputed span.
            const int64_t jFirst = std::max<int64_t>(0, i0 - (seq.n - 1));
            if (jFirst < seq.t) {
                auto cols = positions.slice(0, jFirst) - i0; // positions within the span
                auto hj = h.index_select(1, cols);            // (rows, t', hidden)
                const int64_t tj = cols.size(0);
                auto f = targetValues(model, hj.reshape({rows * tj, -1}), targets.slice(0, jFirst).repeat({rows}), fn,
                                      seq.contrasts.defined() ? seq.contrasts.slice(0, jFirst).repeat({rows})
                                                              : at::Tensor())
                             .view({rows, tj});
                auto drop = base.slice(0, jFirst).unsqueeze(0) - f; // (rows, t')
                for (int64_t k = 0; k < rows; ++k) {
                    const int64_t a = groups.start[static_cast<size_t>(f0 + k)], b = groups.end[static_cast<size_t>(f0 + k)];
                    // A segment's drop spread evenly over its tokens (one token: the drop itself).
                    auto share = b - a == 1 ? drop[k] : drop[k] / static_cast<double>(b - a);
                    values.slice(0, jFirst).slice(1, a, b).copy_(share.unsqueeze(1).expand({tj, b - a}));
                }
            }
            progress.add(rows * span);
            sizer.finish(rows);
            f0 = f1;
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
