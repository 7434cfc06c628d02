// Scale benchmark (issue 17): random-weight models in the real shapes of
// GPT-2 small, Qwen2.5-0.5B, Llama 3.2 1B and Llama 3.1 8B (written once by
// make-model into --models-dir), prompts of 128, 1,024 and 4,096 tokens, the
// methods people run on long contexts, in both compute dtypes. For each cell:
// wall time, the FLOP lower bound at the matmul throughput measured in this
// run for that dtype, their ratio, peak RSS, and the cancel latency (p50/p99
// of --cancels cancels requested at random points of a saliency run).
//
//   build/release/tests/bench/bench_scale [--workloads gpt2-small,qwen2.5-0.5b,...]
//       [--lengths 128,1024,4096] [--methods attention,saliency,...] [--dtypes float32,bfloat16]
//       [--output-tokens 8] [--cap-seconds 300] [--cancels 20] [--models-dir DIR]
//       [--gradient-paths shared,per_row,shared/N,blocks/N] [--repeats 1] [--threads N] [--profile PREFIX]
//       [--floor 1]
//
// --floor 1 adds, for attention, saliency and input × gradient, the
// library's floor: every matrix product those passes run (the linear
// layers, the attention core's products per query block, forward and the
// backward of every column's cotangent at once, the head), each timed
// alone with LibTorch at its own shape and summed over the layers. Against
// the bound it says what the library's kernels lose at the model's shapes;
// against the wall time, what the code adds around the products.
//
// --gradient-paths runs the gradient methods (saliency, input × gradient,
// integrated gradients, attnlrp, cp_lrp) once per path of the gradient
// passes (attribution/common.h, GradientForward), side by side in one run:
// shared (one forward kept for every column's backward, the default) and
// per_row (each column's own forward over its prefix, the path before);
// shared/N puts N of integrated gradients' steps in each shared forward
// (shared alone: the default rule, common.h sharedForwardGradients);
// blocks/N goes block by block in segments of N blocks whatever the budget
// (common.h, setGradientSegments).
// With --repeats N the paths run alternately N times and each row reports
// its best wall time; the note gives that run's process CPU time (user +
// system), which a busy machine inflates less than the wall time.
//
// --threads sets ATen's intra-op threads (default: every core); one thread
// keeps a loaded machine's descheduled OpenMP workers out of the figures.
// --profile writes LibTorch's legacy profiler trace of each cell's last
// repeat to PREFIX.<method>.<dtype>.json (a chrome trace: per-operator
// times; that repeat's wall time includes the profiler's overhead).
//
// scripts/profile_split.py splits such a trace's time by operation and by
// backward node.
//
// A cell whose lower bound × 2 exceeds --cap-seconds is printed as skipped
// with its bound, so the table says what was not run and why. Prompts are
// English text (the demo sentences repeated) tokenized by the family's
// tokenizer, so sentence granularity has sentences to work on.

#include "analysis/segments.h"
#include "attribution/common.h"
#include "attribution/method.h"
#include "bench_util.h"
#include "model/cpu_allocator.h"
#include "model/layers.h"
#include "model/model_loader.h"
#include "model/model_maker.h"
#include "model/serial_scope.h"
#include "util/cancellation.h"

#include <torch/torch.h>
#include <torch/csrc/autograd/profiler.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include <sys/resource.h>

using namespace tokenlens;
using namespace tokenlens::bench;
namespace fs = std::filesystem;

namespace {

void resetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double matmulGflops(at::ScalarType dtype) {
    torch::NoGradGuard noGrad;
    double best = 0;
    const int64_t shapes[][3] = {{512, 2048, 2048}, {1024, 1024, 4096}, {128, 896, 4864}};
    for (const auto& s : shapes) {
        auto a = torch::randn({s[0], s[1]}).to(dtype);
        auto b = torch::randn({s[1], s[2]}).to(dtype);
        const double secs = bestOf(5, [&] { (void)torch::matmul(a, b); });
        best = std::max(best, 2.0 * static_cast<double>(s[0] * s[1] * s[2]) / secs / 1e9);
    }
    return best;
}

FlopModel flopModel(const ModelConfig& c) {
    const double h = static_cast<double>(c.hiddenSize), layers = static_cast<double>(c.numLayers);
    const double qDim = static_cast<double>(c.numHeads * c.headDim), kvDim = static_cast<double>(c.numKvHeads * c.headDim);
    const double mlpMats = c.family == ArchFamily::Gpt2 ? 2.0 : 3.0; // gated MLPs have three matrices
    const double perLayer = h * qDim + 2 * h * kvDim + qDim * h + mlpMats * h * static_cast<double>(c.intermediateSize);
    return {2.0 * layers * perLayer, 4.0 * layers * qDim, 2.0 * h * static_cast<double>(c.vocabSize)};
}

// Sentences for the prompts (plain English, varied lengths).
const char* kSentences[] = {
    "The committee met on a grey morning to review the harbour plans. ",
    "Several engineers argued that the northern wall needed repair before winter. ",
    "A report from the survey team listed cracks along the old stone pier. ",
    "Funding had been promised twice and delayed both times. ",
    "The mayor asked whether the ferries could keep running during the works. ",
    "Nobody could say how long the repairs would take. ",
    "In the end the vote was close, and the plan passed by a single voice. ",
    "Local fishermen welcomed the decision but worried about the noise. ",
};

struct Prompt {
    std::vector<int64_t> ids;
    std::vector<std::pair<int64_t, int64_t>> sentences; // token ranges
};

Prompt promptOf(const Tokenizer& tok, int64_t n) {
    std::string text;
    Encoding enc;
    for (size_t i = 0; static_cast<int64_t>(enc.ids.size()) < n; ++i) {
        text += kSentences[i % (sizeof kSentences / sizeof *kSentences)];
        if (i % 8 == 7) text += "\n\n";
        if (i % 4 != 3) continue;
        auto e = tok.encode(text, true);
        if (!e) return {};
        enc = std::move(*e);
    }
    Prompt p;
    p.ids.assign(enc.ids.begin(), enc.ids.begin() + n);
    enc.offsets.resize(static_cast<size_t>(n));
    enc.special.resize(static_cast<size_t>(n));
    analysis::GranularitySpec spec;
    spec.kind = analysis::Granularity::Sentence;
    auto segs = analysis::segmentPrompt(text, enc.offsets, enc.special, spec);
    if (segs) p.sentences = analysis::tokenRanges(*segs);
    return p;
}

struct Cell {
    double seconds = NAN, bound = NAN, peakMiB = NAN;
    int64_t passes = 0;
    std::string note;
};

// User + system CPU time of the process so far.
double processCpuSeconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
    return secs(u.ru_utime) + secs(u.ru_stime);
}

// The library's floor of a cell: the matrix products its passes run, each
// timed alone at its own shape with LibTorch (at::mm / at::bmm into a
// reused output, operands laid out as the model's code passes them, best of
// two after a first call), summed over the layers. It leaves out every
// element-wise pass, copy and allocation, so wall / floor is what the code
// adds around the products and floor / bound what the library's kernels
// lose at these shapes against the probe's best shape.
class ProductTimer {
public:
    explicit ProductTimer(at::ScalarType dtype) : m_dtype(dtype) {}
    // `times` × the seconds of (b, m, k) · (b, k, n); transA: A is stored
    // (b, k, m) and transposed, transB: B is stored (b, n, k) and transposed.
    double bmm(double times, int64_t b, int64_t m, int64_t k, int64_t n, bool transA = false, bool transB = false) {
        auto a = operand(0, b * m * k);
        auto bb = operand(1, b * k * n);
        auto out = operand(2, b * m * n);
        const auto A = transA ? a.view({b, k, m}).transpose(1, 2) : a.view({b, m, k});
        const auto B = transB ? bb.view({b, n, k}).transpose(1, 2) : bb.view({b, k, n});
        auto C = out.view({b, m, n});
        double best = 1e300;
        for (int i = 0; i < 3; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            if (b == 1) {
                auto c2 = C.select(0, 0);
                at::mm_out(c2, A.select(0, 0), B.select(0, 0));
            } else {
                at::bmm_out(C, A, B);
            }
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (i > 0) best = std::min(best, secs);
        }
        flops += times * 2.0 * static_cast<double>(b * m) * static_cast<double>(k * n);
        return times * best;
    }
    double flops = 0;

private:
    // A slice of one of three reused buffers (grown as needed, random values).
    at::Tensor operand(int which, int64_t numel) {
        auto& buf = m_bufs[which];
        if (!buf.defined() || buf.numel() < numel) buf = torch::randn({numel}).to(m_dtype);
        return buf.narrow(0, 0, numel);
    }
    at::ScalarType m_dtype;
    at::Tensor m_bufs[3];
};

struct Floor {
    // Seconds: one forward through the blocks, the head at the columns' rows
    // forward and back, one backward of the cotangents through the blocks.
    double forward = 0, head = 0, backward = 0;
    double forwardFlops = 0, headFlops = 0, backwardFlops = 0;
};

// The products of one forward over `width` positions and of one backward
// of `cotangents` cotangents to the inputs (each linear layer's gY · W, the
// attention core's four products per query block as model/attention_core.cpp
// runs them), plus the head at `columns` rows forward and back.
Floor libraryFloor(const ModelConfig& c, int64_t width, int64_t cotangents, int64_t columns, at::ScalarType dtype) {
    torch::NoGradGuard noGrad;
    ProductTimer t(dtype);
    const int64_t h = c.hiddenSize, heads = c.numHeads, d = c.headDim > 0 ? c.headDim : h / heads;
    const int64_t qDim = heads * d, kvDim = c.numKvHeads * d, I = c.intermediateSize, L = c.numLayers;
    std::vector<std::pair<int64_t, int64_t>> linears; // (in, out) per layer
    if (c.family == ArchFamily::Gpt2) {
        linears = {{h, 3 * h}, {h, h}, {h, I}, {I, h}};
    } else {
        linears = {{h, qDim}, {h, kvDim}, {h, kvDim}, {qDim, h}, {h, I}, {h, I}, {I, h}};
    }
    Floor f;
    const auto layers = static_cast<double>(L);
    const int64_t blocks = layers::attentionCoreBlockCount(width);
    const auto block = [&](int64_t i) {
        const int64_t s0 = width * i / blocks, s1 = width * (i + 1) / blocks;
        return std::pair<int64_t, int64_t>{s1 - s0, s1}; // rows, keys up to the block's last row
    };
    for (const auto& [in, out] : linears) f.forward += t.bmm(layers, 1, width, in, out, false, true); // x · Wᵀ
    for (int64_t i = 0; i < blocks; ++i) {
        const auto [rows, w] = block(i);
        f.forward += t.bmm(layers, heads, rows, d, w, false, true); // q kᵀ
        f.forward += t.bmm(layers, heads, rows, w, d);              // p v
    }
    f.forwardFlops = std::exchange(t.flops, 0.0);
    f.head = t.bmm(1, 1, columns, h, c.vocabSize, false, true) + t.bmm(1, 1, columns, c.vocabSize, h);
    f.headFlops = std::exchange(t.flops, 0.0);
    const int64_t n = cotangents;
    for (const auto& [in, out] : linears) f.backward += t.bmm(layers, 1, n * width, out, in); // gY · W
    for (int64_t i = 0; i < blocks; ++i) {
        const auto [rows, w] = block(i);
        f.backward += t.bmm(layers, heads, rows * n, d, w, false, true); // gP = gO · vᵀ
        f.backward += t.bmm(layers, heads, w, rows, n * d, true);        // gV = pᵀ · gO
        f.backward += t.bmm(layers, heads, rows * n, w, d);              // gQ = gS · k
        f.backward += t.bmm(layers, heads, n * w, rows, d, true);        // gK = gSᵀ · q
    }
    f.backwardFlops = t.flops;
    return f;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())) - 1));
    return v[i];
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> workloads = {"gpt2-small", "qwen2.5-0.5b", "llama-3.2-1b", "llama-3.1-8b"};
    std::vector<int64_t> lengths = {128, 1024, 4096};
    std::vector<std::string> methods = {"attention", "saliency", "input_x_gradient", "integrated_gradients",
                                        "occlusion", "kernel_shap"};
    std::vector<std::string> dtypes = {"float32", "bfloat16"};
    int64_t outputTokens = 8, cancels = 20;
    double capSeconds = 300;
    std::vector<std::string> gradientPaths = {"shared"};
    int64_t repeats = 1, threads = 0;
    std::string profilePrefix;
    bool floors = false;
    fs::path modelsDir = fs::temp_directory_path() / "tokenlens-bench-models";
    for (int a = 1; a + 1 < argc; a += 2) {
        const std::string k = argv[a], v = argv[a + 1];
        if (k == "--workloads") workloads = splitList(v);
        else if (k == "--lengths") {
            lengths.clear();
            for (const auto& s : splitList(v)) lengths.push_back(std::stoll(s));
        } else if (k == "--methods") methods = splitList(v);
        else if (k == "--dtypes") dtypes = splitList(v);
        else if (k == "--output-tokens") outputTokens = std::stoll(v);
        else if (k == "--cap-seconds") capSeconds = std::stod(v);
        else if (k == "--cancels") cancels = std::stoll(v);
        else if (k == "--models-dir") modelsDir = v;
        else if (k == "--gradient-paths") {
            gradientPaths = splitList(v);
            for (const auto& p : gradientPaths) {
                if (!applyGradientPath(p)) {
                    std::fprintf(stderr, "bench_scale: --gradient-paths: '%s' is not shared, shared/N, blocks/N or per_row\n",
                                 p.c_str());
                    return 2;
                }
            }
            (void)applyGradientPath("shared");
        }
        else if (k == "--repeats") repeats = std::max<int64_t>(1, std::stoll(v));
        else if (k == "--threads") threads = std::stoll(v);
        else if (k == "--profile") profilePrefix = v;
        else if (k == "--floor") floors = v == "1";
        else {
            std::fprintf(stderr, "bench_scale: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    at::set_num_threads(threads > 0 ? static_cast<int>(threads)
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    std::printf("ATen intra-op threads: %d\n", at::get_num_threads());
    std::printf("float32 gradient passes: %s\n", float32WantsSerialScope()
                                                      ? "serial ATen operations beside OpenBLAS's own threads"
                                                      : "ATen's OpenMP threads (TOKENLENS_FLOAT32_OPENMP=1 or another BLAS)");
    std::map<std::string, double> gflops;
    for (const auto& d : dtypes) {
        gflops[d] = matmulGflops(d == "bfloat16" ? torch::kBFloat16 : torch::kFloat32);
        std::printf("matmul throughput %s: %.1f GFLOP/s\n", d.c_str(), gflops[d]);
    }
    std::printf("output tokens %lld, integrated gradients 16 steps, occlusion and kernel_shap at sentence granularity,"
                " cap %.0f s per cell\n\n",
                static_cast<long long>(outputTokens), capSeconds);
    std::printf("| workload | dtype | prompt | method | wall s | bound s | ratio | peak RSS MiB | passes | note |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    std::fflush(stdout);

    struct CancelRow {
        std::string workload, dtype;
        int64_t n;
        double p50, p99;
        int64_t count;
    };
    std::vector<CancelRow> cancelRows;
    struct FloorRow {
        std::string workload, dtype, method;
        int64_t n;
        double bound, boundFlops, floor, floorFlops, wall;
    };
    std::vector<FloorRow> floorRows;

    for (const auto& w : workloads) {
        const fs::path dir = modelsDir / w;
        if (!fs::exists(dir / "config.json")) {
            std::fprintf(stderr, "writing %s ...\n", dir.c_str());
            MakeModelOptions mo;
            mo.like = w;
            mo.out = dir;
            mo.seed = 1;
            auto made = makeModel(mo);
            if (!made) {
                std::fprintf(stderr, "make-model %s: %s\n", w.c_str(), made.error().message.c_str());
                return 1;
            }
        }
        for (const auto& d : dtypes) {
            const double rssBefore = currentRssMiB();
            LoadOptions lo;
            lo.computeDtype = d;
            auto loaded = loadModelFolder(dir, lo);
            if (!loaded) {
                std::printf("| %s | %s | – | load | – | – | – | – | – | %s |\n", w.c_str(), d.c_str(),
                            loaded.error().message.c_str());
                continue;
            }
            const LoadedModel& lm = **loaded;
            std::fprintf(stderr, "%s %s loaded in %.1f s, RSS +%.0f MiB\n", w.c_str(), d.c_str(), lm.loadSeconds,
                         currentRssMiB() - rssBefore);
            const FlopModel fm = flopModel(lm.config);
            const double rate = gflops[d] * 1e9;
            for (const int64_t n : lengths) {
                if (w == "llama-3.1-8b" && n > 128) continue; // the 8B at 128 only
                const int64_t L = n + outputTokens, t = outputTokens;
                std::optional<Floor> floorOfLength; // the same products for every method of this length
                if (L > lm.config.maxPositions) {
                    std::printf("| %s | %s | %lld | – | – | – | – | – | – | beyond the model's %lld positions |\n",
                                w.c_str(), d.c_str(), static_cast<long long>(n),
                                static_cast<long long>(lm.config.maxPositions));
                    continue;
                }
                AttributionInput in;
                in.model = lm.model.get();
                const Prompt prompt = promptOf(*lm.tokenizer, n);
                in.promptIds = prompt.ids;
                std::mt19937_64 rng(5);
                for (int64_t j = 0; j < t; ++j) in.outputIds.push_back(static_cast<int64_t>(rng() % 1000) + 100);
                in.unkBaselineId = lm.tokenizer->specialTokens().unk ? std::optional<int64_t>(*lm.tokenizer->specialTokens().unk)
                                                                    : std::nullopt;
                double prefixes = 0;
                for (int64_t j = 0; j < t; ++j) prefixes += fm.inputBackward(n + j);
                const double shared = fm.forward(0, L - 1);
                const double heads = 2.0 * static_cast<double>(t) * fm.head;
                for (const auto& m : methods) {
                    const auto* method = findMethod(m);
                    if (!method) {
                        std::fprintf(stderr, "unknown method %s\n", m.c_str());
                        return 2;
                    }
                    nlohmann::json opts = nlohmann::json::object();
                    opts["chunk_seconds"] = 30;
                    if (m == "integrated_gradients") opts["steps"] = 16;
                    // occlusion and kernel_shap at sentence granularity (the job option's segments).
                    const bool hasGranularity = (m == "occlusion" || m == "kernel_shap") && perturbsSegments(m) &&
                                                !prompt.sentences.empty();
                    in.promptGroups = hasGranularity ? prompt.sentences : std::vector<std::pair<int64_t, int64_t>>{};
                    auto resolved = method->resolveOptions(opts, &lm.config, false);
                    if (!resolved) {
                        std::fprintf(stderr, "%s: %s\n", m.c_str(), resolved.error().message.c_str());
                        return 1;
                    }
                    // Lower bounds: a forward, and per output token a
                    // backward to the inputs through its prefix.
                    double flops = shared;
                    const bool gradient = m == "saliency" || m == "input_x_gradient" || m == "attnlrp" || m == "cp_lrp";
                    if (gradient) flops = shared + prefixes + heads;
                    if (m == "integrated_gradients") flops = 16 * (shared + prefixes + heads) + 2 * shared;
                    if (m == "occlusion") { // one pass per feature from its first position on
                        flops = shared + static_cast<double>(t) * fm.head;
                        std::vector<int64_t> starts;
                        if (hasGranularity) {
                            for (const auto& g : prompt.sentences) starts.push_back(g.first);
                        } else {
                            for (int64_t i = 0; i < n; ++i) starts.push_back(i);
                        }
                        for (int64_t i = n; i < L - 1; ++i) starts.push_back(i); // output tokens stay features
                        for (const int64_t s0 : starts) flops += fm.forward(s0, L - 1) + static_cast<double>(t) * fm.head;
                    }
                    if (m == "kernel_shap") {
                        const double samples = resolved->value("samples", 200.0);
                        flops = samples * (shared + static_cast<double>(t) * fm.head);
                    }
                    Cell cell;
                    cell.bound = flops / rate;
                    if (hasGranularity) cell.note = std::to_string(prompt.sentences.size()) + " sentences";
                    else if (m == "occlusion" || m == "kernel_shap") cell.note = "token granularity";
                    if (cell.bound * 2 > capSeconds) {
                        std::printf("| %s | %s | %lld | %s | skipped | %.1f | – | – | – | bound × 2 over the %.0f s cap |\n",
                                    w.c_str(), d.c_str(), static_cast<long long>(n), m.c_str(), cell.bound, capSeconds);
                        std::fflush(stdout);
                        continue;
                    }
                    const bool pathed = gradient || m == "integrated_gradients";
                    const auto paths = pathed ? gradientPaths : std::vector<std::string>{"shared"};
                    std::vector<Cell> cells(paths.size(), cell);
                    std::vector<double> cpu(paths.size(), NAN), rssBase(paths.size(), 0);
                    std::optional<Result<MethodOutput>> out;
                    for (int64_t rep = 0; rep < repeats; ++rep) {
                        for (size_t p = 0; p < paths.size(); ++p) {
                            (void)applyGradientPath(paths[p]);
                            const double base = currentRssMiB();
                            resetPeakRss();
                            const double cpu0 = processCpuSeconds();
                            const auto t0 = std::chrono::steady_clock::now();
                            {
                                std::optional<torch::autograd::profiler::RecordProfile> prof;
                                if (!profilePrefix.empty() && rep == repeats - 1) {
                                    prof.emplace(profilePrefix + "." + m + "." + d + ".json");
                                }
                                out = method->run(in, *resolved, {});
                            }
                            const double secs =
                                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                            Cell& c = cells[p];
                            if (std::isnan(c.seconds) || secs < c.seconds) {
                                c.seconds = secs;
                                cpu[p] = processCpuSeconds() - cpu0;
                                c.peakMiB = peakRssMiB();
                                rssBase[p] = base;
                            }
                            if (!*out) c.note = out->error().message;
                            else c.passes = (*out)->forwardPasses;
                        }
                    }
                    for (size_t p = 0; p < paths.size(); ++p) {
                        const Cell& c = cells[p];
                        const std::string label = pathed && paths.size() > 1 ? m + " (" + paths[p] + ")" : m;
                        std::string note = c.note;
                        if (paths.size() > 1 || repeats > 1) {
                            char buf[64];
                            std::snprintf(buf, sizeof buf, "cpu %.2f s", cpu[p]);
                            note = note.empty() ? buf : note + "; " + buf;
                        }
                        std::printf("| %s | %s | %lld | %s | %.2f | %.2f | %.2f | %.0f (+%.0f) | %lld | %s |\n",
                                    w.c_str(), d.c_str(), static_cast<long long>(n), label.c_str(), c.seconds,
                                    c.bound, c.seconds / c.bound, c.peakMiB, c.peakMiB - rssBase[p],
                                    static_cast<long long>(c.passes), note.c_str());
                    }
                    if (cachingCpuAllocatorInstalled()) {
                        const auto st = cpuCacheStats();
                        std::fprintf(stderr, "cpu cache so far: %lld hits, %lld misses, %.0f MiB cached\n",
                                     static_cast<long long>(st.hits), static_cast<long long>(st.misses),
                                     static_cast<double>(st.cachedBytes) / (1 << 20));
                    }
                    std::fflush(stdout);
                    cell = cells.back();
                    if (floors && (m == "attention" || m == "saliency" || m == "input_x_gradient") && *out) {
                        // One backward of every column's cotangent, as the shared path
                        // runs them when the memory budget allows.
                        if (!floorOfLength) {
                            floorOfLength = libraryFloor(lm.config, L - 1, t, t,
                                                         d == "bfloat16" ? torch::kBFloat16 : torch::kFloat32);
                        }
                        const Floor& fl = *floorOfLength;
                        const bool grad = m != "attention";
                        const double secs = grad ? fl.forward + fl.head + fl.backward : fl.forward;
                        const double fflops = grad ? fl.forwardFlops + fl.headFlops + fl.backwardFlops : fl.forwardFlops;
                        floorRows.push_back({w, d, m, n, cell.bound, cell.bound * rate, secs, fflops, cell.seconds});
                    }
                    (void)applyGradientPath("shared"); // the cancels: the default path
                    if (m != "saliency" || cancels <= 0 || !*out) continue;
                    // Cancels at random points of a saliency run.
                    std::vector<double> latencies;
                    std::uniform_real_distribution<double> at(0.0, std::max(0.01, cell.seconds * 0.9));
                    for (int64_t c = 0; c < cancels; ++c) {
                        std::atomic<bool> flag{false};
                        std::atomic<double> flippedAt{0};
                        RunControl control;
                        control.isCancelled = [&] { return flag.load(); };
                        const double delay = at(rng);
                        const auto start = std::chrono::steady_clock::now();
                        std::thread canceller([&] {
                            std::this_thread::sleep_for(std::chrono::duration<double>(delay));
                            flippedAt = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                            flag = true;
                        });
                        // As runMethod runs a method: the flag is also checked
                        // between blocks, forward and backward (util/cancellation.h).
                        (void)runCancellable(control.isCancelled, [&] { (void)method->run(in, *resolved, control); });
                        const double ended = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                        canceller.join();
                        if (flippedAt.load() > 0 && flippedAt.load() <= ended) latencies.push_back(ended - flippedAt.load());
                    }
                    cancelRows.push_back({w, d, n, percentile(latencies, 0.5), percentile(latencies, 0.99), cancels});
                }
            }
        }
    }
    if (!cancelRows.empty()) {
        std::printf("\ncancel latency (saliency, cancel at a uniform random point of the run):\n\n");
        std::printf("| workload | dtype | prompt | cancels | p50 ms | p99 ms |\n|---|---|---|---|---|---|\n");
        for (const auto& r : cancelRows) {
            std::printf("| %s | %s | %lld | %lld | %.0f | %.0f |\n", r.workload.c_str(), r.dtype.c_str(),
                        static_cast<long long>(r.n), static_cast<long long>(r.count), r.p50 * 1e3, r.p99 * 1e3);
        }
    }
    if (!floorRows.empty()) {
        std::printf("\nthe library's floor (each product of the passes timed alone at its shape, summed; no "
                    "element-wise pass, copy or allocation):\n\n");
        std::printf("| workload | dtype | prompt | method | bound s | floor s | floor / bound | wall / floor | wall s |"
                    " bound TFLOP | floor TFLOP |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (const auto& r : floorRows) {
            std::printf("| %s | %s | %lld | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", r.workload.c_str(),
                        r.dtype.c_str(), static_cast<long long>(r.n), r.method.c_str(), r.bound, r.floor,
                        r.floor / r.bound, r.wall / r.floor, r.wall, r.boundFlops / 1e12, r.floorFlops / 1e12);
        }
    }
    std::printf("\nPeak RSS is the process's peak during the cell (weights included); (+x) is above the resident size before it.\n");
    return 0;
}
