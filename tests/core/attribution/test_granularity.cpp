// Granularity: the perturbation methods perturb whole prompt segments.
// One-token segments give exactly the token-level matrix; a segment's
// occlusion is the drop the model shows when the whole segment is replaced
// (computed here from the model's logits); Shapley efficiency holds over
// segments; and the job option runs end to end through the engine.

#include "attribution_test_util.h"
#include "analysis/segments.h"
#include "attribution/engine.h"
#include "attribution/perturbation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

// f_j (probability) of the model on X ⊕ Y with positions [a, b) replaced by the zero embedding.
double probabilityWithout(const LoadedModel& m, const AttributionInput& in, int64_t j, int64_t a, int64_t b) {
    torch::NoGradGuard noGrad;
    std::vector<int64_t> ids = in.promptIds;
    ids.insert(ids.end(), in.outputIds.begin(), in.outputIds.end());
    const int64_t n = static_cast<int64_t>(in.promptIds.size()), p = n + j - 1;
    auto e = m.model->embed(torch::tensor(ids, torch::kInt64).slice(0, 0, p + 1).unsqueeze(0)).clone();
    for (int64_t i = a; i < b && i <= p; ++i) e[0][i].zero_();
    auto logits = m.model->forward(e, {}).logits[0][p].to(torch::kFloat64);
    return torch::softmax(logits, 0)[in.outputIds[static_cast<size_t>(j)]].item<double>();
}

std::vector<std::pair<int64_t, int64_t>> singletons(int64_t n) {
    std::vector<std::pair<int64_t, int64_t>> g;
    for (int64_t i = 0; i < n; ++i) g.emplace_back(i, i + 1);
    return g;
}

double rowSum(const AttributionMatrix& m, int64_t a, int64_t b, int64_t j) {
    double s = 0;
    for (int64_t i = a; i < b; ++i) s += m.at(i, j);
    return s;
}

} // namespace

TEST(Granularity, OneTokenSegmentsGiveTheTokenLevelMatrixExactly) {
    for (const char* name : {"tiny-gpt2", "tiny-llama"}) {
        auto m = fixture(name);
        ASSERT_TRUE(m);
        auto in = inputFor(*m, goldenFor(name)["cases"][0]);
        auto grouped = in;
        grouped.promptGroups = singletons(static_cast<int64_t>(in.promptIds.size()));
        for (const char* strategy : {"batched", "per_step"}) {
            auto token = runOrFail("occlusion", in, {{"strategy", strategy}});
            auto segment = runOrFail("occlusion", grouped, {{"strategy", strategy}});
            EXPECT_TRUE(token.matrix == segment.matrix) << name << " " << strategy;
        }
        // The sampling methods score the same masks; their passes are chunked
        // by time, and a different batching may change the last bits of a
        // score, so these agree to rounding.
        for (const char* method : {"lime", "kernel_shap", "shapley_sampling"}) {
            auto token = runOrFail(method, in, {{"samples", 16}});
            auto segment = runOrFail(method, grouped, {{"samples", 16}});
            ASSERT_EQ(token.matrix.data.size(), segment.matrix.data.size());
            for (size_t i = 0; i < token.matrix.data.size(); ++i) {
                const float a = token.matrix.data[i], b = segment.matrix.data[i];
                if (std::isnan(a) || std::isnan(b)) {
                    EXPECT_EQ(std::isnan(a), std::isnan(b)) << name << " " << method << " " << i;
                } else {
                    EXPECT_NEAR(a, b, 1e-5 * (1 + std::abs(a))) << name << " " << method << " " << i;
                }
            }
        }
    }
}

TEST(Granularity, SegmentOcclusionIsTheDropWithTheWholeSegmentReplaced) {
    auto m = fixture("tiny-llama");
    ASSERT_TRUE(m);
    auto in = inputFor(*m, goldenFor("tiny-llama")["cases"][0]);
    const auto n = static_cast<int64_t>(in.promptIds.size());
    ASSERT_GE(n, 4);
    in.promptGroups = {{0, 1}, {1, 3}, {3, n}};
    for (const char* strategy : {"batched", "per_step"}) {
        auto out = runOrFail("occlusion", in, {{"strategy", strategy}});
        const auto t = static_cast<int64_t>(in.outputIds.size());
        for (int64_t j = 0; j < t; ++j) {
            const double clean = probabilityWithout(*m, in, j, 0, 0);
            for (const auto& [a, b] : in.promptGroups) {
                const double expected = clean - probabilityWithout(*m, in, j, a, b);
                EXPECT_NEAR(rowSum(out.matrix, a, b, j), expected, 1e-5) << strategy << " column " << j << " segment " << a;
                // Spread evenly over the segment's tokens.
                for (int64_t i = a; i < b; ++i) EXPECT_NEAR(out.matrix.at(i, j), expected / double(b - a), 1e-5);
            }
        }
    }
}

TEST(Granularity, ShapleyOverSegmentsKeepsEfficiencyAndFewerFeatures) {
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    auto in = inputFor(*m, goldenFor("tiny-gpt2")["cases"][0]);
    const auto n = static_cast<int64_t>(in.promptIds.size());
    ASSERT_GE(n, 3);
    in.promptGroups = {{0, n / 2}, {n / 2, n}};
    const auto t = static_cast<int64_t>(in.outputIds.size());
    for (const char* method : {"kernel_shap", "shapley_sampling"}) {
        auto out = runOrFail(method, in, {{"samples", 64}});
        for (int64_t j = 0; j < t; ++j) {
            // Σ attributions = f_j(x) − f_j(all baseline).
            const double expected = probabilityWithout(*m, in, j, 0, 0) - probabilityWithout(*m, in, j, 0, n + j);
            double sum = 0;
            for (int64_t i = 0; i < n + j; ++i) sum += out.matrix.at(i, j);
            EXPECT_NEAR(sum, expected, 1e-4) << method << " column " << j;
            // Tokens of one segment share its value.
            for (int64_t i = 1; i < n / 2; ++i) EXPECT_FLOAT_EQ(out.matrix.at(i, j), out.matrix.at(0, j));
        }
    }
    // Two segments + t-1 output positions: every shapley column is exact (2^(2+t-1) coalitions at most).
    const auto* shapley = findMethod("shapley_sampling");
    auto r = shapley->resolveOptions(nlohmann::json::object());
    ASSERT_TRUE(r.ok());
    EXPECT_LT(groupedWork(*shapley, n, 2, t, *r), shapley->estimateWork(n, t, *r));
    // Groups that do not cover the prompt are refused.
    in.promptGroups = {{0, 1}};
    EXPECT_FALSE(runMethodRaw("occlusion", in, nlohmann::json::object()).ok());
    EXPECT_FALSE(runMethodRaw("lime", in, nlohmann::json::object()).ok());
}

TEST(Granularity, EngineRunsAJobAtWordGranularity) {
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    Job job;
    job.methods = {"occlusion"};
    job.input = "the cat sat on the mat";
    job.targetText = " and slept";
    job.options = {{"granularity", "word"}};
    auto seq = prepareSequence(*m, job);
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    const auto n = static_cast<int64_t>(seq->input.ids.size());
    // GPT-2 has every one of these words as one token: word segments are the tokens.
    ASSERT_EQ(static_cast<int64_t>(seq->promptSegments.size()), n);
    EXPECT_EQ(seq->granularity, "word");
    auto words = runMethod(*m, *seq, job, "occlusion");
    ASSERT_EQ(words.status, RunStatus::Completed) << words.error.value_or("");
    EXPECT_EQ(words.options["granularity"], "word");
    Job plain = job;
    plain.options = nlohmann::json::object();
    auto plainSeq = prepareSequence(*m, plain);
    ASSERT_TRUE(plainSeq.ok());
    EXPECT_TRUE(plainSeq->promptSegments.empty());
    auto tokens = runMethod(*m, *plainSeq, plain, "occlusion");
    EXPECT_TRUE(words.raw == tokens.raw);

    // Sentences: two segments of several tokens, recorded with their character ranges.
    job.input = "The cat sat. It was happy";
    job.options = {{"granularity", "sentence"}};
    seq = prepareSequence(*m, job);
    ASSERT_TRUE(seq.ok());
    ASSERT_EQ(seq->promptSegments.size(), 2u);
    EXPECT_EQ(seq->promptSegments[0].charStart, 0);
    EXPECT_EQ(seq->promptSegments[0].charEnd, 12);  // "The cat sat."
    EXPECT_EQ(seq->promptSegments[1].charStart, 12); // " It was happy"
    EXPECT_EQ(seq->promptSegments[1].charEnd, 25);
    auto saliency = runMethod(*m, *seq, job, "saliency");
    ASSERT_EQ(saliency.status, RunStatus::Completed);
    EXPECT_EQ(saliency.promptSegments, seq->promptSegments); // recorded for display
    EXPECT_FALSE(saliency.options.contains("granularity"));  // saliency does not perturb

    // A bad span fails the job's preparation with the option's name.
    job.options = {{"segments", {{{"start", 0}, {"end", 99}}}}};
    auto bad = prepareSequence(*m, job);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("option 'segments[0]' (0..99) ends past the prompt"), std::string::npos);
    job.options = {{"granularity", "chapter"}};
    auto invalid = validateJob(job);
    ASSERT_FALSE(invalid.ok());
    EXPECT_NE(invalid.error().message.find("option 'granularity'"), std::string::npos);
    // context_cite still reads its own "segments" choice.
    job.options = {{"segments", "token"}};
    EXPECT_TRUE(validateJob(job).ok());
    EXPECT_TRUE(methodOptions(job, "context_cite").ok());
}
