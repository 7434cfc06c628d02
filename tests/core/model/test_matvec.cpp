// The single-row decode path (docs/benchmarks.md, "Generation"): the row
// kernel of model/matvec.h on every instruction set this CPU runs, every
// weight dtype and both layouts, against float64; layers::project through it
// against torch's own product (the path it replaces) under the fixtures'
// tolerance rule; generation taking it, on the calling thread alone
// (SerialScope), and still matching the goldens (bfloat16 compute: as close
// to the old path as the old path is to the float32 goldens).

#include "../common/golden.h"
#include "model/generation.h"
#include "model/layers.h"
#include "model/matvec.h"
#include "model/model_loader.h"
#include "model/serial_scope.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <thread>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

at::ScalarType torchType(matvec::Element e) {
    switch (e) {
    case matvec::Element::BFloat16: return torch::kBFloat16;
    case matvec::Element::Float16: return torch::kFloat16;
    default: return torch::kFloat32;
    }
}

const char* elementName(matvec::Element e) {
    switch (e) {
    case matvec::Element::BFloat16: return "bfloat16";
    case matvec::Element::Float16: return "float16";
    default: return "float32";
    }
}

constexpr matvec::Element kElements[] = {matvec::Element::Float32, matvec::Element::BFloat16,
                                         matvec::Element::Float16};

// A rows × cols weight in `dtype`: stored [rows, cols] (a Linear's layout) or,
// `transposed`, stored [cols, rows] and viewed transposed (GPT-2's Conv1D).
at::Tensor weightOf(int64_t rows, int64_t cols, at::ScalarType dtype, bool transposed) {
    if (transposed) return torch::randn({cols, rows}).to(dtype).t();
    return torch::randn({rows, cols}).to(dtype);
}

// Restores the row kernel switch whatever a test does.
struct RowKernelGuard {
    ~RowKernelGuard() { layers::setRowKernelEnabled(true); }
};

} // namespace

// Every stored bit pattern widens as torch converts it (subnormals, infinities, NaNs included).
TEST(Matvec, WideningMatchesTorchForEveryBitPattern) {
    auto bits = torch::arange(0, 65536, torch::kInt32).to(torch::kInt16); // wraps to every 16-bit pattern
    for (auto e : {matvec::Element::BFloat16, matvec::Element::Float16}) {
        auto stored = bits.view(torchType(e)).contiguous();
        auto expected = stored.to(torch::kFloat32).contiguous();
        const float* want = expected.data_ptr<float>();
        int mismatches = 0;
        for (int64_t i = 0; i < 65536; ++i) {
            const float got = matvec::widen(e, stored.data_ptr(), i);
            const bool same = std::isnan(want[i]) ? std::isnan(got) : std::memcmp(&got, &want[i], sizeof got) == 0;
            if (!same && mismatches++ < 3) {
                ADD_FAILURE() << elementName(e) << " pattern " << i << ": " << got << " vs " << want[i];
            }
        }
        EXPECT_EQ(mismatches, 0) << elementName(e);
    }
}

// y = A x + b within the float32 error bound of any summation order:
// |y − exact| ≤ (n + 1) u (Σ |a x| + |b|), u = 2^-24, exact in float64 from
// the same stored values. Shapes cover the vector tails of both widths.
TEST(Matvec, KernelMatchesFloat64OnEveryInstructionSetDtypeAndLayout) {
    torch::manual_seed(7);
    const std::pair<int64_t, int64_t> shapes[] = {{1, 1}, {3, 7}, {17, 33}, {64, 100}, {130, 257}, {9, 64}, {40, 0}};
    for (auto isa : matvec::availableIsas()) {
        for (auto e : kElements) {
            for (bool transposed : {false, true}) {
                for (auto [rows, cols] : shapes) {
                    for (bool withBias : {false, true}) {
                        const std::string what = std::string(matvec::isaName(isa)) + " " + elementName(e) +
                                                 (transposed ? " columns " : " rows ") + std::to_string(rows) + "x" +
                                                 std::to_string(cols) + (withBias ? " +bias" : "");
                        auto w = weightOf(rows, cols, torchType(e), transposed);
                        auto x = torch::randn({cols});
                        auto bias = torch::randn({rows}).to(torchType(e));
                        auto y = torch::full({rows}, std::nanf(""));
                        matvec::MatrixView a{w.data_ptr(), e, rows, cols, w.stride(0), w.stride(1)};
                        matvec::VectorView b;
                        if (withBias) b = {bias.data_ptr(), e};
                        matvec::multiply(a, x.data_ptr<float>(), y.data_ptr<float>(), b, isa);

                        auto w64 = w.to(torch::kFloat64), x64 = x.to(torch::kFloat64);
                        auto exact = torch::mv(w64, x64);
                        auto magnitude = torch::mv(w64.abs(), x64.abs());
                        if (withBias) {
                            exact = exact + bias.to(torch::kFloat64);
                            magnitude = magnitude + bias.to(torch::kFloat64).abs();
                        }
                        const double u = std::ldexp(1.0, -24);
                        auto bound = magnitude * (static_cast<double>(cols + 1) * u);
                        auto excess = ((y.to(torch::kFloat64) - exact).abs() - bound).max();
                        if (rows > 0) {
                            EXPECT_LE(excess.item<double>(), 0.0) << what;
                        }
                        EXPECT_FALSE(torch::isnan(y).any().item<bool>()) << what;
                    }
                }
            }
        }
    }
}

// A slice with a row stride larger than its width, and the bad views.
TEST(Matvec, StridedViewsAndBadViews) {
    torch::manual_seed(8);
    auto big = torch::randn({20, 50});
    auto w = big.narrow(1, 5, 37); // rows 50 apart, 37 wide
    auto x = torch::randn({37});
    auto y = torch::empty({20});
    matvec::multiply({w.data_ptr(), matvec::Element::Float32, 20, 37, w.stride(0), w.stride(1)},
                     x.data_ptr<float>(), y.data_ptr<float>());
    EXPECT_TRUE(torch::allclose(y, torch::mv(w, x), 1e-5, 1e-5));

    float data[4] = {1, 2, 3, 4};
    float out[2];
    EXPECT_THROW(matvec::multiply({data, matvec::Element::Float32, 2, 2, 2, 2}, data, out), std::invalid_argument);
    EXPECT_THROW(matvec::multiply({data, matvec::Element::Float32, -1, 2, 2, 1}, data, out), std::invalid_argument);
}

// layers::project with the row kernel against the path it replaces (torch's
// gemv, or linear(): oneDNN for bfloat16, a float32 row times a narrower
// weight converted as used), for every dtype pair the kernel takes, under the
// fixtures' rule |new − old| ≤ 1e-4 |old| + 4 e with e the old path's largest
// deviation from float64 on the same stored values.
TEST(Matvec, ProjectMatchesTorchPathForEveryDtypePair) {
    RowKernelGuard restore;
    torch::NoGradGuard noGrad;
    torch::manual_seed(9);
    const std::pair<at::ScalarType, at::ScalarType> pairs[] = {{torch::kFloat32, torch::kFloat32},
                                                               {torch::kFloat32, torch::kBFloat16},
                                                               {torch::kFloat32, torch::kFloat16},
                                                               {torch::kBFloat16, torch::kBFloat16}};
    for (auto [xType, wType] : pairs) {
        for (bool transposed : {false, true}) {
            for (bool withBias : {false, true}) {
                const std::string what = std::string(c10::toString(xType)) + " row, " + c10::toString(wType) +
                                         (transposed ? " Conv1D" : " Linear") + (withBias ? " +bias" : "");
                const int64_t out = 300, in = 200;
                auto w = weightOf(out, in, wType, transposed);
                auto x = torch::randn({1, 1, in}).to(xType);
                at::Tensor bias = withBias ? torch::randn({out}).to(wType) : at::Tensor();

                layers::setRowKernelEnabled(false);
                const int64_t before = layers::rowKernelCalls();
                auto old = layers::project(x, w, bias);
                EXPECT_EQ(layers::rowKernelCalls(), before) << what;
                layers::setRowKernelEnabled(true);
                auto now = layers::project(x, w, bias);
                EXPECT_EQ(layers::rowKernelCalls(), before + 1) << what << ": the row kernel was not used";
                ASSERT_EQ(now.sizes(), old.sizes()) << what;
                EXPECT_EQ(now.scalar_type(), old.scalar_type()) << what;

                auto exact = torch::mv(w.to(torch::kFloat64), x.reshape({in}).to(torch::kFloat64));
                if (withBias) exact = exact + bias.to(torch::kFloat64);
                auto oldFlat = old.reshape({out}).to(torch::kFloat64);
                Tolerance tol{(oldFlat - exact).abs().max().item<double>()};
                auto nowFlat = now.reshape({out}).to(torch::kFloat64);
                for (int64_t r = 0; r < out; ++r) {
                    tol.check(nowFlat[r].item<double>(), oldFlat[r].item<double>(), "output " + std::to_string(r));
                }
                EXPECT_TRUE(tol.ok()) << what << ": " << tol.summary("new vs old");
            }
        }
    }
}

// Products autograd must record, several rows, and dtype pairs whose torch
// product rounds differently stay on torch's path.
TEST(Matvec, ProjectLeavesOtherProductsToTorch) {
    torch::manual_seed(10);
    auto w = torch::randn({8, 4});
    const int64_t before = layers::rowKernelCalls();
    auto x = torch::randn({1, 4}, torch::requires_grad());
    auto y = layers::project(x, w);
    y.sum().backward();
    EXPECT_TRUE(x.grad().defined());
    torch::NoGradGuard noGrad;
    (void)layers::project(torch::randn({2, 4}), w);
    (void)layers::project(torch::randn({1, 4}).to(torch::kBFloat16), w);                        // weights rounded to bfloat16 first
    (void)layers::project(torch::randn({1, 4}).to(torch::kBFloat16), w.to(torch::kFloat16));    // the same
    EXPECT_EQ(layers::rowKernelCalls(), before);
    (void)layers::project(torch::randn({1, 4}), w);
    EXPECT_EQ(layers::rowKernelCalls(), before + 1);
}

// The scope sets only the calling thread's count, restores it, and nests.
TEST(SerialScope, OneThreadInsideOnlyForTheCallingThread) {
    const int process = at::get_num_threads();
    if (process < 2) at::set_num_threads(2);
    const int outside = at::get_num_threads();
    {
        SerialScope serial;
        EXPECT_EQ(at::get_num_threads(), 1);
        int other = 0;
        std::thread([&] { other = at::get_num_threads(); }).join();
        EXPECT_EQ(other, outside) << "another thread's count changed";
        {
            SerialScope nested;
            EXPECT_EQ(at::get_num_threads(), 1);
        }
        EXPECT_EQ(at::get_num_threads(), 1);
    }
    EXPECT_EQ(at::get_num_threads(), outside);
    at::set_num_threads(process);
}

// Generation: the prompt pass keeps the thread count, each single-token step
// runs on this thread alone and through the row kernel; greedy ids and step
// scores still match the goldens (every fixture, i.e. float32, float16 and
// bfloat16 weights in float32 compute, is also checked by
// ModelGolden.GreedyContinuationAndStepScores).
TEST(Matvec, GenerationStepsAreSerialUseTheKernelAndMatchTheGoldens) {
    const int process = at::get_num_threads();
    if (process < 2) at::set_num_threads(2);
    const int outside = at::get_num_threads();
    auto loaded = loadModelFolder(dataDir() / "models" / "tiny-gpt2");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    const auto golden = goldenFor("tiny-gpt2");
    const auto& c = golden["cases"][0];
    const auto prompt = c["prompt_ids"].get<std::vector<int64_t>>();
    ASSERT_GT(prompt.size(), 1u);
    GenerationOptions o;
    o.maxNewTokens = c["t"].get<int64_t>();
    o.stopAtEos = false;
    std::vector<int> threadsSeen;
    o.onProgress = [&](int64_t, int64_t) { threadsSeen.push_back(at::get_num_threads()); };
    const int64_t before = layers::rowKernelCalls();
    auto gen = generate(*loaded.value()->model, prompt, o);
    ASSERT_TRUE(gen.ok()) << gen.error().message;
    ASSERT_EQ(threadsSeen.size(), static_cast<size_t>(o.maxNewTokens));
    EXPECT_EQ(threadsSeen[0], outside) << "the prompt pass";
    for (size_t s = 1; s < threadsSeen.size(); ++s) EXPECT_EQ(threadsSeen[s], 1) << "step " << s + 1;
    EXPECT_EQ(at::get_num_threads(), outside);
    // Each single-token step: 4 products per block and the head.
    const int64_t perStep = 4 * loaded.value()->config.numLayers + 1;
    EXPECT_GE(layers::rowKernelCalls() - before, perStep * (o.maxNewTokens - 1));

    EXPECT_EQ(gen->ids, c["output_ids"].get<std::vector<int64_t>>());
    const auto& est = c["step_scores_float32_error_estimate"];
    Tolerance tp{est["probability"].get<double>()}, te{est["entropy"].get<double>()};
    for (size_t j = 0; j < gen->ids.size(); ++j) {
        tp.check(gen->scores.probability[j], c["step_scores"]["probability"][j], "probability " + std::to_string(j));
        te.check(gen->scores.entropy[j], c["step_scores"]["entropy"][j], "entropy " + std::to_string(j));
    }
    EXPECT_TRUE(tp.ok()) << tp.summary("step probability");
    EXPECT_TRUE(te.ok()) << te.summary("step entropy");
    at::set_num_threads(process);
}

// bfloat16 compute (tiny-qwen3, stored bfloat16): the new path's step scores
// are as close to the old path's as the old path's are to the float32
// goldens, under the fixtures' rule with e = the old path's largest
// deviation from the goldens.
TEST(Matvec, BFloat16GenerationMatchesTheOldPath) {
    RowKernelGuard restore;
    LoadOptions lo;
    lo.computeDtype = "bfloat16";
    auto loaded = loadModelFolder(dataDir() / "models" / "tiny-qwen3", lo);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    const auto golden = goldenFor("tiny-qwen3");
    for (const auto& c : golden["cases"]) {
        const auto prompt = c["prompt_ids"].get<std::vector<int64_t>>();
        GenerationOptions o;
        o.maxNewTokens = c["t"].get<int64_t>();
        o.stopAtEos = false;
        layers::setRowKernelEnabled(false);
        o.serialSteps = false;
        auto old = generate(*loaded.value()->model, prompt, o);
        layers::setRowKernelEnabled(true);
        o.serialSteps = true;
        const int64_t before = layers::rowKernelCalls();
        auto now = generate(*loaded.value()->model, prompt, o);
        ASSERT_TRUE(old.ok() && now.ok());
        EXPECT_GT(layers::rowKernelCalls(), before);
        ASSERT_EQ(now->ids, old->ids) << c["id"];
        double e = 0;
        for (size_t j = 0; j < old->ids.size(); ++j) {
            e = std::max(e, std::abs(old->scores.probability[j] - c["step_scores"]["probability"][j].get<double>()));
        }
        Tolerance tol{e};
        for (size_t j = 0; j < now->ids.size(); ++j) {
            tol.check(now->scores.probability[j], old->scores.probability[j], "probability " + std::to_string(j));
        }
        EXPECT_TRUE(tol.ok()) << c["id"] << ": " << tol.summary("bfloat16 step probability, new vs old");
    }
}
