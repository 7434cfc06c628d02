// libFuzzer target: the chat-template interpreter on arbitrary template text
// and message lists. Input: TEMPLATE '\0' MESSAGES_JSON (without a '\0' the
// whole input is the template and a fixed two-turn conversation is used).
// Parsing and rendering must never crash, hang or exceed the bounds; what
// renders must be valid UTF-8, and a raise_exception failure carries its text.

#include "chat/chat_template.h"
#include "io/json_util.h"
#include "util/utf8.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace tokenlens;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const size_t cut = input.find('\0');
    const std::string text = input.substr(0, cut);
    nlohmann::ordered_json messages = nlohmann::ordered_json::parse(
        R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi {{ there }} é"},
            {"role": "assistant", "content": " Hello! "}])");
    if (cut != std::string::npos) {
        auto parsed = io_detail::parseJsonText(input.substr(cut + 1), "messages.json", 32);
        if (!parsed.ok()) return 0;
        messages = nlohmann::ordered_json::parse(parsed->dump());
    }
    auto formatter = chat::ChatFormatter::fromText(
        text, nlohmann::ordered_json{{"bos_token", "<s>"}, {"eos_token", "</s>"}}, "fuzz.jinja");
    if (!formatter.ok()) {
        check(!formatter.error().message.empty());
        return 0;
    }
    chat::ChatRequest request = formatter->request(messages, true);
    request.extras = nlohmann::ordered_json{{"enable_thinking", false}};
    request.options.limits.maxOutputBytes = size_t{1} << 20;
    request.options.limits.maxLoopIterations = 20000;
    request.options.limits.maxCallDepth = 32;
    auto rendered = formatter->render(request);
    if (rendered.ok()) {
        check(rendered->size() <= request.options.limits.maxOutputBytes);
        check(utf8::isValid(*rendered));
        if (messages.is_array() && !messages.empty()) {
            auto cont = formatter->renderContinuing(request);
            if (cont.ok()) check(utf8::isValid(*cont));
        }
    }
    return 0;
}
