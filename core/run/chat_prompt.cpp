#include "run/chat_prompt.h"

#include <algorithm>

namespace tokenlens {

using nlohmann::json;
using ojson = nlohmann::ordered_json; // messages keep their keys' order

namespace {

// The text parts of a message's content, in order.
std::vector<std::string> contentTexts(const ojson& message) {
    std::vector<std::string> out;
    if (!message.is_object() || !message.contains("content")) return out;
    const ojson& c = message["content"];
    if (c.is_string()) {
        out.push_back(c.get<std::string>());
    } else if (c.is_array()) {
        for (const auto& part : c) {
            if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string()) {
                out.push_back(part["text"].get<std::string>());
            }
        }
    }
    return out;
}

std::string trimmed(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return {};
    const auto end = s.find_last_not_of(" \t\r\n");
    return s.substr(begin, end + 1 - begin);
}

struct Range {
    size_t begin = 0, end = 0;
    int message = -1;
    std::string role;
};

// Where each message's content stands in `text`, searched in order from the
// end of the previous one (the content as given, else trimmed, as templates
// that strip it print it).
std::vector<Range> contentRanges(const std::string& text, const ojson& messages) {
    std::vector<Range> out;
    size_t cursor = 0;
    for (size_t m = 0; m < messages.size(); ++m) {
        const std::string role = messages[m].is_object() ? messages[m].value("role", "") : "";
        for (const std::string& part : contentTexts(messages[m])) {
            for (const std::string& needle : {part, trimmed(part)}) {
                if (needle.empty()) continue;
                const size_t at = text.find(needle, cursor);
                if (at == std::string::npos) continue;
                out.push_back({at, at + needle.size(), static_cast<int>(m), role});
                cursor = at + needle.size();
                break;
            }
        }
    }
    return out;
}

// The first special token id after `marker` in a rendering of one assistant
// turn: the template's end-of-turn token ("<|im_end|>", "<|eot_id|>", "</s>").
std::vector<int64_t> endOfTurnIds(const chat::ChatFormatter& formatter, const Tokenizer& tokenizer, const json& vars,
                                  const chat::DateTime& date) {
    const std::string marker = "tokenlensendofturnmarker";
    chat::ChatRequest req = formatter.request(ojson::array({{{"role", "user"}, {"content", "hi"}},
                                                           {{"role", "assistant"}, {"content", marker}}}),
                                              /*addGenerationPrompt=*/false);
    for (const auto& [k, v] : vars.items()) req.extras[k] = v;
    req.options.now = date;
    auto text = formatter.render(req);
    if (!text) return {};
    const size_t at = text->find(marker);
    if (at == std::string::npos) return {};
    auto enc = tokenizer.encode(std::string_view(*text).substr(at + marker.size()), /*addSpecialTokens=*/false);
    if (!enc) return {};
    for (size_t i = 0; i < enc->ids.size(); ++i) {
        if (enc->special[i]) return {enc->ids[i]};
    }
    return {};
}

} // namespace

std::string plainChatText(const ojson& messages) {
    std::string text;
    if (!messages.is_array()) return text;
    for (size_t i = 0; i < messages.size(); ++i) {
        if (i > 0) text.push_back('\n');
        for (const std::string& part : contentTexts(messages[i])) text += part;
    }
    return text;
}

Status checkMessages(const ojson& messages) {
    auto bad = [](const std::string& m) { return makeError(ErrorCode::InvalidArgument, m); };
    if (!messages.is_array()) return bad("messages must be an array of {\"role\", \"content\"} objects");
    if (messages.empty()) return bad("messages is empty");
    for (size_t i = 0; i < messages.size(); ++i) {
        const std::string at = "messages[" + std::to_string(i) + "]";
        const ojson& m = messages[i];
        if (!m.is_object()) return bad(at + " must be an object");
        if (!m.contains("role") || !m["role"].is_string() || m["role"].get<std::string>().empty()) {
            return bad(at + ".role must be a non-empty string (system, user, assistant, ...)");
        }
        if (!m.contains("content")) return bad(at + ".content is missing");
        if (!m["content"].is_string() && !m["content"].is_array()) {
            return bad(at + ".content must be a string or a list of parts");
        }
    }
    return {};
}

std::vector<TokenSegment> segmentTokens(const std::string& text, const Encoding& enc, const ojson& messages) {
    const std::vector<Range> ranges = contentRanges(text, messages);
    std::vector<TokenSegment> out(enc.ids.size(), TokenSegment{"template", -1});
    for (size_t i = 0; i < enc.ids.size(); ++i) {
        if (enc.special[i]) continue;
        const auto [b, e] = enc.offsets[i];
        for (const Range& r : ranges) {
            const bool overlaps = b < e ? (b < r.end && e > r.begin) : (b >= r.begin && b < r.end);
            if (overlaps) {
                out[i] = {r.role, r.message};
                break;
            }
        }
    }
    return out;
}

Result<ChatPrompt> buildChatPrompt(const chat::ChatFormatter& formatter, const Tokenizer& tokenizer,
                                   const ojson& messages, const std::optional<std::string>& reply, const json& vars,
                                   const chat::DateTime& date) {
    if (auto st = checkMessages(messages); !st) return st.error();
    ChatPrompt out;
    ojson conversation = messages;
    if (reply) conversation.push_back({{"role", "assistant"}, {"content", *reply}});
    chat::ChatRequest req = formatter.request(conversation, /*addGenerationPrompt=*/!reply);
    if (vars.is_object()) {
        for (const auto& [k, v] : vars.items()) req.extras[k] = v;
    }
    req.options.now = date;
    auto rendered = reply ? formatter.renderContinuing(req) : formatter.render(req);
    if (!rendered) {
        return makeError(rendered.error().code, "chat template '" + formatter.info().name + "': " + rendered.error().message);
    }
    const std::string& text = rendered.value();
    auto enc = tokenizer.encode(text, /*addSpecialTokens=*/false);
    if (!enc) return makeError(enc.error().code, "the rendered conversation: " + enc.error().message);
    const std::vector<TokenSegment> segments = segmentTokens(text, enc.value(), conversation);
    size_t boundary = enc->ids.size();
    if (reply) {
        // The reply ends the rendering (continue_final_message cuts right
        // after it); its tokens are those from where its text starts. A token
        // straddling that point holds reply text too, so it goes with the reply.
        const size_t start = text.size() >= reply->size() && text.compare(text.size() - reply->size(), reply->size(), *reply) == 0
                                 ? text.size() - reply->size()
                                 : text.rfind(trimmed(*reply));
        if (start == std::string::npos || trimmed(*reply).empty()) {
            return makeError(ErrorCode::InvalidArgument, "the forced reply is empty or was changed by the chat template");
        }
        boundary = 0;
        while (boundary < enc->ids.size() && enc->offsets[boundary].second <= start) {
            ++boundary;
        }
        if (boundary < enc->ids.size() && enc->offsets[boundary].first < start) {
            out.warnings.push_back("the reply's first token also holds template text before the reply (" +
                                   std::to_string(start - enc->offsets[boundary].first) + " bytes)");
        }
        if (boundary == enc->ids.size()) return makeError(ErrorCode::InvalidArgument, "the forced reply tokenizes to no tokens");
        out.replyText = *reply;
        out.replyIds.assign(enc->ids.begin() + static_cast<std::ptrdiff_t>(boundary), enc->ids.end());
    }
    out.promptIds.assign(enc->ids.begin(), enc->ids.begin() + static_cast<std::ptrdiff_t>(boundary));
    out.promptSegments.assign(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(boundary));
    const size_t promptBytes = boundary < enc->ids.size() ? enc->offsets[boundary].first : text.size();
    out.text = text.substr(0, promptBytes);
    if (!reply) out.stopIds = endOfTurnIds(formatter, tokenizer, vars, date);
    return out;
}

} // namespace tokenlens
