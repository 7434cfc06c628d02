// tokenlens-cli chat render (--model DIR | --tokenizer-config FILE) [--template FILE]
//     [--template-name NAME] --messages FILE.json [--no-generation-prompt]
//     [--var KEY=JSON ...] [--date YYYY-MM-DD]
// Prints the conversation rendered through the model's chat template exactly
// as transformers' apply_chat_template(tokenize=False) returns it (no newline
// added). docs/chat.md says how the template is found and what is supported.

#include "args.h"
#include "commands.h"
#include "common.h"

#include "chat/chat_template.h"
#include "io/json_util.h"

#include <ctime>
#include <iostream>

namespace tokenlens::cli {
namespace {

constexpr uint64_t kMaxMessagesBytes = uint64_t{64} << 20;

// A messages file: a JSON list of {"role", "content", ...}, or an object with "messages".
std::optional<nlohmann::ordered_json> readMessages(const std::string& file, const std::string& command) {
    auto text = io_detail::readSmallFile(file, kMaxMessagesBytes);
    if (!text) {
        std::cerr << "tokenlens-cli " << command << ": " << text.error().message << "\n";
        return std::nullopt;
    }
    if (auto depth = io_detail::jsonNestingDepth(*text, 64); depth > 64) {
        std::cerr << "tokenlens-cli " << command << ": " << file << ": JSON nested deeper than 64 levels\n";
        return std::nullopt;
    }
    nlohmann::ordered_json j;
    try {
        j = nlohmann::ordered_json::parse(*text);
    } catch (const std::exception& e) {
        std::cerr << "tokenlens-cli " << command << ": " << file << ": not valid JSON: " << io_detail::jsonErrorText(e) << "\n";
        return std::nullopt;
    }
    if (j.is_object() && j.contains("messages")) j = j["messages"];
    if (!j.is_array()) {
        std::cerr << "tokenlens-cli " << command << ": " << file
                  << ": expected a list of messages ([{\"role\": ..., \"content\": ...}, ...])\n";
        return std::nullopt;
    }
    for (size_t i = 0; i < j.size(); ++i) {
        if (!j[i].is_object() || !j[i].contains("role")) {
            std::cerr << "tokenlens-cli " << command << ": " << file << ": message " << i
                      << " is not an object with a \"role\"\n";
            return std::nullopt;
        }
    }
    return j;
}

void reportRenderError(const Error& e, const std::string& command) {
    if (chat::Template::isRaisedError(e)) {
        std::cerr << "tokenlens-cli " << command << ": the chat template refused the conversation: " << e.message << "\n";
    } else {
        std::cerr << "tokenlens-cli " << command << ": chat template: " << e.message << "\n";
    }
}

} // namespace

std::optional<nlohmann::ordered_json> readMessagesFile(const std::string& file, const std::string& command) {
    return readMessages(file, command);
}

std::optional<std::string> renderChatForModel(const std::string& modelDir, const std::string& messagesFile,
                                              bool addGenerationPrompt, const std::string& command) {
    auto formatter = chat::ChatFormatter::fromModelFolder(modelDir);
    if (!formatter) {
        std::cerr << "tokenlens-cli " << command << ": " << formatter.error().message << "\n";
        return std::nullopt;
    }
    auto messages = readMessages(messagesFile, command);
    if (!messages) return std::nullopt;
    chat::ChatRequest request = formatter->request(std::move(*messages), addGenerationPrompt);
    request.options.now = chat::localNow();
    auto rendered = formatter->render(request);
    if (!rendered) {
        reportRenderError(rendered.error(), command);
        return std::nullopt;
    }
    return std::move(*rendered);
}

int runChat(const Args& args) {
    ArgParser parser("chat", "render (--model DIR | --tokenizer-config FILE) [--template FILE] [--template-name NAME] "
                             "--messages FILE.json [--no-generation-prompt] [--var KEY=JSON ...] [--date YYYY-MM-DD]");
    parser.add(R"(
        --model DIR  model folder: chat_template.jinja, else tokenizer_config.json's chat_template
        --tokenizer-config FILE  a tokenizer_config.json (its chat_template and special tokens)
        --template FILE  render this template file instead (special tokens still from the model)
        --template-name NAME  pick a named template of the folder (default: 'default')
        --messages FILE.json  the conversation: [{"role": "user", "content": "..."}, ...]
        --no-generation-prompt  render without add_generation_prompt (it is on by default)
        --var KEY=JSON...  one more template variable, e.g. enable_thinking=false (repeatable)
        --date YYYY-MM-DD  the date strftime_now() sees (default: now)
    )");
    if (auto code = handleParse(parser, args)) return *code;
    auto usageError = [&parser](const std::string& message) { return parser.usageError(message); };
    if (parser.positional().size() != 1 || parser.positional().front() != "render") {
        return usageError(parser.positional().empty() ? "the action is missing (render)"
                                                      : "unknown action '" + parser.positional().front() + "' (expected render)");
    }
    const auto model = parser.value("model");
    const auto config = parser.value("tokenizer-config");
    if (model.has_value() == config.has_value()) return usageError("give one of --model DIR or --tokenizer-config FILE");
    const auto messagesFile = parser.value("messages");
    if (!messagesFile) return usageError("--messages FILE.json is required");

    nlohmann::ordered_json extras = nlohmann::ordered_json::object();
    for (const std::string& v : parser.values("var")) {
        const size_t eq = v.find('=');
        if (eq == std::string::npos || eq == 0) return usageError("--var expects KEY=JSON, got '" + v + "'");
        try {
            extras[v.substr(0, eq)] = nlohmann::ordered_json::parse(v.substr(eq + 1));
        } catch (const std::exception& e) {
            return usageError("--var " + v.substr(0, eq) + ": not a JSON value (quote strings: KEY='\"text\"'): " +
                              io_detail::jsonErrorText(e));
        }
    }
    chat::DateTime now = chat::localNow();
    if (auto d = parser.value("date")) {
        auto parsed = chat::parseDate(*d);
        if (!parsed) return usageError("--date expects YYYY-MM-DD, got '" + *d + "'");
        now = *parsed;
    }

    const std::string name = parser.value("template-name").value_or("");
    std::optional<chat::ChatFormatter> formatter;
    if (auto templateFile = parser.value("template")) {
        nlohmann::ordered_json tokens = nlohmann::ordered_json::object();
        const std::string configFile = config ? *config : *model + "/tokenizer_config.json";
        if (config || std::filesystem::exists(configFile)) {
            auto c = io_detail::readSmallFile(configFile, kMaxMessagesBytes);
            if (!c) {
                std::cerr << "tokenlens-cli chat: " << c.error().message << "\n";
                return kExitFailure;
            }
            auto j = io_detail::parseJsonText(*c, configFile);
            if (!j) {
                std::cerr << "tokenlens-cli chat: " << j.error().message << "\n";
                return kExitFailure;
            }
            tokens = chat::specialTokenVariables(*j);
        }
        auto text = io_detail::readSmallFile(*templateFile, kMaxMessagesBytes);
        if (!text) {
            std::cerr << "tokenlens-cli chat: " << text.error().message << "\n";
            return kExitFailure;
        }
        auto f = chat::ChatFormatter::fromText(*text, std::move(tokens), *templateFile);
        if (!f) {
            std::cerr << "tokenlens-cli chat: " << f.error().message << "\n";
            return kExitFailure;
        }
        formatter.emplace(std::move(*f));
    } else {
        auto f = model ? chat::ChatFormatter::fromModelFolder(*model, name)
                       : chat::ChatFormatter::fromTokenizerConfig(*config, name);
        if (!f) {
            std::cerr << "tokenlens-cli chat: " << f.error().message << "\n";
            return kExitFailure;
        }
        formatter.emplace(std::move(*f));
    }

    auto messages = readMessages(*messagesFile, "chat");
    if (!messages) return kExitFailure;
    chat::ChatRequest request = formatter->request(std::move(*messages), !parser.has("no-generation-prompt"));
    request.extras = std::move(extras);
    request.options.now = now;
    auto rendered = formatter->render(request);
    if (!rendered) {
        reportRenderError(rendered.error(), "chat");
        return kExitFailure;
    }
    std::cout << *rendered << std::flush;
    return kExitOk;
}

} // namespace tokenlens::cli
