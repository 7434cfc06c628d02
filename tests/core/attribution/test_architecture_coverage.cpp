// Every method of the registry on the Qwen3, Gemma 3 and Phi-3 fixtures:
// a matrix of the contract's shape ((n + t) x t), finite up to the causal
// boundary and NaN past it; the context-mixing methods' columns are
// distributions; and the methods that take a layer range cover every layer
// (Gemma 3 has three, the last one global).

#include "attribution_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

class ArchitectureCoverage : public ::testing::TestWithParam<std::string> {};

// Small sample counts: this test is about running, not about convergence.
nlohmann::json quickOptions(const std::string& method) {
    if (method == "integrated_gradients") return {{"steps", 4}};
    if (method == "lime" || method == "kernel_shap") return {{"samples", 24}};
    if (method == "shapley_sampling") return {{"samples", 3}};
    if (method == "gradient_shap") return {{"samples", 2}};
    return nlohmann::json::object();
}

} // namespace

TEST_P(ArchitectureCoverage, EveryRegistryMethodGivesAContractMatrix) {
    auto m = fixture(GetParam());
    ASSERT_TRUE(m);
    const auto c = goldenFor(GetParam())["cases"][2];
    const auto in = inputFor(*m, c);
    const auto n = static_cast<int64_t>(in.promptIds.size()), t = static_cast<int64_t>(in.outputIds.size());
    const std::set<std::string> mixing = {"attention_rollout", "alti", "value_zeroing"};
    size_t ran = 0;
    for (const auto* method : allMethods()) {
        auto out = runMethodRaw(method->id(), in, quickOptions(method->id()));
        ASSERT_TRUE(out.ok()) << GetParam() << " " << method->id() << ": " << out.error().message;
        const auto& a = out->matrix;
        ASSERT_EQ(a.rows, n + t) << method->id();
        ASSERT_EQ(a.cols, t) << method->id();
        double worst = 0;
        for (int64_t j = 0; j < t; ++j) {
            double sum = 0;
            for (int64_t i = 0; i < n + t; ++i) {
                const float v = a.at(i, j);
                if (i > n + j - 1) {
                    EXPECT_TRUE(std::isnan(v)) << method->id() << " A[" << i << "," << j << "]";
                    continue;
                }
                ASSERT_TRUE(std::isfinite(v)) << method->id() << " A[" << i << "," << j << "]";
                worst = std::max(worst, static_cast<double>(std::abs(v)));
                sum += v;
            }
            if (mixing.count(method->id())) {
                EXPECT_NEAR(sum, 1.0, 1e-4) << method->id() << " column " << j;
            }
        }
        EXPECT_GT(worst, 0.0) << method->id() << ": an all-zero matrix";
        std::cout << "  " << GetParam() << " " << method->id() << ": " << a.rows << " x " << a.cols
                  << ", max |A| " << worst << "\n";
        ++ran;
    }
    EXPECT_EQ(ran, allMethods().size());
}

TEST_P(ArchitectureCoverage, ContextMixingSeesEveryLayer) {
    // Every single-layer range runs, sliding and global layers alike.
    auto m = fixture(GetParam());
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor(GetParam())["cases"][0]);
    const int64_t layers = m->config.numLayers;
    for (const std::string method : {"attention_rollout", "alti", "value_zeroing"}) {
        for (int64_t l = 0; l < layers; ++l) {
            auto out = runMethodRaw(method, in, {{"first_layer", l}, {"last_layer", l}});
            ASSERT_TRUE(out.ok()) << method << " layer " << l << ": " << out.error().message;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(NewArchitectures, ArchitectureCoverage,
                         ::testing::Values("tiny-qwen3", "tiny-gemma3", "tiny-phi3"), fixtureTestName);
