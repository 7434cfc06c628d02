#pragma once
// Helpers shared by the tokenlens-cli subcommands that run a model.

#include "args.h"
#include "model/model_loader.h"
#include "run/job.h"

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens::cli {

// Prints the parser's help (exit 0) or usage error (exit 2); nullopt when parsing succeeded.
std::optional<int> handleParse(ArgParser& parser, const std::vector<std::string>& args);

// The prompt: the positional text (several words joined by spaces) or --prompt-file.
// Reports a clear error (file, problem) and returns nullopt on failure.
std::optional<std::string> readPrompt(const ArgParser& parser, const std::string& command);

// Loads a model folder, printing "tokenlens-cli CMD: MESSAGE" on failure.
std::shared_ptr<LoadedModel> loadModelOrReport(const std::string& dir, const std::string& command,
                                               const LoadOptions& options = {});

// Parses a number option; prints an error naming the option on failure.
std::optional<double> numberOption(const ArgParser& parser, const std::string& name, double fallback,
                                   const std::string& command);

// --threads T (default 1; 0 keeps LibTorch's default): sets LibTorch's
// intra-op threads. false: the problem was printed.
bool applyThreadsOption(const ArgParser& parser, const std::string& command);

// The whole file, or nullopt after printing "tokenlens-cli CMD: FILE: cannot open".
std::optional<std::string> readFileOrReport(const std::string& file, const std::string& command);

// Display strings of the tokens (Ġ/▁ shown as spaces).
std::vector<std::string> displayTokens(const Tokenizer& tokenizer, const std::vector<int64_t>& ids);

void printJson(const nlohmann::json& j);

// "a,b" "c" -> a, b, c (empty items dropped).
std::vector<std::string> splitComma(const std::vector<std::string>& values);

// The chat flags of attribute and generate: --chat FILE (a messages file),
// --system TEXT (a system message before the prompt as the user message),
// --raw (no chat template), --template NAME, --date YYYY-MM-DD.
void addChatOptions(ArgParser& parser);
// The prompt (readPrompt), or none with --chat and no prompt given (the
// messages file may end with the user's turn). false: the problem was printed.
bool readPromptOrChat(const ArgParser& parser, const std::string& command, std::optional<std::string>& prompt);
bool chatRequested(const ArgParser& parser);
// The job's messages (the prompt, when given, as the last user message) and
// options.chat from those flags. Prints the problem and returns false.
bool applyChatOptions(const ArgParser& parser, const std::string& command, const std::optional<std::string>& prompt,
                      Job& job);

// --granularity G (token, word, sentence, line, paragraph, spans) and
// --segments FILE (a JSON array of spans [{"start", "end", "label"}], which
// implies spans) of attribute and run.
void addGranularityOptions(ArgParser& parser);
// Sets options.granularity / options.segments from those flags (nothing when
// neither is given). Prints the problem (naming the file) and returns false.
bool applyGranularityOptions(const ArgParser& parser, const std::string& command, nlohmann::json& options);

} // namespace tokenlens::cli
