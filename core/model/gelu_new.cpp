// geluNewNode (layers.h): GPT-2's gelu_new, 0.5·x·(1 + tanh(k·(x + 0.044715·x³)))
// with k = √(2/π), as one autograd node when autograd records it without
// LRP rules.
//
// Recorded op by op it is eight operations and its backward seven nodes per
// cotangent (the cube's, the sums', the products', the tanh's), each a pass
// over (positions × 3,072) values (measured on GPT-2 small at 136 positions,
// float32 saliency: about 0.27 s of 1.52). This node computes the same
// forward (the same operations in the same order, the same values), keeps
// x and t = tanh(k·(x + 0.044715·x³)) as the recorded graph keeps them, and
// its backward is one pass per cotangent, in float:
//   gx = g · (0.5·(1 + t) + 0.5·x·(1 − t²)·k·(1 + 3·0.044715·x²)).

#include "model/avx2_float.h"
#include "model/cotangents.h"
#include "model/layers.h"

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <type_traits>

namespace tokenlens::layers {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr float kCube = 0.044715f;
const float kK = static_cast<float>(std::sqrt(2.0 / M_PI));

#ifdef TOKENLENS_AVX2_FLOAT
TOKENLENS_AVX2_BEGIN
// [begin, end) of one cotangent, eight at a time, the tail in float.
template <typename scalar_t>
void spanAvx2(const scalar_t* g, const scalar_t* x, const scalar_t* t, scalar_t* gx, int64_t begin, int64_t end) {
    using tokenlens::avx2::load8;
    using tokenlens::avx2::store8;
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), k = _mm256_set1_ps(kK),
                 c3 = _mm256_set1_ps(3.0f * kCube);
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
        const __m256 xi = load8(x + i), ti = load8(t + i), gi = load8(g + i);
        const __m256 inner = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(c3, xi), xi, one)); // k (1 + 3c x²)
        const __m256 sech2 = _mm256_fnmadd_ps(ti, ti, one);                                        // 1 − t²
        const __m256 d = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(half, xi), sech2), inner,
                                         _mm256_mul_ps(half, _mm256_add_ps(one, ti)));
        store8(gx + i, _mm256_mul_ps(gi, d));
    }
    for (; i < end; ++i) {
        const float xi = x[i], ti = t[i];
        gx[i] = static_cast<scalar_t>(static_cast<float>(g[i]) *
                                      (0.5f * (1 + ti) + 0.5f * xi * (1 - ti * ti) * kK * (1 + 3 * kCube * xi * xi)));
    }
}
TOKENLENS_AVX2_END
#endif

// n cotangents g (n, count) against x, t (count): gx (n, count).
template <typename scalar_t>
void backwardPass(const scalar_t* g, const scalar_t* x, const scalar_t* t, scalar_t* gx, int64_t n, int64_t count) {
    using acc_t = at::opmath_type<scalar_t>;
    forEachCotangentSpan(n, count, [&](int64_t o, int64_t begin, int64_t end) {
#ifdef TOKENLENS_AVX2_FLOAT
        if constexpr (std::is_same_v<scalar_t, float> || std::is_same_v<scalar_t, c10::BFloat16>) {
            if (tokenlens::avx2::hasAvx2()) return spanAvx2(g + o, x, t, gx + o, begin, end);
        }
#endif
        for (int64_t i = begin; i < end; ++i) {
            const acc_t xi = x[i], ti = t[i];
            const acc_t d =
                acc_t(0.5) * (1 + ti) + acc_t(0.5) * xi * (1 - ti * ti) * acc_t(kK) * (1 + acc_t(3 * kCube) * xi * xi);
            gx[o + i] = static_cast<scalar_t>(static_cast<acc_t>(g[o + i]) * d);
        }
    });
}

// The recorded operations, in the reference's order; t is the tanh's output.
at::Tensor forwardOps(const at::Tensor& x, at::Tensor* t) {
    auto th = torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0)));
    auto out = 0.5 * x * (1.0 + th);
    if (t) *t = th;
    return out;
}

struct GeluNewFn : torch::autograd::Function<GeluNewFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
        at::Tensor t;
        auto out = forwardOps(x, &t);
        ctx->save_for_backward({x.contiguous(), t.contiguous()});
        return out;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto& g = grads[0];
        if (!g.defined()) return {at::Tensor()};
        const auto saved = ctx->get_saved_variables();
        const auto &x = saved[0], &t = saved[1];
        const auto cots = physicalCotangents(g, x);
        if (!cots) {
            // Several vmap levels (or a broadcast cotangent): the same rule in ATen operations.
            const auto f = at::toOpMathType(x.scalar_type());
            const auto xf = x.to(f), tf = t.to(f);
            const auto d = 0.5 * (1 + tf) + 0.5 * xf * (1 - tf * tf) * kK * (1 + 3 * kCube * xf * xf);
            return {(g.to(f) * d).to(x.scalar_type())};
        }
        const at::Tensor& cot = cots->values; // (n, sizes of x)
        auto gx = torch::empty_like(cot);
        AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "geluNewBackward", [&] {
            backwardPass<scalar_t>(cot.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), t.data_ptr<scalar_t>(),
                                   gx.data_ptr<scalar_t>(), cot.size(0), x.numel());
        });
        return {logicalGradient(gx, *cots)};
    }
};

} // namespace

// TOKENLENS_GELU_NODE=0 keeps the recorded operations, for A/B runs.
const bool g_geluNode = [] {
    const char* env = std::getenv("TOKENLENS_GELU_NODE");
    return !(env && std::string(env) == "0");
}();

at::Tensor geluNewNode(const at::Tensor& x) {
    if (!g_geluNode || !torch::GradMode::is_enabled() || !x.requires_grad() || !attentionCoreFused() || !x.device().is_cpu()) {
        return forwardOps(x, nullptr);
    }
    return GeluNewFn::apply(x);
}

} // namespace tokenlens::layers
