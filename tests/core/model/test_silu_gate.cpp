// The gated MLP's silu(gate) · up as one autograd node (layers::siluGate,
// model/silu_gate.cpp) against the ATen operations recorded one by one:
// the same output, and the same gradients for gate and up for one
// cotangent, for a vmap batch of cotangents (as the shared gradient path
// sends them) and for a batch nested in a second vmap level, in float32
// and bfloat16; a gate that is a slice of a wider tensor (fused gate_up
// projections) included.

#include "model/layers.h"
#include "node_test_util.h"
#include "vmap_grads.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace tokenlens;

namespace {

using tokenlens::testing::maxDiff;

// 3 × 37 elements per row: the vector body and a tail.
constexpr int64_t kRows = 3, kWidth = 37;

struct Leaves {
    at::Tensor gu, gate, up, out;
};

// gate and up as halves of one leaf (2 × kWidth wide), as fused projections give them.
Leaves run(at::ScalarType dtype, bool node) {
    torch::manual_seed(5);
    torch::AutoGradMode grad(true);
    Leaves l;
    l.gu = (torch::randn({kRows, 2 * kWidth}) * 3).to(dtype).requires_grad_(true);
    l.gate = l.gu.slice(-1, 0, kWidth);
    l.up = l.gu.slice(-1, kWidth);
    l.out = node ? layers::siluGate(l.gate, l.up) : torch::silu(l.gate) * l.up;
    return l;
}

bool usesNode(const at::Tensor& out) {
    return out.grad_fn() && out.grad_fn()->name().find("SiluGateFn") != std::string::npos;
}

at::Tensor vmapGrad(const Leaves& l, const at::Tensor& cot, int64_t levels) {
    return tokenlens::testing::vmapGrads(l.out, {l.gu}, cot, levels)[0];
}

// float32: the same formula in another order; bfloat16: the recorded
// operations round each intermediate to bfloat16, the node computes in float.
double tolerance(at::ScalarType dtype, const at::Tensor& ref) {
    const double scale = ref.to(torch::kFloat64).abs().max().item<double>();
    return dtype == torch::kFloat32 ? 1e-6 * scale : 2e-2 * scale;
}

class SiluGate : public ::testing::TestWithParam<at::ScalarType> {};

} // namespace

TEST_P(SiluGate, OutputEqualsTheRecordedOperations) {
    const auto node = run(GetParam(), true), recorded = run(GetParam(), false);
    EXPECT_TRUE(usesNode(node.out));
    EXPECT_FALSE(usesNode(recorded.out));
    EXPECT_TRUE(torch::equal(node.out, recorded.out));
}

TEST_P(SiluGate, GradientsEqualTheRecordedOperations) {
    const auto dtype = GetParam();
    const auto node = run(dtype, true), recorded = run(dtype, false);
    const auto cot = torch::randn({kRows, kWidth}).to(dtype);
    const auto gn = torch::autograd::grad({node.out}, {node.gu}, {cot}, true)[0];
    const auto gr = torch::autograd::grad({recorded.out}, {recorded.gu}, {cot}, true)[0];
    EXPECT_LE(maxDiff(gn, gr), tolerance(dtype, gr));
    // A vmap batch of five and a nested batch of 2 × 3, each cotangent against its own recorded gradient.
    const auto cots = torch::randn({5, kRows, kWidth}).to(dtype);
    const auto gb = vmapGrad(node, cots, 1);
    for (int64_t b = 0; b < 5; ++b) {
        const auto ref = torch::autograd::grad({recorded.out}, {recorded.gu}, {cots[b]}, true)[0];
        EXPECT_LE(maxDiff(gb[b], ref), tolerance(dtype, ref)) << "cotangent " << b;
    }
    const auto nested = torch::randn({2, 3, kRows, kWidth}).to(dtype);
    const auto gnest = vmapGrad(node, nested, 2);
    for (int64_t a = 0; a < 2; ++a) {
        for (int64_t b = 0; b < 3; ++b) {
            const auto ref = torch::autograd::grad({recorded.out}, {recorded.gu}, {nested[a][b]}, true)[0];
            EXPECT_LE(maxDiff(gnest[a][b], ref), tolerance(dtype, ref)) << "(" << a << ", " << b << ")";
        }
    }
}

TEST(SiluGate, OutsideAutogradTheAtenOperations) {
    torch::NoGradGuard noGrad;
    const auto gate = torch::randn({4, 9}), up = torch::randn({4, 9});
    const auto out = layers::siluGate(gate, up);
    EXPECT_FALSE(out.grad_fn());
    EXPECT_TRUE(torch::equal(out, torch::silu(gate) * up));
}

// Outside autograd in bfloat16: one pass in float, rounded once, so within
// half a bfloat16 step (at most 2^-8 relative) of the function of its inputs in
// float64, over both signs, saturation and a tail, and never further from
// it than the ATen operations, which round twice, by more than that step.
TEST(SiluGate, OutsideAutogradBfloat16IsTheFunctionRoundedOnce) {
    torch::NoGradGuard noGrad;
    torch::manual_seed(11);
    const auto gate = (torch::rand({5, 203}) * 40 - 20).to(torch::kBFloat16);
    const auto up = torch::randn({5, 203}).to(torch::kBFloat16);
    const auto out = layers::siluGate(gate, up);
    ASSERT_EQ(out.scalar_type(), torch::kBFloat16);
    const auto g = gate.to(torch::kFloat64), u = up.to(torch::kFloat64);
    const auto ref = g * torch::sigmoid(g) * u;
    const auto err = (out.to(torch::kFloat64) - ref).abs();
    const auto bound = ref.abs() * std::ldexp(1.0, -8) * (1 + 1e-3) + 1e-30;
    EXPECT_TRUE((err <= bound).all().item<bool>()) << "worst " << (err / bound).max().item<double>() << " of the bound";
    const auto aten = (torch::silu(gate) * up).to(torch::kFloat64);
    EXPECT_LE((err - (aten - ref).abs()).max().item<double>(), (ref.abs() * std::ldexp(1.0, -8)).max().item<double>());
    EXPECT_GT((aten - ref).abs().max().item<double>(), 0) << "the operations do round twice somewhere";
}

INSTANTIATE_TEST_SUITE_P(Dtypes, SiluGate, ::testing::Values(torch::kFloat32, torch::kBFloat16),
                         [](const ::testing::TestParamInfo<at::ScalarType>& p) {
                             return std::string(p.param == torch::kFloat32 ? "float32" : "bfloat16");
                         });
