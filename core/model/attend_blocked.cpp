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

#include "model/avx512_bf16.h"
#include "model/layers.h"
#include "util/cancellation.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace tokenlens::layers {
namespace {

// A block's score or probability map is kept to about this many elements
// (16 MB in float32) so that the buffers stay small and warm in memory.
std::atomic<int64_t> g_blockElements{kAttentionBlockElements};
// The fused bfloat16 rows (softmaxRow); tests compare them with the ATen
// steps; TOKENLENS_FUSED_SOFTMAX=0 in the environment starts with them off.
std::atomic<bool> g_fusedSoftmax{[] {
    const char* env = std::getenv("TOKENLENS_FUSED_SOFTMAX");
    return !(env && std::strcmp(env, "0") == 0);
}()};

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

#ifdef TOKENLENS_AVX2_FLOAT
TOKENLENS_AVX2_BEGIN
// One query row of bfloat16 scores (width keys, unscaled) to bfloat16
// probabilities: softmax(scores · f) over the allowed keys in float, 0 for
// the others; a row with no allowed key gets uniform probabilities, as the
// recorded operations' softmax over float32's lowest value gives it.
// `work` holds `width` floats.
void softmaxRow(const c10::BFloat16* scores, const bool* allowed, c10::BFloat16* probs, int64_t width, float f,
                float* work) {
    using tokenlens::avx2::expNonPositive;
    using tokenlens::avx2::load8;
    using tokenlens::avx2::store8;
    const float lowest = std::numeric_limits<float>::lowest();
    const __m256 low8 = _mm256_set1_ps(lowest), f8 = _mm256_set1_ps(f);
    __m256 max8 = low8;
    __m256i any8 = _mm256_setzero_si256();
    int64_t t0 = 0;
    for (; t0 + 8 <= width; t0 += 8) {
        int64_t bytes = 0;
        std::memcpy(&bytes, allowed + t0, 8);
        const __m256i a = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bytes)); // 0 or 1 per key
        const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(a, _mm256_setzero_si256()));
        const __m256 x = _mm256_blendv_ps(low8, _mm256_mul_ps(load8(scores + t0), f8), keep);
        _mm256_storeu_ps(work + t0, x);
        max8 = _mm256_max_ps(max8, x);
        any8 = _mm256_or_si256(any8, a);
    }
    alignas(32) float lanes8[8];
    _mm256_store_ps(lanes8, max8);
    float max = lowest;
    for (const float x : lanes8) max = std::max(max, x);
    bool any = !_mm256_testz_si256(any8, any8);
    for (int64_t t = t0; t < width; ++t) {
        const float x = allowed[t] ? static_cast<float>(scores[t]) * f : lowest;
        work[t] = x;
        if (allowed[t]) {
            any = true;
            max = std::max(max, x);
        }
    }
    if (!any) {
        const c10::BFloat16 u(1.0f / static_cast<float>(width));
        for (int64_t t = 0; t < width; ++t) probs[t] = u;
        return;
    }
    const __m256 m = _mm256_set1_ps(max);
    __m256 acc = _mm256_setzero_ps();
    int64_t t = 0;
    for (; t + 8 <= width; t += 8) {
        const __m256 v = expNonPositive(_mm256_sub_ps(load8(work + t), m));
        _mm256_storeu_ps(work + t, v);
        acc = _mm256_add_ps(acc, v);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    float sum = 0;
    for (const float x : lanes) sum += x;
    for (; t < width; ++t) {
        work[t] = allowed[t] ? std::exp(work[t] - max) : 0.0f;
        sum += work[t];
    }
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (t = 0; t + 8 <= width; t += 8) store8(probs + t, _mm256_mul_ps(load8(work + t), inv));
    for (; t < width; ++t) probs[t] = c10::BFloat16(work[t] / sum);
}
TOKENLENS_AVX2_END
#endif

#ifdef TOKENLENS_AVX512_BF16
TOKENLENS_AVX512_BEGIN
// expNonPositive, 16 lanes.
inline __m512 expNonPositive16(__m512 x) {
    const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_LT_OQ);
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps(static_cast<__mmask16>(~tiny), y, _mm512_castsi512_ps(e));
}

// softmaxRow, 16 lanes wide, the tails masked.
void softmaxRow16(const c10::BFloat16* scores, const bool* allowed, c10::BFloat16* probs, int64_t width, float f,
                  float* work) {
    using namespace tokenlens::avx512;
    const float lowest = std::numeric_limits<float>::lowest();
    const __m512 low = _mm512_set1_ps(lowest), fv = _mm512_set1_ps(f);
    __m512 max16 = low;
    __mmask16 any = 0;
    for (int64_t t = 0; t < width; t += 16) {
        const __mmask16 m = lanes(width - t);
        const __m512i a = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, allowed + t));
        const __mmask16 keep = _mm512_test_epi32_mask(a, a);
        const __m512 x = _mm512_mask_mul_ps(low, keep, load16(scores + t, m), fv);
        _mm512_mask_storeu_ps(work + t, m, x);
        max16 = _mm512_max_ps(max16, x);
        any |= keep;
    }
    if (!any) {
        const c10::BFloat16 u(1.0f / static_cast<float>(width));
        for (int64_t t = 0; t < width; ++t) probs[t] = u;
        return;
    }
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(max16));
    __m512 acc = _mm512_setzero_ps();
    for (int64_t t = 0; t < width; t += 16) {
        const __mmask16 m = lanes(width - t);
        const __m512 v = _mm512_maskz_mov_ps(m, expNonPositive16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, work + t), mx)));
        _mm512_mask_storeu_ps(work + t, m, v);
        acc = _mm512_add_ps(acc, v);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(acc));
    for (int64_t t = 0; t < width; t += 16) {
        const __mmask16 m = lanes(width - t);
        store16(probs + t, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, work + t), inv), m);
    }
}
TOKENLENS_AVX512_END
#endif

#ifdef TOKENLENS_AVX2_FLOAT
// Query rows [s, s + c) of every (batch row, head): scores (b·heads, c,
// width) in bfloat16, unscaled, to probabilities of the same shape
// (softmaxRow per row, 16 lanes wide where the CPU has AVX-512 BF16).
// allowedRows: the mask (batch, 1, seq, total) contiguous; width ≤ total.
void softmaxRowsBf16(const at::Tensor& scores, const at::Tensor& probs, const bool* allowedRows, int64_t heads,
                     int64_t seq, int64_t total, int64_t s, float f) {
    const int64_t rows = scores.size(0) * scores.size(1), c = scores.size(1), width = scores.size(2);
    const auto* sp = scores.data_ptr<c10::BFloat16>();
    auto* pp = probs.data_ptr<c10::BFloat16>();
    auto* rowFn = &softmaxRow;
#ifdef TOKENLENS_AVX512_BF16
    if (tokenlens::avx512::hasAvx512Bf16()) rowFn = &softmaxRow16;
#endif
    at::parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
        thread_local std::vector<float> work;
        if (static_cast<int64_t>(work.size()) < width) work.resize(static_cast<size_t>(width));
        for (int64_t r = r0; r < r1; ++r) {
            const int64_t b = r / (heads * c), query = s + r % c;
            rowFn(sp + r * width, allowedRows + (b * seq + query) * total, pp + r * width, width, f, work.data());
        }
    });
}
#endif

} // namespace

int64_t attentionBlockElements() { return g_blockElements.load(std::memory_order_relaxed); }

void setAttentionBlockFusedSoftmax(bool on) { g_fusedSoftmax.store(on, std::memory_order_relaxed); }

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
#ifdef TOKENLENS_AVX2_FLOAT
    const bool fused = dtype == torch::kBFloat16 && softcap <= 0 && tokenlens::avx2::hasAvx2() &&
                       g_fusedSoftmax.load(std::memory_order_relaxed);
    // The mask per (batch row, query, key), contiguous, when the fused rows read it.
    const at::Tensor allowedRows = fused ? allowed.expand({batch, 1, seq, total}).contiguous() : at::Tensor();
    const bool* allowedData = fused ? allowedRows.data_ptr<bool>() : nullptr;
#endif

    for (int64_t s = 0; s < seq; s += block) {
        if (s > 0) throwIfCancelled(); // a long prompt's layer is many blocks
        const int64_t e = std::min(seq, s + block), c = e - s, width = std::min(total, past + e);
        const auto qb = q.narrow(2, s, c).reshape({bh, c, dim});
        auto scores = buffer(Scores, {bh, c, width}, dtype);
        at::bmm_out(scores, qb, keys3.narrow(1, 0, width).transpose(1, 2));
        at::Tensor probs;
#ifdef TOKENLENS_AVX2_FLOAT
        if (fused) {
            // bfloat16 without softcap: scale, mask, softmax and the
            // conversion back in one pass per row, in float (the steps
            // below make four passes over float32 copies of the block).
            probs = buffer(ProbsLow, {bh, c, width}, dtype);
            const float f = static_cast<float>(scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(dim)));
            softmaxRowsBf16(scores, probs, allowedData, heads, seq, total, s, f);
        } else
#endif
        {
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
        probs = probs32;
        if (low) {
            probs = buffer(ProbsLow, {bh, c, width}, dtype);
            probs.copy_(probs32);
        }
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
