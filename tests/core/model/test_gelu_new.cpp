// GPT-2's gelu_new as one autograd node (layers::geluNewNode,
// model/gelu_new.cpp) against the reference's operations recorded one by
// one: the same output, and the same gradients for one cotangent, for a
// vmap batch of cotangents (as the shared gradient path sends them) and for
// a batch nested in a second vmap level, in float32 and bfloat16.

#include "model/layers.h"
#include "node_test_util.h"
#include "vmap_grads.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace tokenlens;

namespace {

using tokenlens::testing::maxDiff;

// 3 × 37 elements: the vector body and a tail; values over [-6, 6], where tanh bends and saturates.
constexpr int64_t kRows = 3, kWidth = 37;

struct Run {
    at::Tensor x, out;
};

Run run(at::ScalarType dtype, bool node) {
    tokenlens::testing::NodesGuard nodes(node);
    torch::manual_seed(5);
    torch::AutoGradMode grad(true);
    Run r;
    r.x = (torch::rand({kRows, kWidth}) * 12 - 6).to(dtype).requires_grad_(true);
    r.out = layers::geluNewNode(r.x);
    return r;
}

bool usesNode(const at::Tensor& out) {
    return out.grad_fn() && out.grad_fn()->name().find("GeluNewFn") != std::string::npos;
}

double tolerance(at::ScalarType dtype, const at::Tensor& ref) {
    const double scale = ref.to(torch::kFloat64).abs().max().item<double>();
    return dtype == torch::kFloat32 ? 1e-6 * scale : 2e-2 * scale;
}

class GeluNew : public ::testing::TestWithParam<at::ScalarType> {};

} // namespace

TEST_P(GeluNew, OutputEqualsTheRecordedOperations) {
    const auto node = run(GetParam(), true), recorded = run(GetParam(), false);
    EXPECT_TRUE(usesNode(node.out));
    EXPECT_FALSE(usesNode(recorded.out));
    EXPECT_TRUE(torch::equal(node.out, recorded.out));
    // And the function itself, in float64.
    const auto x = recorded.x.detach().to(torch::kFloat64);
    const auto ref = 0.5 * x * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x.pow(3))));
    EXPECT_LE(maxDiff(node.out, ref), GetParam() == torch::kFloat32 ? 1e-5 : 5e-2);
}

TEST_P(GeluNew, GradientsEqualTheRecordedOperations) {
    const auto dtype = GetParam();
    const auto node = run(dtype, true), recorded = run(dtype, false);
    torch::manual_seed(7);
    const auto cot = torch::randn({kRows, kWidth}).to(dtype);
    const auto gn = torch::autograd::grad({node.out}, {node.x}, {cot}, true)[0];
    const auto gr = torch::autograd::grad({recorded.out}, {recorded.x}, {cot}, true)[0];
    EXPECT_GT(gr.abs().max().item<double>(), 0);
    EXPECT_LE(maxDiff(gn, gr), tolerance(dtype, gr));
    const auto cots = torch::randn({5, kRows, kWidth}).to(dtype);
    const auto gb = tokenlens::testing::vmapGrads(node.out, {node.x}, cots, 1)[0];
    for (int64_t b = 0; b < 5; ++b) {
        const auto ref = torch::autograd::grad({recorded.out}, {recorded.x}, {cots[b]}, true)[0];
        EXPECT_LE(maxDiff(gb[b], ref), tolerance(dtype, ref)) << "cotangent " << b;
    }
    const auto nested = torch::randn({2, 3, kRows, kWidth}).to(dtype);
    const auto gnest = tokenlens::testing::vmapGrads(node.out, {node.x}, nested, 2)[0];
    for (int64_t a = 0; a < 2; ++a) {
        for (int64_t b = 0; b < 3; ++b) {
            const auto ref = torch::autograd::grad({recorded.out}, {recorded.x}, {nested[a][b]}, true)[0];
            EXPECT_LE(maxDiff(gnest[a][b], ref), tolerance(dtype, ref)) << "(" << a << ", " << b << ")";
        }
    }
}

TEST(GeluNew, OutsideAutogradTheAtenOperations) {
    torch::NoGradGuard noGrad;
    const auto x = torch::randn({4, 9});
    const auto out = layers::geluNewNode(x);
    EXPECT_FALSE(out.grad_fn());
    EXPECT_TRUE(torch::equal(out, 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0))))));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GeluNew, ::testing::Values(torch::kFloat32, torch::kBFloat16),
                         [](const ::testing::TestParamInfo<at::ScalarType>& p) {
                             return std::string(p.param == torch::kFloat32 ? "float32" : "bfloat16");
                         });
