// tokenlens-cli tokenize --model DIR [--no-special] [--] TEXT
// tokenlens-cli tokenize --model DIR --chat FILE.json [--no-generation-prompt]
//   (the conversation rendered through the chat template, tokenized without
//   adding special tokens: the template writes BOS itself)
// Prints {"ids": [...], "tokens": [...], "pieces": [...], "offsets": [[b, e], ...],
// "special": [...]}: tokens are the readable display strings, pieces the raw
// vocabulary strings, offsets the [begin, end) byte spans in TEXT.

#include "args.h"
#include "commands.h"
#include "common.h"

#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace tokenlens::cli {

int runTokenize(const Args& args) {
    ArgParser parser("tokenize", "--model DIR [--no-special] [--] TEXT | --chat FILE.json");
    parser.add(R"(
        --model DIR  model folder holding tokenizer.json (and tokenizer_config.json)
        --no-special  do not add the tokenizer's special tokens (BOS, ...)
        --chat FILE.json  tokenize these messages rendered through the model's chat template
        --no-generation-prompt  with --chat: render without add_generation_prompt
    )");
    if (auto code = handleParse(parser, args)) return *code;
    auto usageError = [&parser](const std::string& message) { return parser.usageError(message); };
    const auto model = parser.value("model");
    if (!model) return usageError("--model DIR is required");
    std::optional<std::string> chatText;
    if (const auto chatFile = parser.value("chat")) {
        if (!parser.positional().empty()) return usageError("give TEXT or --chat FILE.json, not both");
        chatText = renderChatForModel(*model, *chatFile, !parser.has("no-generation-prompt"), "tokenize");
        if (!chatText) return kExitFailure;
    } else if (parser.positional().size() != 1) {
        return usageError(parser.positional().empty()
                              ? "TEXT is missing"
                              : "expected one TEXT argument, got " + std::to_string(parser.positional().size()) +
                                    " (quote the text)");
    }
    const std::string& text = chatText ? *chatText : parser.positional().front();

    auto loaded = Tokenizer::fromFolder(*model);
    if (!loaded) {
        std::cerr << "tokenlens-cli tokenize: " << loaded.error().message << "\n";
        return kExitFailure;
    }
    const Tokenizer& tok = *loaded.value();
    auto enc = tok.encode(text, !chatText && !parser.has("no-special"));
    if (!enc) {
        std::cerr << "tokenlens-cli tokenize: TEXT: " << enc.error().message << "\n";
        return kExitFailure;
    }

    using Json = nlohmann::ordered_json;
    Json tokens = Json::array(), pieces = Json::array(), offsets = Json::array(), special = Json::array();
    for (size_t i = 0; i < enc->ids.size(); ++i) {
        tokens.push_back(tok.displayToken(enc->ids[i]));
        pieces.push_back(enc->tokens[i]);
        offsets.push_back(Json::array({enc->offsets[i].first, enc->offsets[i].second}));
        special.push_back(static_cast<bool>(enc->special[i]));
    }
    Json out = Json::object();
    out["ids"] = enc->ids;
    out["tokens"] = std::move(tokens);
    out["pieces"] = std::move(pieces);
    out["offsets"] = std::move(offsets);
    out["special"] = std::move(special);
    std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
    return kExitOk;
}

} // namespace tokenlens::cli
