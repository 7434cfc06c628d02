// Generation benchmark: KV-cache greedy generation of random-weight models in
// real shapes (make-model: gpt2-small float32, qwen2.5-0.5b computing in
// float32 and in bfloat16). A single-token step reads every streamed weight
// once, so it is memory-bound: its floor is the bytes of weights per token
// divided by the memory bandwidth, which this run measures itself (a
// multi-threaded sum over a buffer much larger than the caches).
//
//   build/release/tests/bench/bench_generation [--tokens N] [--prompt N] [--threads N]
//       [--models gpt2-small,qwen2.5-0.5b] [--dtypes float32,bfloat16] [--paths new,old] [--dir DIR] [--steps]
//
// --dir keeps the generated model folders there (default: a temporary folder,
// removed at the end); --steps prints each step's time. --paths runs each
// model with each decode path, side by side in one run: new (single-token
// steps on the calling thread alone, products through the row kernel),
// kernel (the row kernel, ATen's threads otherwise), old (torch's gemv /
// oneDNN products at the thread count set).

#include "bench_util.h"
#include "model/generation.h"
#include "model/layers.h"
#include "model/model_loader.h"
#include "model/model_maker.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <time.h>

using namespace tokenlens;
using namespace tokenlens::bench;
namespace fs = std::filesystem;

namespace {

// CPU seconds of the whole process (all threads): on a loaded machine the
// wall time of a step says little, its CPU time still says what it costs.
double cpuSeconds(clockid_t clock) {
    timespec t{};
    clock_gettime(clock, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}
double processCpuSeconds() { return cpuSeconds(CLOCK_PROCESS_CPUTIME_ID); }
// The generating thread's own CPU time: with the other threads' spinning left
// out, what a step costs on a loaded machine.
double threadCpuSeconds() { return cpuSeconds(CLOCK_THREAD_CPUTIME_ID); }

// A decode path: single-token steps serial on the calling thread, products through the row kernel.
struct DecodePath {
    std::string name;
    bool serial = true, rowKernel = true;
};

DecodePath decodePath(const std::string& name) {
    if (name == "new") return {name, true, true};
    if (name == "kernel") return {name, false, true};
    if (name == "old") return {name, false, false};
    std::fprintf(stderr, "bench_generation: unknown path %s (new, kernel or old)\n", name.c_str());
    std::exit(2);
}

// Read bandwidth in GB/s: the best of several multi-threaded sums over a
// buffer of `bytes` (touched before timing, so page faults are not counted).
double measureReadBandwidth(int64_t bytes) {
    torch::NoGradGuard noGrad;
    auto buf = torch::ones({bytes / 4}, torch::kFloat32);
    const double secs = bestOf(5, [&] { (void)buf.sum().item<float>(); });
    return static_cast<double>(bytes) / secs / 1e9;
}

// Copy bandwidth in GB/s (bytes read + bytes written), into a buffer that exists.
double measureCopyBandwidth(int64_t bytes) {
    torch::NoGradGuard noGrad;
    auto src = torch::ones({bytes / 4}, torch::kFloat32);
    auto dst = torch::zeros({bytes / 4}, torch::kFloat32);
    const double secs = bestOf(5, [&] { dst.copy_(src); });
    return 2.0 * static_cast<double>(bytes) / secs / 1e9;
}

// Bytes of weights one single-token step reads: every parameter except the
// embedding tables, of which only one row is read (GPT-2's position table;
// an untied input embedding). A tied head is read in full as the head.
int64_t streamedWeightBytes(const LoadedModel& lm) {
    const CausalLM& m = *lm.model;
    int64_t bytes = m.parameterBytes();
    const auto& c = lm.config;
    const int64_t elem = m.headMatrix().element_size();
    if (!c.tieWordEmbeddings) bytes -= c.vocabSize * c.hiddenSize * elem;
    if (c.family == ArchFamily::Gpt2) bytes -= c.maxPositions * c.hiddenSize * elem;
    return bytes;
}

} // namespace

int main(int argc, char** argv) {
    int64_t tokens = 32, promptLen = 32;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::string> models = {"gpt2-small", "qwen2.5-0.5b"};
    std::vector<std::string> dtypes = {"float32", "bfloat16"};
    std::vector<std::string> paths = {"new", "old"};
    fs::path keepDir;
    bool steps = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bench_generation: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--tokens") {
            tokens = std::stoll(next());
        } else if (a == "--prompt") {
            promptLen = std::stoll(next());
        } else if (a == "--threads") {
            threads = std::stoi(next());
        } else if (a == "--models") {
            models = splitList(next());
        } else if (a == "--dtypes") {
            dtypes = splitList(next());
        } else if (a == "--paths") {
            paths = splitList(next());
        } else if (a == "--dir") {
            keepDir = next();
        } else if (a == "--steps") {
            steps = true;
        } else {
            std::fprintf(stderr,
                         "usage: bench_generation [--tokens N] [--prompt N] [--threads N] [--models a,b] "
                         "[--dtypes float32,bfloat16] [--paths new,kernel,old] [--dir DIR] [--steps]\n");
            return 2;
        }
    }
    if (tokens < 2 || promptLen < 1) {
        std::fprintf(stderr, "bench_generation: --tokens must be >= 2 and --prompt >= 1\n");
        return 2;
    }
    at::set_num_threads(threads);
    std::printf("ATen intra-op threads: %d; load average at the start: %s\n", at::get_num_threads(), loadAverage().c_str());
    const double readGBs = measureReadBandwidth(int64_t{1} << 30);
    const double copyGBs = measureCopyBandwidth(int64_t{1} << 29);
    std::printf("memory bandwidth: read %.1f GB/s (sum over 1 GiB), copy %.1f GB/s (read + write, 512 MiB)\n",
                readGBs, copyGBs);
    std::printf("prompt %lld tokens, %lld new tokens (greedy, EOS ignored); tok/s over the %lld single-token steps\n\n",
                static_cast<long long>(promptLen), static_cast<long long>(tokens),
                static_cast<long long>(tokens - 1));

    const fs::path root = keepDir.empty() ? fs::temp_directory_path() / "tokenlens-bench-generation" : keepDir;
    std::printf("%-14s %-9s %-6s %9s %9s %12s %12s %8s %12s %12s\n", "model", "compute", "path", "prefill", "tok/s",
                "weights/tok", "bound tok/s", "ratio", "cpu ms/tok", "thread ms/tok");
    for (const auto& name : models) {
        const fs::path dir = root / name;
        if (!fs::exists(dir / "config.json")) {
            MakeModelOptions mo;
            mo.like = name;
            mo.out = dir;
            auto made = makeModel(mo);
            if (!made) {
                std::fprintf(stderr, "make-model %s: %s\n", name.c_str(), made.error().message.c_str());
                return 1;
            }
        }
        for (const auto& dtype : dtypes) {
            if (name == "gpt2-small" && dtype == "bfloat16") continue; // stored float32: the goldens' dtype only
            LoadOptions lo;
            lo.loadTokenizer = false;
            lo.computeDtype = dtype;
            auto loaded = loadModelFolder(dir, lo);
            if (!loaded) {
                std::fprintf(stderr, "load %s: %s\n", dir.c_str(), loaded.error().message.c_str());
                return 1;
            }
            const LoadedModel& lm = *loaded.value();
            const CausalLM& m = *lm.model;
            std::vector<int64_t> prompt(static_cast<size_t>(promptLen));
            for (int64_t i = 0; i < promptLen; ++i) prompt[static_cast<size_t>(i)] = (i * 7919 + 11) % lm.config.vocabSize;
            // The time of each step, from the progress callback (step 1 includes the prompt pass).
            struct Run {
                std::vector<double> stamps, cpuStamps, threadStamps;
                double decode() const { return stamps.back() - stamps.front(); }
            };
            Run run;
            GenerationOptions o;
            o.maxNewTokens = tokens;
            o.stopAtEos = false;
            std::chrono::steady_clock::time_point t0;
            double cpu0 = 0, thread0 = 0;
            o.onProgress = [&](int64_t, int64_t) {
                run.stamps.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
                run.cpuStamps.push_back(processCpuSeconds() - cpu0);
                run.threadStamps.push_back(threadCpuSeconds() - thread0);
            };
            // The paths take turns within each repetition, so that a change
            // in the machine's load falls on all of them alike; the best of
            // repetitions 2 and 3 counts (the first warms up).
            std::vector<Run> best(paths.size());
            for (int rep = 0; rep < 3; ++rep) {
                for (size_t p = 0; p < paths.size(); ++p) {
                    const DecodePath path = decodePath(paths[p]);
                    layers::setRowKernelEnabled(path.rowKernel);
                    o.serialSteps = path.serial;
                    run = Run{};
                    t0 = std::chrono::steady_clock::now();
                    cpu0 = processCpuSeconds();
                    thread0 = threadCpuSeconds();
                    auto g = generate(m, prompt, o);
                    if (!g) {
                        std::fprintf(stderr, "generate: %s\n", g.error().message.c_str());
                        return 1;
                    }
                    if (rep > 0 && (best[p].stamps.empty() || run.decode() < best[p].decode())) best[p] = run;
                }
            }
            layers::setRowKernelEnabled(true);
            const int64_t wbytes = streamedWeightBytes(lm);
            const double boundTokPerSec = readGBs * 1e9 / static_cast<double>(wbytes);
            const double perStep = 1e3 / static_cast<double>(tokens - 1);
            for (size_t p = 0; p < paths.size(); ++p) {
                const Run& b = best[p];
                const double tokPerSec = static_cast<double>(tokens - 1) / b.decode();
                std::printf("%-14s %-9s %-6s %7.3f s %9.2f %9.1f MB %12.2f %8.2f %12.1f %12.1f\n", name.c_str(),
                            dtype.c_str(), paths[p].c_str(), b.stamps.front(), tokPerSec,
                            static_cast<double>(wbytes) / 1e6, boundTokPerSec, boundTokPerSec / tokPerSec,
                            perStep * (b.cpuStamps.back() - b.cpuStamps.front()),
                            perStep * (b.threadStamps.back() - b.threadStamps.front()));
                if (steps) {
                    for (size_t s = 1; s < b.stamps.size(); ++s) {
                        std::printf("    step %zu: %.1f ms wall, %.1f ms cpu\n", s + 1,
                                    1e3 * (b.stamps[s] - b.stamps[s - 1]), 1e3 * (b.cpuStamps[s] - b.cpuStamps[s - 1]));
                    }
                }
            }
        }
    }
    std::printf("\nbound tok/s = read bandwidth / weight bytes per token; ratio = bound / measured "
                "(1.0 = streaming the weights at the measured bandwidth; goal <= 2);\n"
                "cpu ms/tok = process CPU time per single-token step, all threads (wall ~ cpu / threads when nothing "
                "else runs);\nthread ms/tok = the generating thread's own CPU time per step (what a step costs when "
                "the machine is loaded)\n");
    std::printf("load average at the end: %s\n", loadAverage().c_str());
    std::printf("peak RSS %.0f MiB\n", peakRssMiB());
    if (keepDir.empty()) fs::remove_all(root);
    return 0;
}
