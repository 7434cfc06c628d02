// Chat jobs in the job system: a follow-up of a chat continues it as chat
// turns, rendered again through the template, and the messages keep their
// keys' order from the text to the template. (The codec's reading and
// writing of `messages`: tests/core/job/test_job_codec.cpp.)

#include "jobs_test_util.h"

#include "chat/chat_template.h"
#include "jobs/batch.h"
#include "run/job.h"

#include <gtest/gtest.h>

namespace tokenlens {
namespace {

using namespace jobs;
using namespace jobs::testing;
using nlohmann::json;
using ojson = nlohmann::ordered_json;

const ojson kMessages = ojson::array({{{"role", "system"}, {"content", "Be brief."}},
                                     {{"role", "user"}, {"content", "Name a colour."}}});

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
    EXPECT_EQ(child->spec.messages[3], ojson({{"role", "user"}, {"content", "And another?"}}));

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
    EXPECT_EQ(pair->result->messages, json(child->spec.messages));
    int assistantTokens = 0;
    for (const auto& s : pair->result->segments) assistantTokens += s.role == "assistant" && s.message == 2;
    EXPECT_GT(assistantTokens, 0) << "the first reply is a message of the second turn";
}

// The keys of each message, in order, as a template iterating message.items() sees them.
std::string itemsRendering(const ojson& messages) {
    auto f = chat::ChatFormatter::fromText(
        "{% for m in messages %}{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %}|{% endfor %}", ojson::object());
    if (!f) return "template: " + f.error().message;
    auto text = f->render(f->request(messages, false));
    return text ? *text : "render: " + text.error().message;
}

TEST(JobCodec, MessageKeysKeepTheUsersOrderFromTextToTemplate) {
    // Written content first, then role, then a name: not the sorted order.
    const std::string text = R"({"models": ["m"], "methods": ["attention"], "messages": [)"
                             R"({"content": "Be brief.", "role": "system"},)"
                             R"({"role": "user", "name": "ann", "content": "Hi"}]})";
    const std::string expected = "content=Be brief.;role=system;|role=user;name=ann;content=Hi;|";
    auto job = readJob(ojson::parse(text), JobReading::file("chat.json"));
    ASSERT_TRUE(job) << job.error().message;
    EXPECT_EQ(itemsRendering(job->messages), expected);
    // Written again (store rows, API bodies) and read again: the same order.
    const std::string written = toJson(*job).dump();
    EXPECT_NE(written.find(R"({"content":"Be brief.","role":"system"})"), std::string::npos) << written;
    auto again = readJob(ojson::parse(written), JobReading::file("again"));
    ASSERT_TRUE(again);
    EXPECT_EQ(itemsRendering(again->messages), expected);
    // A batch line.
    auto batch = parseBatch(text + "\n", Job{}, "chats.jsonl");
    ASSERT_EQ(batch.jobs.size(), 1u);
    EXPECT_EQ(itemsRendering(batch.jobs[0].spec.messages), expected);
    // Through the queue and its store: the job read back from the store.
    QTemporaryDir dir;
    auto store = JobStore::open((dir.path() + QStringLiteral("/jobs.sqlite")).toStdString());
    ASSERT_TRUE(store) << store.error().message;
    Job queued = spec({"tiny-qwen3"}, {"attention"}, "", {{"max_new_tokens", 1}});
    queued.messages = job->messages;
    queued.input = job->input;
    std::string id;
    {
        JobQueue queue(store.value().get());
        auto submitted = queue.submit(queued);
        ASSERT_TRUE(submitted) << submitted.error().message;
        id = *submitted;
        ASSERT_TRUE(waitFinished(queue, id));
    }
    auto stored = store.value()->loadJob(id, false);
    ASSERT_TRUE(stored) << stored.error().message;
    ASSERT_TRUE(stored->has_value());
    EXPECT_EQ(itemsRendering((*stored)->spec.messages), expected);
    // The sorted reading (a nlohmann::json object) is what the order fix avoids.
    auto sorted = readJob(json::parse(text), JobReading::file("sorted.json"));
    ASSERT_TRUE(sorted);
    EXPECT_NE(itemsRendering(sorted->messages), expected);
}

} // namespace
} // namespace tokenlens
