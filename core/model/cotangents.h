#pragma once
// The cotangents an element-wise autograd node's backward receives (one, or
// a batch under LibTorch's legacy vmap, as the shared gradient path sends
// them), laid out batch first for one physical pass, and the gradient handed
// back in the form it came in. Used by the gated MLP's, RMSNorm's and
// gelu_new's nodes (silu_gate.cpp, rms_norm.cpp, gelu_new.cpp).

#include <ATen/BatchedTensorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdint>
#include <optional>

namespace tokenlens::layers {

struct Cotangents {
    at::Tensor values;  // (n, sizes of the node's input), its dtype, contiguous
    int64_t level = -1; // the vmap level they came batched at; -1: one cotangent
};

// g as (n, like's sizes) in like's dtype; nullopt when g is batched at
// several vmap levels or has another shape than like (the caller then
// applies its rule in ATen operations, which vmap batches).
inline std::optional<Cotangents> physicalCotangents(const at::Tensor& g, const at::Tensor& like) {
    auto* impl = at::maybeGetBatchedImpl(g);
    if ((impl && impl->bdims().size() != 1) || (!impl && g.sizes() != like.sizes())) return std::nullopt;
    Cotangents c;
    c.values = (impl ? impl->value().movedim(impl->bdims()[0].dim(), 0) : g.unsqueeze(0))
                   .to(like.scalar_type())
                   .contiguous();
    if (impl) c.level = impl->bdims()[0].level();
    TORCH_INTERNAL_ASSERT(c.values.numel() == c.values.size(0) * like.numel());
    return c;
}

// The gradient x (n, ...) in the form its cotangents came in.
inline at::Tensor logicalGradient(const at::Tensor& x, const Cotangents& c) {
    if (c.level < 0) return x.squeeze(0);
    return at::makeBatched(x, at::BatchDims{at::BatchDim(c.level, 0)});
}

// span(offset, begin, end) for each of n cotangents of `count` elements,
// [begin, end) in chunks on ATen's threads, offset = the cotangent's start:
// a chunk of the node's saved tensors stays in cache across the cotangents.
template <typename F>
void forEachCotangentSpan(int64_t n, int64_t count, const F& span) {
    at::parallel_for(0, count, int64_t{1} << 14, [&](int64_t begin, int64_t end) {
        for (int64_t j = 0; j < n; ++j) span(j * count, begin, end);
    });
}

} // namespace tokenlens::layers
