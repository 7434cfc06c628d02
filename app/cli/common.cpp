#include "common.h"

#include "commands.h"
#include "util/utf8.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tokenlens::cli {

std::optional<int> handleParse(ArgParser& parser, const std::vector<std::string>& args) {
    if (!parser.parse(args)) return parser.usageError(parser.error());
    if (parser.helpRequested()) {
        std::cout << parser.helpText();
        return kExitOk;
    }
    return std::nullopt;
}

std::optional<std::string> readPrompt(const ArgParser& parser, const std::string& command) {
    std::string text;
    if (auto file = parser.value("prompt-file")) {
        if (!parser.positional().empty()) {
            std::cerr << "tokenlens-cli " << command << ": give the prompt as text or with --prompt-file, not both\n";
            return std::nullopt;
        }
        std::ifstream in(*file, std::ios::binary);
        if (!in) {
            std::cerr << "tokenlens-cli " << command << ": " << *file << ": cannot open the prompt file\n";
            return std::nullopt;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    } else {
        if (parser.positional().empty()) {
            std::cerr << "tokenlens-cli " << command << ": no prompt given (text after the options, or --prompt-file)\n";
            return std::nullopt;
        }
        for (size_t i = 0; i < parser.positional().size(); ++i) text += (i ? " " : "") + parser.positional()[i];
    }
    if (!utf8::isValid(text)) {
        std::cerr << "tokenlens-cli " << command << ": the prompt is not valid text (" << utf8::describeInvalid(text)
                  << ")\n";
        return std::nullopt;
    }
    return text;
}

std::shared_ptr<LoadedModel> loadModelOrReport(const std::string& dir, const std::string& command,
                                               const LoadOptions& options) {
    auto loaded = loadModelFolder(dir, options);
    if (!loaded) {
        std::cerr << "tokenlens-cli " << command << ": " << loaded.error().message << "\n";
        return nullptr;
    }
    return loaded.value();
}

bool applyThreadsOption(const ArgParser& parser, const std::string& command) {
    auto threads = numberOption(parser, "threads", 1, command);
    if (!threads || *threads < 0) return false;
    if (*threads > 0) at::set_num_threads(static_cast<int>(*threads));
    return true;
}

std::optional<std::string> readFileOrReport(const std::string& file, const std::string& command) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::cerr << "tokenlens-cli " << command << ": " << file << ": cannot open\n";
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::optional<double> numberOption(const ArgParser& parser, const std::string& name, double fallback,
                                   const std::string& command) {
    auto v = parser.value(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        double d = std::stod(*v, &used);
        if (used == v->size() && std::isfinite(d)) return d;
    } catch (const std::exception&) {
    }
    std::cerr << "tokenlens-cli " << command << ": --" << name << " expects a number, got '" << *v << "'\n";
    return std::nullopt;
}

std::vector<std::string> displayTokens(const Tokenizer& tokenizer, const std::vector<int64_t>& ids) {
    std::vector<std::string> out;
    out.reserve(ids.size());
    for (int64_t id : ids) out.push_back(tokenizer.displayToken(static_cast<int32_t>(id)));
    return out;
}

void printJson(const nlohmann::json& j) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void addChatOptions(ArgParser& parser) {
    parser.option("chat", "FILE", "a messages file ([{\"role\", \"content\"}, ...]) rendered through the model's chat "
                                  "template; a prompt, when given, is added as the last user message");
    parser.option("system", "TEXT", "a system message; the prompt is the user message (chat template)");
    parser.flag("raw", "use the text as it is, without the chat template");
    parser.option("template", "NAME", "which of the folder's chat templates (default: default)");
    parser.option("date", "YYYY-MM-DD", "the date the chat template's strftime_now prints (default: today)");
}

bool chatRequested(const ArgParser& parser) { return parser.has("chat") || parser.has("system"); }

bool applyChatOptions(const ArgParser& parser, const std::string& command, const std::optional<std::string>& prompt,
                      Job& job) {
    nlohmann::json chat = nlohmann::json::object();
    if (parser.has("raw")) chat["raw"] = true;
    if (auto t = parser.value("template")) chat["template"] = *t;
    if (auto d = parser.value("date")) chat["date"] = *d;
    if (!chat.empty()) job.options["chat"] = chat;
    if (!chatRequested(parser)) return true;
    nlohmann::ordered_json messages = nlohmann::ordered_json::array(); // the file's key order kept
    if (auto file = parser.value("chat")) {
        auto read = readMessagesFile(*file, command);
        if (!read) return false;
        for (const auto& m : *read) messages.push_back(m);
    }
    if (auto system = parser.value("system")) {
        messages.insert(messages.begin(), nlohmann::ordered_json{{"role", "system"}, {"content", *system}});
    }
    if (prompt) messages.push_back({{"role", "user"}, {"content", *prompt}});
    if (messages.empty()) {
        std::cerr << "tokenlens-cli " << command << ": --chat and --system need messages or a prompt\n";
        return false;
    }
    job.messages = std::move(messages);
    job.input = lastUserText(job.messages);
    return true;
}

bool readPromptOrChat(const ArgParser& parser, const std::string& command, std::optional<std::string>& prompt) {
    if (parser.has("chat") && parser.positional().empty() && !parser.has("prompt-file")) return true;
    prompt = readPrompt(parser, command);
    return prompt.has_value();
}

std::vector<std::string> splitComma(const std::vector<std::string>& values) {
    std::vector<std::string> out;
    for (const auto& v : values) {
        std::stringstream ss(v);
        std::string item;
        while (std::getline(ss, item, ',')) {
            if (!item.empty()) out.push_back(item);
        }
    }
    return out;
}

void addGranularityOptions(ArgParser& parser) {
    parser.option("granularity", "G",
                  "token (default), word, sentence, line, paragraph or spans: occlusion, lime, kernel_shap and "
                  "shapley_sampling perturb whole segments, and every result records them (docs/methods.md)");
    parser.option("segments", "FILE",
                  "a JSON file with the spans of granularity spans: [{\"start\": 0, \"end\": 120, \"label\": "
                  "\"doc 1\"}, ...] (character ranges of the prompt)");
}

bool applyGranularityOptions(const ArgParser& parser, const std::string& command, nlohmann::json& options) {
    if (auto g = parser.value("granularity")) options["granularity"] = *g;
    if (auto file = parser.value("segments")) {
        std::ifstream in(*file, std::ios::binary);
        if (!in) {
            std::cerr << "tokenlens-cli " << command << ": " << *file << ": cannot open the segments file\n";
            return false;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        auto j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_array()) {
            std::cerr << "tokenlens-cli " << command << ": " << *file
                      << ": not a JSON array of spans [{\"start\", \"end\", \"label\"}, ...]\n";
            return false;
        }
        options["segments"] = std::move(j);
        if (!parser.value("granularity")) options["granularity"] = "spans";
    }
    return true;
}

} // namespace tokenlens::cli
