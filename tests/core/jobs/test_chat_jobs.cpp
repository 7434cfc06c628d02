// Chat jobs in the job system: the one job codec reads and writes `messages`
// (files, batches, the store, the API's complete mode), and a follow-up of a
// chat continues it as chat turns, rendered again through the template.

#include "jobs_test_util.h"

#include "chat/chat_template.h"
#include "run/job.h"

#include <gtest/gtest.h>

namespace tokenlens {
namespace {

using namespace jobs;
using namespace jobs::testing;
using nlohmann::json;

const json kMessages = json::array({{{"role", "system"}, {"content", "Be brief."}},
                                     {{"role", "user"}, {"content", "Name a colour."}}});

TEST(JobCodec, MessagesAreReadWrittenAndCheckedWithTheirField) {
    const json file = {{"models", {"m"}}, {"methods", {"attention"}}, {"messages", kMessages}};
    auto job = readJob(file, JobReading::file("chat.json"));
    ASSERT_TRUE(job) << job.error().message;
    EXPECT_EQ(job->messages, kMessages);
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

TEST(JobQueue, AChatFollowUpIsTheNextChatTurnRenderedThroughTheTemplate) {
    JobQueue queue(nullptr);
    Job first = spec({"tiny-qwen3"}, {"attention"}, "", {{"max_new_tokens", 2}, {"chat", {{"date", "2026-07-26"}}}});
    first.messages = kMessages;
    first.input = lastUserText(kMessages);
    auto id = queue.submit(first);
    ASSERT_TRUE(id) << id.error().message;
    ASSERT_TRUE(waitFinished(queue, *id));
    const auto parent = queue.job(*id);
    ASSERT_TRUE(parent && parent->pair(0, "attention") && parent->pair(0, "attention")->result);
    const MethodResult& r1 = *parent->pair(0, "attention")->result;
    ASSERT_EQ(r1.segments.size(), r1.input.ids.size() + r1.output.ids.size());

    auto next = queue.followUp(*id, "And another?");
    ASSERT_TRUE(next) << next.error().message;
    ASSERT_TRUE(waitFinished(queue, *next));
    const auto child = queue.job(*next);
    ASSERT_TRUE(child);
    ASSERT_TRUE(child->spec.messages.is_array());
    ASSERT_EQ(child->spec.messages.size(), 4u);
    EXPECT_EQ(child->spec.messages[0], kMessages[0]);
    EXPECT_EQ(child->spec.messages[1], kMessages[1]);
    EXPECT_EQ(child->spec.messages[2]["role"], "assistant");
    std::string reply = r1.output.text;
    if (const auto end = reply.find("<|im_end|>"); end != std::string::npos) reply.erase(end);
    EXPECT_EQ(child->spec.messages[2]["content"], reply) << "the reply without the end-of-turn token";
    EXPECT_EQ(child->spec.messages[3], json({{"role", "user"}, {"content", "And another?"}}));

    // What the model saw: the whole chat rendered again, as the template renders it directly.
    const auto pair = child->pair(0, "attention");
    ASSERT_TRUE(pair && pair->result) << (pair && pair->error ? *pair->error : "");
    auto f = chat::ChatFormatter::fromModelFolder(fixtureModel("tiny-qwen3"));
    ASSERT_TRUE(f);
    auto req = f->request(child->spec.messages, true);
    req.options.now = {2026, 7, 26, 0, 0, 0};
    auto rendered = f->render(req);
    ASSERT_TRUE(rendered) << rendered.error().message;
    EXPECT_EQ(pair->result->input.text, *rendered);
    EXPECT_EQ(pair->result->messages, child->spec.messages);
    int assistantTokens = 0;
    for (const auto& s : pair->result->segments) assistantTokens += s.role == "assistant" && s.message == 2;
    EXPECT_GT(assistantTokens, 0) << "the first reply is a message of the second turn";
}

} // namespace
} // namespace tokenlens
