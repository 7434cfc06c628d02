#pragma once
// A job's messages as the model sees them: the conversation rendered through
// the model's chat template (transformers' apply_chat_template), tokenized
// WITHOUT adding special tokens again (the template writes BOS itself), with
// the role and message of every token.
//
// - Without a forced reply the prompt is the rendering with the generation
//   prompt; generation stops at the model's eos ids and at the template's
//   end-of-turn token (found by rendering an assistant turn).
// - With a forced reply (the job's target_text) the reply is the assistant
//   turn: the conversation with that message is rendered and cut right after
//   the reply's text (continue_final_message), tokenized as a whole so that no
//   token is split differently at the boundary, and the reply's tokens are the
//   output.
// Plain C++ (tokenizer and chat libraries; no LibTorch).

#include "chat/chat_template.h"
#include "result/job_result.h"
#include "tokenizer/tokenizer.h"
#include "util/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

struct ChatPrompt {
    std::string text;               // the rendered prompt (what the model reads before its reply)
    std::vector<int64_t> promptIds; // its tokens
    std::vector<TokenSegment> promptSegments;
    std::optional<std::string> replyText; // forced reply: its text
    std::vector<int64_t> replyIds;        // forced reply: its tokens
    std::vector<int64_t> stopIds;         // the template's end-of-turn token(s)
    std::vector<std::string> warnings;
};

// `messages`: [{"role", "content"}, ...] (content a string or a list of
// parts), ordered: the template sees each message's keys in the given order. `reply`: the forced assistant reply, if any. `vars`: extra template
// variables (enable_thinking, ...). Errors name the problem: a template that
// refuses the conversation (raise_exception) fails with its message.
Result<ChatPrompt> buildChatPrompt(const chat::ChatFormatter& formatter, const Tokenizer& tokenizer,
                                   const nlohmann::ordered_json& messages, const std::optional<std::string>& reply,
                                   const nlohmann::json& vars = nlohmann::json::object(),
                                   const chat::DateTime& date = {});

// The role and message index of each token of `text` (offsets as Encoding
// gives them), from where each message's content stands in the rendering:
// a token overlapping a message's content gets that message's role, any
// other token (role markers, BOS, separators) the role "template".
std::vector<TokenSegment> segmentTokens(const std::string& text, const Encoding& enc,
                                        const nlohmann::ordered_json& messages);

// The messages as plain text, without a template: each message's text (its
// string content, or its text parts joined), one message per line.
std::string plainChatText(const nlohmann::ordered_json& messages);

// A messages list's problems, or ok: an array of objects whose "role" is a
// string and whose "content" is a string or a list of parts.
Status checkMessages(const nlohmann::ordered_json& messages);

} // namespace tokenlens
