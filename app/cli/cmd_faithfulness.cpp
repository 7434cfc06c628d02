// faithfulness: evidence hit@1 / MRR (against the known evidence of the demo
// tasks) and the evidence-free ERASER metrics, per method and task family.

#include "commands.h"
#include "common.h"

#include "attribution/method.h"
#include "catalog/model_catalog.h"
#include "demo/ground_truth.h"
#include "demo/sentence_tasks.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace tokenlens::cli {

namespace {

// Ends the progress line and prints the problem of a failed evaluation; false when it failed.
template <class R>
bool evaluated(const ArgParser& p, const std::string& model, const R& r) {
    if (!p.has("quiet")) std::cerr << "\n";
    if (r) return true;
    std::cerr << "tokenlens-cli faithfulness: " << model << ": " << r.error().message << "\n";
    return false;
}

// "[model] done/total examples" on one line of standard error (none with --quiet).
std::function<void(int64_t, int64_t)> examplesProgress(const ArgParser& p, const std::string& model) {
    if (p.has("quiet")) return {};
    return [model](int64_t done, int64_t total) {
        std::cerr << "\r[" << model << "] " << done << "/" << total << " examples" << std::flush;
    };
}

} // namespace

int runFaithfulness(const Args& args) {
    const std::string cmd = "faithfulness";
    ArgParser p(cmd, "--model DIR [--model DIR2] | --all  [--methods m1,m2,...] [--examples N] [--baseline zero|unk] "
                     "[--markdown] [--contrast | --target FN] | --sentences [--ablations A1,A2,...]");
    p.add(R"(
        --model DIR...  a demo model folder (repeat for several)
        --all  every method on both bundled demo models (the tables of docs/faithfulness.md); integrated gradients from the unk baseline with 128 steps, which converges on them
        --methods LIST  comma-separated methods (default: every method)
        --examples N  held-out examples per task family (default 20)
        --seed S  seed of the held-out examples (default: the held-out seed)
        --baseline B  removal baseline of the ERASER metrics and occlusion/IG: zero (default) or unk
        --no-eraser  evidence hit@1 / MRR only (skip comprehensiveness, sufficiency, curves, leave-one-out)
        --contrast  every method that takes a target_fn attributes logit(answer) - logit(foil), the foil of each example its distractor's answer (docs/faithfulness.md); the others keep their target
        --target FN  every method that takes a target_fn attributes FN: probability, log_probability or logit (default: each method's own default)
        --sentences  the sentence-level suite instead: the evidence sentence's hit@1 / MRR under context_cite (LASSO over --ablations random ablations) and its exact leave-one-out, with the forward passes of each
        --ablations LIST  with --sentences: comma-separated ablation counts of context_cite (default 32)
        --threads T  LibTorch intra-op threads (default 1: the demo models are tiny)
        --json  print the report as JSON instead of a table
        --markdown  print Markdown tables (overall with time per example, hit@1 / MRR per family)
        --quiet  no progress on standard error
    )");
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
    if (p.has("sentences")) {
        demo::SentenceEvalOptions so;
        so.perFamily = static_cast<int64_t>(*examples);
        so.seed = static_cast<uint64_t>(*seed);
        if (auto list = p.value("ablations")) {
            so.ablations.clear();
            std::stringstream ss(*list);
            std::string item;
            while (std::getline(ss, item, ',')) {
                if (item.empty()) continue;
                char* end = nullptr;
                const long long a = std::strtoll(item.c_str(), &end, 10);
                if (*end != '\0' || a < 2 || a > 100000) {
                    std::cerr << "tokenlens-cli faithfulness: --ablations item '" << item
                              << "' is not a whole number from 2 to 100000\n";
                    return kExitUsage;
                }
                so.ablations.push_back(a);
            }
            if (so.ablations.empty()) {
                std::cerr << "tokenlens-cli faithfulness: --ablations gives no count\n";
                return kExitUsage;
            }
        }
        if (auto b = p.value("baseline")) {
            if (*b != "zero" && *b != "unk") {
                std::cerr << "tokenlens-cli faithfulness: --baseline must be zero or unk\n";
                return kExitUsage;
            }
            so.jobOptions["baseline"] = *b;
        }
        nlohmann::json reports = nlohmann::json::array();
        for (const auto& dir : dirs) {
            auto model = loadModelOrReport(dir, cmd);
            if (!model) return kExitFailure;
            so.progress = examplesProgress(p, model->name);
            auto r = demo::evaluateSentences(*model, so);
            if (!evaluated(p, model->name, r)) return kExitFailure;
            if (p.has("json")) {
                reports.push_back(demo::toJson(*r));
            } else {
                std::cout << demo::formatMarkdown(*r);
                std::printf("(%lld examples per sentence family, held-out seed %llu)\n\n",
                            static_cast<long long>(so.perFamily), static_cast<unsigned long long>(so.seed));
            }
        }
        if (p.has("json")) printJson(reports);
        return kExitOk;
    }
    o.perFamily = static_cast<int64_t>(*examples);
    o.contrastive = p.has("contrast");
    if (auto fn = p.value("target")) {
        if (*fn != "probability" && *fn != "log_probability" && *fn != "logit") {
            std::cerr << "tokenlens-cli faithfulness: --target must be probability, log_probability or logit (got '"
                      << *fn << "'); for a contrastive target use --contrast\n";
            return kExitUsage;
        }
        if (o.contrastive) {
            std::cerr << "tokenlens-cli faithfulness: --target and --contrast exclude each other\n";
            return kExitUsage;
        }
        o.targetFn = *fn;
    }
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
        o.progress = examplesProgress(p, model->name);
        auto r = demo::evaluateGroundTruth(*model, o);
        if (!evaluated(p, model->name, r)) return kExitFailure;
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
