#pragma once
// Shared by the tests of the model's autograd nodes against the operations
// they replace (test_attention_core.cpp, test_silu_gate.cpp,
// test_rms_norm.cpp, test_gelu_new.cpp).

#include "model/layers.h"

#include <torch/torch.h>

namespace tokenlens::testing {

// The largest |a − b| over all elements, in float64.
inline double maxDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// The nodes on (the default) or off (TOKENLENS_ATTENTION_CORE=recorded's
// setting: the recorded operations) for its lifetime; on again on exit.
struct NodesGuard {
    explicit NodesGuard(bool on) { layers::setAttentionCoreFused(on); }
    ~NodesGuard() { layers::setAttentionCoreFused(true); }
    NodesGuard(const NodesGuard&) = delete;
    NodesGuard& operator=(const NodesGuard&) = delete;
};

} // namespace tokenlens::testing
