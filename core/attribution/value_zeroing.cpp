// value_zeroing (Mohebbi et al. 2023): for layer l and token i, the block's
// output is recomputed from its clean input with token i's value vectors
// zeroed in every head; position p scores 1 − cos(h_p, h_p^(¬i)). Rows are
// normalised to sum 1 per position and the layers combined by rollout (the
// paper's aggregation; no identity is added, the block output already
// carries the residual), or last_layer's matrix is taken alone.
//
// Each recomputation runs the one block only (ForwardOptions::blocks) from
// the clean pass's hidden states; many tokens are zeroed per pass (one per
// batch row). Zeroing token i changes positions ≥ i only, so a chunk of rows
// zeroing tokens i0.. recomputes positions i0.. with the clean keys and
// values of earlier positions taken from a KV cache; the last layer's
// positions before n − 1 are never needed (no column reads them).

#include "attribution/context_mixing.h"

namespace tokenlens::attr {
namespace {

class ValueZeroing final : public ContextMixingMethod {
public:
    ValueZeroing()
        : ContextMixingMethod("value_zeroing", "How much each layer's output at a position changes (1 − cosine) when "
                                       "one input token's value vectors "
                                       "are zeroed, normalised per position and rolled out across layers.") {}

    std::vector<OptionSpec> options() const override { return decompositionOptions(); }

    // The clean pass, then per computed layer the tokens' recomputations of
    // one block: Σ_i (width − i) positions through 1 of the model's layers
    // (the last layer only positions ≥ n − 1). Without the depth: an upper
    // bound (every layer counted as a full one).
    int64_t runWork(int64_t n, int64_t t, const nlohmann::json& r, int64_t numLayers) const override {
        const double width = static_cast<double>(n + t - 1);
        const double full = width * (width + 1) / 2.0;
        if (numLayers <= 0) return static_cast<int64_t>(width) + static_cast<int64_t>(std::ceil(layerFraction(r) * full));
        const auto computed = computedLayers(r, numLayers);
        if (!computed) return static_cast<int64_t>(width);
        const double tail = width - static_cast<double>(n - 1); // positions n-1 .. width-1
        const double last = static_cast<double>(n - 1) * tail + tail * (tail + 1) / 2.0; // Σ_i (width − max(i, n−1))
        const double units = (static_cast<double>(*computed - 1) * full + last) / static_cast<double>(numLayers);
        return static_cast<int64_t>(width) + static_cast<int64_t>(std::ceil(units - 1e-9));
    }

    Status mix(const MixingRun& run, MethodOutput& out) const override {
        const auto& [input, r, seq, span, width, total, progress] = run;
        FractionalProgress fp(progress);
        KvCache clean;
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.outputHiddenStates = true;
        fo.cache = &clean;
        const auto cleanOut = input.model->forward(seq.embeds.slice(0, 0, width).unsqueeze(0), fo);
        ++out.forwardPasses;
        fp.add(static_cast<double>(width));

        const bool rollout = combineIsRollout(r);
        Rollout product(memoryBudgetBytes(r));
        const int64_t firstLayer = rollout ? span.first : span.last;
        ChunkSizer sizer(chunkSeconds(r), 1);
        for (int64_t l = firstLayer; l <= span.last; ++l) {
            const bool last = l == span.last;
            const int64_t qmin = last ? seq.n - 1 : 0; // first position this layer's matrix needs
            auto scores = layerScores(*input.model, cleanOut, clean, l, qmin, width, memoryBudgetBytes(r), sizer, fp,
                                      out.forwardPasses);
            if (!scores.defined()) {
                out.cancelled = true;
                return {};
            }
            auto c = normalizeRows(scores, qmin); // (width - qmin, width)
            product.addLayer(c, last);
        }
        out.matrix = matrixFromColumns(seq, product.finish());
        fp.finish(total);
        return {};
    }


private:
    // Raw scores S[p - qmin, i] = 1 − cos(h_p, h_p^(¬i)) of layer l for
    // positions p ≥ qmin, i ≤ p (0 elsewhere); undefined when cancelled.
    static at::Tensor layerScores(const CausalLM& model, const ForwardOutput& cleanOut, const KvCache& clean,
                                  int64_t l, int64_t qmin, int64_t width, int64_t budget, ChunkSizer& sizer,
                                  FractionalProgress& fp, int64_t& passes) {
        const auto& cfg = model.config();
        const auto& input = cleanOut.hiddenStates[static_cast<size_t>(l)];      // (1, width, hidden)
        const auto& output = cleanOut.hiddenStates[static_cast<size_t>(l) + 1]; // (1, width, hidden)
        const auto dev = input.device();
        auto scores = torch::zeros({width - qmin, width}, input.options().dtype(torch::kFloat32));
        const int64_t perBlockToken = std::max<int64_t>(activationBytesPerToken(cfg, width) / cfg.numLayers, 1);
        int64_t i0 = 0;
        while (i0 < width) {
            if (fp.cancelled()) return {};
            const int64_t q0 = std::max(i0, qmin); // recomputed positions q0 .. width-1
            const int64_t span = width - q0;
            const int64_t byBudget = std::clamp<int64_t>(budget / (span * perBlockToken), 1, width - i0);
            // Every row of a chunk recomputes positions q0.. although row b
            // needs only i0 + b..: a chunk holds at most ~span/4 rows (or
            // the minimum of a pass) so that this overlap stays small. Long
            // chunks of all 47 rows at once recomputed twice the positions
            // needed and were slower than the default chunks.
            const int64_t cap = std::max(minRowsFor(span), span / 4);
            const int64_t rows = std::min({byBudget, cap, sizer.next(width - i0, minRowsFor(span))});
            sizer.start();
            // Row b zeroes token i0 + b: in the new positions (i ≥ q0) through
            // the value hook, in the cached past (i < q0) directly.
            auto newMask = torch::ones({rows, 1, span, 1}, input.options());
            for (int64_t b = 0; b < rows; ++b) {
                if (i0 + b >= q0) newMask[b][0][i0 + b - q0][0] = 0.0;
            }
            KvCache past;
            if (q0 > 0) {
                const auto li = static_cast<size_t>(l);
                past.keys.resize(li + 1);
                past.values.resize(li + 1);
                past.keys[li] = clean.keys[li].slice(2, 0, q0).expand({rows, -1, -1, -1});
                auto v = clean.values[li].slice(2, 0, q0);
                if (i0 < q0) {
                    v = v.repeat({rows, 1, 1, 1});
                    for (int64_t b = 0; b < rows && i0 + b < q0; ++b) v[b].select(1, i0 + b).zero_();
                } else {
                    v = v.expand({rows, -1, -1, -1});
                }
                past.values[li] = v;
            }
            ForwardOptions po;
            po.blocks = BlockRange{l, l + 1};
            po.cache = q0 > 0 ? &past : nullptr;
            po.valueHook = [&](int64_t layer, const at::Tensor& v) { return layer == l ? v * newMask : v; };
            auto inputs = input.slice(1, q0, width).expand({rows, -1, -1});
            auto h = model.forward(inputs, po).lastHidden; // (rows, span, hidden)
            ++passes;
            auto cosine = torch::cosine_similarity(h, output.slice(1, q0, width), /*dim=*/-1); // (rows, span)
            auto s = (1.0 - cosine).clamp_min(0.0).to(torch::kFloat32);
            // Positions before the zeroed token cannot change: exactly 0.
            auto pos = torch::arange(q0, width, torch::TensorOptions().dtype(torch::kInt64).device(dev)).unsqueeze(0);
            auto tok = torch::arange(i0, i0 + rows, torch::TensorOptions().dtype(torch::kInt64).device(dev)).unsqueeze(1);
            s = s.masked_fill(pos < tok, 0.0);
            scores.slice(0, q0 - qmin, width - qmin).slice(1, i0, i0 + rows).copy_(s.t());
            // Progress counts the positions each row needs (from its token, or qmin), as runWork() does.
            double needed = 0;
            for (int64_t b = 0; b < rows; ++b) needed += static_cast<double>(width - std::max(i0 + b, qmin));
            fp.add(needed / static_cast<double>(cfg.numLayers));
            sizer.finish(rows);
            i0 += rows;
        }
        return scores;
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(ValueZeroing, valueZeroingMethod)

} // namespace tokenlens::attr
