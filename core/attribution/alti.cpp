// alti (Ferrando et al. 2022, "Measuring the Mixing of Contextual
// Information in the Transformer"): each layer's attention block output at
// position i, y_i = x_i + attn_i(x), is decomposed into one vector per input
// position j,
//   T_i(x_j) = Σ_h α^h_ij · v^h_j · W_O^h   (+ x_i when j = i, the residual),
// so that Σ_j T_i(x_j) + b_O = y_i. v^h_j is position j's value vector,
// computed from the block's pre-attention norm of x_j alone (LayerNorm for
// GPT-2, RMSNorm for Llama/Qwen2) and including its bias: in these pre-norm
// blocks the norm acts on each input token separately, so the decomposition
// is exact and the norms' and value projections' biases travel with the
// attention weights (as in the decoder form of Ferrando et al. 2023, eq. 29).
// Contributions are L1 proximities, c_ij = max(0, ‖y_i‖₁ − ‖y_i − T_i(x_j)‖₁),
// normalised to sum 1 per position; the layers are rolled out (C_last · … ·
// C_first). The MLP is position-wise and mixes nothing, as in the paper.
//
// Gemma 3 norms the attention output before the residual addition,
// y_i = x_i + RMSNorm(z_i) with z_i = Σ_j Σ_h α^h_ij v^h_j W_O^h. That norm
// is linear in z_i once its per-position factor s_i = (1 + w) / rms(z_i)
// is fixed (as Ferrando et al. treat LayerNorm's scale), so
// T_i(x_j) = s_i ⊙ Σ_h α^h_ij v^h_j W_O^h still adds up to y_i exactly; the
// model reports s_i as "layers.N.attn.out_scale".

#include "attribution/context_mixing.h"

namespace tokenlens::attr {
namespace {

// Work units: a (query, key) pair of one layer costs (heads + 3)·hidden
// operations, a position through a block about 24·hidden², so by operation
// count ~1500 pairs cost one position (head_dim 64). The pairs' einsum,
// residual and L1 distances run on strided tensors far below matrix-multiply
// speed: on a GPT-2-small-sized model (109 positions) the decomposition took
// as long as ~30 pairs per position of a forward pass.
constexpr double kPairsPerPosition = 32.0;

class Alti final : public ContextMixingMethod {
public:
    Alti()
        : ContextMixingMethod("alti",
                      "Each layer's output decomposed into per-token contributions through attention and the "
                      "residual, "
                      "scored by L1 proximity, normalised per position and rolled out across layers.") {}

    std::vector<OptionSpec> options() const override { return decompositionOptions(); }

    // The clean pass, one more pass block by block, and the decomposition of
    // every (query, key) pair of the computed layers.
    // Without the depth: an upper bound (every layer counted as a full one).
    int64_t runWork(int64_t n, int64_t t, const nlohmann::json& r, int64_t numLayers) const override {
        const int64_t width = n + t - 1;
        const double w = static_cast<double>(width);
        const double pairs = w * (w + 1) / 2.0;
        if (numLayers <= 0) {
            return 2 * width + static_cast<int64_t>(std::ceil(layerFraction(r) * pairs / kPairsPerPosition));
        }
        const auto computed = computedLayers(r, numLayers);
        if (!computed) return 2 * width;
        // Each computed layer: one block pass of width positions, and its
        // (query, key) pairs; the last layer's queries start at n − 1.
        const double nn = static_cast<double>(n);
        const double lastPairs = pairs - (nn - 1) * nn / 2.0;
        const double units = (static_cast<double>(*computed) * w +
                              (static_cast<double>(*computed - 1) * pairs + lastPairs) / kPairsPerPosition) /
                             static_cast<double>(numLayers);
        return width + static_cast<int64_t>(std::ceil(units - 1e-9));
    }

    Status mix(const MixingRun& run, MethodOutput& out) const override {
        const auto& [input, r, seq, span, width, total, progress] = run;
        FractionalProgress fp(progress);
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.outputHiddenStates = true;
        const auto cleanOut = input.model->forward(seq.embeds.slice(0, 0, width).unsqueeze(0), fo);
        ++out.forwardPasses;
        fp.add(static_cast<double>(width));

        const bool rollout = combineIsRollout(r);
        Rollout product(memoryBudgetBytes(r));
        ChunkSizer sizer(chunkSeconds(r), 8);
        for (int64_t l = rollout ? span.first : span.last; l <= span.last; ++l) {
            if (fp.cancelled()) {
                out.cancelled = true;
                return {};
            }
            const bool last = l == span.last;
            auto c = layerContributions(*input.model, cleanOut.hiddenStates[static_cast<size_t>(l)], l,
                                        last ? seq.n - 1 : 0, memoryBudgetBytes(r), sizer, fp);
            ++out.forwardPasses;
            if (!c.defined()) {
                out.cancelled = true;
                return {};
            }
            product.addLayer(c, last);
        }
        out.matrix = matrixFromColumns(seq, product.finish());
        fp.finish(total);
        return {};
    }


private:
    // Normalised contributions C[i - qmin, j] of layer l for positions
    // i ≥ qmin (rows sum to 1, zero for j > i); undefined when cancelled.
    static at::Tensor layerContributions(const CausalLM& model, const at::Tensor& layerInput, int64_t l, int64_t qmin,
                                         int64_t budget, ChunkSizer& sizer, FractionalProgress& fp) {
        const auto& cfg = model.config();
        const int64_t width = layerInput.size(1), hidden = layerInput.size(2);
        const int64_t heads = cfg.numHeads, hd = cfg.headDim;
        at::Tensor values, probs, attnOut, outScale;
        ForwardOptions po;
        po.blocks = BlockRange{l, l + 1};
        po.capture = [&](const std::string& name, const at::Tensor& value) {
            if (name.ends_with(".attn.values")) values = value.squeeze(0);   // (kv_heads, width, hd)
            if (name.ends_with(".attn.probs")) probs = value.squeeze(0);     // (heads, width, width)
            if (name.ends_with(".attn.out")) attnOut = value.squeeze(0);     // (width, hidden)
            if (name.ends_with(".attn.out_scale")) outScale = value.squeeze(0); // (width, hidden), post-norm models
        };
        model.forward(layerInput, po);
        fp.add(static_cast<double>(width) / static_cast<double>(cfg.numLayers));
        const auto x = layerInput.squeeze(0); // (width, hidden)
        const auto proj = model.attentionOutputProjection(l);
        // U[h, j] = v^h_j · W_O^h: head h's part of the output projection.
        const int64_t groups = heads / values.size(0);
        auto v = groups > 1 ? values.repeat_interleave(groups, 0) : values;       // (heads, width, hd)
        // Keys first, contiguous: the chunks' products and distances then run
        // on contiguous memory (an einsum's permuted result ran ~20x slower).
        auto u = torch::bmm(v, proj.weight.reshape({heads, hd, hidden})).transpose(0, 1).contiguous(); // (width, heads, hidden)
        const auto y = x + attnOut;                                                // attention block output
        const auto yNorm = y.abs().sum(-1);                                        // (width)

        auto out = torch::zeros({width - qmin, width}, x.options().dtype(torch::kFloat32));
        const int64_t perRowBytes = 3 * width * hidden * 4;
        // At least ~1M elements per operation: smaller chunks are dominated by per-operation overhead.
        const int64_t minRows = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(width * hidden, 1));
        int64_t r0 = qmin;
        while (r0 < width) {
            if (fp.cancelled()) return {};
            const int64_t byBudget = std::clamp<int64_t>(budget / perRowBytes, 1, width - r0);
            const int64_t rows = std::min(byBudget, sizer.next(width - r0, minRows));
            sizer.start();
            const int64_t r1 = r0 + rows; // queries r0..r1-1 see keys 0..r1-1
            // T[j, i] = Σ_h α^h_ij U[h, j] for the chunk's queries i, as one
            // product per key j: (rows, heads) x (heads, hidden).
            auto alpha = probs.slice(1, r0, r1).slice(2, 0, r1).permute({2, 1, 0}).contiguous(); // (r1, rows, heads)
            auto t = torch::bmm(alpha, u.slice(0, 0, r1));                                     // (r1, rows, hidden)
            if (outScale.defined()) t = t * outScale.slice(0, r0, r1).unsqueeze(0);            // the post-norm
            auto diag = torch::arange(r0, r1, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
            auto local = diag - r0;
            t.index_put_({diag, local}, t.index({diag, local}) + x.slice(0, r0, r1)); // the residual
            auto dist = (y.slice(0, r0, r1).unsqueeze(0) - t).abs().sum(-1).t();      // (rows, r1)
            auto c = (yNorm.slice(0, r0, r1).unsqueeze(1) - dist).clamp_min(0.0);
            auto keys = torch::arange(0, r1, diag.options()).unsqueeze(0);
            c = c.masked_fill(keys > diag.unsqueeze(1), 0.0).to(torch::kFloat32);
            out.slice(0, r0 - qmin, r1 - qmin).slice(1, 0, r1).copy_(normalizeRows(c, r0));
            const double pairs = static_cast<double>(rows) * static_cast<double>(r0 + r1 + 1) / 2.0;
            fp.add(pairs / kPairsPerPosition / static_cast<double>(cfg.numLayers));
            sizer.finish(rows);
            r0 = r1;
        }
        return out;
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(Alti, altiMethod)

} // namespace tokenlens::attr
