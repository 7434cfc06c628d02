#pragma once
// Gradients of `out` for `inputs` with a batch of cotangents under `levels`
// nested legacy vmap levels, as the shared gradient path sends them
// (core/attribution/shared_gradients.cpp): `cot` is (levels' sizes...,
// out's sizes), each result (levels' sizes..., input's sizes), one gradient
// per cotangent. The graph is kept.

#include <ATen/VmapMode.h>
#include <torch/torch.h>

#include <vector>

namespace tokenlens::testing {

inline std::vector<at::Tensor> vmapGrads(const at::Tensor& out, const std::vector<at::Tensor>& inputs,
                                         const at::Tensor& cot, int64_t levels) {
    std::vector<int64_t> ids;
    auto batched = cot;
    for (int64_t l = 0; l < levels; ++l) {
        ids.push_back(at::impl::VmapMode::increment_nesting());
        batched = at::_add_batch_dim(batched, 0, ids.back());
    }
    auto g = torch::autograd::grad({out}, inputs, {batched}, /*retain_graph=*/true);
    for (auto& x : g) {
        for (int64_t l = levels - 1; l >= 0; --l) x = at::_remove_batch_dim(x, ids[l], cot.size(l), 0);
    }
    for (int64_t l = 0; l < levels; ++l) at::impl::VmapMode::decrement_nesting();
    return g;
}

} // namespace tokenlens::testing
