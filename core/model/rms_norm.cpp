// rmsNormNode (layers.h): RMSNormImpl::forward's operations as one autograd
// node when autograd records them without LRP rules and the weight takes no
// gradient (attribution: gradients to the inputs only).
//
// Recorded op by op, RMSNorm's backward is seven nodes per cotangent (the
// weight's product, the conversions to and from float32, the product with
// the reciprocal root, the root's, the mean's and the square's), each a
// pass over (positions × hidden) values, in float32 for most of them
// (measured on the 0.5B model at 1,024 positions, bfloat16: about 1.1 s of
// 15). This node computes the same forward (the same operations, the same
// values) and keeps x and its per-row r = rsqrt(mean(x²) + eps) in float32;
// its backward is one pass per cotangent, in float, with a = g ⊙ w
// (w + 1 for Gemma's offset weights) and D the row's width:
//   gx = r · a − x · r³ · (Σ a ⊙ x) / D.

#include "model/avx2_float.h"
#include "model/cotangents.h"
#include "model/layers.h"

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <cstdlib>
#include <string>
#include <type_traits>

namespace tokenlens::layers {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

#ifdef TOKENLENS_AVX2_FLOAT
TOKENLENS_AVX2_BEGIN
// One row of one cotangent, eight at a time, the tail in float.
template <typename scalar_t>
void rowAvx2(const scalar_t* g, const scalar_t* x, const float* w, scalar_t* gx, int64_t d, float r) {
    using tokenlens::avx2::load8;
    using tokenlens::avx2::store8;
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= d; i += 8) acc = _mm256_fmadd_ps(_mm256_mul_ps(load8(g + i), _mm256_loadu_ps(w + i)), load8(x + i), acc);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    float dot = 0;
    for (float v : lanes) dot += v;
    for (; i < d; ++i) dot += static_cast<float>(g[i]) * w[i] * static_cast<float>(x[i]);
    const float c = r * r * r * dot / static_cast<float>(d);
    const __m256 vr = _mm256_set1_ps(r), vc = _mm256_set1_ps(c);
    i = 0;
    for (; i + 8 <= d; i += 8) {
        const __m256 a = _mm256_mul_ps(load8(g + i), _mm256_loadu_ps(w + i));
        store8(gx + i, _mm256_fnmadd_ps(load8(x + i), vc, _mm256_mul_ps(vr, a)));
    }
    for (; i < d; ++i) gx[i] = static_cast<scalar_t>(r * static_cast<float>(g[i]) * w[i] - static_cast<float>(x[i]) * c);
}
TOKENLENS_AVX2_END
#endif

template <typename scalar_t>
void rowScalar(const scalar_t* g, const scalar_t* x, const float* w, scalar_t* gx, int64_t d, float r) {
    float dot = 0;
    for (int64_t i = 0; i < d; ++i) dot += static_cast<float>(g[i]) * w[i] * static_cast<float>(x[i]);
    const float c = r * r * r * dot / static_cast<float>(d);
    for (int64_t i = 0; i < d; ++i) gx[i] = static_cast<scalar_t>(r * static_cast<float>(g[i]) * w[i] - static_cast<float>(x[i]) * c);
}

// n cotangents g (n, rows, d) against x (rows, d), r (rows) and the weight w (d): gx (n, rows, d).
template <typename scalar_t>
void backwardPass(const scalar_t* g, const scalar_t* x, const float* r, const float* w, scalar_t* gx, int64_t n,
                  int64_t rows, int64_t d) {
#ifdef TOKENLENS_AVX2_FLOAT
    const bool avx2 = tokenlens::avx2::hasAvx2();
#endif
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(d, 1));
    at::parallel_for(0, n * rows, grain, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
            const int64_t row = k % rows;
            const scalar_t* gk = g + k * d;
            const scalar_t* xk = x + row * d;
            scalar_t* out = gx + k * d;
#ifdef TOKENLENS_AVX2_FLOAT
            if constexpr (std::is_same_v<scalar_t, float> || std::is_same_v<scalar_t, c10::BFloat16>) {
                if (avx2) {
                    rowAvx2(gk, xk, w, out, d, r[row]);
                    continue;
                }
            }
#endif
            rowScalar(gk, xk, w, out, d, r[row]);
        }
    });
}

struct RmsNormFn : torch::autograd::Function<RmsNormFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, double eps,
                              bool offsetOne) {
        // RMSNormImpl::forward's operations, in its order.
        auto h = x.to(torch::kFloat32);
        const auto r = torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps);
        h = h * r;
        auto out = offsetOne ? (h * (1.0 + weight)).to(x.scalar_type()) : weight * h.to(x.scalar_type());
        // The weight as the gradient multiplies it, in float32.
        const auto w = (offsetOne ? 1.0 + weight.to(torch::kFloat32) : weight.to(torch::kFloat32)).contiguous();
        ctx->save_for_backward({x.contiguous(), r.contiguous(), w});
        return out;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto& g = grads[0];
        const variable_list none{at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
        if (!g.defined()) return none;
        const auto saved = ctx->get_saved_variables();
        const auto &x = saved[0], &r = saved[1], &w = saved[2];
        const int64_t d = x.size(-1);
        const auto cots = physicalCotangents(g, x);
        if (!cots) {
            // Several vmap levels (or a broadcast cotangent): the same rule in ATen operations.
            const auto a = g.to(torch::kFloat32) * w;
            const auto xf = x.to(torch::kFloat32);
            const auto s = (a * xf).sum(-1, /*keepdim=*/true);
            auto gx = (r * a - xf * (r * r * r * s / static_cast<double>(d))).to(x.scalar_type());
            return {gx, at::Tensor(), at::Tensor(), at::Tensor()};
        }
        const at::Tensor& cot = cots->values; // (n, sizes of x)
        const int64_t rows = x.numel() / std::max<int64_t>(d, 1);
        auto gx = torch::empty_like(cot);
        AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "rmsNormBackward", [&] {
            backwardPass<scalar_t>(cot.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), r.data_ptr<float>(),
                                   w.data_ptr<float>(), gx.data_ptr<scalar_t>(), cot.size(0), rows, d);
        });
        return {logicalGradient(gx, *cots), at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

} // namespace

// TOKENLENS_RMSNORM_NODE=0 keeps the recorded operations, for A/B runs.
const bool g_rmsNormNode = [] {
    const char* env = std::getenv("TOKENLENS_RMSNORM_NODE");
    return !(env && std::string(env) == "0");
}();

bool rmsNormNodeTakes(const at::Tensor& x, const at::Tensor& weight) {
    return g_rmsNormNode && torch::GradMode::is_enabled() && x.requires_grad() && !weight.requires_grad() &&
           attentionCoreFused() &&
           x.size(-1) == weight.numel() && x.size(-1) > 0;
}

at::Tensor rmsNormNode(const at::Tensor& x, const at::Tensor& weight, double eps, bool offsetOne) {
    return RmsNormFn::apply(x, weight, eps, offsetOne);
}

} // namespace tokenlens::layers
