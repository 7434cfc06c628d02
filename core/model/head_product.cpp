// headProduct (layers.h): the attention's float32 products when autograd
// records them. The forward is at::matmul's. In the backward of a batch of
// B cotangents (the shared-forward gradient path,
// core/attribution/shared_gradients.cpp, runs it under LibTorch's legacy
// vmap), vmap's rule for bmm copies the other operand once per cotangent
// and runs one product per (cotangent, head); for the gradient of the second
// operand (probs·v's gradient to v: probsᵀ · gOut) that copy is B copies of
// every head's probabilities, so there the cotangents are stacked into the
// columns of one product per head instead (a copy of the cotangents, which
// are the smaller operand). Products small enough that a second OpenBLAS
// thread costs more than it brings run on one OpenBLAS thread.
// attend() uses it only with TOKENLENS_HEAD_PRODUCT=1 (layers.cpp): faster
// in isolation at 1,024 positions, no end-to-end gain measured yet.
// Measured with tests/bench/bench_attention_products (docs/benchmarks.md,
// "The attention's float32 products").

#include "model/layers.h"

#include <ATen/BatchedTensorImpl.h>

#include <dlfcn.h>

namespace tokenlens::layers {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// OpenBLAS calls of at most this many multiply-adds run on one thread (one
// head of a 128-token prompt: 1M; of a 512-token prompt: 16M).
constexpr int64_t kSmallProduct = int64_t{4} << 20;

struct OpenBlas {
    using Set = void (*)(int);
    using Get = int (*)();
    Set set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    Get get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
};

// OpenBLAS on one thread while alive, for calls of `work` multiply-adds
// up to kSmallProduct; nothing otherwise. OpenBLAS's thread count is
// process-wide: this is for float32 passes, whose thread alone drives
// OpenBLAS (a job queue of several workers keeps OpenBLAS at one thread
// each anyway, queue_worker.h).
class OneBlasThread {
public:
    explicit OneBlasThread(int64_t work) {
        static const OpenBlas blas;
        if (work > kSmallProduct || !blas.set || !blas.get) return;
        m_previous = blas.get();
        if (m_previous > 1) {
            blas.set(1);
            m_set = blas.set;
        }
    }
    ~OneBlasThread() {
        if (m_set) m_set(m_previous);
    }
    OneBlasThread(const OneBlasThread&) = delete;
    OneBlasThread& operator=(const OneBlasThread&) = delete;

private:
    int m_previous = 0;
    OpenBlas::Set m_set = nullptr;
};

// The tensor under a gradient batched at one vmap level, batch first:
// (B, logical sizes...); undefined when it is not batched at exactly one level.
at::Tensor physicalOf(const at::Tensor& g) {
    auto* impl = at::maybeGetBatchedImpl(g);
    if (!impl || impl->bdims().size() != 1) return {};
    return impl->value().movedim(impl->bdims()[0].dim(), 0);
}

// `physical` (B, sizes...) batched at the level of `like`.
at::Tensor batchedLike(const at::Tensor& physical, const at::Tensor& like) {
    const int64_t level = at::maybeGetBatchedImpl(like)->bdims()[0].level();
    return at::makeBatched(physical, at::BatchDims{at::BatchDim(level, 0)});
}

// a (batch, H, m, k) · b (batch, H, k, p) -> (batch, H, m, p).
struct HeadProductFn : torch::autograd::Function<HeadProductFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
        ctx->save_for_backward({a, b});
        OneBlasThread blas(a.size(2) * a.size(3) * b.size(3));
        return at::matmul(a, b);
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto &a = saved[0], &b = saved[1], &g = grads[0];
        at::Tensor ga, gb;
        if (!g.defined()) return {ga, gb};
        const int64_t heads = a.size(1), m = a.size(2), k = a.size(3), p = b.size(3);
        if (ctx->needs_input_grad(0)) { // as autograd's own rule (batched: vmap's)
            OneBlasThread blas(m * k * p);
            ga = at::matmul(g, b.transpose(-1, -2));
        }
        if (!ctx->needs_input_grad(1)) return {ga, gb};
        // The cotangents stacked when they are the smaller operand (k > p).
        const auto cot = a.size(0) == 1 && k > p ? physicalOf(g) : at::Tensor(); // (B, 1, H, m, p)
        if (!cot.defined()) {
            OneBlasThread blas(m * k * p);
            gb = at::matmul(a.transpose(-1, -2), g);
            return {ga, gb};
        }
        const int64_t n = cot.size(0);
        OneBlasThread blas(n * m * k * p);
        // per head: (k, m) · (m, B·p)
        const auto cols = cot.select(1, 0).permute({1, 2, 0, 3}).reshape({heads, m, n * p});
        const auto r = at::bmm(a.select(0, 0).transpose(1, 2), cols); // (H, k, B·p)
        gb = batchedLike(r.view({heads, k, n, p}).permute({2, 0, 1, 3}).unsqueeze(1), g);
        return {ga, gb};
    }
};

} // namespace

at::Tensor headProduct(const at::Tensor& a, const at::Tensor& b) { return HeadProductFn::apply(a, b); }

} // namespace tokenlens::layers
