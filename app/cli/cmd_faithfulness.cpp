// faithfulness: evidence hit@1 / MRR (against the known evidence of the demo
// tasks) and the evidence-free ERASER metrics, per method and task family.

#include "commands.h"
#include "common.h"

#include "attribution/method.h"
#include "catalog/model_catalog.h"
#include "demo/ground_truth.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace tokenlens::cli {

int runFaithfulness(const Args& args) {
    const std::string cmd = "faithfulness";
    ArgParser p(cmd, "--model DIR [--model DIR2] | --all  [--methods m1,m2,...] [--examples N] [--baseline zero|unk] "
                     "[--markdown]");
    p.option("model", "DIR", "a demo model folder (repeat for several)", true);
    p.flag("all", "every method on both bundled demo models (the tables of docs/faithfulness.md); integrated "
                  "gradients from the unk baseline with 128 steps, which converges on them");
    p.option("methods", "LIST", "comma-separated methods (default: every method)");
    p.option("examples", "N", "held-out examples per task family (default 20)");
    p.option("seed", "S", "seed of the held-out examples (default: the held-out seed)");
    p.option("baseline", "B", "removal baseline of the ERASER metrics and occlusion/IG: zero (default) or unk");
    p.flag("no-eraser", "evidence hit@1 / MRR only (skip comprehensiveness, sufficiency, curves, leave-one-out)");
    p.option("threads", "T", "LibTorch intra-op threads (default 1: the demo models are tiny)");
    p.flag("json", "print the report as JSON instead of a table");
    p.flag("markdown", "print Markdown tables (overall with time per example, hit@1 / MRR per family)");
    p.flag("quiet", "no progress on standard error");
    if (auto code = handleParse(p, args)) return *code;
    auto dirs = p.values("model");
    if (p.has("all") && dirs.empty()) {
        const auto demo = bundledDemoModels();
        if (demo.empty()) {
            std::cerr << "tokenlens-cli faithfulness: --all needs the bundled demo models, which were not found\n";
            return kExitFailure;
        }
        for (const char* name : {"demo-llama", "demo-gpt2"}) dirs.push_back((demo / name).string());
    }
    if (dirs.empty()) {
        std::cerr << "tokenlens-cli faithfulness: --model (or --all) is required\n\n" << p.helpText();
        return kExitUsage;
    }
    if (!applyThreadsOption(p, cmd)) return kExitUsage;
    demo::GroundTruthOptions o;
    if (auto list = p.value("methods")) {
        std::stringstream ss(*list);
        std::string item;
        while (std::getline(ss, item, ',')) {
            if (item.empty()) continue;
            if (item != demo::kRandomMethod && !findMethod(item)) {
                std::cerr << "tokenlens-cli faithfulness: unknown method '" << item << "'\n";
                return kExitUsage;
            }
            o.methods.push_back(item);
        }
    } else {
        for (const auto* m : allMethods()) o.methods.push_back(m->id());
    }
    auto examples = numberOption(p, "examples", 20, cmd);
    auto seed = numberOption(p, "seed", static_cast<double>(demo::kHeldOutSeed), cmd);
    if (!examples || !seed) return kExitUsage;
    if (*examples < 1 || *seed < 0) {
        std::cerr << "tokenlens-cli faithfulness: --examples must be at least 1 and --seed not negative\n";
        return kExitUsage;
    }
    o.perFamily = static_cast<int64_t>(*examples);
    o.seed = static_cast<uint64_t>(*seed);
    o.eraser = !p.has("no-eraser");
    if (auto b = p.value("baseline")) {
        if (*b != "zero" && *b != "unk") {
            std::cerr << "tokenlens-cli faithfulness: --baseline must be zero or unk\n";
            return kExitUsage;
        }
        o.faithfulness.baseline = *b;
        o.jobOptions["baseline"] = *b;
    }
    if (p.has("all")) {
        // From the zero embedding integrated gradients does not converge on the
        // demo models (demo-llama's RMSNorm jumps near alpha = 0); from unk,
        // 128 steps do (the table reports the mean |delta|).
        o.jobOptions["methods"]["integrated_gradients"] = {{"steps", 128}, {"baseline", "unk"}};
    }
    nlohmann::json all = nlohmann::json::array();
    for (const auto& dir : dirs) {
        auto model = loadModelOrReport(dir, cmd);
        if (!model) return kExitFailure;
        const auto start = std::chrono::steady_clock::now();
        if (!p.has("quiet")) {
            o.progress = [&](int64_t done, int64_t total) {
                std::cerr << "\r[" << model->name << "] " << done << "/" << total << " examples" << std::flush;
            };
        }
        auto r = demo::evaluateGroundTruth(*model, o);
        if (!p.has("quiet")) std::cerr << "\n";
        if (!r) {
            std::cerr << "tokenlens-cli faithfulness: " << model->name << ": " << r.error().message << "\n";
            return kExitFailure;
        }
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (p.has("json")) {
            all.push_back(demo::toJson(*r));
        } else if (p.has("markdown")) {
            std::cout << demo::formatMarkdown(*r);
            std::printf("(%lld examples per family, held-out seed %llu, %.0f s on this machine)\n\n",
                        static_cast<long long>(o.perFamily), static_cast<unsigned long long>(o.seed), secs);
        } else {
            std::cout << demo::formatTable(*r);
            std::printf("(%lld examples per family, held-out seed %llu, %.0f s)\n\n", static_cast<long long>(o.perFamily),
                        static_cast<unsigned long long>(o.seed), secs);
        }
    }
    if (p.has("json")) printJson(all);
    return kExitOk;
}

} // namespace tokenlens::cli
