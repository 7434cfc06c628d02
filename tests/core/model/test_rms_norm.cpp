// RMSNorm as one autograd node (layers::rmsNormNode, model/rms_norm.cpp)
// against its ATen operations recorded one by one: the same output, and the
// same input gradient for one cotangent, for a vmap batch of cotangents (as
// the shared gradient path sends them) and for a batch nested in a second
// vmap level, in float32 and bfloat16, with plain and Gemma's offset
// weights. The node is not taken where the weight takes a gradient.

#include "model/layers.h"
#include "node_test_util.h"
#include "vmap_grads.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>

using namespace tokenlens;

namespace {

using tokenlens::testing::maxDiff;

// 2 × 3 rows of 37: the vector body and a tail, over two leading dimensions.
constexpr int64_t kWidth = 37;

struct Run {
    at::Tensor x, out;
};

layers::RMSNorm norm(bool offset) {
    torch::manual_seed(3);
    layers::RMSNorm n(kWidth, 1e-6, offset);
    torch::NoGradGuard noGrad;
    n->weight.copy_(torch::randn({kWidth}) * 0.5 + (offset ? 0.0 : 1.0));
    n->weight.set_requires_grad(false);
    return n;
}

Run run(at::ScalarType dtype, bool offset, bool node) {
    tokenlens::testing::NodesGuard nodes(node);
    const auto n = norm(offset);
    torch::manual_seed(5);
    torch::AutoGradMode grad(true);
    Run r;
    r.x = (torch::randn({2, 3, kWidth}) * 3).to(dtype).requires_grad_(true);
    r.out = n->forward(r.x);
    return r;
}

bool usesNode(const at::Tensor& out) {
    return out.grad_fn() && out.grad_fn()->name().find("RmsNormFn") != std::string::npos;
}

// float32: the same formula in another order; bfloat16: the recorded
// operations round g · w to bfloat16 first, the node computes in float.
double tolerance(at::ScalarType dtype, const at::Tensor& ref) {
    const double scale = ref.to(torch::kFloat64).abs().max().item<double>();
    return dtype == torch::kFloat32 ? 1e-5 * scale : 2e-2 * scale;
}

using Param = std::tuple<at::ScalarType, bool>;
class RmsNormNode : public ::testing::TestWithParam<Param> {};

} // namespace

TEST_P(RmsNormNode, OutputEqualsTheRecordedOperations) {
    const auto [dtype, offset] = GetParam();
    const auto node = run(dtype, offset, true), recorded = run(dtype, offset, false);
    EXPECT_TRUE(usesNode(node.out));
    EXPECT_FALSE(usesNode(recorded.out));
    EXPECT_TRUE(torch::equal(node.out, recorded.out));
}

TEST_P(RmsNormNode, GradientsEqualTheRecordedOperations) {
    const auto [dtype, offset] = GetParam();
    const auto node = run(dtype, offset, true), recorded = run(dtype, offset, false);
    torch::manual_seed(7);
    const auto cot = torch::randn({2, 3, kWidth}).to(dtype);
    const auto gn = torch::autograd::grad({node.out}, {node.x}, {cot}, true)[0];
    const auto gr = torch::autograd::grad({recorded.out}, {recorded.x}, {cot}, true)[0];
    EXPECT_GT(gr.abs().max().item<double>(), 0);
    EXPECT_LE(maxDiff(gn, gr), tolerance(dtype, gr));
    // A vmap batch of five and a nested batch of 2 × 3, each cotangent against its own recorded gradient.
    const auto cots = torch::randn({5, 2, 3, kWidth}).to(dtype);
    const auto gb = tokenlens::testing::vmapGrads(node.out, {node.x}, cots, 1)[0];
    for (int64_t b = 0; b < 5; ++b) {
        const auto ref = torch::autograd::grad({recorded.out}, {recorded.x}, {cots[b]}, true)[0];
        EXPECT_LE(maxDiff(gb[b], ref), tolerance(dtype, ref)) << "cotangent " << b;
    }
    const auto nested = torch::randn({2, 3, 2, 3, kWidth}).to(dtype);
    const auto gnest = tokenlens::testing::vmapGrads(node.out, {node.x}, nested, 2)[0];
    for (int64_t a = 0; a < 2; ++a) {
        for (int64_t b = 0; b < 3; ++b) {
            const auto ref = torch::autograd::grad({recorded.out}, {recorded.x}, {nested[a][b]}, true)[0];
            EXPECT_LE(maxDiff(gnest[a][b], ref), tolerance(dtype, ref)) << "(" << a << ", " << b << ")";
        }
    }
}

TEST(RmsNormNode, NotTakenWhereTheWeightTakesAGradientOrOutsideAutograd) {
    auto n = norm(false);
    n->weight.set_requires_grad(true);
    torch::AutoGradMode grad(true);
    const auto x = torch::randn({4, kWidth}).requires_grad_(true);
    const auto out = n->forward(x);
    EXPECT_FALSE(usesNode(out));
    const auto gw = torch::autograd::grad({out.sum()}, {n->weight})[0];
    EXPECT_GT(gw.abs().max().item<double>(), 0) << "the weight's gradient through the recorded operations";
    n->weight.set_requires_grad(false);
    torch::NoGradGuard noGrad;
    EXPECT_FALSE(n->forward(x).grad_fn());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, RmsNormNode,
                         ::testing::Combine(::testing::Values(torch::kFloat32, torch::kBFloat16),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<Param>& p) {
                             return std::string(std::get<0>(p.param) == torch::kFloat32 ? "float32" : "bfloat16") +
                                    (std::get<1>(p.param) ? "_offset" : "_plain");
                         });
