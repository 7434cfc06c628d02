// Every golden attribution matrix (13 method variants x 3 cases x 6 fixture
// models) with both strategies, plus the convergence deltas of integrated
// gradients, within the fixtures' tolerance rule.

#include "../common/golden.h"
#include "attribution/method.h"
#include "model/model_loader.h"

#include <gtest/gtest.h>

#include <map>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

// The golden "methods" entry as a method id + options.
std::pair<std::string, nlohmann::json> methodFor(const nlohmann::json& spec) {
    nlohmann::json o = nlohmann::json::object();
    const std::string kind = spec["kind"];
    if (spec.contains("target")) o["target_fn"] = spec["target"];
    if (spec.contains("reduction")) o["reduction"] = spec["reduction"];
    if (spec.contains("steps")) o["steps"] = spec["steps"];
    if (spec.contains("quadrature")) o["quadrature"] = spec["quadrature"];
    if (spec.contains("baseline")) o["baseline"] = spec["baseline"] == "zeros" ? "zero" : spec["baseline"];
    if (spec.contains("layer")) o["layer"] = spec["layer"];
    if (spec.contains("head")) o["head"] = spec["head"];
    if (spec.contains("aggregate")) o["aggregate"] = spec["aggregate"];
    return {kind, o};
}

struct Param {
    std::string fixture;
    std::string strategy;
    friend void PrintTo(const Param& p, std::ostream* os) { *os << p.fixture << " " << p.strategy; }
};

std::string paramName(const ::testing::TestParamInfo<Param>& p) {
    std::string s = p.param.fixture + "_" + p.param.strategy;
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
}

class AttributionGolden : public ::testing::TestWithParam<Param> {
protected:
    static std::map<std::string, std::shared_ptr<LoadedModel>>& models() {
        static std::map<std::string, std::shared_ptr<LoadedModel>> m;
        return m;
    }
    std::shared_ptr<LoadedModel> model() {
        auto& slot = models()[GetParam().fixture];
        if (!slot) {
            LoadOptions lo;
            lo.loadTokenizer = false;
            auto loaded = loadModelFolder(dataDir() / "models" / GetParam().fixture, lo);
            EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
            if (loaded.ok()) slot = loaded.value();
        }
        return slot;
    }
};

} // namespace

TEST_P(AttributionGolden, MatricesMatch) {
    auto m = model();
    ASSERT_TRUE(m);
    const auto golden = goldenFor(GetParam().fixture);
    size_t checked = 0;
    for (const auto& [variant, spec] : golden["methods"].items()) {
        auto [methodId, given] = methodFor(spec);
        const AttributionMethod* method = findMethod(methodId);
        ASSERT_NE(method, nullptr) << methodId;
        given["strategy"] = GetParam().strategy;
        // strategy is a target-function option; attention has none.
        if (methodId == "attention") given.erase("strategy");
        auto resolved = method->resolveOptions(given, &m->config, /*strict=*/true);
        ASSERT_TRUE(resolved.ok()) << variant << ": " << resolved.error().message;
        for (const auto& c : golden["cases"]) {
            const auto& g = c["attributions"][variant];
            AttributionInput in;
            in.model = m->model.get();
            in.promptIds = c["prompt_ids"].get<std::vector<int64_t>>();
            in.outputIds = c["output_ids"].get<std::vector<int64_t>>();
            auto out = method->run(in, *resolved, {});
            ASSERT_TRUE(out.ok()) << variant << ": " << out.error().message;
            const auto& a = out->matrix;
            const auto& gm = g["matrix"];
            ASSERT_EQ(a.rows, static_cast<int64_t>(gm.size())) << variant;
            ASSERT_EQ(a.cols, c["t"].get<int64_t>()) << variant;
            Tolerance tol{g["float32_error_estimate"].get<double>()};
            for (int64_t i = 0; i < a.rows; ++i) {
                for (int64_t j = 0; j < a.cols; ++j) {
                    tol.check(a.at(i, j), gm[i][j], "A[" + std::to_string(i) + "," + std::to_string(j) + "]");
                }
            }
            const std::string label = GetParam().fixture + " " + std::string(c["id"]) + " " + variant + " (" +
                                      GetParam().strategy + ")";
            std::cout << "  " << tol.summary(label) << "\n";
            EXPECT_TRUE(tol.ok()) << tol.summary(label);
            if (g.contains("convergence_delta")) {
                Tolerance td{g["convergence_delta_float32_error_estimate"].get<double>()};
                Tolerance tf{c["step_scores_float32_error_estimate"]["probability"].get<double>()};
                for (size_t j = 0; j < out->convergenceDelta.size(); ++j) {
                    td.check(out->convergenceDelta[j], g["convergence_delta"][j], "delta " + std::to_string(j));
                    tf.check(out->fInput[j], g["f_input"][j], "f_input " + std::to_string(j));
                    tf.check(out->fBaseline[j], g["f_baseline"][j], "f_baseline " + std::to_string(j));
                }
                std::cout << "  " << td.summary(label + " convergence delta") << "\n";
                EXPECT_TRUE(td.ok()) << td.summary(label + " convergence delta");
                EXPECT_TRUE(tf.ok()) << tf.summary(label + " f(x), f(baseline)");
            }
            ++checked;
        }
    }
    EXPECT_EQ(checked, golden["methods"].size() * golden["cases"].size());
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, AttributionGolden,
    ::testing::Values(Param{"tiny-gpt2", "batched"}, Param{"tiny-gpt2", "per_step"}, Param{"tiny-llama", "batched"},
                      Param{"tiny-llama", "per_step"}, Param{"tiny-qwen2", "batched"}, Param{"tiny-qwen2", "per_step"},
                      Param{"tiny-qwen3", "batched"}, Param{"tiny-qwen3", "per_step"},
                      Param{"tiny-gemma3", "batched"}, Param{"tiny-gemma3", "per_step"},
                      Param{"tiny-phi3", "batched"}, Param{"tiny-phi3", "per_step"}),
    paramName);
