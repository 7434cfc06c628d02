// The shared-forward gradient path (common.h, sharedForwardGradients) gives
// the per-row path's numbers: every method that takes it (saliency, input ×
// gradient, attnlrp, cp_lrp, integrated gradients with its steps as batch
// rows of shared forwards), every target function including the contrastive
// ones, on every fixture family. And it is taken only where it should be:
// items that share inputs, a kept graph that fits the memory budget.

#include "attribution_test_util.h"
#include "attribution/common.h"
#include "util/memory.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

// Restores the process-wide path when a test ends.
struct PathGuard {
    ~PathGuard() {
        attr::setGradientForward(attr::GradientForward::Shared);
        attr::setSharedInputsPerForward(0);
        attr::setGradientSegments(0, 0);
    }
};

MethodOutput runWith(attr::GradientForward path, const std::string& method, const AttributionInput& in,
                     const nlohmann::json& opts) {
    attr::setGradientForward(path);
    return runOrFail(method, in, opts);
}

// Worst |a - b| / (1e-5 (1 + |b|)) over the cells (NaN must match NaN).
double worstRelative(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
    EXPECT_EQ(a.size(), b.size()) << what;
    double worst = 0;
    for (size_t k = 0; k < a.size() && k < b.size(); ++k) {
        EXPECT_EQ(std::isnan(a[k]), std::isnan(b[k])) << what << " cell " << k;
        if (std::isnan(a[k]) || std::isnan(b[k])) continue;
        worst = std::max(worst, std::abs(static_cast<double>(a[k]) - b[k]) / (1e-5 * (1 + std::abs(b[k]))));
    }
    return worst;
}

class SharedForward : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(SharedForward, EqualsThePerRowPath) {
    PathGuard guard;
    auto m = fixture(GetParam());
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor(GetParam())["cases"][2]);
    const int64_t t = static_cast<int64_t>(in.outputIds.size());
    ASSERT_GE(t, 2) << "the case needs columns to share a forward";
    const std::vector<std::pair<std::string, nlohmann::json>> runs = {
        {"saliency", nlohmann::json::object()},
        {"saliency", {{"target_fn", "logit"}, {"reduction", "sum"}}},
        {"saliency", {{"target_fn", "contrast_logit_diff"}, {"contrast_token", 3}}},
        {"input_x_gradient", {{"target_fn", "log_probability"}, {"reduction", "sum"}}},
        {"input_x_gradient", {{"target_fn", "contrast_probability_diff"}, {"contrast_token", 5}}},
        {"attnlrp", nlohmann::json::object()},
        {"attnlrp", {{"target_fn", "probability"}, {"reduction", "l2"}}},
        {"cp_lrp", nlohmann::json::object()},
        {"cp_lrp", {{"target_fn", "contrast_logit_diff"}, {"contrast_token", 7}}},
        {"integrated_gradients", {{"steps", 6}}},
        {"integrated_gradients", {{"steps", 5}, {"baseline", "unk"}, {"target_fn", "log_probability"}}},
        {"integrated_gradients", {{"steps", 4}, {"quadrature", "riemann_trapezoid"},
                                  {"target_fn", "contrast_logit_diff"}, {"contrast_token", 2}}},
    };
    for (const auto& [method, opts] : runs) {
        const std::string what = GetParam() + " " + method + " " + opts.dump();
        const auto shared = runWith(attr::GradientForward::Shared, method, in, opts);
        const auto perRow = runWith(attr::GradientForward::PerRow, method, in, opts);
        ASSERT_GT(shared.matrix.data.size(), 0u) << what;
        const double worst = worstRelative(shared.matrix.data, perRow.matrix.data, what);
        // The convergence delta Σ A − (f(x) − f(x')) is a difference of sums
        // of the scale of f and of the deltas themselves: the same relative
        // error, measured against that scale.
        ASSERT_EQ(shared.convergenceDelta.size(), perRow.convergenceDelta.size()) << what;
        double deltaScale = 0, worstDelta = 0;
        for (double d : perRow.convergenceDelta) deltaScale = std::max(deltaScale, std::abs(d));
        for (size_t k = 0; k < perRow.convergenceDelta.size(); ++k) {
            const double scale = 1 + deltaScale + std::abs(perRow.fInput[k]) + std::abs(perRow.fBaseline[k]);
            worstDelta = std::max(worstDelta, std::abs(shared.convergenceDelta[k] - perRow.convergenceDelta[k]) /
                                                  (1e-5 * scale));
        }
        std::cout << "  " << what << ": worst |shared - per_row| / (1e-5 (1 + |v|)) = " << worst
                  << ", convergence delta " << worstDelta << "\n";
        EXPECT_LE(worstDelta, 1.0) << what;
        EXPECT_LE(worst, 1.0) << what;
        // Integrated gradients: one forward per step, and the two of the
        // convergence delta.
        EXPECT_EQ(shared.forwardPasses, method == "integrated_gradients" ? opts["steps"].get<int64_t>() + 2 : 1)
            << what << ": one forward for every column";
    }
}

TEST_P(SharedForward, IntegratedGradientsStepsInSeveralForwards) {
    // Fewer steps per forward than steps: several shared forwards, of even
    // size, each with every column's cotangents; the numbers stay per row's.
    PathGuard guard;
    auto m = fixture(GetParam());
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor(GetParam())["cases"][2]);
    const nlohmann::json opts = {{"steps", 7}, {"baseline", "unk"}};
    const auto perRow = runWith(attr::GradientForward::PerRow, "integrated_gradients", in, opts);
    // {steps per forward asked, forwards}: 7 steps by 3 → 3, 3, 1 as asked,
    // evened to 3, 2, 2; by 1 → one forward per step; by 5 → 4 and 3.
    for (const auto& [perForward, forwards] : std::vector<std::pair<int64_t, int64_t>>{{3, 3}, {1, 7}, {5, 2}}) {
        attr::setSharedInputsPerForward(perForward);
        const auto shared = runWith(attr::GradientForward::Shared, "integrated_gradients", in, opts);
        const std::string what = GetParam() + " steps per forward " + std::to_string(perForward);
        EXPECT_EQ(shared.forwardPasses, forwards + 2) << what;
        EXPECT_LE(worstRelative(shared.matrix.data, perRow.matrix.data, what), 1.0) << what;
        ASSERT_EQ(shared.convergenceDelta.size(), perRow.convergenceDelta.size());
        for (size_t k = 0; k < shared.convergenceDelta.size(); ++k) {
            const double scale = 1 + std::abs(perRow.fInput[k]) + std::abs(perRow.fBaseline[k]);
            EXPECT_NEAR(shared.convergenceDelta[k], perRow.convergenceDelta[k], 1e-5 * scale) << what << " column " << k;
        }
    }
}

TEST_P(SharedForward, BlockByBlockEqualsThePerRowPath) {
    // Segments of one block (and of two), groups of every column and of one
    // or two: the recomputed segments give per row's numbers.
    PathGuard guard;
    auto m = fixture(GetParam());
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor(GetParam())["cases"][2]);
    const std::vector<std::pair<std::string, nlohmann::json>> runs = {
        {"saliency", nlohmann::json::object()},
        {"input_x_gradient", {{"target_fn", "contrast_logit_diff"}, {"contrast_token", 3}}},
        {"attnlrp", nlohmann::json::object()},
        {"cp_lrp", nlohmann::json::object()},
        {"integrated_gradients", {{"steps", 4}, {"baseline", "unk"}}},
    };
    const int64_t layers = in.model->config().numLayers;
    for (const auto& [method, opts] : runs) {
        const auto perRow = runWith(attr::GradientForward::PerRow, method, in, opts);
        for (const auto& [segment, group] : std::vector<std::pair<int64_t, int64_t>>{{1, 0}, {1, 1}, {2, 2}}) {
            attr::setGradientSegments(segment, group);
            const auto shared = runWith(attr::GradientForward::Shared, method, in, opts);
            attr::setGradientSegments(0, 0);
            const std::string what = GetParam() + " " + method + " segments of " + std::to_string(segment) +
                                     " of " + std::to_string(layers) + " blocks, groups of " + std::to_string(group);
            EXPECT_LE(worstRelative(shared.matrix.data, perRow.matrix.data, what), 1.0) << what;
            if (method == "saliency") {
                const int64_t t = static_cast<int64_t>(in.outputIds.size());
                const int64_t groups = group == 0 ? 1 : (t + group - 1) / group;
                if (segment >= layers) {
                    EXPECT_EQ(shared.forwardPasses, 1) << what << ": the whole graph";
                } else {
                    EXPECT_EQ(shared.forwardPasses, 1 + groups) << what << ": one recomputation per group of columns";
                }
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SharedForward, ::testing::ValuesIn(fixtureNames()), fixtureTestName);

TEST(SharedForwardChoice, TakenOnlyWhereItemsShareAnInputAndTheGraphFits) {
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor("tiny-gpt2")["cases"][2]);
    PathGuard guard;
    auto seq = attr::makeSequence(in);
    ASSERT_GE(seq.t, 2);
    const auto baseline = torch::zeros_like(seq.embeds);
    const CausalLM& model = *in.model;
    RunControl control;
    auto attempt = [&](const std::vector<attr::GradientItem>& items, int64_t budget) {
        attr::Progress progress(control, 1);
        return attr::sharedForwardGradients(model, seq, baseline, items, attr::TargetFn::Logit, budget, 30, progress,
                                            {});
    };
    std::vector<attr::GradientItem> columns, ownAlpha;
    for (int64_t j = 0; j < seq.t; ++j) {
        columns.push_back({j, 1.0, 1.0});
        ownAlpha.push_back({j, 0.1 + 0.05 * static_cast<double>(j), 1.0}); // gradient_shap-like: no input shared
    }
    const int64_t width = seq.length() - 1;
    const auto maps = attr::gradientMapsKept(model, LrpMode::Off);
    EXPECT_EQ(maps.bytes, 4) << "the attention core's node keeps one float32 map";
    EXPECT_TRUE(maps.causalBlocks);
    EXPECT_EQ(attr::gradientMapsKept(model, LrpMode::AttnLrp).bytes, 12) << "recorded op by op: three float32 maps";
    const int64_t needed = width * attr::activationBytesPerToken(model.config(), width, maps) +
                           attr::cotangentBytes(model.config(), width, maps);
    auto values = [](const at::Tensor& g) {
        auto c = g.to(torch::kFloat32).contiguous();
        return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    };
    const auto taken = attempt(columns, needed);
    ASSERT_TRUE(taken.has_value());
    EXPECT_EQ(taken->forwardPasses, 1);
    EXPECT_EQ(taken->grads.size(0), seq.t);
    const auto blockwise = attempt(columns, needed - 1);
    ASSERT_TRUE(blockwise.has_value()) << "below the whole graph's need: block by block";
    EXPECT_GE(blockwise->forwardPasses, 2) << "a forward without a graph, then the segments' (one more per group)";
    EXPECT_LE(worstRelative(values(blockwise->grads), values(taken->grads), "block by block"), 1.0);
    EXPECT_FALSE(attempt(ownAlpha, needed * 100).has_value()) << "nothing to share: per row";
    auto steps = columns; // integrated-gradients-like: two inputs, each shared by every column
    for (int64_t j = 0; j < seq.t; ++j) steps.push_back({j, 0.5, 1.0});
    const auto bothSteps = attempt(steps, needed * 100);
    ASSERT_TRUE(bothSteps.has_value()) << "several inputs, each shared by every column";
    EXPECT_EQ(bothSteps->forwardPasses, 2) << "one forward per input";
    attr::setSharedInputsPerForward(2);
    const auto together = attempt(steps, needed * 100);
    ASSERT_TRUE(together.has_value());
    EXPECT_EQ(together->forwardPasses, 1) << "the two inputs as batch rows of one forward";
    const auto budgetOfOne = attempt(steps, needed);
    ASSERT_TRUE(budgetOfOne.has_value());
    EXPECT_EQ(budgetOfOne->forwardPasses, 2) << "a budget for one input's graph: one forward per input";
    EXPECT_LE(worstRelative(values(together->grads), values(bothSteps->grads), "two inputs in one forward"), 1.0);
    attr::setSharedInputsPerForward(0);

    // Below the budget the methods still run, block by block, one column
    // at a time, with per row's numbers.
    const nlohmann::json tight = {{"memory_budget_mb", 0.001}};
    const auto tightShared = runWith(attr::GradientForward::Shared, "saliency", in, tight);
    const auto perRow = runWith(attr::GradientForward::PerRow, "saliency", in, tight);
    EXPECT_EQ(tightShared.forwardPasses, 1 + seq.t) << "a 1 KB budget: a group of one column per recomputation";
    EXPECT_GT(perRow.forwardPasses, 1) << "a 1 KB budget holds one row per pass";
    EXPECT_LE(worstRelative(tightShared.matrix.data, perRow.matrix.data, "1 KB budget"), 1.0);
}

TEST(SharedForwardChoice, ProgressRisesToTheTotal) {
    PathGuard guard;
    attr::setGradientForward(attr::GradientForward::Shared);
    auto m = fixture("tiny-llama");
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor("tiny-llama")["cases"][2]);
    std::vector<std::pair<int64_t, int64_t>> reports;
    RunControl control;
    control.progress = [&](int64_t done, int64_t total) { reports.emplace_back(done, total); };
    auto out = runMethodRaw("saliency", in, {{"chunk_seconds", 0.005}}, control);
    ASSERT_TRUE(out.ok()) << out.error().message;
    ASSERT_FALSE(reports.empty());
    const int64_t n = static_cast<int64_t>(in.promptIds.size()), t = static_cast<int64_t>(in.outputIds.size());
    for (size_t k = 1; k < reports.size(); ++k) EXPECT_GT(reports[k].first, reports[k - 1].first);
    EXPECT_EQ(reports.back().first, reports.back().second);
    EXPECT_EQ(reports.back().second, 2 * (t * n + t * (t - 1) / 2));
}

// A gradient pass holds at least one row whatever the budget says; a row
// that does not fit the machine is refused with a message, before the
// kernel's out-of-memory kill (measured: saliency on a qwen2.5-0.5b-shaped
// model over a 4,096-token prompt grew past 24 GB and was killed).
TEST(GradientMemory, ARowThatDoesNotFitTheMachineIsRefusedWithTheReason) {
    ModelConfig qwen; // qwen2.5-0.5b's shape (issue 17's workload)
    qwen.vocabSize = 151936;
    qwen.hiddenSize = 896;
    qwen.numLayers = 24;
    qwen.numHeads = 14;
    qwen.intermediateSize = 4864;
    const int64_t machine = int64_t{23} << 30;
    EXPECT_TRUE(attr::gradientMemoryFits(qwen, 1031, machine).ok()) << "1,024 prompt + 8 outputs fit 23 GiB";
    auto refused = attr::gradientMemoryFits(qwen, 4103, machine);
    ASSERT_FALSE(refused.ok()) << "4,096 prompt + 8 outputs: the attention maps alone are 24 x 14 x 4103^2 values";
    EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(refused.error().message.find("4103 token positions"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("every layer"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("14 heads"), std::string::npos) << refused.error().message;
    // The estimate's attention term alone: 3 maps x 4 bytes x layers x heads x positions^2.
    const double maps = 3.0 * 4 * 24 * 14 * 4103.0 * 4103.0;
    EXPECT_FALSE(attr::gradientMemoryFits(qwen, 4103, static_cast<int64_t>(maps)).ok());
    // Unknown available memory (no /proc/meminfo): no check.
    EXPECT_TRUE(attr::gradientMemoryFits(qwen, 4103, std::nullopt).ok());
    // Block by block (the shared path) needs one layer's maps, not 24.
    EXPECT_TRUE(attr::gradientMemoryFits(qwen, 4103, machine, /*blockByBlock=*/true).ok())
        << attr::blockByBlockMinBytes(qwen, 4103) / 1e9 << " GB";
    EXPECT_LT(attr::blockByBlockMinBytes(qwen, 4103), static_cast<int64_t>(maps / 4)) << "a layer's graph and a cotangent";
    EXPECT_GT(attr::blockByBlockMinBytes(qwen, 4103), static_cast<int64_t>(maps / 24));
    // The attention core's node keeps one bfloat16 map per head, in query
    // blocks of 256 rows over the keys up to each block's last row (16
    // blocks: 17/32 of the square): 24 x 14 x 4103 x 2180 x 2 bytes = 6.0 GB.
    const attr::MapsKept node{2, true};
    const double nodeMaps = 24.0 * 14 * 4103 * 2180 * 2;
    EXPECT_NEAR(static_cast<double>(attr::activationBytesPerToken(qwen, 4103, node)) -
                    static_cast<double>(attr::activationBytesPerToken(qwen, 4103, {0, false})),
                nodeMaps / 4103, nodeMaps / 4103 * 1e-3);
    EXPECT_TRUE(attr::gradientMemoryFits(qwen, 4103, machine, false, node).ok()) << "the whole graph fits 23 GiB";
    EXPECT_FALSE(attr::gradientMemoryFits(qwen, 4103, static_cast<int64_t>(nodeMaps), false, node).ok());
    // A cotangent's backward through the node holds one query block's score
    // gradients (257 rows here), not three float32 maps over every query and
    // key: the whole graph and a cotangent then fit what a 24 GiB machine
    // with 20 GiB available budgets, so the plan does not flip to block by
    // block with the allocator's cache from one run to the next.
    const double blockMap = 14.0 * 257 * 4103 * 2;
    const double recordedMaps = 2.0 * 3 * 4 * 14 * 4103.0 * 4103.0;
    EXPECT_GT(static_cast<double>(attr::cotangentBytes(qwen, 4103)), recordedMaps);
    EXPECT_GT(static_cast<double>(attr::cotangentBytes(qwen, 4103, node)), 2 * blockMap);
    EXPECT_LT(attr::cotangentBytes(qwen, 4103, node), attr::cotangentBytes(qwen, 4103) / 5);
    const MemInfo workstation{int64_t{24} << 30, int64_t{20} << 30};
    const int64_t budget = resolveMemoryBudgetBytes(0, nullptr, workstation);
    EXPECT_LE(4103 * attr::activationBytesPerToken(qwen, 4103, node) + attr::cotangentBytes(qwen, 4103, node), budget);
    EXPECT_GT(4103 * attr::activationBytesPerToken(qwen, 4103, node) + attr::cotangentBytes(qwen, 4103), budget)
        << "the recorded maps' cotangent estimate did not fit: the plan went block by block";
    auto tooLong = attr::gradientMemoryFits(qwen, 32768, machine, true);
    ASSERT_FALSE(tooLong.ok()) << "32,768 positions: one layer's maps alone are 14 x 32768^2 values";
    EXPECT_NE(tooLong.error().message.find("one layer at a time"), std::string::npos) << tooLong.error().message;
}

