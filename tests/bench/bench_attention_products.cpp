// The attention's float32 matrix products at the shapes the model runs
// (heads 12, head dim 64, positions n; GPT-2 small), forward and the
// backward with a batch of B cotangents as the shared-forward gradient path
// (core/attribution/shared_gradients.cpp) runs it under LibTorch's legacy
// vmap. Each product is timed in several formulations and threadings:
//
//   products   q·kᵀ and probs·v (forward, one sequence), and their four
//              gradients with B cotangents: gProbs = gOut·vᵀ, gV = probsᵀ·gOut,
//              gQ = gScores·k, gKᵀ = qᵀ·gScores (bmm's backward forms; the
//              cotangent operand batched, the other one shared by every cotangent)
//   forms      bmm     at::matmul on the 4-d tensors, as attend() and vmap's
//                      bmm rule call it (one OpenBLAS call per batch item)
//              mm      one at::mm_out per (cotangent, head)
//              merged  one product per head over all cotangents (the
//                      cotangents stacked into rows or columns), the layout
//                      copies in and out included
//   threads    serial  in a SerialScope (ATen on this thread; OpenBLAS keeps
//                      its own threads): today's float32 gradient passes
//              omp     ATen's OpenMP threads as well
//              blas1   serial, OpenBLAS set to one thread
//              par     ATen's threads over the items, OpenBLAS on one thread
//
// and the attention core end to end (scores, mask, softmax, probs·v, then
// one vmap'd backward of B cotangents to q, k and v), recorded op by op as
// attend() records it under LRP rules (4-d matmul), as the one autograd node
// attend() takes otherwise (layers::attentionCore, model/attention_core.cpp),
// and recorded with one 2-d product per head.
//
//   build/release/tests/bench/bench_attention_products [--lengths 128,512,1024] [--batches 8,16]
//       [--threads serial,omp,blas1,par] [--no-products] [--no-core] [--no-per-head]
//
// Prints markdown tables: milliseconds (median of the runs), GFLOP/s, and
// each row's time over the fastest row of its group.

#include "bench_util.h"
#include "model/layers.h"
#include "model/serial_scope.h"
#include "model/vmap_level.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace tokenlens;
using namespace tokenlens::bench;

namespace {

constexpr int64_t kHeads = 12, kDim = 64;

struct OpenBlas {
    using Set = void (*)(int);
    using Get = int (*)();
    Set set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    Get get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
};
const OpenBlas& blas() {
    static const OpenBlas b;
    return b;
}

// One threading for the lifetime of the object.
class Threading {
public:
    explicit Threading(const std::string& mode) {
        if (mode != "omp" && mode != "par") m_serial.emplace();
        if ((mode == "blas1" || mode == "par") && blas().set && blas().get) {
            m_blas = blas().get();
            blas().set(1);
        }
    }
    ~Threading() {
        if (m_blas > 0) blas().set(m_blas);
    }
    Threading(const Threading&) = delete;
    Threading& operator=(const Threading&) = delete;

private:
    std::optional<SerialScope> m_serial;
    int m_blas = 0;
};

// Median seconds over runs (after one warm-up): at least 3 runs and 0.3 s, at most 25 runs.
double medianOf(const std::function<void()>& fn) {
    fn();
    std::vector<double> t;
    double total = 0;
    while (t.size() < 25 && (t.size() < 3 || total < 0.3)) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        total += t.back();
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

struct Row {
    std::string form, threads;
    double secs;
};

void printGroup(const char* product, int64_t n, int64_t b, double flops, const std::vector<Row>& rows) {
    double best = 1e300;
    for (const auto& r : rows) best = std::min(best, r.secs);
    for (const auto& r : rows) {
        std::printf("| %s | %lld | %lld | %s | %s | %.3f | %.1f | %.2f |\n", product, static_cast<long long>(n),
                    static_cast<long long>(b), r.form.c_str(), r.threads.c_str(), r.secs * 1e3, flops / r.secs / 1e9,
                    r.secs / best);
    }
    std::fflush(stdout);
}

// C (items, m, p) = A (items, m, k) · B (items, k, p) one item at a time, optionally over ATen's threads.
void perItem(const at::Tensor& c, const at::Tensor& a, const at::Tensor& b, bool parallel) {
    const int64_t items = a.size(0);
    auto one = [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            auto ci = c.select(0, i);
            at::mm_out(ci, a.select(0, i), b.select(0, i));
        }
    };
    if (parallel) {
        at::parallel_for(0, items, 1, one);
    } else {
        one(0, items);
    }
}

// A forward product: x (H, n, k) · y (H, k, p).
void timeForward(const char* name, const at::Tensor& x, const at::Tensor& y, const std::vector<std::string>& modes) {
    const int64_t n = x.size(1);
    const double flops = 2.0 * static_cast<double>(x.size(0) * x.size(1) * x.size(2) * y.size(2));
    std::vector<Row> rows;
    auto out = torch::empty({x.size(0), x.size(1), y.size(2)});
    for (const auto& mode : modes) {
        Threading th(mode);
        if (mode != "par") {
            rows.push_back({"bmm", mode, medianOf([&] { (void)at::matmul(x.unsqueeze(0), y.unsqueeze(0)); })});
        }
        rows.push_back({"mm", mode, medianOf([&] { perItem(out, x, y, mode == "par"); })});
    }
    printGroup(name, n, 1, flops, rows);
}

// A backward product with B cotangents. `batched` (B, H, r, c) is the
// cotangent side; `shared` (H, ., .) is the operand every cotangent shares.
// sharedLeft: the product is shared · batched, else batched · shared.
void timeBackward(const char* name, const at::Tensor& batched, const at::Tensor& shared, bool sharedLeft,
                  const std::vector<std::string>& modes) {
    const int64_t b = batched.size(0), h = batched.size(1), n = std::max(batched.size(2), batched.size(3));
    const int64_t m = sharedLeft ? shared.size(1) : batched.size(2);
    const int64_t k = sharedLeft ? shared.size(2) : batched.size(3);
    const int64_t p = sharedLeft ? batched.size(3) : shared.size(2);
    const double flops = 2.0 * static_cast<double>(b * h * m * k * p);
    std::vector<Row> rows;
    auto out = torch::empty({b * h, m, p});
    const auto sharedItems = shared.unsqueeze(0).expand({b, h, shared.size(1), shared.size(2)}).reshape({b * h, shared.size(1), shared.size(2)});
    const auto batchedItems = batched.reshape({b * h, batched.size(2), batched.size(3)});
    for (const auto& mode : modes) {
        Threading th(mode);
        if (mode != "par") {
            // vmap's bmm rule: both to 4-d with the batch in front, then at::matmul.
            rows.push_back({"bmm", mode, medianOf([&] {
                                (void)(sharedLeft ? at::matmul(shared.unsqueeze(0), batched)
                                                  : at::matmul(batched, shared.unsqueeze(0)));
                            })});
            // Per head, every cotangent in one product.
            rows.push_back({"merged", mode, medianOf([&] {
                                if (!sharedLeft) { // rows: (H, B·r, c) · (H, c, p)
                                    auto a = batched.transpose(0, 1).reshape({h, b * m, k});
                                    auto r = at::bmm(a, shared).view({h, b, m, p}).transpose(0, 1).contiguous();
                                    (void)r;
                                } else {           // columns: (H, m, k) · (H, k, B·c)
                                    auto a = batched.permute({1, 2, 0, 3}).reshape({h, k, b * p});
                                    auto r = at::bmm(shared, a).view({h, m, b, p}).permute({2, 0, 1, 3}).contiguous();
                                    (void)r;
                                }
                            })});
        }
        rows.push_back({"mm", mode, medianOf([&] {
                            perItem(out, sharedLeft ? sharedItems : batchedItems, sharedLeft ? batchedItems : sharedItems,
                                    mode == "par");
                        })});
    }
    printGroup(name, n, b, flops, rows);
}

// The attention core with autograd: q, k, v (1, H, n, d); recorded (4-d
// matmuls, or one 2-d product per head) or the model's node; then one
// backward of `cotangents` (B, 1, H, n, d) through vmap. Returns the three gradients.
std::vector<at::Tensor> coreGradients(const at::Tensor& q0, const at::Tensor& k0, const at::Tensor& v0,
                                      const at::Tensor& allowed, const at::Tensor& cotangents, bool perHead,
                                      bool viaNode = false) {
    torch::AutoGradMode grad(true);
    auto q = q0.detach().requires_grad_(true), k = k0.detach().requires_grad_(true), v = v0.detach().requires_grad_(true);
    const int64_t h = q.size(1);
    at::Tensor scores, out;
    if (viaNode) {
        out = layers::attentionCore(q, k, v, allowed, /*divideBy=*/true, 0);
    } else if (perHead) {
        std::vector<at::Tensor> s;
        for (int64_t i = 0; i < h; ++i) s.push_back(at::mm(q[0][i], k[0][i].t()));
        scores = torch::stack(s).unsqueeze(0);
    } else {
        scores = torch::matmul(q, k.transpose(-1, -2));
    }
    if (!viaNode) {
        scores = scores / std::sqrt(static_cast<double>(q.size(3)));
        scores = scores.masked_fill(allowed.logical_not(), std::numeric_limits<float>::lowest());
        auto probs = torch::softmax(scores, -1, torch::kFloat32);
        if (perHead) {
            std::vector<at::Tensor> o;
            for (int64_t i = 0; i < h; ++i) o.push_back(at::mm(probs[0][i], v[0][i]));
            out = torch::stack(o).unsqueeze(0);
        } else {
            out = torch::matmul(probs, v);
        }
    }
    VmapLevel vmap;
    auto batched = at::_add_batch_dim(cotangents, 0, vmap.level());
    auto g = torch::autograd::grad({out}, {q, k, v}, {batched});
    const int64_t b = cotangents.size(0);
    return {at::_remove_batch_dim(g[0], vmap.level(), b, 0), at::_remove_batch_dim(g[1], vmap.level(), b, 0),
            at::_remove_batch_dim(g[2], vmap.level(), b, 0)};
}

void timeCore(int64_t n, int64_t b, const std::vector<std::string>& modes, bool perHeadForm) {
    auto q = torch::randn({1, kHeads, n, kDim}), k = torch::randn({1, kHeads, n, kDim}), v = torch::randn({1, kHeads, n, kDim});
    auto allowed = torch::ones({n, n}, torch::kBool).tril().view({1, 1, n, n});
    auto cot = torch::randn({b, 1, kHeads, n, kDim});
    // Forward q·kᵀ, probs·v; backward four products of B cotangents each.
    const double flops = 2.0 * static_cast<double>(kHeads * n * n * kDim) * (2 + 4 * b);
    // The two forms agree up to float rounding.
    const auto a = coreGradients(q, k, v, allowed, cot, false), c = coreGradients(q, k, v, allowed, cot, false, true);
    double diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, ((a[i] - c[i]).abs().max() / a[i].abs().max().clamp_min(1e-30)).item<double>());
    }
    std::vector<Row> rows;
    for (const auto& mode : modes) {
        if (mode == "par") continue;
        Threading th(mode);
        rows.push_back({"recorded (4-d matmul)", mode, medianOf([&] { (void)coreGradients(q, k, v, allowed, cot, false); })});
        rows.push_back({"attentionCore (the model's node)", mode, medianOf([&] { (void)coreGradients(q, k, v, allowed, cot, false, true); })});
        rows.push_back({"recorded (4-d matmul)", mode + " again", medianOf([&] { (void)coreGradients(q, k, v, allowed, cot, false); })});
        if (perHeadForm) rows.push_back({"mm per head", mode, medianOf([&] { (void)coreGradients(q, k, v, allowed, cot, true); })});
    }
    printGroup("core fwd+bwd", n, b, flops, rows);
    std::printf("|   (largest difference between the forms, relative to the largest gradient: %.2e) |||||||\n", diff);
}

} // namespace

int main(int argc, char** argv) {
    std::vector<int64_t> lengths = {128, 512, 1024}, batches = {8, 16};
    std::vector<std::string> modes = {"serial", "omp", "blas1", "par"};
    bool products = true, core = true, perHeadForm = true;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--lengths" || a == "--batches") {
            auto& list = a == "--lengths" ? lengths : batches;
            list.clear();
            for (const auto& s : splitList(next())) list.push_back(std::stoll(s));
        } else if (a == "--threads") {
            modes = splitList(next());
        } else if (a == "--no-products") {
            products = false;
        } else if (a == "--no-per-head") {
            perHeadForm = false;
        } else if (a == "--no-core") {
            core = false;
        } else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    torch::NoGradGuard noGrad;
    at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))); // as bench_scale
    std::printf("ATen threads %d, OpenBLAS threads %d, load average %s\n", at::get_num_threads(),
                blas().get ? blas().get() : -1, loadAverage().c_str());
    std::printf("matmul throughput: %.1f GFLOP/s (float32, best of three shapes)\n\n", measureMatmulGflops());
    std::printf("| product | n | B | form | threads | ms | GFLOP/s | ÷ best |\n|---|---|---|---|---|---|---|---|\n");
    for (const int64_t n : lengths) {
        if (products) {
            auto q = torch::randn({kHeads, n, kDim}), k = torch::randn({kHeads, n, kDim}), v = torch::randn({kHeads, n, kDim});
            auto probs = torch::softmax(torch::randn({kHeads, n, n}), -1);
            timeForward("q·kᵀ", q, k.transpose(1, 2), modes);
            timeForward("probs·v", probs, v, modes);
            for (const int64_t b : batches) {
                auto gOut = torch::randn({b, kHeads, n, kDim});
                auto gScores = torch::randn({b, kHeads, n, n});
                timeBackward("gProbs = gOut·vᵀ", gOut, v.transpose(1, 2), false, modes);
                timeBackward("gV = probsᵀ·gOut", gOut, probs.transpose(1, 2), true, modes);
                timeBackward("gQ = gScores·k", gScores, k, false, modes);
                timeBackward("gKᵀ = qᵀ·gScores", gScores, q.transpose(1, 2), true, modes);
            }
        }
        if (core) {
            for (const int64_t b : batches) timeCore(n, b, modes, perHeadForm);
        }
        std::printf("|   (load average %s) |||||||\n", loadAverage().c_str());
    }
    return 0;
}
