// siluGate (layers.h): silu(gate) · up, the gated MLP's product, as one
// autograd node when autograd records it without LRP rules.
//
// Recorded op by op, its backward is MulBackward0 (two products, one per
// factor) and SiluBackward0 (the sigmoid recomputed with an exponential per
// element), three passes over (positions × intermediate) tensors per
// cotangent, whose bfloat16 kernels convert every operand to float and back
// per operation (measured at 4,096 positions on the 0.5B model: 9 s of
// 92). This node computes the same forward (torch::silu(gate) · up, the same
// values) and keeps gate, up and sigmoid(gate) (three tensors, as the
// recorded graph keeps gate, silu(gate) and up); its backward is one pass
// per cotangent, in float:
//   s = sigmoid(gate), gUp = g · gate · s,
//   gGate = g · up · s · (1 + gate · (1 − s)).

#include "model/avx2_float.h"
#include "model/cotangents.h"
#include "model/layers.h"

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <type_traits>

namespace tokenlens::layers {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

#ifdef TOKENLENS_AVX2_FLOAT
TOKENLENS_AVX2_BEGIN
// [begin, end) of one cotangent, eight at a time, the tail in float.
template <typename scalar_t>
void spanAvx2(const scalar_t* g, const scalar_t* gate, const scalar_t* up, const scalar_t* s, scalar_t* gGate,
              scalar_t* gUp, int64_t begin, int64_t end) {
    using tokenlens::avx2::load8;
    using tokenlens::avx2::store8;
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
        const __m256 x = load8(gate + i), u = load8(up + i), sg = load8(s + i), gi = load8(g + i);
        const __m256 gs = _mm256_mul_ps(gi, sg);
        store8(gUp + i, _mm256_mul_ps(gs, x));
        const __m256 d = _mm256_fmadd_ps(x, _mm256_sub_ps(one, sg), one); // 1 + x (1 - s)
        store8(gGate + i, _mm256_mul_ps(_mm256_mul_ps(gs, u), d));
    }
    for (; i < end; ++i) {
        const float x = gate[i], u = up[i], sg = s[i], gi = g[i];
        gUp[i] = static_cast<scalar_t>(gi * sg * x);
        gGate[i] = static_cast<scalar_t>(gi * sg * u * (1.0f + x * (1.0f - sg)));
    }
}
TOKENLENS_AVX2_END
#endif

// Outside autograd, bfloat16: silu(gate) · up in one pass, in float,
// rounded once (LibTorch 1.13's bfloat16 silu and product are two passes
// that convert every operand and round twice: 0.14 s and 0.07 s of a
// 1.44 s forward of the 0.5B model over 1,031 positions).
#ifdef TOKENLENS_AVX2_FLOAT
TOKENLENS_AVX2_BEGIN
void forwardSpanAvx2(const c10::BFloat16* gate, const c10::BFloat16* up, c10::BFloat16* out, int64_t begin,
                     int64_t end) {
    using tokenlens::avx2::expNonPositive;
    using tokenlens::avx2::load8;
    using tokenlens::avx2::store8;
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
        const __m256 x = load8(gate + i);
        // e = exp(−|x|); sigmoid(x) = 1 / (1 + e) for x ≥ 0, e / (1 + e) below.
        const __m256 e = expNonPositive(_mm256_or_ps(x, sign));
        const __m256 num = _mm256_blendv_ps(one, e, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
        const __m256 s = _mm256_div_ps(num, _mm256_add_ps(one, e));
        store8(out + i, _mm256_mul_ps(_mm256_mul_ps(x, s), load8(up + i)));
    }
    for (; i < end; ++i) {
        const float x = gate[i];
        out[i] = static_cast<c10::BFloat16>(x / (1.0f + std::exp(-x)) * static_cast<float>(up[i]));
    }
}
TOKENLENS_AVX2_END
#endif

// n cotangents g (n, count) against gate, up, s (count): gGate and gUp (n, count).
template <typename scalar_t>
void backwardPass(const scalar_t* g, const scalar_t* gate, const scalar_t* up, const scalar_t* s, scalar_t* gGate,
                  scalar_t* gUp, int64_t n, int64_t count) {
    using acc_t = at::opmath_type<scalar_t>;
    forEachCotangentSpan(n, count, [&](int64_t o, int64_t begin, int64_t end) {
#ifdef TOKENLENS_AVX2_FLOAT
        if constexpr (std::is_same_v<scalar_t, float> || std::is_same_v<scalar_t, c10::BFloat16>) {
            if (tokenlens::avx2::hasAvx2()) return spanAvx2(g + o, gate, up, s, gGate + o, gUp + o, begin, end);
        }
#endif
        for (int64_t i = begin; i < end; ++i) {
            const acc_t x = gate[i], u = up[i], sg = s[i], gi = g[o + i];
            gUp[o + i] = static_cast<scalar_t>(gi * sg * x);
            gGate[o + i] = static_cast<scalar_t>(gi * sg * u * (acc_t(1) + x * (acc_t(1) - sg)));
        }
    });
}

struct SiluGateFn : torch::autograd::Function<SiluGateFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate, const at::Tensor& up) {
        auto out = torch::silu(gate) * up;
        ctx->save_for_backward({gate.contiguous(), up.contiguous(), torch::sigmoid(gate).contiguous()});
        return out;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto& g = grads[0];
        if (!g.defined()) return {at::Tensor(), at::Tensor()};
        const auto saved = ctx->get_saved_variables();
        const auto &gate = saved[0], &up = saved[1], &s = saved[2];
        const auto cots = physicalCotangents(g, gate);
        if (!cots) {
            // Several vmap levels (or a broadcast cotangent): the same rule in ATen operations.
            const auto gf = g.to(at::toOpMathType(gate.scalar_type()));
            const auto x = gate.to(gf.scalar_type()), u = up.to(gf.scalar_type()), sg = s.to(gf.scalar_type());
            return {(gf * u * sg * (1 + x * (1 - sg))).to(gate.scalar_type()), (gf * x * sg).to(up.scalar_type())};
        }
        const at::Tensor& cot = cots->values; // (n, sizes of gate)
        auto gGate = torch::empty_like(cot), gUp = torch::empty_like(cot);
        AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, gate.scalar_type(), "siluGateBackward", [&] {
            backwardPass<scalar_t>(cot.data_ptr<scalar_t>(), gate.data_ptr<scalar_t>(), up.data_ptr<scalar_t>(),
                                   s.data_ptr<scalar_t>(), gGate.data_ptr<scalar_t>(), gUp.data_ptr<scalar_t>(),
                                   cot.size(0), gate.numel());
        });
        return {logicalGradient(gGate, *cots), logicalGradient(gUp, *cots)};
    }
};

} // namespace

at::Tensor siluGate(const at::Tensor& gate, const at::Tensor& up) {
    const bool recording = torch::GradMode::is_enabled() && (gate.requires_grad() || up.requires_grad());
    const bool alike = gate.sizes() == up.sizes() && gate.scalar_type() == up.scalar_type();
#ifdef TOKENLENS_AVX2_FLOAT
    if (!recording && alike && attentionCoreFused() && gate.scalar_type() == at::kBFloat16 && gate.is_cpu() && up.is_cpu() &&
        gate.is_contiguous() && up.is_contiguous() && tokenlens::avx2::hasAvx2()) {
        auto out = torch::empty_like(gate, at::MemoryFormat::Contiguous);
        const auto* g = gate.data_ptr<c10::BFloat16>();
        const auto* u = up.data_ptr<c10::BFloat16>();
        auto* o = out.data_ptr<c10::BFloat16>();
        at::parallel_for(0, gate.numel(), 1 << 14, [&](int64_t begin, int64_t end) { forwardSpanAvx2(g, u, o, begin, end); });
        return out;
    }
#endif
    if (!recording || !attentionCoreFused() || !alike) return torch::silu(gate) * up;
    return SiluGateFn::apply(gate, up);
}

} // namespace tokenlens::layers
