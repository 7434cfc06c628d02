// Model benchmark: a GPT-2-small-sized model (12 x 768, vocab 50257) with
// random weights. Prints load, forward and generation times beside the time
// the machine's measured matmul throughput implies.
//
//   build/release/tests/bench/bench_model

#include "bench_util.h"
#include "model/generation.h"
#include "model/model_loader.h"

#include <torch/torch.h>

#include <cstdio>
#include <thread>
#include <filesystem>

using namespace tokenlens;
using namespace tokenlens::bench;
namespace fs = std::filesystem;

int main() {
    const int defaultThreads = at::get_num_threads();
    at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    std::printf("ATen intra-op threads: %d (LibTorch default here: %d)\n", at::get_num_threads(), defaultThreads);
    const double gflops = measureMatmulGflops();
    std::printf("matmul throughput: %.1f GFLOP/s (float32, best of three shapes)\n\n", gflops);

    const ModelConfig cfg = gpt2SmallConfig();
    auto model = createModel(cfg);
    if (!model) {
        std::fprintf(stderr, "%s\n", model.error().message.c_str());
        return 1;
    }
    initRandomWeights(*model.value(), 1);
    const int64_t params = model.value()->parameterCount();
    const double flopsPerToken = 2.0 * static_cast<double>(params); // tied head counted once: it is used once per token

    fs::path dir = fs::temp_directory_path() / "tokenlens-bench-gpt2";
    fs::create_directories(dir);
    writeGpt2Config(cfg, dir);
    if (auto st = saveSafetensors(*model.value(), dir / "model.safetensors"); !st) {
        std::fprintf(stderr, "%s\n", st.error().message.c_str());
        return 1;
    }
    const double fileMiB = static_cast<double>(fs::file_size(dir / "model.safetensors")) / (1 << 20);
    LoadOptions lo;
    lo.loadTokenizer = false;
    const double loadSecs = bestOf(3, [&] { (void)loadModelFolder(dir, lo); });
    auto loaded = loadModelFolder(dir, lo);
    if (!loaded) {
        std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
        return 1;
    }
    const CausalLM& m = *loaded.value()->model;

    std::printf("%-44s %12s %14s %8s\n", "measure", "measured", "matmul-bound", "ratio");
    std::printf("%-44s %10.3f s %14s %8s\n", "load 124M-param float32 safetensors (mmap)", loadSecs, "-", "-");
    std::printf("    (%.0f MiB file, %.2f GB/s)\n", fileMiB, fileMiB / 1024 / loadSecs);

    torch::NoGradGuard noGrad;
    auto ids = torch::randint(0, cfg.vocabSize, {1, 128}, torch::kInt64);
    const double fwdSecs = bestOf(5, [&] { (void)m.forward(m.embed(ids), {}); });
    // 128 positions x 2 x params, plus attention (2 x 2 x L x T^2 x hidden).
    const double fwdFlops = 128 * flopsPerToken + 4.0 * cfg.numLayers * 128.0 * 128.0 * cfg.hiddenSize;
    std::printf("%-44s %10.3f s %12.3f s %8.2f\n", "forward, 128 tokens", fwdSecs, fwdFlops / gflops / 1e9,
                fwdSecs / (fwdFlops / gflops / 1e9));

    const std::vector<int64_t> prompt(32, 464);
    for (bool cache : {true, false}) {
        GenerationOptions o;
        o.maxNewTokens = 32;
        o.stopAtEos = false;
        o.useCache = cache;
        const double secs = bestOf(2, [&] { (void)generate(m, prompt, o); });
        const double tokPerSec = 32 / secs;
        // Lower bound of the FLOPs: with the cache each new token costs one position;
        // without it step s recomputes 32 + s positions.
        double flops = 32 * flopsPerToken; // the prompt pass (first step) is part of the run
        for (int s = 1; s < 32; ++s) flops += (cache ? 1 : 32 + s) * flopsPerToken;
        const double boundTokPerSec = 32 / (flops / gflops / 1e9);
        std::printf("%-44s %8.1f tok/s %10.1f tok/s %8.2f\n",
                    cache ? "generate 32 tokens, KV cache" : "generate 32 tokens, no cache (recompute)", tokPerSec,
                    boundTokPerSec, boundTokPerSec / tokPerSec);
    }
    std::printf("\nratio = measured time / matmul-bound time (1.0 = at the machine's matmul speed)\n");
    fs::remove_all(dir);
    return 0;
}
