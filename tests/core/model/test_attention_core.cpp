// The attention core as one autograd node (layers::attentionCore,
// model/attention_core.cpp) against attend()'s recorded operations
// (setAttentionCoreFused(false)): the same output, and the same gradients
// for q, k and v, for one cotangent, for a vmap batch of cotangents (as the
// shared gradient path sends them) and for a batch nested in a second vmap
// level; in float32 and bfloat16, with grouped-query heads and a padded
// batch row whose padding queries have no allowed key; with the queries in
// one block and in blocks of 5 rows (each over the keys up to its last row;
// the padded row's first block over every key). The cancel check installed
// at the forward stops the node's backward.

#include "model/avx512_bf16.h"
#include "model/layers.h"
#include "node_test_util.h"
#include "util/cancellation.h"
#include "vmap_grads.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace tokenlens;

namespace {

using tokenlens::testing::maxDiff;

// kSeq keys: the vector kernel's 8-wide body and a tail.
constexpr int64_t kBatch = 2, kHeads = 4, kKvHeads = 2, kSeq = 19, kDim = 8, kPad = 2;

struct Inputs {
    at::Tensor q, k, v, allowed;
};

// Batch row 1 is left-padded by kPad tokens: its first kPad queries have no allowed key.
Inputs inputs(at::ScalarType dtype, int64_t seq = kSeq) {
    torch::manual_seed(11);
    Inputs in;
    in.q = torch::randn({kBatch, kHeads, seq, kDim}).to(dtype);
    in.k = torch::randn({kBatch, kKvHeads, seq, kDim}).to(dtype);
    in.v = torch::randn({kBatch, kKvHeads, seq, kDim}).to(dtype);
    auto mask = torch::ones({kBatch, seq}, torch::kInt64);
    mask[1].slice(0, 0, kPad).fill_(0);
    in.allowed = layers::allowedMask(mask, kBatch, seq, 0, torch::kCPU);
    return in;
}

struct Attention {
    at::Tensor q, k, v, out; // out (b, seq, heads·d)
};

// The core over leaves that require gradient: the node or the recorded operations.
// blockRows: the node's query rows per block (-1: its default, one block at kSeq).
Attention run(const Inputs& in, bool fused, bool divideBy, double scale, int64_t blockRows = -1) {
    torch::AutoGradMode grad(true);
    Attention a{in.q.clone().requires_grad_(true), in.k.clone().requires_grad_(true),
                in.v.clone().requires_grad_(true), {}};
    if (fused) {
        layers::setAttentionCoreBlockRows(blockRows);
        a.out = layers::attentionCore(a.q, a.k, a.v, in.allowed, divideBy, scale).transpose(1, 2).reshape(
            {kBatch, in.q.size(2), kHeads * kDim});
        layers::setAttentionCoreBlockRows(-1);
    } else {
        tokenlens::testing::NodesGuard recorded(false);
        a.out = layers::attend(a.q, a.k, a.v, in.allowed, divideBy, scale, 0, LrpMode::Off, {0, 0}).output;
    }
    return a;
}

std::vector<at::Tensor> grads(const Attention& a, const at::Tensor& cot) {
    return torch::autograd::grad({a.out}, {a.q, a.k, a.v}, {cot}, /*retain_graph=*/true);
}

// One gradient per cotangent of `cot` (levels × batch, out sizes) under `levels` vmap levels.
std::vector<at::Tensor> vmapGrads(const Attention& a, const at::Tensor& cot, int64_t levels) {
    return tokenlens::testing::vmapGrads(a.out, {a.q, a.k, a.v}, cot, levels);
}

// float32: the same operations in another order; bfloat16: the recorded
// path's softmax backward uses the float32 probabilities and rounds twice.
double tolerance(at::ScalarType dtype, const at::Tensor& ref) {
    const double scale = ref.to(torch::kFloat64).abs().max().item<double>();
    return dtype == torch::kFloat32 ? 1e-5 * scale + 1e-6 : 2e-2 * scale + 1e-3;
}

struct Case {
    at::ScalarType dtype;
    bool divideBy;
    double scale;
    int64_t blockRows = -1;
};

class AttentionCore : public ::testing::TestWithParam<Case> {};

std::string caseName(const ::testing::TestParamInfo<Case>& info) {
    const auto& c = info.param;
    return std::string(c.dtype == torch::kFloat32 ? "float32" : "bfloat16") +
           (c.scale > 0 ? "_scale" : c.divideBy ? "_divide" : "_multiply") +
           (c.blockRows > 0 ? "_blocks_of_" + std::to_string(c.blockRows) : "");
}

} // namespace

TEST_P(AttentionCore, OutputEqualsTheRecordedOperations) {
    const auto c = GetParam();
    const auto in = inputs(c.dtype);
    const auto fused = run(in, true, c.divideBy, c.scale, c.blockRows), recorded = run(in, false, c.divideBy, c.scale);
    // One block: the same operations on the same values. Blocks: the same
    // operations over fewer keys per row (the masked ones contribute exact
    // zeros), so equal up to the products' rounding.
    if (c.blockRows <= 0) {
        EXPECT_TRUE(torch::equal(fused.out, recorded.out)) << "max diff " << maxDiff(fused.out, recorded.out);
    } else {
        const double scale = recorded.out.to(torch::kFloat64).abs().max().item<double>();
        EXPECT_LE(maxDiff(fused.out, recorded.out), (c.dtype == torch::kFloat32 ? 1e-6 : 8e-3) * scale);
    }
}

TEST_P(AttentionCore, OneCotangentsGradientsEqualTheRecordedOperations) {
    const auto c = GetParam();
    const auto in = inputs(c.dtype);
    const auto fused = run(in, true, c.divideBy, c.scale, c.blockRows), recorded = run(in, false, c.divideBy, c.scale);
    const auto cot = torch::randn({kBatch, kSeq, kHeads * kDim}).to(c.dtype);
    const auto gf = grads(fused, cot), gr = grads(recorded, cot);
    const char* names[] = {"q", "k", "v"};
    for (size_t i = 0; i < 3; ++i) {
        ASSERT_EQ(gf[i].sizes(), gr[i].sizes()) << names[i];
        EXPECT_LE(maxDiff(gf[i], gr[i]), tolerance(c.dtype, gr[i])) << names[i];
    }
    // The padding queries' (batch row 1, first kPad) gradients are exactly 0 on both paths.
    EXPECT_EQ(gf[0][1].slice(1, 0, kPad).abs().max().item<double>(), 0.0);
    EXPECT_EQ(gr[0][1].slice(1, 0, kPad).abs().max().item<double>(), 0.0);
}

TEST_P(AttentionCore, VmapBatchOfCotangentsEqualsEachCotangentsRecordedGradients) {
    const auto c = GetParam();
    const auto in = inputs(c.dtype);
    const auto fused = run(in, true, c.divideBy, c.scale, c.blockRows), recorded = run(in, false, c.divideBy, c.scale);
    const int64_t n = 5;
    const auto cots = torch::randn({n, kBatch, kSeq, kHeads * kDim}).to(c.dtype);
    const auto gf = vmapGrads(fused, cots, 1);
    for (int64_t b = 0; b < n; ++b) {
        const auto gr = grads(recorded, cots[b]);
        for (size_t i = 0; i < 3; ++i) {
            EXPECT_LE(maxDiff(gf[i][b], gr[i]), tolerance(c.dtype, gr[i])) << "input " << i << " cotangent " << b;
        }
    }
}

TEST_P(AttentionCore, NestedVmapBatchesEqualEachCotangentsRecordedGradients) {
    const auto c = GetParam();
    const auto in = inputs(c.dtype);
    const auto fused = run(in, true, c.divideBy, c.scale, c.blockRows), recorded = run(in, false, c.divideBy, c.scale);
    const auto cots = torch::randn({2, 3, kBatch, kSeq, kHeads * kDim}).to(c.dtype);
    const auto gf = vmapGrads(fused, cots, 2);
    for (int64_t a = 0; a < 2; ++a) {
        for (int64_t b = 0; b < 3; ++b) {
            const auto gr = grads(recorded, cots[a][b]);
            for (size_t i = 0; i < 3; ++i) {
                EXPECT_LE(maxDiff(gf[i][a][b], gr[i]), tolerance(c.dtype, gr[i])) << "input " << i << " (" << a << ", " << b << ")";
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, AttentionCore,
                         ::testing::Values(Case{torch::kFloat32, true, 0}, Case{torch::kFloat32, false, 0},
                                           Case{torch::kFloat32, false, 0.3}, Case{torch::kBFloat16, false, 0},
                                           Case{torch::kBFloat16, true, 0}, Case{torch::kFloat32, false, 0, 5},
                                           Case{torch::kFloat32, true, 0, 5}, Case{torch::kBFloat16, false, 0, 5}),
                         caseName);

// Rows long enough for the vector passes' full widths (the AVX-512 sum
// takes 32 keys at a time, the AVX2 one 8) and their tails: 77 keys, in
// one block and in blocks of 16 rows; with the AVX-512 passes and with the
// AVX2 ones.
TEST(AttentionCore, LongRowsGradientsEqualTheRecordedOperations) {
    const int64_t seq = 77;
    for (const bool avx512 : {true, false}) {
#ifdef TOKENLENS_AVX512_BF16
    tokenlens::avx512::setAvx512Enabled(avx512);
#else
    if (!avx512) continue;
#endif
    for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
        const auto in = inputs(dtype, seq);
        const auto recorded = run(in, false, false, 0);
        const auto cot = torch::randn({kBatch, seq, kHeads * kDim}).to(dtype);
        const auto gr = grads(recorded, cot);
        for (const int64_t blockRows : {int64_t{-1}, int64_t{16}}) {
            const auto gf = grads(run(in, true, false, 0, blockRows), cot);
            for (size_t i = 0; i < 3; ++i) {
                EXPECT_LE(maxDiff(gf[i], gr[i]), tolerance(dtype, gr[i]))
                    << "input " << i << (dtype == torch::kFloat32 ? " float32" : " bfloat16") << " block rows "
                    << blockRows << (avx512 ? " AVX-512" : " AVX2");
            }
        }
    }
    }
#ifdef TOKENLENS_AVX512_BF16
    tokenlens::avx512::setAvx512Enabled(true);
#endif
}

// attend() takes the node when autograd records, without LRP and without
// probabilities asked for; its gradient is the node's.
TEST(AttentionCore, AttendTakesTheNodeOnlyWithoutLrpAndProbabilities) {
    const auto in = inputs(torch::kFloat32);
    torch::AutoGradMode grad(true);
    auto q = in.q.clone().requires_grad_(true);
    auto usesNode = [](const at::Tensor& out) {
        // out = view(contiguous(transpose(node))): walk the first edges.
        for (auto fn = out.grad_fn(); fn; fn = fn->next_edges().empty() ? nullptr : fn->next_edges()[0].function) {
            if (fn->name().find("AttentionCoreFn") != std::string::npos) return true;
        }
        return false;
    };
    EXPECT_TRUE(usesNode(layers::attend(q, in.k, in.v, in.allowed, false, 0, 0, LrpMode::Off, {0, 0}).output));
    EXPECT_FALSE(usesNode(layers::attend(q, in.k, in.v, in.allowed, false, 0, 0, LrpMode::AttnLrp, {0, 0}).output));
    EXPECT_FALSE(usesNode(layers::attend(q, in.k, in.v, in.allowed, false, 0, 0, LrpMode::Off, {}).output));
    EXPECT_FALSE(usesNode(layers::attend(q, in.k, in.v, in.allowed, false, 0, 30.0, LrpMode::Off, {0, 0}).output));
}

// A cancel requested after the forward stops the node's backward with CancelledError.
TEST(AttentionCore, CancelRequestedAfterTheForwardStopsTheBackward) {
    const auto in = inputs(torch::kFloat32);
    bool stop = false;
    CancelScope scope([&stop] { return stop; });
    const auto a = run(in, true, false, 0);
    stop = true;
    EXPECT_THROW(grads(a, torch::ones_like(a.out)), CancelledError);
}
