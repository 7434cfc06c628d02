// Attention computed a block of query rows at a time (ForwardOptions::
// probsRows, or large maps nobody reads; model/attend_blocked.cpp) gives
// the probabilities and logits of the ordinary forward that holds every map,
// in every fixture family (grouped heads, sliding windows, softcaps), with
// a KV cache and with padding. The block size is lowered so that each
// fixture's short prompts span several blocks.

#include "../common/golden.h"
#include "model/avx512_bf16.h"
#include "model/layers.h"
#include "model/model_loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

std::shared_ptr<LoadedModel> load(const std::string& fixture) {
    auto m = loadModelFolder(dataDir() / "models" / fixture);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    return m.ok() ? m.value() : nullptr;
}

// Blocks of about `rows` query rows for a map of `heads` × `keys`, restored on exit.
struct SmallBlocks {
    SmallBlocks(int64_t heads, int64_t keys, int64_t rows) { layers::setAttentionBlockElements(heads * keys * rows); }
    ~SmallBlocks() { layers::setAttentionBlockElements(0); }
};

double maxDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs().max().item<double>();
}

class AttendBlocked : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(AttendBlocked, RowsAndLogitsEqualTheFullMaps) {
    auto m = load(GetParam());
    ASSERT_TRUE(m);
    torch::NoGradGuard noGrad;
    const CausalLM& model = *m->model;
    const auto ids = goldenFor(GetParam())["cases"][2]["prompt_ids"].get<std::vector<int64_t>>();
    const auto n = static_cast<int64_t>(ids.size());
    ASSERT_GE(n, 6);
    const auto embeds = model.embed(torch::tensor(ids).unsqueeze(0));
    ForwardOptions full;
    full.outputAttentions = true;
    const auto ref = model.forward(embeds, full);
    const double scale = ref.logits.abs().max().item<double>();

    const SmallBlocks small(m->config.numHeads, n, 2); // ~n/2 blocks
    for (const auto& [a, z] : {std::pair<int64_t, int64_t>{n - 3, n}, {1, 4}, {0, n}}) {
        ForwardOptions fo;
        fo.outputAttentions = true;
        fo.probsRows = std::make_pair(a, z);
        std::vector<at::Tensor> captured;
        fo.capture = [&](const std::string& name, const at::Tensor& v) {
            if (name.ends_with(".attn.probs")) captured.push_back(v);
        };
        const auto out = model.forward(embeds, fo);
        ASSERT_EQ(out.attentions.size(), ref.attentions.size());
        ASSERT_EQ(captured.size(), ref.attentions.size());
        for (size_t l = 0; l < out.attentions.size(); ++l) {
            ASSERT_EQ(out.attentions[l].sizes(), (std::vector<int64_t>{1, m->config.numHeads, z - a, n}));
            const double err = maxDiff(out.attentions[l], ref.attentions[l].slice(2, a, z));
            EXPECT_LT(err, 1e-6) << "layer " << l << " rows " << a << ".." << z;
            EXPECT_TRUE(captured[l].equal(out.attentions[l]));
        }
        EXPECT_LT(maxDiff(out.logits, ref.logits), 1e-5 * scale + 1e-5) << "rows " << a << ".." << z;
    }
    // Nothing reads the maps: large ones (here: any) are computed in blocks too.
    const SmallBlocks tiny(1, 1, 1);
    EXPECT_LT(maxDiff(model.forward(embeds, {}).logits, ref.logits), 1e-5 * scale + 1e-5);
}

// Under autograd the maps are computed whole (their gradient needs them);
// the rows asked for are still the rows reported.
TEST_P(AttendBlocked, RowsUnderAutogradAreTheRowsAskedFor) {
    auto m = load(GetParam());
    ASSERT_TRUE(m);
    const CausalLM& model = *m->model;
    const auto ids = goldenFor(GetParam())["cases"][2]["prompt_ids"].get<std::vector<int64_t>>();
    const auto n = static_cast<int64_t>(ids.size());
    at::Tensor embeds;
    std::vector<at::Tensor> ref;
    {
        torch::NoGradGuard noGrad;
        embeds = model.embed(torch::tensor(ids).unsqueeze(0));
        ForwardOptions full;
        full.outputAttentions = true;
        ref = model.forward(embeds, full).attentions;
    }
    embeds = embeds.clone().requires_grad_(true);
    ForwardOptions fo;
    fo.outputAttentions = true;
    fo.probsRows = std::make_pair(n - 2, n);
    const auto out = model.forward(embeds, fo);
    ASSERT_TRUE(out.logits.requires_grad());
    ASSERT_EQ(out.attentions.size(), ref.size());
    for (size_t l = 0; l < ref.size(); ++l) {
        ASSERT_EQ(out.attentions[l].size(2), 2);
        EXPECT_LT(maxDiff(out.attentions[l].detach(), ref[l].slice(2, n - 2, n)), 1e-6) << "layer " << l;
    }
}

TEST_P(AttendBlocked, CachedContinuationEqualsFullForward) {
    auto m = load(GetParam());
    ASSERT_TRUE(m);
    torch::NoGradGuard noGrad;
    const CausalLM& model = *m->model;
    const auto ids = goldenFor(GetParam())["cases"][2]["prompt_ids"].get<std::vector<int64_t>>();
    const auto n = static_cast<int64_t>(ids.size()), half = n / 2;
    const auto embeds = model.embed(torch::tensor(ids).unsqueeze(0));
    const auto ref = model.forward(embeds, {}).logits;
    const double scale = ref.abs().max().item<double>();
    const SmallBlocks small(1, 1, 1);
    KvCache cache;
    ForwardOptions fo;
    fo.cache = &cache;
    const auto first = model.forward(embeds.slice(1, 0, half), fo).logits;
    const auto second = model.forward(embeds.slice(1, half, n), fo).logits;
    EXPECT_LT(maxDiff(first, ref.slice(1, 0, half)), 1e-5 * scale + 1e-5);
    EXPECT_LT(maxDiff(second, ref.slice(1, half, n)), 1e-5 * scale + 1e-5);
}

TEST_P(AttendBlocked, PaddedBatchEqualsUnbatched) {
    auto m = load(GetParam());
    ASSERT_TRUE(m);
    torch::NoGradGuard noGrad;
    const CausalLM& model = *m->model;
    auto golden = goldenFor(GetParam());
    const auto a = golden["cases"][0]["prompt_ids"].get<std::vector<int64_t>>();
    const auto b = golden["cases"][2]["prompt_ids"].get<std::vector<int64_t>>();
    ASSERT_LT(a.size(), b.size());
    const auto la = static_cast<int64_t>(a.size()), lb = static_cast<int64_t>(b.size());
    ForwardOptions fullMaps;
    fullMaps.outputAttentions = true;
    const auto refA = model.forward(model.embed(torch::tensor(a).unsqueeze(0)), fullMaps);
    std::vector<int64_t> padded(static_cast<size_t>(lb - la), 0), mask(static_cast<size_t>(lb - la), 0);
    padded.insert(padded.end(), a.begin(), a.end());
    mask.resize(static_cast<size_t>(lb), 1);
    const SmallBlocks small(m->config.numHeads, lb, 3);
    ForwardOptions fo;
    fo.attentionMask = torch::tensor(mask).unsqueeze(0);
    fo.outputAttentions = true;
    fo.probsRows = std::make_pair(lb - 2, lb);
    const auto out = model.forward(model.embed(torch::tensor(padded).unsqueeze(0)), fo);
    const double scale = refA.logits.abs().max().item<double>();
    EXPECT_LT(maxDiff(out.logits.slice(1, lb - la, lb), refA.logits), 1e-5 * scale + 1e-5);
    for (size_t l = 0; l < out.attentions.size(); ++l) {
        const auto rows = out.attentions[l];
        EXPECT_EQ(rows.slice(3, 0, lb - la).abs().max().item<double>(), 0.0) << "padding keys get no weight";
        EXPECT_LT(maxDiff(rows.slice(3, lb - la, lb), refA.attentions[l].slice(2, la - 2, la)), 1e-6) << "layer " << l;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, AttendBlocked, ::testing::ValuesIn(fixtureNames()), fixtureTestName);

// In bfloat16 the blocked form scales, masks and normalises each row in one
// pass in float (default) instead of ATen's steps over float32 copies of the
// block (setAttentionBlockFusedSoftmax(false)). Against the same inputs in
// float32: at least as close as the steps, masked keys exactly 0, and a
// padding query with no allowed key uniform, as the steps
// give it (over its block's keys). Over several blocks, with a left-padded batch row, 37 keys (the
// 8-wide body and a tail), grouped into blocks of 5 query rows.
class AttendBlockedFused : public ::testing::TestWithParam<bool> {}; // the AVX-512 rows (true) or the AVX2 ones

TEST_P(AttendBlockedFused, BfloatRowsMatchFloat32AtLeastAsWellAsTheSteps) {
#ifdef TOKENLENS_AVX512_BF16
    tokenlens::avx512::setAvx512Enabled(GetParam());
    struct Restore {
        ~Restore() { tokenlens::avx512::setAvx512Enabled(true); }
    } restore;
#else
    if (GetParam()) GTEST_SKIP() << "built without the AVX-512 rows";
#endif
    torch::NoGradGuard noGrad;
    torch::manual_seed(3);
    constexpr int64_t kBatch = 2, kHeads = 3, kSeq = 37, kDim = 16, kPad = 3;
    const auto q = (torch::randn({kBatch, kHeads, kSeq, kDim}) * 2).to(torch::kBFloat16);
    const auto k = (torch::randn({kBatch, kHeads, kSeq, kDim}) * 2).to(torch::kBFloat16);
    const auto v = torch::randn({kBatch, kHeads, kSeq, kDim}).to(torch::kBFloat16);
    auto mask = torch::ones({kBatch, kSeq}, torch::kInt64);
    mask[1].slice(0, 0, kPad).fill_(0);
    const auto allowed = layers::allowedMask(mask, kBatch, kSeq, 0, torch::kCPU);
    SmallBlocks small(kBatch * kHeads, kSeq, 5);
    const layers::ProbsRows all{};
    const auto fused = layers::attendBlocked(q, k, v, allowed, false, 0, 0, all);
    layers::setAttentionBlockFusedSoftmax(false);
    const auto steps = layers::attendBlocked(q, k, v, allowed, false, 0, 0, all);
    layers::setAttentionBlockFusedSoftmax(true);
    const auto ref = layers::attendBlocked(q.to(torch::kFloat32), k.to(torch::kFloat32), v.to(torch::kFloat32),
                                           allowed, false, 0, 0, all);
    ASSERT_EQ(fused.probs.scalar_type(), torch::kBFloat16);
    EXPECT_LE(maxDiff(fused.probs, ref.probs), maxDiff(steps.probs, ref.probs) + 2e-3);
    EXPECT_LT(maxDiff(fused.probs, ref.probs), 1e-2);
    EXPECT_LE(maxDiff(fused.output, ref.output), maxDiff(steps.output, ref.output) + 1e-2);
    // Masked keys: causal (above the diagonal) and, in row 1, the padding keys of real queries.
    const auto masked = allowed.logical_not().expand({kBatch, kHeads, kSeq, kSeq});
    EXPECT_EQ(fused.probs.to(torch::kFloat32).masked_select(masked.clone().index_put_(
                  {torch::tensor({1}), torch::indexing::Slice(), torch::indexing::Slice(0, kPad)}, false))
                  .abs().max().item<double>(), 0.0);
    // Padding queries of row 1: uniform over their block's keys, as the steps give them.
    const auto pad = fused.probs[1].slice(1, 0, kPad).to(torch::kFloat32);
    EXPECT_TRUE(pad.equal(steps.probs[1].slice(1, 0, kPad).to(torch::kFloat32)));
    const auto nonzero = pad.masked_select(pad.gt(0));
    ASSERT_GT(nonzero.numel(), 0);
    EXPECT_EQ(nonzero.max().item<double>(), nonzero.min().item<double>());
}

INSTANTIATE_TEST_SUITE_P(Widths, AttendBlockedFused, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "avx512" : "avx2"; });
