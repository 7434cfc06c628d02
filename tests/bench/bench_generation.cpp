// Generation benchmark: KV-cache greedy generation of random-weight models in
// real shapes (make-model: gpt2-small float32, qwen2.5-0.5b computing in
// float32 and in bfloat16). A single-token step reads every streamed weight
// once, so it is memory-bound: its floor is the bytes of weights per token
// divided by the memory bandwidth, which this run measures itself (a
// multi-threaded sum over a buffer much larger than the caches).
//
//   build/release/tests/bench/bench_generation [--tokens N] [--prompt N] [--threads N]
//       [--models gpt2-small,qwen2.5-0.5b] [--dtypes float32,bfloat16] [--dir DIR] [--steps]
//
// --dir keeps the generated model folders there (default: a temporary folder,
// removed at the end); --steps prints each step's time.

#include "bench_util.h"
#include "model/generation.h"
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
double processCpuSeconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

std::vector<std::string> splitList(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
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
        } else if (a == "--dir") {
            keepDir = next();
        } else if (a == "--steps") {
            steps = true;
        } else {
            std::fprintf(stderr,
                         "usage: bench_generation [--tokens N] [--prompt N] [--threads N] [--models a,b] "
                         "[--dtypes float32,bfloat16] [--dir DIR] [--steps]\n");
            return 2;
        }
    }
    if (tokens < 2 || promptLen < 1) {
        std::fprintf(stderr, "bench_generation: --tokens must be >= 2 and --prompt >= 1\n");
        return 2;
    }
    at::set_num_threads(threads);
    std::printf("ATen intra-op threads: %d\n", at::get_num_threads());
    const double readGBs = measureReadBandwidth(int64_t{1} << 30);
    const double copyGBs = measureCopyBandwidth(int64_t{1} << 29);
    std::printf("memory bandwidth: read %.1f GB/s (sum over 1 GiB), copy %.1f GB/s (read + write, 512 MiB)\n",
                readGBs, copyGBs);
    std::printf("prompt %lld tokens, %lld new tokens (greedy, EOS ignored); tok/s over the %lld single-token steps\n\n",
                static_cast<long long>(promptLen), static_cast<long long>(tokens),
                static_cast<long long>(tokens - 1));

    const fs::path root = keepDir.empty() ? fs::temp_directory_path() / "tokenlens-bench-generation" : keepDir;
    std::printf("%-14s %-9s %9s %9s %12s %12s %8s %12s\n", "model", "compute", "prefill", "tok/s", "weights/tok",
                "bound tok/s", "ratio", "cpu ms/tok");
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
            std::vector<double> stamps, cpuStamps;
            GenerationOptions o;
            o.maxNewTokens = tokens;
            o.stopAtEos = false;
            std::chrono::steady_clock::time_point t0;
            double cpu0 = 0;
            o.onProgress = [&](int64_t, int64_t) {
                stamps.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
                cpuStamps.push_back(processCpuSeconds() - cpu0);
            };
            double bestDecode = 1e300, bestPrefill = 0, bestCpu = 0;
            std::vector<double> bestStamps, bestCpuStamps;
            for (int rep = 0; rep < 3; ++rep) {
                stamps.clear();
                cpuStamps.clear();
                t0 = std::chrono::steady_clock::now();
                cpu0 = processCpuSeconds();
                auto g = generate(m, prompt, o);
                if (!g) {
                    std::fprintf(stderr, "generate: %s\n", g.error().message.c_str());
                    return 1;
                }
                const double decode = stamps.back() - stamps.front();
                if (rep > 0 && decode < bestDecode) { // the first run warms up
                    bestDecode = decode;
                    bestPrefill = stamps.front();
                    bestStamps = stamps;
                    bestCpuStamps = cpuStamps;
                    bestCpu = cpuStamps.back() - cpuStamps.front();
                }
            }
            const double tokPerSec = static_cast<double>(tokens - 1) / bestDecode;
            const int64_t wbytes = streamedWeightBytes(lm);
            const double boundTokPerSec = readGBs * 1e9 / static_cast<double>(wbytes);
            std::printf("%-14s %-9s %7.3f s %9.2f %9.1f MB %12.2f %8.2f %12.1f\n", name.c_str(), dtype.c_str(),
                        bestPrefill, tokPerSec, static_cast<double>(wbytes) / 1e6, boundTokPerSec,
                        boundTokPerSec / tokPerSec, 1e3 * bestCpu / static_cast<double>(tokens - 1));
            if (steps) {
                for (size_t s = 1; s < bestStamps.size(); ++s) {
                    std::printf("    step %zu: %.1f ms wall, %.1f ms cpu\n", s + 1,
                                1e3 * (bestStamps[s] - bestStamps[s - 1]), 1e3 * (bestCpuStamps[s] - bestCpuStamps[s - 1]));
                }
            }
        }
    }
    std::printf("\nbound tok/s = read bandwidth / weight bytes per token; ratio = bound / measured "
                "(1.0 = streaming the weights at the measured bandwidth; goal <= 2);\n"
                "cpu ms/tok = process CPU time per single-token step, all threads (wall ~ cpu / threads when nothing "
                "else runs)\n");
    std::printf("peak RSS %.0f MiB\n", peakRssMiB());
    if (keepDir.empty()) fs::remove_all(root);
    return 0;
}
