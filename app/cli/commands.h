#pragma once
// The subcommands of tokenlens-cli. Each lives in its own cmd_<name>.cpp and
// returns the process exit code: 0 success, 1 failure (bad file, bad model),
// 2 usage error.

#include <nlohmann/json.hpp>

#include <QObject>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {
struct JobResult;
}

namespace tokenlens::cli {

using Args = std::vector<std::string>;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Command {
    const char* name;
    const char* summary;
    int (*run)(const Args& args);
};

int runInspect(const Args& args);
int runTokenize(const Args& args);
int runModels(const Args& args);
int runGenerate(const Args& args);
int runAttribute(const Args& args);
int runRun(const Args& args);
int runJobs(const Args& args);
int runTrainDemo(const Args& args);
int runEvalDemo(const Args& args);
int runFaithfulness(const Args& args);
int runServe(const Args& args);
int runChat(const Args& args);
int runExport(const Args& args);
int runMakeModel(const Args& args);

// tokenize --chat: the messages file rendered with the model folder's chat
// template (cmd_chat.cpp); prints the problem and returns nullopt on failure.
std::optional<std::string> renderChatForModel(const std::string& modelDir, const std::string& messagesFile,
                                              bool addGenerationPrompt, const std::string& command);

// A messages file (a JSON list of {"role", "content"}, or an object with
// "messages"), for --chat; prints the problem and returns nullopt on failure.
std::optional<nlohmann::ordered_json> readMessagesFile(const std::string& file, const std::string& command);

const std::vector<Command>& commands();

class ArgParser;
// export and jobs export (cmd_export.cpp): the --format options, whether
// they ask for a figure (svg, pdf: a QApplication first, makeFigureApplication),
// and writing `job` as asked. Returns the exit code.
void addExportOptions(ArgParser& parser);
bool figureFormat(const ArgParser& parser);
std::unique_ptr<QObject> makeFigureApplication();
int exportResult(const tokenlens::JobResult& job, const ArgParser& parser, const std::string& command);

} // namespace tokenlens::cli
