// Cancel latency of methods on one model folder: p50 / p99 / max of N
// cancels at random points of a run (tests/bench/cancel_latency.h).
//
//   bench_cancel MODEL_DIR [--tokens N] [--methods m1,m2] [--cancels N] [--threads N]
//
// The prompt is a sentence repeated to about N tokens (default 512) with a
// forced 4-token target. Figures measured on a busy machine are not final.

#include "cancel_latency.h"

#include "model/model_loader.h"

#include <ATen/Parallel.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

using namespace tokenlens;

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help") {
        std::fprintf(stderr, "usage: bench_cancel MODEL_DIR [--tokens N] [--methods m1,m2] [--cancels N] [--threads N]\n");
        return 2;
    }
    const std::string dir = argv[1];
    int64_t tokens = 512;
    int cancels = 20;
    int threads = 0;
    std::vector<std::string> methods = {"attention", "saliency", "integrated_gradients", "occlusion"};
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--tokens") tokens = std::atoll(value.c_str());
        else if (key == "--cancels") cancels = std::atoi(value.c_str());
        else if (key == "--threads") threads = std::atoi(value.c_str());
        else if (key == "--methods") {
            methods.clear();
            std::stringstream ss(value);
            for (std::string m; std::getline(ss, m, ',');) methods.push_back(m);
        } else {
            std::fprintf(stderr, "bench_cancel: unknown option '%s'\n", key.c_str());
            return 2;
        }
    }
    if (threads > 0) at::set_num_threads(threads);
    auto model = loadModelFolder(dir);
    if (!model) {
        std::fprintf(stderr, "bench_cancel: %s\n", model.error().message.c_str());
        return 1;
    }
    Job job;
    const std::string sentence = "The committee met on Tuesday to review the budget. ";
    const auto enc = (*model)->tokenizer ? (*model)->tokenizer->encode(sentence, false)
                                         : Result<Encoding>(makeError(ErrorCode::NotFound, "no tokenizer"));
    const int64_t perSentence = enc ? std::max<int64_t>(1, static_cast<int64_t>(enc->ids.size())) : 10;
    for (int64_t n = 0; n < tokens; n += perSentence) job.input += sentence;
    job.targetText = " It was approved in";
    job.methods = methods;
    job.options = {{"methods", {{"integrated_gradients", {{"steps", 16}}}}}};
    auto seq = prepareSequence(**model, job);
    if (!seq) {
        std::fprintf(stderr, "bench_cancel: %s\n", seq.error().message.c_str());
        return 1;
    }
    std::printf("model %s, %zu prompt + %zu output tokens, %d cancels per method, %d threads\n", dir.c_str(),
                seq->input.ids.size(), seq->output.ids.size(), cancels, at::get_num_threads());
    std::printf("%-22s %10s %9s %9s %9s %8s\n", "method", "run ms", "p50 ms", "p99 ms", "max ms", "landed");
    for (const auto& m : methods) {
        const auto c = bench::measureCancelLatency(**model, *seq, job, m, cancels);
        std::printf("%-22s %10.1f %9.1f %9.1f %9.1f %5zu/%d%s\n", m.c_str(), c.fullRunMs, c.p50, c.p99, c.max,
                    c.ms.size(), cancels, c.notCancelled ? "  (some did not end cancelled!)" : "");
    }
    return 0;
}
