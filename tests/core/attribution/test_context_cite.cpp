// context_cite: the surrogate recovers a response exactly linear in the
// segment masks, leave-one-out is the exact drop, sentences are found from
// token texts, the method runs on the fixtures with its segments, and a
// job's granularity (user spans) gives its segments.

#include "attribution_test_util.h"
#include "analysis/segments.h"
#include "attribution/common.h"
#include "attribution/perturbation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

// A scorer whose log-odds are exactly b_j + Σ_s w_js z_s (z_s = 1 when
// segment s is kept): it returns log p with p = sigmoid(log-odds).
attr::MaskScorer linearLogOdds(const attr::Segments& segs, const std::vector<std::vector<double>>& w,
                               const std::vector<double>& b) {
    return [=](const at::Tensor& masks, at::Tensor& scores) {
        const int64_t rows = masks.size(0), t = static_cast<int64_t>(w.size());
        scores = torch::zeros({rows, t}, torch::kFloat64);
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t j = 0; j < t; ++j) {
                double odds = b[static_cast<size_t>(j)];
                for (size_t s = 0; s < segs.size(); ++s) {
                    // A segment counts as kept when its first token is (the estimator keeps whole segments).
                    if (masks[r][segs[s].first].item<bool>()) odds += w[static_cast<size_t>(j)][s];
                }
                scores[r][j] = -std::log1p(std::exp(-odds)); // log sigmoid
            }
        }
        return true;
    };
}

} // namespace

TEST(ContextCite, RecoversResponseLinearInTheSegmentMasks) {
    // Prompt of 9 tokens in 4 segments, 2 output tokens (width 10).
    const attr::FeatureLayout layout = attr::layoutFor(9, 2);
    const attr::Segments segs = {{0, 2}, {2, 5}, {5, 6}, {6, 9}};
    const std::vector<std::vector<double>> w = {{1.5, 0.0, -2.0, 0.25}, {0.0, 3.0, 0.0, -0.5}};
    const std::vector<double> b = {-0.3, 0.8};
    attr::ContextCiteSettings s;
    s.ablations = 32;
    s.lambdaRatio = 0; // no penalty: the least-squares solution, exact for a linear response
    at::Tensor perSegment;
    auto e = attr::contextCiteEstimate(layout, segs, s, linearLogOdds(segs, w, b), &perSegment);
    ASSERT_FALSE(e.cancelled);
    for (int64_t j = 0; j < 2; ++j) {
        for (size_t c = 0; c < segs.size(); ++c) {
            EXPECT_NEAR(perSegment[j][static_cast<int64_t>(c)].item<double>(), w[static_cast<size_t>(j)][c], 1e-6);
            // Spread evenly: the segment's tokens sum to its score.
            double sum = 0;
            for (int64_t i = segs[c].first; i < segs[c].second; ++i) sum += e.values[j][i].item<double>();
            EXPECT_NEAR(sum, w[static_cast<size_t>(j)][c], 1e-6);
        }
        EXPECT_EQ(e.values[j][9].item<double>(), 0.0); // output positions are not features
    }
    // With the default penalty the zero weights stay (near) zero and the ranking holds.
    s.lambdaRatio = 0.01;
    auto pen = attr::contextCiteEstimate(layout, segs, s, linearLogOdds(segs, w, b), &perSegment);
    EXPECT_NEAR(perSegment[0][1].item<double>(), 0.0, 0.05);
    EXPECT_GT(perSegment[1][1].item<double>(), 2.8);
    // Leave-one-out on a linear response is the weight itself.
    s.leaveOneOut = true;
    auto loo = attr::contextCiteEstimate(layout, segs, s, linearLogOdds(segs, w, b), &perSegment);
    EXPECT_EQ(attr::contextCiteRows(segs, s), 5);
    for (int64_t j = 0; j < 2; ++j) {
        for (size_t c = 0; c < segs.size(); ++c) {
            EXPECT_NEAR(perSegment[j][static_cast<int64_t>(c)].item<double>(), w[static_cast<size_t>(j)][c], 1e-9);
        }
    }
}

TEST(ContextCite, SentencesFromTokenTexts) {
    const std::vector<std::string> tokens = {"<s>", "The", " key", " is", " red", ".", " It", " opens", "!",
                                             " Where", "\n", " is", " it", "?", " Answer"};
    const attr::Segments expected = {{0, 6}, {6, 9}, {9, 11}, {11, 14}, {14, 15}};
    EXPECT_EQ(attr::sentenceSegments(tokens), expected);
}

TEST(ContextCite, RunsOnFixturesAndRecordsSegments) {
    auto m = fixture("tiny-llama");
    ASSERT_TRUE(m);
    auto in = inputFor(*m, goldenFor("tiny-llama")["cases"][0]);
    const auto n = static_cast<int64_t>(in.promptIds.size());
    ASSERT_GE(n, 4);
    const std::string spans = "0-1,2-" + std::to_string(n - 1);
    auto out = runOrFail("context_cite", in, {{"segments", "spans"}, {"spans", spans}, {"ablations", 16}});
    ASSERT_EQ(out.featureSegments.size(), 2u);
    EXPECT_EQ(out.featureSegments[1], (std::pair<int64_t, int64_t>{2, n}));
    EXPECT_EQ(out.targetFn, "log_odds");
    // Leave-one-out against the model's own log-odds, computed here: segment
    // 0 (tokens 0..1) replaced by the zero baseline.
    auto loo = runOrFail("context_cite", in, {{"segments", "spans"}, {"spans", spans}, {"estimator", "leave_one_out"}});
    const auto seq = attr::makeSequence(in);
    auto ablated = seq.embeds.clone();
    ablated.slice(0, 0, 2).zero_();
    auto full = attr::targetsAllColumns(*in.model, seq, seq.embeds, attr::TargetFn::LogProbability);
    auto without = attr::targetsAllColumns(*in.model, seq, ablated, attr::TargetFn::LogProbability);
    auto odds = [](double lp) { return lp - std::log(-std::expm1(lp)); };
    for (int64_t j = 0; j < seq.t; ++j) {
        const double expected = odds(full[j].item<double>()) - odds(without[j].item<double>());
        EXPECT_NEAR(loo.matrix.at(0, j) + loo.matrix.at(1, j), expected, 1e-4 * (1 + std::abs(expected))) << j;
        // Position n (the first output token) is not a feature: 0 where column j sees it, NaN before.
        if (j >= 1) EXPECT_EQ(loo.matrix.at(n, j), 0.0f);
        else EXPECT_TRUE(std::isnan(loo.matrix.at(n, j)));
    }
    auto bad = runMethodRaw("context_cite", in, {{"segments", "spans"}, {"spans", "3-1"}});
    EXPECT_FALSE(bad.ok());
}

TEST(ContextCite, TakesTheJobsSpansAsItsSegments) {
    // A job with user spans (two RAG-like documents): context_cite scores
    // each span, not its sentences. Leave-one-out is checked against the
    // model's own log-odds with the whole span replaced, computed here.
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    Job job;
    job.methods = {"context_cite"};
    job.input = "the cat sat on the mat. the dog ran. a bird sang";
    job.targetText = " and slept";
    job.options = {{"segments", {{{"start", 0}, {"end", 23}, {"label", "doc 1"}}, {{"start", 23}, {"end", 48}, {"label", "doc 2"}}}},
                   {"methods", {{"context_cite", {{"estimator", "leave_one_out"}}}}}};
    auto seq = prepareSequence(*m, job);
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    ASSERT_EQ(seq->promptSegments.size(), 2u);
    const auto spans = analysis::tokenRanges(seq->promptSegments);
    const auto n = static_cast<int64_t>(seq->input.ids.size()), t = static_cast<int64_t>(seq->output.ids.size());
    ASSERT_EQ(spans.back().second, n);
    ASSERT_GT(spans[1].second - spans[1].first, 1); // the second document holds two sentences

    auto r = runMethod(*m, *seq, job, "context_cite");
    ASSERT_EQ(r.status, RunStatus::Completed) << r.error.value_or("");
    EXPECT_EQ(r.featureSegments, spans); // per span, not per sentence (three sentences)
    EXPECT_EQ(r.options["granularity"], "spans");
    EXPECT_FALSE(r.options.contains("segments")); // its own choice was not used

    AttributionInput in;
    in.model = m->model.get();
    in.promptIds = seq->input.ids;
    in.outputIds = seq->output.ids;
    const auto s = attr::makeSequence(in);
    auto full = attr::targetsAllColumns(*in.model, s, s.embeds, attr::TargetFn::LogProbability);
    auto odds = [](double lp) { return lp - std::log(-std::expm1(lp)); };
    for (const auto& [a, b] : spans) {
        auto ablated = s.embeds.clone();
        ablated.slice(0, a, b).zero_(); // the default baseline: zero embeddings
        auto without = attr::targetsAllColumns(*in.model, s, ablated, attr::TargetFn::LogProbability);
        for (int64_t j = 0; j < t; ++j) {
            const double expected = odds(full[j].item<double>()) - odds(without[j].item<double>());
            double sum = 0;
            for (int64_t i = a; i < b; ++i) {
                sum += r.raw.at(i, j);
                EXPECT_FLOAT_EQ(r.raw.at(i, j), r.raw.at(a, j)); // spread evenly over the span
            }
            EXPECT_NEAR(sum, expected, 1e-4 * (1 + std::abs(expected))) << "span " << a << " column " << j;
        }
    }

    // The job choosing context_cite's features itself keeps them.
    job.options["methods"]["context_cite"]["segments"] = "token";
    auto tokens = runMethod(*m, *seq, job, "context_cite");
    ASSERT_EQ(tokens.status, RunStatus::Completed) << tokens.error.value_or("");
    EXPECT_EQ(static_cast<int64_t>(tokens.featureSegments.size()), n);
    EXPECT_EQ(tokens.options["segments"], "token");
    EXPECT_FALSE(tokens.options.contains("granularity"));
    // Without a granularity: its default, sentences (three here).
    Job plain = job;
    plain.options = nlohmann::json::object();
    auto plainSeq = prepareSequence(*m, plain);
    ASSERT_TRUE(plainSeq.ok());
    auto sentences = runMethod(*m, *plainSeq, plain, "context_cite");
    ASSERT_EQ(sentences.status, RunStatus::Completed) << sentences.error.value_or("");
    EXPECT_EQ(sentences.featureSegments.size(), 3u);
}
