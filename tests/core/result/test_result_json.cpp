// The contract's result JSON: exact round trips (floats, NaN, failed pairs)
// and a reader that names the key of whatever is malformed.

#include "result/result_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

using namespace tokenlens;

namespace {

JobResult sampleJob() {
    JobResult job;
    job.jobId = "job-1";
    job.createdAt = "2026-11-26T14:00:00Z";
    job.completedAt = "2026-11-26T14:00:05Z";
    job.input = {"Hi there", {"Hi", " there"}, {17250, 612}};
    job.options = {{"target_fn", "probability"}, {"steps", 50}};
    MethodResult r;
    r.model = "tiny-gpt2";
    r.method = "integrated_gradients";
    r.input = job.input;
    r.output = {" friend!", {" friend", "!"}, {1545, 0}};
    r.contextTokens = {"Hi", " there", " friend", "!"};
    const float nan = std::numeric_limits<float>::quiet_NaN();
    // (n + t) x t = 4 x 2, NaN where i > p_j (p_0 = 1, p_1 = 2).
    r.raw = {4, 2, {0.1f, 1e-7f, 0.30000001f, -2.5f, nan, 3.4028235e38f, nan, nan}};
    r.targetFn = "probability";
    r.reduction = "sum";
    r.convergenceDelta = {1.25e-5, -3.0e-9};
    r.fInput = {0.5, 0.25};
    r.fBaseline = {1.0 / 3.0, 0.0};
    r.featureSegments = {{0, 1}, {1, 2}};
    r.stepProbability = {0.123456789012345, 0.5};
    r.stepEntropy = {2.0, 1.0 / 7.0};
    r.warnings = {"integrated gradients has not converged"};
    r.options = {{"steps", 50}};
    r.seconds = 0.25;
    r.faithfulness = {{"method", "integrated_gradients"},
                      {"baseline", "zero"},
                      {"columns", nlohmann::json::array()},
                      {"mean", {{"aopc_comprehensiveness", 0.25}, {"kendall_tau", nullptr}}}};
    job.results.push_back(r);
    MethodResult failed;
    failed.model = "tiny-gpt2";
    failed.method = "occlusion";
    failed.status = RunStatus::Failed;
    failed.error = "occlusion: out of memory";
    job.results.push_back(failed);
    MethodResult cancelled = r;
    cancelled.method = "saliency";
    cancelled.status = RunStatus::Cancelled;
    cancelled.error = "cancelled";
    cancelled.raw = {};
    cancelled.convergenceDelta.clear();
    cancelled.fInput.clear();
    cancelled.fBaseline.clear();
    cancelled.featureSegments.clear();
    cancelled.targetFn.clear();
    cancelled.reduction.clear();
    job.results.push_back(cancelled);
    return job;
}

std::string messageFor(const std::string& text) {
    auto r = readResultJson(text, "bad.json");
    return r.ok() ? std::string("(accepted)") : r.error().message;
}

} // namespace

TEST(ResultJson, RoundTripIsExact) {
    const JobResult job = sampleJob();
    const std::string text = writeResultJson(job);
    auto back = readResultJson(text, "memory");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(back.value() == job);
    // Written once more, the text is identical.
    EXPECT_EQ(writeResultJson(back.value()), text);
}

TEST(ResultJson, FollowsTheContract) {
    const auto j = nlohmann::json::parse(writeResultJson(sampleJob()));
    EXPECT_EQ(j["schema"], "tokenlens.job/1");
    const auto& r = j["results"][0];
    EXPECT_TRUE(r["attribution"]["raw"][3][0].is_null()); // NaN is written null
    EXPECT_EQ(r["attribution"]["raw"][0][0].dump(), "0.1"); // shortest float32 decimal
    // Token importance (eq. 6) on the prompt block (n = 2 rows): row sums, column sums.
    // input: 0.1 + 1e-7, 0.30000001 - 2.5; output: 0.1 + 0.30000001, 1e-7 - 2.5
    const auto& ti = r["attribution"]["aggregated"]["token_importance"];
    EXPECT_NEAR(ti["input"][0].get<double>(), 0.1000001, 1e-7);
    EXPECT_NEAR(ti["input"][1].get<double>(), -2.2, 1e-6);
    EXPECT_NEAR(ti["output"][0].get<double>(), 0.4, 1e-6);
    EXPECT_NEAR(ti["output"][1].get<double>(), -2.4999999, 1e-6);
    EXPECT_EQ(r["step_scores"]["probability"].size(), 2u);
    EXPECT_EQ(r["attribution"]["feature_segments"], nlohmann::json::parse("[[0, 1], [1, 2]]"));
    EXPECT_EQ(j["results"][1]["status"], "failed");
    EXPECT_EQ(j["results"][1]["error"], "occlusion: out of memory");
    EXPECT_FALSE(j["results"][1].contains("attribution"));
    EXPECT_EQ(r["faithfulness"]["mean"]["aopc_comprehensiveness"], 0.25);
    EXPECT_FALSE(j["results"][1].contains("faithfulness")); // only where the stage ran
}

TEST(ResultJson, RejectsMalformedFilesNamingTheKey) {
    const auto good = nlohmann::json::parse(writeResultJson(sampleJob()));
    auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
        auto j = good;
        edit(j);
        return messageFor(j.dump());
    };
    EXPECT_NE(messageFor("{not json").find("bad.json: not valid JSON"), std::string::npos);
    EXPECT_NE(messageFor("[1, 2]").find("must be a JSON object"), std::string::npos);
    EXPECT_NE(edited([](auto& j) { j.erase("schema"); }).find("key 'schema' is missing"), std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["schema"] = "tokenlens.job/4"; }).find("newer"), std::string::npos);
    // A number beyond double (found by fuzz_result_json): refused with the position, not a crash.
    EXPECT_NE(messageFor("{\"schema\": \"tokenlens.job/1\", \"x\": 2.44e7221}").find("number overflow"), std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["schema"] = "other/1"; }).find("expected 'tokenlens.job/1'"), std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["input"]["ids"][1] = "x"; }).find("'input.ids[1]' must be an integer"),
              std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["results"][0]["status"] = "done"; }).find("'results[0].status'"),
              std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["results"][0]["attribution"]["raw"][2] = {1.0}; })
                  .find("'results[0].attribution.raw[2]' has 1 columns, row 0 has 2"),
              std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["results"][0]["attribution"]["raw"][1][0] = "high"; })
                  .find("'results[0].attribution.raw[1][0]' must be a number or null"),
              std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["results"][0]["context_tokens"].erase(0); })
                  .find("'results[0].context_tokens' has 3 entries but attribution.raw has 4 rows"),
              std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["results"][0]["output"]["ids"].push_back(5); })
                  .find("'results[0].output.tokens' must have as many entries as ids"),
              std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["results"][0].erase("step_scores"); })
                  .find("'results[0].step_scores' is missing"),
              std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["results"][0]["attribution"]["feature_segments"][1] = {2, 2}; })
                  .find("'results[0].attribution.feature_segments' must be an array of [start, end] pairs"),
              std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["results"] = 3; }).find("'results' must be an array"), std::string::npos);
    EXPECT_NE(edited([](auto& j) { j["results"][0]["faithfulness"] = {{"columns", 1}}; })
                  .find("'results[0].faithfulness'"),
              std::string::npos);
}

TEST(ResultJson, ReadsFilesAndReportsMissingOnes) {
    auto missing = readResultFile("/nonexistent/result.json");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("/nonexistent/result.json"), std::string::npos);
}

TEST(ResultJson, SegmentsRoundTripAndOldResultsStillRead) {
    JobResult job = sampleJob();
    // n = 2 prompt tokens "Hi", " there": one sentence of both, with its characters.
    for (auto& r : job.results) {
        r.granularity = "sentence";
        r.promptSegments = {{0, 2, 0, 8, ""}};
    }
    job.results[0].promptSegments = {{0, 1, 0, 2, "greeting"}, {1, 2, 2, 8, ""}};
    job.results[0].granularity = "spans";
    const std::string text = writeResultJson(job);
    const auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["results"][0]["granularity"], "spans");
    EXPECT_EQ(j["results"][0]["prompt_segments"][0],
              nlohmann::json::parse(R"({"tokens": [0, 1], "chars": [0, 2], "label": "greeting"})"));
    auto back = readResultJson(text, "memory");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(back.value() == job);
    EXPECT_EQ(writeResultJson(back.value()), text);

    // A result written before segments existed has neither key and reads as token granularity.
    const auto old = nlohmann::json::parse(writeResultJson(sampleJob()));
    EXPECT_FALSE(old["results"][0].contains("granularity"));
    EXPECT_FALSE(old["results"][0].contains("prompt_segments"));
    auto oldBack = readResultJson(old.dump(), "old.json");
    ASSERT_TRUE(oldBack.ok());
    EXPECT_EQ(oldBack->results[0].granularity, "token");
    EXPECT_TRUE(oldBack->results[0].promptSegments.empty());

    // Segments that do not cover the prompt, or are malformed, are refused naming the key.
    auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
        auto e = j;
        edit(e);
        return messageFor(e.dump());
    };
    EXPECT_NE(edited([](auto& e) { e["results"][0]["prompt_segments"].erase(1); })
                  .find("'results[0].prompt_segments' does not fit the prompt: the segments cover 1 prompt tokens, not the "
                        "prompt's 2"),
              std::string::npos);
    EXPECT_NE(edited([](auto& e) { e["results"][0]["prompt_segments"][0]["tokens"] = {1, 0}; })
                  .find("'results[0].prompt_segments[0]' must be {\"tokens\""),
              std::string::npos);
    EXPECT_NE(edited([](auto& e) { e["results"][0]["prompt_segments"][1]["label"] = 3; })
                  .find("'results[0].prompt_segments[1]'"),
              std::string::npos);
}
