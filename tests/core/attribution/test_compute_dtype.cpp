// compute_dtype bfloat16: every fixture model computing in bfloat16 gives
// prompt logits and saliency matrices within the documented distance of the
// float32 goldens (docs/methods.md, "Compute dtype"), the distance printed
// for the record; a bfloat16 result records its compute dtype; a bad value
// is refused by name.

#include "../common/golden.h"
#include "attribution/engine.h"
#include "attribution/method.h"
#include "model/model_loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

// Bounds on max |bf16 - golden| / max |golden| over a fixture's three cases,
// set with margin above the figures measured (docs/methods.md).
constexpr double kLogitBound = 0.05;
constexpr double kSaliencyBound = 0.12;

// The largest deviation relative to the largest golden magnitude.
struct Distance {
    double maxDiff = 0, scale = 0;
    void add(double got, double golden) {
        maxDiff = std::max(maxDiff, std::abs(got - golden));
        scale = std::max(scale, std::abs(golden));
    }
    double relative() const { return scale > 0 ? maxDiff / scale : maxDiff; }
};

std::shared_ptr<LoadedModel> loadBf16(const std::string& fixture) {
    LoadOptions lo;
    lo.computeDtype = "bfloat16";
    auto loaded = loadModelFolder(dataDir() / "models" / fixture, lo);
    EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
    return loaded.ok() ? loaded.value() : nullptr;
}

class ComputeDtype : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(ComputeDtype, Bfloat16WithinDocumentedDistanceOfGoldens) {
    auto m = loadBf16(GetParam());
    ASSERT_TRUE(m);
    EXPECT_EQ(m->computeDtype, "bfloat16");
    const auto golden = goldenFor(GetParam());
    const AttributionMethod* saliency = findMethod("saliency");
    ASSERT_NE(saliency, nullptr);
    auto resolved = saliency->resolveOptions({{"target_fn", "probability"}, {"reduction", "l2"}}, &m->config, true);
    ASSERT_TRUE(resolved.ok()) << resolved.error().message;
    Distance logits, matrix;
    for (const auto& c : golden["cases"]) {
        const auto promptIds = c["prompt_ids"].get<std::vector<int64_t>>();
        {
            torch::NoGradGuard noGrad;
            auto out = m->model->forward(m->model->embed(torch::tensor(promptIds).unsqueeze(0)), {});
            ASSERT_EQ(out.logits.scalar_type(), torch::kFloat32);
            auto rows = out.logits.squeeze(0);
            const auto& pl = c["prompt_logits"];
            const auto probe = pl["probe_ids"].get<std::vector<int64_t>>();
            for (size_t i = 0; i < promptIds.size(); ++i) {
                const auto top = pl["top_ids"][i].get<std::vector<int64_t>>();
                for (size_t k = 0; k < top.size(); ++k) logits.add(rows[i][top[k]].item<double>(), pl["top_values"][i][k]);
                for (size_t k = 0; k < probe.size(); ++k) logits.add(rows[i][probe[k]].item<double>(), pl["probe_values"][i][k]);
            }
        }
        AttributionInput in;
        in.model = m->model.get();
        in.promptIds = promptIds;
        in.outputIds = c["output_ids"].get<std::vector<int64_t>>();
        auto out = saliency->run(in, *resolved, {});
        ASSERT_TRUE(out.ok()) << out.error().message;
        const auto& gm = c["attributions"]["saliency"]["matrix"];
        ASSERT_EQ(out->matrix.rows, static_cast<int64_t>(gm.size()));
        for (int64_t i = 0; i < out->matrix.rows; ++i) {
            for (int64_t j = 0; j < out->matrix.cols; ++j) {
                if (!gm[i][j].is_null()) matrix.add(out->matrix.at(i, j), gm[i][j]);
            }
        }
    }
    std::printf("  %s bfloat16: logits max |diff| %.4g (scale %.4g, relative %.4f); saliency max |diff| %.4g "
                "(scale %.4g, relative %.4f)\n",
                GetParam().c_str(), logits.maxDiff, logits.scale, logits.relative(), matrix.maxDiff, matrix.scale,
                matrix.relative());
    EXPECT_LE(logits.relative(), kLogitBound);
    EXPECT_LE(matrix.relative(), kSaliencyBound);
    // Not float32 by accident: bfloat16 moves the logits by more than float32's rounding.
    EXPECT_GT(logits.maxDiff, 100 * golden["cases"][0]["prompt_logits"]["float32_error_estimate"]["logits"].get<double>());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ComputeDtype, ::testing::ValuesIn(fixtureNames()), fixtureTestName);

TEST(ComputeDtypeOption, ResultRecordsItAndBadValuesAreRefused) {
    auto m = loadBf16("tiny-gpt2");
    ASSERT_TRUE(m);
    Job job;
    job.models = {"tiny-gpt2"};
    job.methods = {"saliency"};
    job.input = "The cat sat on the mat.";
    job.options = {{"max_new_tokens", 2}, {"compute_dtype", "bfloat16"}};
    ASSERT_TRUE(validateJob(job).ok());
    auto seq = prepareSequence(*m, job);
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    auto r = runMethod(*m, *seq, job, "saliency");
    ASSERT_EQ(r.status, RunStatus::Completed) << r.error.value_or("");
    EXPECT_EQ(r.options.value("compute_dtype", ""), "bfloat16");
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings.back().find("computed in bfloat16"), std::string::npos) << r.warnings.back();
    job.options["compute_dtype"] = "float16";
    auto bad = validateJob(job);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message, "option 'compute_dtype' must be 'float32' or 'bfloat16'");
    LoadOptions lo;
    lo.computeDtype = "float16";
    auto refused = loadModelFolder(dataDir() / "models" / "tiny-gpt2", lo);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("compute_dtype: 'float16'"), std::string::npos);
}
