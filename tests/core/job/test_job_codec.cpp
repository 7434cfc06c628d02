// The one job codec (core/run/job.h) on its own, without Qt or LibTorch, so
// that it runs under the sanitizers: job files, batch defaults, the API's
// complete mode, and every refusal naming its source and field.

#include "run/job.h"

#include <gtest/gtest.h>

namespace tokenlens {
namespace {

using nlohmann::json;

using ojson = nlohmann::ordered_json;
const ojson kMessages = ojson::array({{{"role", "system"}, {"content", "Be brief."}},
                                     {{"role", "user"}, {"content", "Name a colour."}}});

TEST(JobCodec, MessagesAreReadWrittenAndCheckedWithTheirField) {
    const json file = {{"models", {"m"}}, {"methods", {"attention"}}, {"messages", kMessages}};
    auto job = readJob(file, JobReading::file("chat.json"));
    ASSERT_TRUE(job) << job.error().message;
    EXPECT_EQ(json(job->messages), json(kMessages)) << "a sorted (nlohmann::json) file reads as written";
    EXPECT_EQ(job->input, "Name a colour.") << "input holds the last user message";
    EXPECT_TRUE(checkJobShape(*job)) << "messages stand for the input";
    auto again = readJob(toJson(*job), JobReading::file("again"));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *job);

    JobReading api;
    api.complete = true;
    EXPECT_TRUE(readJob(file, api)) << "the API takes messages instead of input";
    struct Case {
        json messages;
        std::string field;
    };
    const std::vector<Case> cases = {
        {json::array(), "messages"},
        {"hello", "messages"},
        {json::array({"hello"}), "messages[0]"},
        {json::array({{{"content", "x"}}}), "messages[0].role"},
        {json::array({{{"role", ""}, {"content", "x"}}}), "messages[0].role"},
        {json::array({{{"role", "user"}}}), "messages[0].content"},
        {json::array({{{"role", "user"}, {"content", 5}}}), "messages[0].content"},
    };
    for (const auto& c : cases) {
        json bad = file;
        bad["messages"] = c.messages;
        std::string field;
        auto r = readJob(bad, api, &field);
        EXPECT_FALSE(r) << c.messages.dump();
        EXPECT_EQ(field, c.field) << c.messages.dump();
        if (!r) {
            EXPECT_NE(r.error().message.find(c.field), std::string::npos) << r.error().message;
        }
    }
}

TEST(JobCodec, AJobFileReadsAndWritesBackToTheSameJob) {
    const json file = {{"models", {"tests/data/models/tiny-gpt2", "other"}},
                       {"methods", {"attention", "integrated_gradients"}},
                       {"input", "The quick brown fox"},
                       {"options", {{"max_new_tokens", 8}, {"methods", {{"integrated_gradients", {{"steps", 100}}}}}}},
                       {"target_text", nullptr},
                       {"parent_job", nullptr},
                       {"priority", 3}};
    auto job = readJob(file, JobReading::file("job.json"));
    ASSERT_TRUE(job) << job.error().message;
    EXPECT_EQ(job->models, (std::vector<std::string>{"tests/data/models/tiny-gpt2", "other"}));
    EXPECT_EQ(job->methods, (std::vector<std::string>{"attention", "integrated_gradients"}));
    EXPECT_EQ(job->input, "The quick brown fox");
    EXPECT_EQ(job->options["methods"]["integrated_gradients"]["steps"], 100);
    EXPECT_FALSE(job->targetText);
    EXPECT_FALSE(job->parentJob);
    EXPECT_EQ(job->priority, 3);
    EXPECT_EQ(modelName(*job, 0), "tiny-gpt2");
    auto again = readJob(toJson(*job), JobReading::file("again"));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*again, *job);
}

TEST(JobCodec, ABatchLineTakesItsDefaultsAndMergesOptionsKeyByKey) {
    Job defaults;
    defaults.models = {"m"};
    defaults.methods = {"attention"};
    defaults.options = {{"max_new_tokens", 4}, {"reduction", "l2"}};
    auto line = readJob(json{{"input", "hello"}, {"options", {{"max_new_tokens", 9}}}},
                        JobReading::file("jobs.jsonl:2", &defaults));
    ASSERT_TRUE(line) << line.error().message;
    EXPECT_EQ(line->models, defaults.models);
    EXPECT_EQ(line->methods, defaults.methods);
    EXPECT_EQ(line->options["max_new_tokens"], 9) << "the line's option wins";
    EXPECT_EQ(line->options["reduction"], "l2") << "the default's other options stay";
}

TEST(JobCodec, RefusalsNameTheSourceAndTheField) {
    struct Case {
        json job;
        std::string field;
    };
    const json ok = {{"models", {"m"}}, {"methods", {"attention"}}, {"input", "x"}};
    auto with = [&](const std::string& key, json value) {
        json j = ok;
        j[key] = std::move(value);
        return j;
    };
    const std::vector<Case> cases = {
        {with("models", 5), "models"},
        {with("models", json::array({"m", 7})), "models[1]"},
        {with("input", json::array()), "input"},
        {with("options", "fast"), "options"},
        {with("priority", 1e12), "priority"},
        {with("colour", "red"), "colour"},
    };
    for (const auto& c : cases) {
        std::string field;
        auto r = readJob(c.job, JobReading::file("jobs.jsonl:7"), &field);
        ASSERT_FALSE(r) << c.job.dump();
        EXPECT_EQ(field, c.field) << r.error().message;
        EXPECT_EQ(r.error().message.rfind("jobs.jsonl:7", 0), 0u) << r.error().message;
        EXPECT_NE(r.error().message.find(c.field), std::string::npos) << r.error().message;
    }
    std::string field;
    auto notObject = readJob(json::array({1, 2}), JobReading::file("job.json"), &field);
    ASSERT_FALSE(notObject);
    EXPECT_NE(notObject.error().message.find("job.json"), std::string::npos) << notObject.error().message;
}

TEST(JobCodec, TheApiModeRequiresTheWholeJobAndRefusesPathTricksInParentJob) {
    JobReading api;
    api.complete = true;
    api.validJobId = [](const std::string& id) { return id.find('/') == std::string::npos && id.find('.') == std::string::npos; };
    std::vector<std::string> resolved;
    api.resolveModel = [&](const std::string& m) -> Result<std::string> {
        if (m != "tiny-gpt2") return makeError(ErrorCode::NotFound, "unknown model '" + m + "'");
        resolved.push_back(m);
        return std::string("/models/tiny-gpt2");
    };
    std::string field;
    EXPECT_FALSE(readJob(json{{"models", {"tiny-gpt2"}}, {"methods", {"attention"}}}, api, &field));
    EXPECT_EQ(field, "input");
    EXPECT_FALSE(readJob(json{{"models", {"tiny-gpt2"}}, {"methods", json::array()}, {"input", "x"}}, api, &field));
    EXPECT_EQ(field, "methods");
    auto unknown = readJob(json{{"models", {"/etc"}}, {"methods", {"attention"}}, {"input", "x"}}, api, &field);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(field, "models[0]");
    EXPECT_NE(unknown.error().message.find("unknown model '/etc'"), std::string::npos) << unknown.error().message;
    for (const std::string parent : {"../jobs", "..", "a/b"}) {
        auto r = readJob(json{{"models", {"tiny-gpt2"}}, {"methods", {"attention"}}, {"input", "x"}, {"parent_job", parent}},
                         api, &field);
        EXPECT_FALSE(r) << parent;
        EXPECT_EQ(field, "parent_job") << parent;
    }
    auto good = readJob(json{{"models", {"tiny-gpt2"}}, {"methods", {"attention"}}, {"input", "x"}}, api, &field);
    ASSERT_TRUE(good) << good.error().message;
    EXPECT_EQ(good->models, std::vector<std::string>{"/models/tiny-gpt2"}) << "ids become the catalogue's folders";
}

} // namespace
} // namespace tokenlens
