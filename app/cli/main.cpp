#include "commands.h"

#include <tokenlens/version.h>

#include <exception>
#include <iostream>

namespace tokenlens::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"inspect", "describe a model folder as JSON", &runInspect},
        {"tokenize", "tokenize text with a model's tokenizer", &runTokenize},
        {"chat", "render a conversation through a model's chat template (chat render)", &runChat},
        {"models", "list models found in configured folders and the Hugging Face cache", &runModels},
        {"generate", "continue a prompt with a model (greedy or sampled) and print step scores", &runGenerate},
        {"attribute", "attribution matrices of one or more models and methods, as result JSON", &runAttribute},
        {"run", "run a job file (or a .jsonl batch) through the job queue and results store", &runRun},
        {"jobs", "list, show, export, import or delete jobs in the results store", &runJobs},
        {"export", "a result file as an Inseq file, HTML page, SVG/PDF figure, CSV, Markdown or LaTeX", &runExport},
        {"train-demo", "train a demo model on the synthetic task corpus and write a Hugging Face folder", &runTrainDemo},
        {"make-model", "write a model folder with random weights in the real shapes of a public checkpoint", &runMakeModel},
        {"eval-demo", "held-out accuracy of a demo model per task family", &runEvalDemo},
        {"serve", "serve the job API over HTTP and WebSocket (docs/api.md), headless", &runServe},
        {"faithfulness", "evidence hit@1 / MRR and ERASER metrics of attribution methods on the demo tasks", &runFaithfulness},
    };
    return table;
}

namespace {

void printUsage(std::ostream& os) {
    os << "usage: tokenlens-cli [--help] [--version] <command> [options] [--] [args]\n\ncommands:\n";
    for (const auto& c : commands()) {
        std::string name = c.name;
        os << "  " << name << std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') << c.summary << "\n";
    }
    os << "\nRun 'tokenlens-cli <command> --help' for a command's options.\n";
}

} // namespace
} // namespace tokenlens::cli

int main(int argc, char** argv) {
    using namespace tokenlens::cli;
    Args all(argv + 1, argv + argc);
    if (all.empty()) {
        printUsage(std::cerr);
        return kExitUsage;
    }
    const std::string& first = all.front();
    if (first == "--help" || first == "-h" || first == "help") {
        printUsage(std::cout);
        return kExitOk;
    }
    if (first == "--version") {
        std::cout << "tokenlens-cli " << TOKENLENS_VERSION << "\n";
        return kExitOk;
    }
    for (const auto& c : commands()) {
        if (first == c.name) {
            try {
                return c.run(Args(all.begin() + 1, all.end()));
            } catch (const std::exception& e) {
                std::cerr << "tokenlens-cli " << c.name << ": internal error: " << e.what() << "\n";
                return kExitFailure;
            }
        }
    }
    std::cerr << "tokenlens-cli: unknown command '" << first << "'\n\n";
    printUsage(std::cerr);
    return kExitUsage;
}
