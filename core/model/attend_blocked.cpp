// attend() without autograd when not every probability is needed: a block
// of query rows at a time, each over the keys up to its last row (the
// causal mask allows no later key), in buffers the thread keeps and reuses.
// The operations and their order per element are attend()'s (the product
// in q's dtype, the scaling and softcap there, masking and softmax in
// float32, the probabilities back in q's dtype, their product with v), so
// the values are the same up to the products' blocking; what changes is
// memory: no (heads, seq, keys) map is allocated per layer (at 4,096 tokens
// one layer's float32 maps of 14 heads are 940 MB, and fresh memory costs
// far more to write than the arithmetic does), and the masked upper
// triangle beyond each block is not computed.

#include "model/layers.h"
#include "util/cancellation.h"

#include <atomic>
#include <cmath>
#include <limits>

namespace tokenlens::layers {
namespace {

// A block's score or probability map is kept to about this many elements
// (16 MB in float32) so that the buffers stay small and warm in memory.
std::atomic<int64_t> g_blockElements{kAttentionBlockElements};

enum Slot { Scores, Scores32, Probs32, ProbsLow, Out, kSlots };
thread_local at::Tensor t_buffers[kSlots]; // flat; each grows to the largest block seen

at::Tensor buffer(Slot slot, at::IntArrayRef shape, at::ScalarType dtype) {
    int64_t n = 1;
    for (const int64_t s : shape) n *= s;
    auto& b = t_buffers[slot];
    if (!b.defined() || b.scalar_type() != dtype || b.numel() < n) {
        b = at::Tensor(); // free the old one first
        b = torch::empty({n}, torch::TensorOptions().dtype(dtype));
    }
    return b.narrow(0, 0, n).view(shape);
}

} // namespace

int64_t attentionBlockElements() { return g_blockElements.load(std::memory_order_relaxed); }

void setAttentionBlockElements(int64_t elements) {
    g_blockElements.store(elements > 0 ? elements : kAttentionBlockElements, std::memory_order_relaxed);
}

AttentionResult attendBlocked(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const at::Tensor& allowed, bool divideBy, double scale, double softcap,
                              ProbsRows rows) {
    const int64_t batch = q.size(0), heads = q.size(1), seq = q.size(2), dim = q.size(3);
    const int64_t total = k.size(2), past = total - seq, bh = batch * heads;
    const auto dtype = q.scalar_type();
    const bool low = dtype != torch::kFloat32;
    // (b·heads, T, d) views with unit stride over d; q per block.
    const at::Tensor kc = k.contiguous(), vc = v.contiguous();
    const at::Tensor keys3 = kc.view({bh, total, dim}), values3 = vc.view({bh, total, dim});
    const int64_t block = std::clamp<int64_t>(g_blockElements.load(std::memory_order_relaxed) / std::max<int64_t>(bh * total, 1), 1, seq);

    auto output = torch::empty({batch, seq, heads, dim}, q.options()); // the result's layout
    const int64_t keepFirst = rows.all() ? 0 : std::clamp<int64_t>(rows.first, 0, seq);
    const int64_t keepLast = rows.all() ? seq : std::clamp<int64_t>(rows.last, keepFirst, seq);
    auto kept = torch::zeros({batch, heads, keepLast - keepFirst, total}, q.options());

    for (int64_t s = 0; s < seq; s += block) {
        if (s > 0) throwIfCancelled(); // a long prompt's layer is many blocks
        const int64_t e = std::min(seq, s + block), c = e - s, width = std::min(total, past + e);
        const auto qb = q.narrow(2, s, c).reshape({bh, c, dim});
        auto scores = buffer(Scores, {bh, c, width}, dtype);
        at::bmm_out(scores, qb, keys3.narrow(1, 0, width).transpose(1, 2));
        if (scale > 0) {
            scores.mul_(scale);
        } else if (divideBy) {
            scores.div_(std::sqrt(static_cast<double>(dim)));
        } else {
            scores.mul_(1.0 / std::sqrt(static_cast<double>(dim)));
        }
        if (softcap > 0) scores.div_(softcap).tanh_().mul_(softcap);
        at::Tensor scores32 = scores;
        if (low) {
            scores32 = buffer(Scores32, {bh, c, width}, torch::kFloat32);
            scores32.copy_(scores);
        }
        const auto mask = allowed.narrow(2, s, c).narrow(3, 0, width).logical_not(); // (b, 1, c, width)
        scores32.view({batch, heads, c, width}).masked_fill_(mask, std::numeric_limits<float>::lowest());
        auto probs32 = buffer(Probs32, {bh, c, width}, torch::kFloat32);
        at::_softmax_out(probs32, scores32, -1, false);
        at::Tensor probs = probs32;
        if (low) {
            probs = buffer(ProbsLow, {bh, c, width}, dtype);
            probs.copy_(probs32);
        }
        auto out = buffer(Out, {bh, c, dim}, dtype);
        at::bmm_out(out, probs, values3.narrow(1, 0, width));
        output.narrow(1, s, c).copy_(out.view({batch, heads, c, dim}).transpose(1, 2));
        const int64_t a = std::max(s, keepFirst), z = std::min(e, keepLast);
        if (a < z) {
            kept.narrow(2, a - keepFirst, z - a)
                .narrow(3, 0, width)
                .copy_(probs.view({batch, heads, c, width}).narrow(2, a - s, z - a));
        }
    }
    return {output.view({batch, seq, heads * dim}), kept};
}

} // namespace tokenlens::layers
