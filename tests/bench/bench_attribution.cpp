// Attribution benchmark (issue workload): a GPT-2-small-sized model with
// random weights (12 x 768, vocab 50257), a 32-token prompt and 16 forced
// output tokens. For each method: wall time of the per-step strategy
// (Inseq's way) and of the batched one, their ratio, peak memory, and a lower
// bound = the floating-point work the method cannot avoid divided by the
// matmul throughput measured in the same run.
//
//   build/release/tests/bench/bench_attribution [--quick] [--only m1,m2,...] [--long-only]
//       [--gradient-paths shared,per_row,shared/N]
//   build/release/tests/bench/bench_attribution --pair A,B [--rounds R]
//
// --long-only skips the per-step and default-chunk runs (reported as nan):
// for the methods whose default-chunk run takes many minutes.
// --gradient-paths runs the batched gradient methods once per path of the
// gradient passes (as bench_scale's option: shared, shared/N with N of
// integrated gradients' steps per forward, per_row), side by side in one
// process; per_step does not depend on the path and runs with the first.
// Beside each method: per-step FLOPs over the batched lower bound (the
// largest speed-up batched can show against per_step at equal efficiency);
// when attention, saliency, input × gradient, integrated gradients and
// occlusion all ran, their totals and ratios.
// --pair times method B against method A on the same workload (batched,
// default options), alternating A, B, A, B, ... for R rounds (default 5), and
// prints each round's ratio B/A (wall and process CPU time) and their
// medians: on a loaded machine the load changes within minutes, and
// alternating exposes both to the same.

#include "attribution/method.h"
#include "bench_util.h"
#include "model/model_loader.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <thread>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/resource.h>

using namespace tokenlens;
using namespace tokenlens::bench;

namespace {

void resetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// The --pair comparison: B's time over A's, alternating, batched with each
// method's default options.
int runPair(const std::string& pair, int rounds, const AttributionInput& in, const ModelConfig& cfg) {
    const auto comma = pair.find(',');
    const std::string ids[2] = {pair.substr(0, comma), comma == std::string::npos ? "" : pair.substr(comma + 1)};
    const AttributionMethod* methods[2] = {findMethod(ids[0]), findMethod(ids[1])};
    nlohmann::json resolved[2];
    for (int k = 0; k < 2; ++k) {
        if (!methods[k]) {
            std::fprintf(stderr, "--pair A,B: unknown method '%s'\n", ids[k].c_str());
            return 1;
        }
        auto r = methods[k]->resolveOptions(nlohmann::json::object(), &cfg, true);
        if (!r) {
            std::fprintf(stderr, "%s\n", r.error().message.c_str());
            return 1;
        }
        resolved[k] = *r;
        (void)methods[k]->run(in, resolved[k], {}); // warm-up, not timed
    }
    // Wall time and the process's CPU time (user + system, all threads): on a
    // loaded machine the CPU time moves much less with the load.
    auto cpuSeconds = [] {
        rusage u{};
        getrusage(RUSAGE_SELF, &u);
        return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
               1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
    };
    std::printf("\n| round | %s s | %s s | ratio | %s CPU s | %s CPU s | CPU ratio |\n|---|---|---|---|---|---|---|\n",
                ids[0].c_str(), ids[1].c_str(), ids[0].c_str(), ids[1].c_str());
    std::vector<double> ratios, cpuRatios;
    for (int round = 1; round <= rounds; ++round) {
        double secs[2], cpu[2];
        for (int k = 0; k < 2; ++k) {
            const double c0 = cpuSeconds();
            secs[k] = bestOf(1, [&] { (void)methods[k]->run(in, resolved[k], {}); });
            cpu[k] = cpuSeconds() - c0;
        }
        ratios.push_back(secs[1] / secs[0]);
        cpuRatios.push_back(cpu[1] / cpu[0]);
        std::printf("| %d | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f |\n", round, secs[0], secs[1], ratios.back(), cpu[0],
                    cpu[1], cpuRatios.back());
        std::fflush(stdout);
    }
    auto summary = [&](std::vector<double> r, const char* what) {
        std::sort(r.begin(), r.end());
        const size_t m = r.size();
        const double median = m % 2 ? r[m / 2] : 0.5 * (r[m / 2 - 1] + r[m / 2]);
        std::printf("median %s ratio %s / %s: %.2f (min %.2f, max %.2f, %zu rounds)\n", what, ids[1].c_str(),
                    ids[0].c_str(), median, r.front(), r.back(), m);
    };
    std::printf("\n");
    summary(ratios, "wall");
    summary(cpuRatios, "CPU");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    bool quick = false, longOnly = false;
    std::string only; // comma-separated method ids; empty: every row
    std::string pair; // "A,B": the interleaved comparison instead of the table
    std::vector<std::string> paths = {"shared"};
    int rounds = 5;
    for (int a = 1; a < argc; ++a) {
        if (std::strcmp(argv[a], "--quick") == 0) quick = true;
        else if (std::strcmp(argv[a], "--long-only") == 0) longOnly = true;
        else if (std::strcmp(argv[a], "--only") == 0 && a + 1 < argc) only = "," + std::string(argv[++a]) + ",";
        else if (std::strcmp(argv[a], "--pair") == 0 && a + 1 < argc) pair = argv[++a];
        else if (std::strcmp(argv[a], "--rounds") == 0 && a + 1 < argc) rounds = std::max(1, std::atoi(argv[++a]));
        else if (std::strcmp(argv[a], "--gradient-paths") == 0 && a + 1 < argc) {
            paths.clear();
            std::stringstream list(argv[++a]);
            for (std::string p; std::getline(list, p, ',');) {
                if (!applyGradientPath(p)) {
                    std::fprintf(stderr, "--gradient-paths: '%s' is not shared, shared/N or per_row\n", p.c_str());
                    return 2;
                }
                paths.push_back(p);
            }
            if (paths.empty()) paths = {"shared"};
        }
    }
    const int repeats = quick ? 1 : 2;
    const int defaultThreads = at::get_num_threads();
    at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    std::printf("ATen intra-op threads: %d (LibTorch default here: %d)\n", at::get_num_threads(), defaultThreads);
    const double gflops = measureMatmulGflops();
    std::printf("matmul throughput: %.1f GFLOP/s\n", gflops);

    const ModelConfig cfg = gpt2SmallConfig();
    auto created = createModel(cfg);
    if (!created) return 1;
    initRandomWeights(*created.value(), 7);
    const CausalLM& model = *created.value();

    const int64_t n = 32, t = 16, L = n + t, igSteps = 16;
    constexpr double kDefaultChunks = 0.05, kLongChunks = 30;
    torch::manual_seed(3);
    AttributionInput in;
    in.model = &model;
    auto ids = torch::randint(0, cfg.vocabSize, {L}, torch::kInt64);
    for (int64_t i = 0; i < L; ++i) (i < n ? in.promptIds : in.outputIds).push_back(ids[i].item<int64_t>());

    if (!pair.empty()) return runPair(pair, rounds, in, cfg);

    const double h = static_cast<double>(cfg.hiddenSize), layers = static_cast<double>(cfg.numLayers);
    FlopModel fm{2.0 * layers * (4 * h * h + 2 * h * static_cast<double>(cfg.intermediateSize)),
                 4.0 * layers * h, 2.0 * h * static_cast<double>(cfg.vocabSize)};
    // Unavoidable work per method: a backward to the inputs per column over its prefix.
    double prefixes = 0, prefixForwards = 0; // Σ_j backward (forward) of column j's prefix
    for (int64_t j = 0; j < t; ++j) {
        prefixes += fm.inputBackward(n + j);
        prefixForwards += fm.forward(0, n + j);
    }
    const double shared = fm.forward(0, L - 1);
    const double heads = 2.0 * static_cast<double>(t) * fm.head; // head forward + backward per column
    double occlusion = shared + static_cast<double>(t) * fm.head;
    for (int64_t i = 0; i < L - 1; ++i) {
        occlusion += fm.forward(i, L - 1);
        for (int64_t j = 0; j < t; ++j) occlusion += (n + j - 1 >= i) ? fm.head : 0;
    }
    double valueZeroing = shared;
    for (int64_t i = 0; i < L - 1; ++i) {
        valueZeroing += fm.forward(i, L - 1) * (layers - 1) / layers + fm.forward(std::max(i, n - 1), L - 1) / layers;
    }
    // What per_step computes (the work batched is compared with), in two
    // counts: {the body's forward and input-gradient backward over each
    // column's prefix and the head where the target is, the same with the
    // full logits at every prefix position, forward and backward, as
    // per_step (Inseq's forward) computes them}.
    struct PerStepFlops {
        double targetHead = NAN, allLogits = NAN;
    };
    PerStepFlops columnsPerStep{0, 0}, occlusionPerStep{0, 0};
    for (int64_t j = 0; j < t; ++j) {
        const double len = static_cast<double>(n + j), body = fm.forward(0, n + j);
        const double bodyBoth = body + fm.inputBackward(n + j); // forward and backward
        columnsPerStep.targetHead += bodyBoth + 2 * fm.head;
        columnsPerStep.allLogits += bodyBoth + 2 * len * fm.head;
        // A clean forward and one per occluded token of the prefix.
        occlusionPerStep.targetHead += (1 + len) * (body + fm.head);
        occlusionPerStep.allLogits += (1 + len) * (body + len * fm.head);
    }
    auto times = [](double k, PerStepFlops f, double plus = 0) {
        return PerStepFlops{k * f.targetHead + plus, k * f.allLogits + plus};
    };
    struct Row {
        const char* method;
        nlohmann::json options;
        double lowerBoundFlops;
        PerStepFlops perStep; // NAN: no per-step variant
    };
    const std::vector<Row> rows = {
        {"attention", nlohmann::json::object(), shared, {shared, shared}},
        {"saliency", nlohmann::json::object(), shared + prefixes + heads, columnsPerStep},
        {"input_x_gradient", nlohmann::json::object(), shared + prefixes + heads, columnsPerStep},
        // The LRP methods: one modified-gradient backward per column, as saliency.
        {"attnlrp", nlohmann::json::object(), shared + prefixes + heads, columnsPerStep},
        {"cp_lrp", nlohmann::json::object(), shared + prefixes + heads, columnsPerStep},
        {"occlusion", nlohmann::json::object(), occlusion, occlusionPerStep},
        // Both strategies add two forwards for the convergence delta.
        {"integrated_gradients", {{"steps", igSteps}}, igSteps * (shared + prefixes + heads) + 2 * shared,
         times(static_cast<double>(igSteps), columnsPerStep, 2 * shared)},
        // Perturbation methods at their default sample counts: every row is
        // one masked sequence of L-1 positions plus the head at each output
        // position (probability target). gradient_shap: `samples` random
        // points per column, each at its own alpha, so unlike integrated
        // gradients' steps (one alpha for every column: one shared forward
        // could serve them all) each point needs its own forward over the
        // column's prefix as well as the backward.
        {"gradient_shap", nlohmann::json::object(), 5 * (prefixForwards + prefixes + heads), times(5, columnsPerStep)},
        {"lime", nlohmann::json::object(), 200 * (shared + static_cast<double>(t) * fm.head), PerStepFlops{}},
        {"kernel_shap", nlohmann::json::object(), 202 * (shared + static_cast<double>(t) * fm.head), PerStepFlops{}},
        {"shapley_sampling", nlohmann::json::object(),
         static_cast<double>(2 + 25 * (L - 2)) * (shared + static_cast<double>(t) * fm.head), PerStepFlops{}},
        // Context mixing: rollout is one forward; alti a second one block by
        // block plus heads·hidden multiply-adds per (query, key) pair and
        // layer; value_zeroing one block per zeroed token from that token on
        // (the last layer from position n-1 on).
        {"attention_rollout", nlohmann::json::object(), shared, {shared, shared}},
        {"alti", nlohmann::json::object(),
         2 * shared + layers * static_cast<double>((L - 1) * L / 2) * 2.0 * static_cast<double>(cfg.numHeads) * h,
         PerStepFlops{}},
        {"value_zeroing", nlohmann::json::object(), valueZeroing, PerStepFlops{}},
    };

    std::printf("\nworkload: prompt %lld, output %lld, integrated gradients %lld steps\n\n", static_cast<long long>(n),
                static_cast<long long>(t), static_cast<long long>(igSteps));
    // Batched twice: with the default chunk time (a cancel is seen within
    // ~chunk_seconds on small models) and with long chunks (throughput: a
    // pass holds as many rows as the memory budget allows).
    std::printf("load average at the start: %s\n\n", loadAverage().c_str());
    std::printf("| method | per_step s | batched s (chunks %.2f s) | batched s (chunks %.0f s) | speed-up (default / long) | peak MiB (per_step / long) | lower bound s | default / bound | long / bound | per_step FLOPs / bound | passes (per_step / default / long) |\n",
                kDefaultChunks, kLongChunks);
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    const std::vector<std::string> five = {"attention", "saliency", "input_x_gradient", "integrated_gradients",
                                           "occlusion"};
    const std::vector<std::string> pathed = {"saliency", "input_x_gradient", "attnlrp", "cp_lrp",
                                             "integrated_gradients", "gradient_shap"};
    double fiveSecs[3] = {0, 0, 0}, fiveBound = 0;
    PerStepFlops fivePerStep{0, 0};
    size_t fiveRan = 0;
    for (const auto& row : rows) {
        if (!only.empty() && only.find("," + std::string(row.method) + ",") == std::string::npos) continue;
        const auto* method = findMethod(row.method);
        const bool single = std::string(row.method) == "attention" || std::string(row.method) == "attention_rollout";
        bool hasStrategy = false; // the perturbation methods have no per-step replay
        for (const auto& o : method->options()) hasStrategy = hasStrategy || o.name == "strategy";
        const bool byPath = std::find(pathed.begin(), pathed.end(), row.method) != pathed.end();
        double secs[3] = {0, 0, 0}, peak[3] = {0, 0, 0};
        int64_t passes[3] = {0, 0, 0};
        for (size_t pi = 0; pi < (byPath ? paths.size() : 1); ++pi) {
            (void)applyGradientPath(paths[pi]);
            for (int s = 0; s < 3; ++s) {
                nlohmann::json opts = row.options;
                if (longOnly && s < 2) { // reported as nan
                    secs[s] = peak[s] = NAN;
                    continue;
                }
                if (!single && !hasStrategy && s == 0) { // no per-step variant: reported as nan
                    secs[0] = peak[0] = NAN;
                    continue;
                }
                if (s == 0 && pi > 0) continue; // per_step takes no path: the first path's run
                if (!single) {
                    if (hasStrategy) opts["strategy"] = s == 0 ? "per_step" : "batched";
                    opts["chunk_seconds"] = s == 2 ? kLongChunks : kDefaultChunks;
                }
                if (single && s > 0) { // one forward either way
                    secs[s] = secs[0];
                    peak[s] = peak[0];
                    passes[s] = passes[0];
                    continue;
                }
                auto resolved = method->resolveOptions(opts, &cfg, true);
                if (!resolved) {
                    std::fprintf(stderr, "%s\n", resolved.error().message.c_str());
                    return 1;
                }
                const double base = currentRssMiB();
                resetPeakRss();
                secs[s] = bestOf(repeats, [&] {
                    auto out = method->run(in, *resolved, {});
                    if (out) passes[s] = out->forwardPasses;
                });
                peak[s] = peakRssMiB() - base;
            }
            const double bound = row.lowerBoundFlops / gflops / 1e9;
            const std::string label =
                byPath && paths.size() > 1 ? std::string(row.method) + " (" + paths[pi] + ")" : row.method;
            std::printf("| %s | %.3f | %.3f | %.3f | %.2fx / %.2fx | %.0f / %.0f | %.3f | %.2f | %.2f | %.2f / %.2f | %lld / %lld / %lld |\n",
                        label.c_str(), secs[0], secs[1], secs[2], secs[0] / secs[1], secs[0] / secs[2], peak[0],
                        peak[2], bound, secs[1] / bound, secs[2] / bound, row.perStep.targetHead / row.lowerBoundFlops,
                        row.perStep.allLogits / row.lowerBoundFlops, static_cast<long long>(passes[0]),
                        static_cast<long long>(passes[1]), static_cast<long long>(passes[2]));
            std::fflush(stdout);
            if (pi == 0 && std::find(five.begin(), five.end(), row.method) != five.end()) {
                for (int s = 0; s < 3; ++s) fiveSecs[s] += secs[s];
                fiveBound += row.lowerBoundFlops;
                fivePerStep.targetHead += row.perStep.targetHead;
                fivePerStep.allLogits += row.perStep.allLogits;
                ++fiveRan;
            }
        }
    }
    (void)applyGradientPath(paths.front());
    std::printf("\nload average at the end: %s\n", loadAverage().c_str());
    if (fiveRan == five.size() && !longOnly) {
        std::printf("\nthe five methods of issue 17 (attention, saliency, input_x_gradient, integrated_gradients, "
                    "occlusion%s):\n",
                    paths.size() > 1 ? (", gradient path " + paths.front()).c_str() : "");
        std::printf("| per_step s | batched s (chunks %.2f s) | batched s (chunks %.0f s) | per_step / batched (default / "
                    "long) | lower bound s | per_step FLOPs / bound |\n|---|---|---|---|---|---|\n",
                    kDefaultChunks, kLongChunks);
        std::printf("| %.3f | %.3f | %.3f | %.2fx / %.2fx | %.3f | %.2f / %.2f |\n", fiveSecs[0], fiveSecs[1],
                    fiveSecs[2], fiveSecs[0] / fiveSecs[1], fiveSecs[0] / fiveSecs[2], fiveBound / gflops / 1e9,
                    fivePerStep.targetHead / fiveBound, fivePerStep.allLogits / fiveBound);
    }
    std::printf("\nper_step FLOPs / bound: what per_step computes over the batched lower bound, the largest speed-up "
                "batched can\nshow against per_step at equal efficiency; counting the head only where the target is "
                "/ the full logits at\nevery prefix position, forward and backward, as per_step computes them.\n");
    std::printf("\nlime, kernel_shap, shapley_sampling, alti and value_zeroing have no per-step variant (nan).\n");
    std::printf("attention and attention_rollout have no per-step variant (one forward either way). Peak = peak RSS above the\n"
                "resident size before the run (model weights excluded).\n");
    return 0;
}
