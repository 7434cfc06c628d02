// attentionCore (layers.h): attend()'s core, softmax(q kᵀ · scale, masked)
// · v, as one autograd node when autograd records it without LRP rules.
//
// Recorded op by op, the core keeps several heads × seq × keys maps per
// layer in the graph (the float32 softmax output, the probabilities in the
// compute dtype, the mask) and its backward runs five element-wise passes
// over those maps per cotangent: the conversion back to float32, the
// softmax's backward, the mask's, the conversion to the compute dtype and
// the scale; under the shared gradient path's legacy vmap
// (core/attribution/shared_gradients.cpp) the softmax's and the mask's
// backward also go through vmap's per-cotangent fallback, which stacks the
// results (docs/benchmarks.md, "The attention core as one autograd node").
//
// This node computes the same forward with the same operations (the same
// values), keeps q, k, v and the probabilities in the compute dtype, and
// its backward of B cotangents (a vmap-batched gradient, or one) runs
//   gProbs = gOut · vᵀ and gV = probsᵀ · gOut   (one product per head for all B)
//   gScores = probs ⊙ (gProbs − rowsum(gProbs ⊙ probs)) · scale
//                                               (one pass, in place over gProbs)
//   gQ = gScores · k and gK = gScoresᵀ · q      (one product per head for all B)
// with grouped-query heads summed back to their kv head. Masked entries
// have probability exactly 0 (exp(lowest − max) underflows) so the softmax's
// backward gives them 0 without the mask; a query row with no allowed key
// at all (a padding row) has uniform probabilities instead, and gets the
// zero gradient the recorded mask's backward gives it. The cancel check is
// polled after the products with gOut and after the softmax's backward, as
// attend()'s recorded path polls through hooks.

#include "model/avx2_float.h"
#include "model/avx512_bf16.h"
#include "model/layers.h"
#include "util/cancellation.h"

#include <ATen/BatchedTensorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>

namespace tokenlens::layers {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::atomic<bool> g_fused{[] {
    const char* env = std::getenv("TOKENLENS_ATTENTION_CORE");
    return !(env && std::string(env) == "recorded");
}()};

// The forward's cancel check, kept for the backward.
struct CheckHolder : torch::CustomClassHolder {
    explicit CheckHolder(std::shared_ptr<const CancelCheck> c) : check(std::move(c)) {}
    std::shared_ptr<const CancelCheck> check;
};

void pollCancel(AutogradContext* ctx) {
    const auto it = ctx->saved_data.find("cancel");
    if (it == ctx->saved_data.end()) return;
    throwIfCancelled(c10::static_intrusive_pointer_cast<CheckHolder>(it->second.toCapsule())->check.get());
}

// (b, kvHeads, T, d) -> (b, heads, T, d): kv head h / groups for query head h (a copy when grouped).
at::Tensor expandHeads(const at::Tensor& x, int64_t heads) {
    const int64_t batch = x.size(0), kvHeads = x.size(1);
    if (kvHeads == heads) return x;
    return x.unsqueeze(2).expand({batch, kvHeads, heads / kvHeads, x.size(2), x.size(3)})
        .reshape({batch, heads, x.size(2), x.size(3)});
}

// (..., heads, T, d) -> (..., kvHeads, T, d): the expand's backward (sums over each group).
at::Tensor sumGroups(const at::Tensor& g, int64_t kvHeads) {
    const int64_t heads = g.size(-3);
    if (heads == kvHeads) return g;
    auto shape = g.sizes().vec();
    shape.insert(shape.end() - 3, kvHeads);
    shape[shape.size() - 3] = heads / kvHeads;
    return g.reshape(shape).sum(-3);
}

// One cotangent's row g against its probabilities p:
//   g ← p ⊙ (g − Σ g ⊙ p) · f, in float (bfloat16 converted per element).
template <typename scalar_t>
void rowScalar(scalar_t* g, const scalar_t* p, int64_t keys, at::opmath_type<scalar_t> f) {
    using acc_t = at::opmath_type<scalar_t>;
    acc_t dot = 0;
    for (int64_t t = 0; t < keys; ++t) dot += static_cast<acc_t>(g[t]) * static_cast<acc_t>(p[t]);
    for (int64_t t = 0; t < keys; ++t) {
        g[t] = static_cast<scalar_t>(static_cast<acc_t>(p[t]) * (static_cast<acc_t>(g[t]) - dot) * f);
    }
}

#ifdef TOKENLENS_AVX2_FLOAT
TOKENLENS_AVX2_BEGIN
namespace avx2 {

using tokenlens::avx2::load8;
using tokenlens::avx2::store8;

template <typename scalar_t>
inline void rowImpl(scalar_t* g, const scalar_t* p, int64_t keys, float f) {
    const int64_t body = keys - keys % 8;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t t = 0; t < body; t += 8) acc = _mm256_fmadd_ps(load8(g + t), load8(p + t), acc);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    float dot = 0;
    for (float x : lanes) dot += x;
    for (int64_t t = body; t < keys; ++t) dot += static_cast<float>(g[t]) * static_cast<float>(p[t]);
    const __m256 d = _mm256_set1_ps(dot), fv = _mm256_set1_ps(f);
    for (int64_t t = 0; t < body; t += 8) {
        store8(g + t, _mm256_mul_ps(_mm256_mul_ps(load8(p + t), _mm256_sub_ps(load8(g + t), d)), fv));
    }
    for (int64_t t = body; t < keys; ++t) {
        g[t] = static_cast<scalar_t>(static_cast<float>(p[t]) * (static_cast<float>(g[t]) - dot) * f);
    }
}
void addTo(float* acc, const c10::BFloat16* x, int64_t count) {
    const int64_t body = count - count % 8;
    for (int64_t t = 0; t < body; t += 8) store8(acc + t, _mm256_add_ps(load8(acc + t), load8(x + t)));
    for (int64_t t = body; t < count; ++t) acc[t] += static_cast<float>(x[t]);
}
void row(float* g, const float* p, int64_t keys, float f) { rowImpl(g, p, keys, f); }
void row(c10::BFloat16* g, const c10::BFloat16* p, int64_t keys, float f) { rowImpl(g, p, keys, f); }

} // namespace avx2
TOKENLENS_AVX2_END

using tokenlens::avx2::hasAvx2;
#endif

#ifdef TOKENLENS_AVX512_BF16
TOKENLENS_AVX512_BEGIN
namespace avx512 {

using namespace tokenlens::avx512;

// rowImpl's pass for bfloat16, 16 lanes wide, the sum with the BF16 dot
// product instruction (one block's 60 million elements in a standalone
// loop, one thread: 18 ms against AVX2's 31 ms).
void row(c10::BFloat16* g, const c10::BFloat16* p, int64_t keys, float f) {
    const __m512 d = _mm512_set1_ps(dot(g, p, keys)), fv = _mm512_set1_ps(f);
    for (int64_t t = 0; t < keys; t += 16) {
        const __mmask16 m = lanes(keys - t);
        store16(g + t, _mm512_mul_ps(_mm512_mul_ps(load16(p + t, m), _mm512_sub_ps(load16(g + t, m), d)), fv), m);
    }
}
void addTo(float* acc, const c10::BFloat16* x, int64_t count) {
    for (int64_t t = 0; t < count; t += 16) {
        const __mmask16 m = lanes(count - t);
        _mm512_mask_storeu_ps(acc + t, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, acc + t), load16(x + t, m)));
    }
}

} // namespace avx512
TOKENLENS_AVX512_END

using tokenlens::avx512::hasAvx512Bf16;
#endif

// In place over gp (bh·c, n, e), the n cotangents' rows of a block of c
// queries starting at query `first` of each head, against their
// probabilities (bh·c, e):
//   gp <- p ⊙ (gp − Σ gp ⊙ p) · factor
// over each row's first `limits` keys (the keys up to the last one its query
// may attend; the probabilities beyond are exactly 0, and so are the results)
// and 0 beyond; limits (b, seq) is 0 for a query with no allowed key at all,
// whose whole row gets the 0 the recorded mask's backward gives it.
template <typename scalar_t>
void softmaxBackwardInPlace(scalar_t* gp, const scalar_t* probs, const int32_t* limits, int64_t bh, int64_t c,
                            int64_t n, int64_t e, int64_t seq, int64_t first, int64_t heads, double factor) {
    using acc_t = at::opmath_type<scalar_t>;
    const auto f = static_cast<acc_t>(factor);
#ifdef TOKENLENS_AVX2_FLOAT
    const bool avx2 = hasAvx2();
#endif
#ifdef TOKENLENS_AVX512_BF16
    const bool avx512 = hasAvx512Bf16();
#endif
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(n * e, 1));
    at::parallel_for(0, bh * c, grain, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            scalar_t* g0 = gp + r * n * e;
            // Row r is (batch row · head, query) = (r / c, first + r % c).
            const int64_t keys = std::min<int64_t>(limits[(r / c / heads) * seq + first + r % c], e);
            const scalar_t* p = probs + r * e;
            for (int64_t j = 0; j < n; ++j) {
                scalar_t* g = g0 + j * e;
                if (keys < e) std::memset(static_cast<void*>(g + keys), 0, sizeof(scalar_t) * (e - keys));
                if (keys == 0) continue;
#ifdef TOKENLENS_AVX512_BF16
                if constexpr (std::is_same_v<scalar_t, c10::BFloat16>) {
                    if (avx512) {
                        avx512::row(g, p, keys, f);
                        continue;
                    }
                }
#endif
#ifdef TOKENLENS_AVX2_FLOAT
                if constexpr (std::is_same_v<scalar_t, float> || std::is_same_v<scalar_t, c10::BFloat16>) {
                    if (avx2) {
                        avx2::row(g, p, keys, f);
                        continue;
                    }
                }
#endif
                rowScalar(g, p, keys, f);
            }
        }
    });
}

// acc += x over `count` contiguous elements: a block's term of gV or gK
// into its float32 sum, without the float32 copy of x that add_ would
// allocate first (measured: 7 s of 95 at 4,096 positions).
void accumulate(const at::Tensor& acc, const at::Tensor& x) {
    TORCH_INTERNAL_ASSERT(acc.is_contiguous() && x.is_contiguous() && acc.numel() == x.numel());
    if (acc.scalar_type() == x.scalar_type()) {
        acc.view(x.sizes()).add_(x);
        return;
    }
    TORCH_INTERNAL_ASSERT(acc.scalar_type() == at::kFloat);
    float* a = acc.data_ptr<float>();
    const int64_t count = x.numel();
#ifdef TOKENLENS_AVX512_BF16
    if (x.scalar_type() == at::kBFloat16 && hasAvx512Bf16()) {
        avx512::addTo(a, x.data_ptr<c10::BFloat16>(), count);
        return;
    }
#endif
#ifdef TOKENLENS_AVX2_FLOAT
    if (x.scalar_type() == at::kBFloat16 && hasAvx2()) {
        avx2::addTo(a, x.data_ptr<c10::BFloat16>(), count);
        return;
    }
#endif
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "attentionCoreAccumulate", [&] {
        const scalar_t* p = x.data_ptr<scalar_t>();
        for (int64_t t = 0; t < count; ++t) a[t] += static_cast<float>(p[t]);
    });
}

// Per (batch row, query) of allowed (b, 1, S, T): one past the last key the
// query may attend, 0 when it may attend none. (b, S) int32.
at::Tensor keyLimits(const at::Tensor& allowed) {
    const auto a = allowed.contiguous();
    const int64_t rows = a.size(0) * a.size(2), keys = a.size(3);
    auto limits = torch::empty({a.size(0), a.size(2)}, torch::kInt32);
    const bool* m = a.data_ptr<bool>();
    int32_t* out = limits.data_ptr<int32_t>();
    at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const bool* row = m + r * keys;
            int64_t t = keys;
            while (t > 0 && !row[t - 1]) --t;
            out[r] = static_cast<int32_t>(t);
        }
    });
    return limits;
}

// Query blocks of the node: [start, start + rows) over keys [0, width).
struct Blocks {
    std::vector<int64_t> start, width;
    int64_t size() const { return static_cast<int64_t>(start.size()); }
};

std::atomic<int64_t> g_blockRows{[] {
    const char* env = std::getenv("TOKENLENS_ATTENTION_CORE_ROWS");
    return env ? std::max<int64_t>(std::atoll(env), 0) : int64_t{-1};
}()};

// Blocks of about `rows` queries (the last one takes the rest); a block's
// width is one past the last key any of its queries may attend, every key
// when one of them may attend none (its probabilities are uniform over all
// keys, as the recorded operations give them).
Blocks queryBlocks(const at::Tensor& limits, int64_t seq, int64_t keys) {
    const int64_t count = attentionCoreBlockCount(seq);
    const auto l = limits.accessor<int32_t, 2>();
    Blocks b;
    for (int64_t i = 0; i < count; ++i) {
        const int64_t s0 = seq * i / count, s1 = seq * (i + 1) / count;
        int64_t w = 0;
        for (int64_t r = 0; r < l.size(0) && w < keys; ++r) {
            for (int64_t s = s0; s < s1; ++s) w = l[r][s] == 0 ? keys : std::max<int64_t>(w, l[r][s]);
        }
        b.start.push_back(s0);
        b.width.push_back(std::max<int64_t>(w, 1));
    }
    return b;
}

// q (b, H, S, d), k/v (b, kvH, T, d), allowed (b, 1, S, T) -> (b, H, S, d).
struct AttentionCoreFn : torch::autograd::Function<AttentionCoreFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const at::Tensor& allowed, bool divideBy, double scale) {
        const int64_t batch = q.size(0), heads = q.size(1), seq = q.size(2), dim = q.size(3);
        const int64_t keys = k.size(2), bh = batch * heads;
        const double factor = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(dim));
        // attend()'s recorded operations, in its order.
        const auto scaled = [&](at::Tensor scores) {
            if (scale > 0) return scores * scale;
            if (divideBy) return scores / std::sqrt(static_cast<double>(dim));
            return scores * factor;
        };
        // The cancel check between the forward's parts too: over thousands of
        // positions each part runs over heads × positions² values.
        const auto check = currentCancelCheck();
        auto limits = keyLimits(allowed);
        if (limits.size(0) != batch) limits = limits.expand({batch, seq}).contiguous();
        const auto blocks = queryBlocks(limits, seq, keys);
        const auto masked = allowed.logical_not();
        std::vector<at::Tensor> saved{q, k, v};
        // Blocks of queries, each over the keys up to the last one its rows
        // may attend: the causal mask's upper triangle beyond each block is
        // neither computed nor kept, nor gone through backward. One block
        // (short prompts): the whole maps, attend()'s values exactly.
        const auto q3 = q.reshape({bh, seq, dim});
        const auto k3 = expandHeads(k, heads).reshape({bh, keys, dim});
        const auto v3 = expandHeads(v, heads).reshape({bh, keys, dim});
        at::Tensor out3 = blocks.size() == 1 ? at::Tensor() : torch::empty({bh, seq, dim}, q.options());
        for (int64_t i = 0; i < blocks.size(); ++i) {
            throwIfCancelled(check.get());
            const int64_t s0 = blocks.start[i], rows = (i + 1 < blocks.size() ? blocks.start[i + 1] : seq) - s0;
            const int64_t w = blocks.width[i];
            auto scores = scaled(at::bmm(q3.narrow(1, s0, rows), k3.narrow(1, 0, w).transpose(1, 2)));
            throwIfCancelled(check.get());
            if (scores.scalar_type() != torch::kFloat32) scores = scores.to(torch::kFloat32);
            scores.view({batch, heads, rows, w})
                .masked_fill_(masked.narrow(2, s0, rows).narrow(3, 0, w), std::numeric_limits<float>::lowest());
            auto probs = at::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
            scores = at::Tensor();
            throwIfCancelled(check.get());
            auto o = at::bmm(probs, v3.narrow(1, 0, w));
            if (out3.defined()) out3.narrow(1, s0, rows).copy_(o); else out3 = o;
            saved.push_back(probs);
        }
        const auto out = out3.view({batch, heads, seq, dim});
        ctx->save_for_backward(saved);
        ctx->saved_data["factor"] = factor;
        ctx->saved_data["starts"] = c10::List<int64_t>(blocks.start);
        ctx->saved_data["widths"] = c10::List<int64_t>(blocks.width);
        ctx->saved_data["limits"] = limits;
        if (check) ctx->saved_data["cancel"] = c10::IValue::make_capsule(c10::make_intrusive<CheckHolder>(check));
        return out;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto& g = grads[0];
        if (!g.defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
        auto* impl = at::maybeGetBatchedImpl(g);
        if (impl && impl->bdims().size() != 1) return composite(ctx, g);
        // The cotangents, batch first: (n, b, H, S, d).
        const at::Tensor cot = impl ? impl->value().movedim(impl->bdims()[0].dim(), 0) : g.unsqueeze(0);
        auto [gq, gk, gv] = physicalBackward(ctx, cot);
        const auto one = [](const at::Tensor& x) { return x.defined() ? x.squeeze(0) : x; };
        if (!impl) return {one(gq), one(gk), one(gv), at::Tensor(), at::Tensor(), at::Tensor()};
        const auto batched = [&](const at::Tensor& x) {
            return x.defined() ? at::makeBatched(x, at::BatchDims{at::BatchDim(impl->bdims()[0].level(), 0)}) : x;
        };
        return {batched(gq), batched(gk), batched(gv), at::Tensor(), at::Tensor(), at::Tensor()};
    }

    // The gradients of n cotangents (n, b, H, S, d): ((n, b, H, S, d), (n, b, kvH, T, d) twice).
    // Per query block i (one block: the whole maps), over its w_i keys:
    //   gV[:w_i] += P_iᵀ · gOut_i,  gS_i = softmax'(gOut_i · V[:w_i]ᵀ),
    //   gQ_i = gS_i · K[:w_i],      gK[:w_i] += gS_iᵀ · Q_i
    // (the sums over blocks in float32).
    static std::tuple<at::Tensor, at::Tensor, at::Tensor> physicalBackward(AutogradContext* ctx,
                                                                           const at::Tensor& cot) {
        const auto saved = ctx->get_saved_variables();
        const auto &q = saved[0], &k = saved[1], &v = saved[2];
        const int64_t n = cot.size(0), batch = q.size(0), heads = q.size(1), seq = q.size(2), dim = q.size(3);
        const int64_t kvHeads = k.size(1), keys = k.size(2), bh = batch * heads;
        const auto dtype = q.scalar_type();
        const auto starts = ctx->saved_data["starts"].toIntVector();
        const auto widths = ctx->saved_data["widths"].toIntVector();
        const auto limits = ctx->saved_data["limits"].toTensor();
        const double factor = ctx->saved_data["factor"].toDouble();
        const auto blocks = static_cast<int64_t>(starts.size());
        const bool one = blocks == 1 && widths[0] == keys;
        const bool wantQ = ctx->needs_input_grad(0), wantK = ctx->needs_input_grad(1), wantV = ctx->needs_input_grad(2);
        // (bh, S, n, d): per head, the n cotangents of a query side by side,
        // so that gOut is (S·n, d) for gS and (S, n·d) for gV.
        const auto gOut = cot.to(dtype).permute({1, 2, 3, 0, 4}).contiguous().view({bh, seq, n, dim});
        const auto k3 = expandHeads(k, heads).reshape({bh, keys, dim});
        const auto v3 = expandHeads(v, heads).reshape({bh, keys, dim});
        const auto q3 = q.reshape({bh, seq, dim});
        const auto acc = one ? dtype : at::toOpMathType(dtype);
        at::Tensor gv = wantV && !one ? torch::zeros({bh, keys, n * dim}, q.options().dtype(acc)) : at::Tensor();
        at::Tensor gk = wantK && !one ? torch::zeros({bh, n, keys, dim}, q.options().dtype(acc)) : at::Tensor();
        at::Tensor gq = wantQ && !one ? torch::empty({bh, seq, n, dim}, q.options()) : at::Tensor();
        // A block's term of gV or gK into its float32 sum, head by head on ATen's threads.
        const auto addTerms = [&](const at::Tensor& sum, const at::Tensor& terms, int64_t w) {
            at::parallel_for(0, bh, 1, [&](int64_t h0, int64_t h1) {
                for (int64_t h = h0; h < h1; ++h) {
                    if (sum.dim() == 3) {
                        accumulate(sum[h].narrow(0, 0, w), terms[h]);
                    } else {
                        for (int64_t j = 0; j < n; ++j) accumulate(sum[h][j].narrow(0, 0, w), terms[h][j]);
                    }
                }
            });
        };
        for (int64_t i = 0; i < blocks; ++i) {
            const int64_t s0 = starts[i], rows = (i + 1 < blocks ? starts[i + 1] : seq) - s0, w = widths[i];
            const auto& p = saved[3 + i]; // (bh, rows, w)
            const auto gO = gOut.narrow(1, s0, rows);
            if (wantV) {
                auto r = at::bmm(p.transpose(1, 2), gO.reshape({bh, rows, n * dim})); // (bh, w, n·d)
                if (one) gv = r; else addTerms(gv, r, w);
            }
            if (!wantQ && !wantK) continue;
            // (bh, rows·n, w): row (query, cotangent) of each head.
            auto gs = at::bmm(gO.reshape({bh, rows * n, dim}), v3.narrow(1, 0, w).transpose(1, 2));
            pollCancel(ctx);
            AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, gs.scalar_type(), "attentionCoreBackward", [&] {
                softmaxBackwardInPlace<scalar_t>(gs.data_ptr<scalar_t>(), p.data_ptr<scalar_t>(),
                                                 limits.data_ptr<int32_t>(), bh, rows, n, w, seq, s0, heads, factor);
            });
            pollCancel(ctx);
            if (wantQ) {
                auto r = at::bmm(gs, k3.narrow(1, 0, w)).view({bh, rows, n, dim});
                if (one) gq = r; else gq.narrow(1, s0, rows).copy_(r);
            }
            if (wantK) {
                auto r = at::bmm(gs.view({bh, rows, n * w}).transpose(1, 2), q3.narrow(1, s0, rows)); // (bh, n·w, d)
                if (one) gk = r.view({bh, n, keys, dim}); else addTerms(gk, r.view({bh, n, w, dim}), w);
            }
        }
        if (wantQ) gq = gq.view({batch, heads, seq, n, dim}).permute({3, 0, 1, 2, 4});
        if (wantK) gk = sumGroups(gk.view({batch, heads, n, keys, dim}).permute({2, 0, 1, 3, 4}), kvHeads).to(dtype);
        if (wantV) gv = sumGroups(gv.view({batch, heads, keys, n, dim}).permute({3, 0, 1, 2, 4}), kvHeads).to(dtype);
        return {gq, gk, gv};
    }

    // The probabilities of every query over every key, (b, H, S, T), from the blocks kept.
    static at::Tensor wholeProbs(const variable_list& saved, const std::vector<int64_t>& starts, int64_t batch,
                                 int64_t heads, int64_t seq, int64_t keys) {
        if (starts.size() == 1 && saved[3].size(2) == keys) return saved[3].view({batch, heads, seq, keys});
        auto probs = torch::zeros({batch * heads, seq, keys}, saved[3].options());
        for (size_t i = 0; i < starts.size(); ++i) {
            const auto& p = saved[3 + i];
            probs.narrow(1, starts[i], p.size(1)).narrow(2, 0, p.size(2)).copy_(p);
        }
        return probs.view({batch, heads, seq, keys});
    }

    // A gradient batched at several vmap levels: the same rule in ATen
    // operations, which vmap batches.
    static variable_list composite(AutogradContext* ctx, const at::Tensor& g) {
        const auto saved = ctx->get_saved_variables();
        const auto &q = saved[0], &k = saved[1], &v = saved[2];
        const int64_t heads = q.size(1), kvHeads = k.size(1);
        const auto probs = wholeProbs(saved, ctx->saved_data["starts"].toIntVector(), q.size(0), heads, q.size(2),
                                      k.size(2));
        const auto p = probs.to(torch::kFloat32);
        const auto gp = at::matmul(g.to(torch::kFloat32), expandHeads(v, heads).to(torch::kFloat32).transpose(-1, -2));
        auto gs = p * (gp - (gp * p).sum(-1, /*keepdim=*/true)) * ctx->saved_data["factor"].toDouble();
        const auto dead = ctx->saved_data["limits"].toTensor().eq(0); // (b, S): rows with no allowed key
        gs = gs.masked_fill(dead.view({dead.size(0), 1, dead.size(1), 1}), 0);
        gs = gs.to(q.scalar_type());
        const auto gq = at::matmul(gs, expandHeads(k, heads));
        const auto gk = sumGroups(at::matmul(gs.transpose(-1, -2), q), kvHeads);
        const auto gv = sumGroups(at::matmul(probs.transpose(-1, -2), g.to(q.scalar_type())), kvHeads);
        return {gq, gk, gv, at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

} // namespace

void setAttentionCoreFused(bool on) { g_fused = on; }
void setAttentionCoreBlockRows(int64_t rows) { g_blockRows = rows; }
int64_t attentionCoreBlockCount(int64_t seq) {
    const int64_t set = g_blockRows;
    const int64_t rows = set >= 0 ? (set == 0 ? seq : set) : (seq < 2 * kAttentionCoreBlockRows ? seq : kAttentionCoreBlockRows);
    return std::max<int64_t>(1, seq / std::max<int64_t>(rows, 1));
}
bool attentionCoreTakes(LrpMode lrp, double softcap) { return lrp == LrpMode::Off && softcap <= 0 && g_fused; }
bool attentionCoreFused() { return g_fused; }

at::Tensor attentionCore(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                         bool divideBy, double scale) {
    return AttentionCoreFn::apply(q, k, v, allowed, divideBy, scale);
}

} // namespace tokenlens::layers
