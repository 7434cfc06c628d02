// train-demo and eval-demo: the bundled demo models (core/demo).

#include "commands.h"
#include "common.h"

#include "demo/demo_model.h"

#include <ATen/Parallel.h>

#include <cstdio>
#include <iostream>

namespace tokenlens::cli {

int runTrainDemo(const Args& args) {
    const std::string cmd = "train-demo";
    ArgParser p(cmd, "--arch llama|gpt2 --out DIR [--steps N] [--seed S] [--batch B] [--lr LR]");
    p.add(R"(
        --arch A  llama or gpt2 (the two shipped sizes)
        --out DIR  folder to write the Hugging Face model into
        --steps N  optimizer steps (default: llama 1400, gpt2 1600)
        --seed S  seed of initialisation and of the training stream (default 1)
        --batch B  examples per step (default 64)
        --lr LR  peak learning rate of AdamW (default: llama 2e-3, gpt2 3e-3)
        --hidden H  model width instead of the shipped one (llama 128, gpt2 96; a multiple of 4)
        --layers L  model depth instead of the shipped 3
        --heads N  attention heads instead of the shipped 4 (must divide the width)
        --grow front|back  with --init and a larger --layers: put the new layers before or after the trained ones
        --init DIR  continue training from the weights in DIR (a folder train-demo wrote) instead of random ones
        --focus FAMILY  train more on one task family (key_value, agreement, induction, arithmetic, coreference)
        --copy-steps N  steps of the copy phase at the start (default: a quarter of --steps)
        --threads T  LibTorch intra-op threads (default 1: the matrices are small; more threads are slower on a busy machine)
        --ngram-rows  gpt2: add n-gram copy rows (small-alphabet sequences repeated) to the copy phase and the mix
        --sinusoidal-positions  gpt2, from scratch: start the position embeddings as sinusoids instead of noise
        --recall-clauses N  recall rows hold up to N key-value clauses (default 4, as the key_value family; at most 9 fit)
        --eval-every N  print the accuracy on validation examples (not the held-out ones) every N steps
    )");
    if (auto code = handleParse(p, args)) return *code;
    auto arch = p.value("arch");
    auto out = p.value("out");
    if (!arch || !out) {
        std::cerr << "tokenlens-cli train-demo: --arch and --out are required\n\n" << p.helpText();
        return kExitUsage;
    }
    auto steps = numberOption(p, "steps", 0, cmd);
    auto seed = numberOption(p, "seed", static_cast<double>(demo::kDefaultTrainSeed), cmd);
    auto batch = numberOption(p, "batch", 64, cmd);
    auto lr = numberOption(p, "lr", 0, cmd);
    auto threads = numberOption(p, "threads", 1, cmd);
    auto copySteps = numberOption(p, "copy-steps", -1, cmd);
    auto evalEvery = numberOption(p, "eval-every", 0, cmd);
    auto hidden = numberOption(p, "hidden", 0, cmd);
    auto layers = numberOption(p, "layers", 0, cmd);
    auto recallClauses = numberOption(p, "recall-clauses", 0, cmd);
    auto heads = numberOption(p, "heads", 0, cmd);
    if (!steps || !seed || !batch || !lr || !threads || !copySteps || !evalEvery || !hidden || !layers || !recallClauses || !heads) return kExitUsage;
    if (*steps < 0 || *batch < 1 || *seed < 0 || *lr < 0 || *threads < 0) {
        std::cerr << "tokenlens-cli train-demo: --steps, --seed, --batch, --lr and --threads must not be negative\n";
        return kExitUsage;
    }
    if (*threads > 0) at::set_num_threads(static_cast<int>(*threads));
    demo::TrainOptions o;
    o.arch = *arch;
    o.out = *out;
    if (auto init = p.value("init")) o.init = *init;
    if (auto grow = p.value("grow")) {
        if (*grow != "front" && *grow != "back") {
            std::cerr << "tokenlens-cli train-demo: --grow takes front or back, not '" << *grow << "'\n";
            return kExitUsage;
        }
        o.growAt = *grow == "front" ? demo::GrowAt::Front : demo::GrowAt::Back;
    }
    if (auto focus = p.value("focus")) {
        demo::TaskFamily f;
        if (!demo::familyFromName(*focus, f)) {
            std::cerr << "tokenlens-cli train-demo: unknown task family '" << *focus << "'\n";
            return kExitUsage;
        }
        o.focus = f;
    }
    o.hiddenSize = static_cast<int64_t>(*hidden);
    o.layers = static_cast<int64_t>(*layers);
    o.recallClauses = static_cast<int64_t>(*recallClauses);
    o.heads = static_cast<int64_t>(*heads);
    o.steps = static_cast<int64_t>(*steps);
    o.seed = static_cast<uint64_t>(*seed);
    o.batchSize = static_cast<int64_t>(*batch);
    o.learningRate = *lr;
    o.copyPhaseSteps = static_cast<int64_t>(*copySteps);
    o.ngramRows = p.has("ngram-rows");
    o.sinusoidalPositions = p.has("sinusoidal-positions");
    o.evalEvery = static_cast<int64_t>(*evalEvery);
    o.onEval = [](int64_t step, const demo::EvalReport& r) {
        std::printf("step %6lld  validation", static_cast<long long>(step));
        for (const auto& f : r.families) std::printf("  %s %.1f %%", demo::familyName(f.family), 100.0 * f.accuracy());
        std::printf("\n");
        std::fflush(stdout);
    };
    o.onProgress = [](const demo::TrainProgress& t) {
        std::printf("step %6lld/%lld  loss %.4f  task loss %.4f  lr %.2e  %.0f s\n", static_cast<long long>(t.step),
                    static_cast<long long>(t.steps), t.loss, t.taskLoss, t.learningRate, t.seconds);
        std::fflush(stdout);
    };
    auto r = demo::trainDemoModel(o);
    if (!r) {
        std::cerr << "tokenlens-cli train-demo: " << r.error().message << "\n";
        return r.error().code == ErrorCode::InvalidArgument ? kExitUsage : kExitFailure;
    }
    std::printf("trained %s: %lld parameters, %lld steps, final loss %.4f (task %.4f), %.0f s; wrote %s (model.safetensors %lld bytes)\n",
                o.arch.c_str(), static_cast<long long>(r->parameters), static_cast<long long>(r->steps), r->finalLoss,
                r->finalTaskLoss,
                r->seconds, o.out.string().c_str(), static_cast<long long>(r->safetensorsBytes));
    return kExitOk;
}

int runEvalDemo(const Args& args) {
    const std::string cmd = "eval-demo";
    ArgParser p(cmd, "--model DIR [--examples N] [--seed S]");
    p.add(R"(
        --model DIR...  a demo model folder
        --examples N  held-out examples per task family (default 200)
        --seed S  seed of the held-out examples (default: the held-out seed, never used for training)
        --threads T  LibTorch intra-op threads (default 1)
        --json  print the figures as JSON
    )");
    if (auto code = handleParse(p, args)) return *code;
    const auto dirs = p.values("model");
    if (dirs.empty()) {
        std::cerr << "tokenlens-cli eval-demo: --model is required\n\n" << p.helpText();
        return kExitUsage;
    }
    if (!applyThreadsOption(p, cmd)) return kExitUsage;
    auto examples = numberOption(p, "examples", 200, cmd);
    auto seed = numberOption(p, "seed", static_cast<double>(demo::kHeldOutSeed), cmd);
    if (!examples || !seed) return kExitUsage;
    if (*examples < 1 || *seed < 0) {
        std::cerr << "tokenlens-cli eval-demo: --examples must be at least 1 and --seed not negative\n";
        return kExitUsage;
    }
    nlohmann::json all = nlohmann::json::array();
    bool failed = false;
    for (const auto& dir : dirs) {
        auto model = loadModelOrReport(dir, cmd);
        if (!model) return kExitFailure;
        auto r = demo::evaluateDemoModel(*model, static_cast<int64_t>(*examples), static_cast<uint64_t>(*seed));
        if (!r) {
            std::cerr << "tokenlens-cli eval-demo: " << model->name << ": " << r.error().message << "\n";
            failed = true;
            continue;
        }
        nlohmann::json j = {{"model", model->name}, {"dir", dir}, {"seed", static_cast<uint64_t>(*seed)}};
        if (!p.has("json")) std::printf("%s (held-out seed %llu)\n", model->name.c_str(), static_cast<unsigned long long>(*seed));
        for (const auto& f : r->families) {
            j["accuracy"][demo::familyName(f.family)] = f.accuracy();
            j["correct"][demo::familyName(f.family)] = f.correct;
            j["total"][demo::familyName(f.family)] = f.total;
            if (!p.has("json")) {
                std::printf("  %-12s %6.2f %%  (%lld/%lld)\n", demo::familyName(f.family), 100.0 * f.accuracy(),
                            static_cast<long long>(f.correct), static_cast<long long>(f.total));
            }
        }
        j["min_accuracy"] = r->minAccuracy();
        for (const auto& c : r->keyValueCells) {
            j["key_value_by_clause"].push_back({{"clauses", c.clauses}, {"asked", c.asked}, {"correct", c.correct},
                                                {"total", c.total}, {"other_clause", c.otherClause}});
        }
        if (!p.has("json") && !r->keyValueCells.empty()) {
            std::printf("  key_value by clauses and asked clause (0 = first); in brackets wrong answers that are another clause's colour\n");
            for (const auto& c : r->keyValueCells) {
                std::printf("    %lld clauses, asked %lld: %lld/%lld", static_cast<long long>(c.clauses),
                            static_cast<long long>(c.asked), static_cast<long long>(c.correct), static_cast<long long>(c.total));
                if (c.otherClause) std::printf(" (%lld)", static_cast<long long>(c.otherClause));
                std::printf("\n");
            }
        }
        if (!p.has("json")) {
            for (const auto& e : r->failures) {
                std::printf("  wrong [%s] %s -> expected %s\n", demo::familyName(e.family), e.prompt().c_str(),
                            e.answer.c_str());
            }
        }
        all.push_back(j);
    }
    if (p.has("json")) printJson(all);
    return failed ? kExitFailure : kExitOk;
}

} // namespace tokenlens::cli
