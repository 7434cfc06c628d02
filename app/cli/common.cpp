#include "common.h"

#include "commands.h"
#include "util/utf8.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tokenlens::cli {

std::optional<int> handleParse(ArgParser& parser, const std::vector<std::string>& args) {
    if (!parser.parse(args)) {
        std::cerr << parser.error() << "\n\n" << parser.helpText();
        return kExitUsage;
    }
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

} // namespace tokenlens::cli
