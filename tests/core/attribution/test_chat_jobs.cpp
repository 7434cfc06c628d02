// Jobs that carry messages: the engine renders them through the model's chat
// template exactly as the template renders them directly (chat/), tokenizes
// the rendering without adding special tokens, takes a forced reply as the
// assistant turn (continue_final_message), records every context token's
// role, and leaves the template's own tokens out of the token importance.

#include "attribution_test_util.h"

#include "attribution/engine.h"
#include "chat/chat_template.h"
#include "result/result_json.h"
#include "run/chat_prompt.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

const nlohmann::json kMessages = nlohmann::json::array(
    {{{"role", "system"}, {"content", "You answer in one word."}}, {{"role", "user"}, {"content", "What colour is the sky?"}}});

chat::ChatFormatter formatterOf(const LoadedModel& m) {
    auto f = chat::ChatFormatter::fromModelFolder(m.dir);
    EXPECT_TRUE(f) << (f ? "" : f.error().message);
    return std::move(f.value());
}

std::vector<int64_t> idsOf(const LoadedModel& m, const std::string& text) {
    auto enc = m.tokenizer->encode(text, /*addSpecialTokens=*/false);
    EXPECT_TRUE(enc);
    return {enc->ids.begin(), enc->ids.end()};
}

Job chatJob(const std::optional<std::string>& reply) {
    Job job;
    job.methods = {"saliency"};
    job.messages = kMessages;
    job.input = lastUserText(kMessages);
    job.targetText = reply;
    job.options = {{"max_new_tokens", 3}, {"chat", {{"date", "2026-07-26"}}}};
    return job;
}

} // namespace

TEST(ChatJobs, AForcedReplyIsTheAssistantTurnOfTheRenderedConversation) {
    auto m = fixture("tiny-qwen3");
    ASSERT_TRUE(m);
    const std::string reply = "Blue.";
    auto seq = prepareSequence(*m, chatJob(reply));
    ASSERT_TRUE(seq) << seq.error().message;

    // The template rendered directly, cut after the reply as transformers' continue_final_message does.
    const auto f = formatterOf(*m);
    nlohmann::json withReply = kMessages;
    withReply.push_back({{"role", "assistant"}, {"content", reply}});
    auto req = f.request(withReply, false);
    req.options.now = {2026, 7, 26, 0, 0, 0};
    auto whole = f.renderContinuing(req);
    ASSERT_TRUE(whole) << whole.error().message;
    ASSERT_EQ(whole->substr(whole->size() - reply.size()), reply);
    EXPECT_EQ(seq->input.text, whole->substr(0, whole->size() - reply.size()));
    EXPECT_NE(seq->input.text.find("<|im_start|>system\nYou answer in one word.<|im_end|>"), std::string::npos)
        << seq->input.text;

    // Prompt and reply tokens together are the tokens of the whole rendering.
    std::vector<int64_t> joined = seq->input.ids;
    joined.insert(joined.end(), seq->output.ids.begin(), seq->output.ids.end());
    EXPECT_EQ(joined, idsOf(*m, *whole));
    EXPECT_EQ(seq->output.ids, idsOf(*m, reply)) << "the reply starts a token of its own after the template's newline";
    EXPECT_TRUE(seq->forced);
    ASSERT_TRUE(seq->chatTemplate);
    EXPECT_EQ(seq->chatTemplate->sha256, f.info().sha256);
}

TEST(ChatJobs, SegmentsCoverEveryContextTokenAndTemplateTokensLeaveTheImportance) {
    auto m = fixture("tiny-qwen3");
    ASSERT_TRUE(m);
    const Job job = chatJob(std::string("Blue."));
    auto seq = prepareSequence(*m, job);
    ASSERT_TRUE(seq) << seq.error().message;
    const MethodResult r = runMethod(*m, *seq, job, "saliency");
    ASSERT_EQ(r.status, RunStatus::Completed) << r.error.value_or("");
    const size_t n = r.input.ids.size(), t = r.output.ids.size();
    ASSERT_EQ(r.segments.size(), n + t);
    std::set<std::string> roles;
    for (size_t i = 0; i < n + t; ++i) {
        const auto& s = r.segments[i];
        roles.insert(s.role);
        if (s.role == "template") {
            EXPECT_EQ(s.message, -1);
        } else {
            ASSERT_GE(s.message, 0);
            ASSERT_LE(s.message, 2);
            const std::string want = s.message < 2 ? kMessages[static_cast<size_t>(s.message)]["role"].get<std::string>()
                                                   : std::string("assistant");
            EXPECT_EQ(s.role, want) << "token " << i << " " << r.contextTokens[i];
        }
        if (r.contextTokens[i] == "<|im_start|>" || r.contextTokens[i] == "<|im_end|>") {
            EXPECT_EQ(s.role, "template") << "token " << i;
        }
    }
    EXPECT_EQ(roles, (std::set<std::string>{"system", "user", "assistant", "template"}));
    for (size_t i = n; i < n + t; ++i) EXPECT_EQ(r.segments[i].role, "assistant");

    // The result JSON: token importance is null on template rows, a number
    // on the others; the switch keeps them.
    const auto j = toJson(r);
    ASSERT_TRUE(j.contains("segments"));
    EXPECT_EQ(j["chat_template"]["sha256"], formatterOf(*m).info().sha256);
    const auto& imp = j["attribution"]["aggregated"]["token_importance"]["input"];
    const auto& all = j["attribution"]["aggregated"]["token_importance_with_template"]["input"];
    ASSERT_EQ(imp.size(), n);
    size_t templateRows = 0, messageRows = 0;
    for (size_t i = 0; i < n; ++i) {
        if (r.segments[i].role == "template") {
            ++templateRows;
            EXPECT_TRUE(imp[i].is_null()) << "template token " << i << " " << r.contextTokens[i];
            EXPECT_TRUE(all[i].is_number()) << i;
        } else {
            ++messageRows;
            EXPECT_TRUE(imp[i].is_number()) << i;
        }
    }
    EXPECT_GT(templateRows, 3u);
    EXPECT_GT(messageRows, 5u);
    // Read back: the chat fields survive the file.
    JobResult job1;
    job1.results.push_back(r);
    const std::string text = writeResultJson(job1);
    EXPECT_NE(text.find("\"schema\": \"tokenlens.job/2\""), std::string::npos);
    auto back = readResultJson(text, "chat.json");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->results[0].segments, r.segments);
    EXPECT_EQ(back->results[0].chatTemplate, r.chatTemplate);
    EXPECT_EQ(back->results[0].messages, r.messages);
}

TEST(ChatJobs, GenerationReadsTheGenerationPromptAndStopsAtTheEndOfTurn) {
    auto m = fixture("tiny-qwen3");
    ASSERT_TRUE(m);
    auto seq = prepareSequence(*m, chatJob(std::nullopt));
    ASSERT_TRUE(seq) << seq.error().message;
    const auto f = formatterOf(*m);
    auto req = f.request(kMessages, true);
    req.options.now = {2026, 7, 26, 0, 0, 0};
    auto rendered = f.render(req);
    ASSERT_TRUE(rendered);
    EXPECT_EQ(seq->input.text, *rendered);
    EXPECT_EQ(seq->input.ids, idsOf(*m, *rendered));
    EXPECT_FALSE(seq->forced);
    EXPECT_EQ(seq->segments.size(), seq->input.ids.size());

    // The template's end-of-turn token is found by rendering an assistant turn.
    auto tok = m->tokenizer->encode("<|im_end|>", false);
    ASSERT_TRUE(tok);
    ASSERT_EQ(tok->ids.size(), 1u);
    auto prompt = buildChatPrompt(f, *m->tokenizer, kMessages, std::nullopt);
    ASSERT_TRUE(prompt);
    EXPECT_EQ(prompt->stopIds, std::vector<int64_t>{tok->ids[0]});
}

TEST(ChatJobs, RawAndTemplateProblemsAreSaid) {
    auto m = fixture("tiny-qwen3");
    ASSERT_TRUE(m);
    Job raw = chatJob(std::string("Blue."));
    raw.options["chat"]["raw"] = true;
    auto seq = prepareSequence(*m, raw);
    ASSERT_TRUE(seq) << seq.error().message;
    EXPECT_EQ(seq->input.text, "You answer in one word.\nWhat colour is the sky?");
    EXPECT_FALSE(seq->chatTemplate);

    Job named = chatJob(std::nullopt);
    named.options["chat"]["template"] = "no-such-template";
    auto missing = prepareSequence(*m, named);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("no-such-template"), std::string::npos) << missing.error().message;

    Job bad = chatJob(std::nullopt);
    bad.options["chat"] = {{"colour", 1}};
    auto refused = prepareSequence(*m, bad);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("chat.colour"), std::string::npos) << refused.error().message;

    // A model without a template: the messages as plain text, with a warning.
    auto gpt2 = fixture("tiny-gpt2");
    ASSERT_TRUE(gpt2);
    auto plain = prepareSequence(*gpt2, chatJob(std::nullopt));
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_EQ(plain->input.text, "You answer in one word.\nWhat colour is the sky?");
    ASSERT_FALSE(plain->warnings.empty());
    EXPECT_NE(plain->warnings[0].find("no chat template"), std::string::npos);
}
