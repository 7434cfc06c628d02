// Forward pass, greedy generation and step scores of the three fixture models
// against the goldens computed with the Hugging Face semantics.

#include "../common/golden.h"
#include "io/safetensors.h"
#include "model/generation.h"
#include "model/model_loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

class ModelGolden : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        golden = goldenFor(GetParam());
        auto loaded = loadModelFolder(dataDir() / "models" / GetParam());
        ASSERT_TRUE(loaded.ok()) << loaded.error().message;
        model = loaded.value();
    }
    nlohmann::json golden;
    std::shared_ptr<LoadedModel> model;
};

at::Tensor ids(const nlohmann::json& j) { return torch::tensor(j.get<std::vector<int64_t>>()).unsqueeze(0); }

} // namespace

TEST_P(ModelGolden, ConfigMatchesFixture) {
    const auto& m = golden["model"];
    EXPECT_EQ(model->config.vocabSize, m["vocab_size"].get<int64_t>());
    EXPECT_EQ(model->config.numLayers, m["num_layers"].get<int64_t>());
    EXPECT_EQ(model->config.numHeads, m["num_attention_heads"].get<int64_t>());
    EXPECT_EQ(model->storedDtype, m["stored_dtype"].get<std::string>());
}

TEST_P(ModelGolden, TokenizerGivesPromptIds) {
    ASSERT_TRUE(model->tokenizer);
    for (const auto& c : golden["cases"]) {
        auto enc = model->tokenizer->encode(c["prompt"].get<std::string>());
        ASSERT_TRUE(enc.ok()) << enc.error().message;
        std::vector<int64_t> got(enc->ids.begin(), enc->ids.end());
        EXPECT_EQ(got, c["prompt_ids"].get<std::vector<int64_t>>()) << c["id"];
    }
}

TEST_P(ModelGolden, PromptLogitsAndFinalHidden) {
    torch::NoGradGuard noGrad;
    for (const auto& c : golden["cases"]) {
        const auto& pl = c["prompt_logits"];
        const auto& est = pl["float32_error_estimate"];
        auto out = model->model->forward(model->model->embed(ids(c["prompt_ids"])), {});
        auto logits = out.logits.squeeze(0);     // (n, vocab)
        auto hidden = out.finalHidden.squeeze(0); // (n, hidden)
        const int64_t n = c["n"].get<int64_t>();
        ASSERT_EQ(logits.size(0), n);

        Tolerance tl{est["logits"].get<double>()}, tlse{est["logsumexp"].get<double>()},
            th{est["final_hidden"].get<double>()};
        for (int64_t i = 0; i < n; ++i) {
            const std::string at = std::string(c["id"]) + " pos " + std::to_string(i);
            auto row = logits[i];
            const auto topIds = pl["top_ids"][i].get<std::vector<int64_t>>();
            EXPECT_EQ(row.argmax().item<int64_t>(), topIds[0]) << at << ": top-1 token differs";
            for (size_t k = 0; k < topIds.size(); ++k) {
                tl.check(row[topIds[k]].item<double>(), pl["top_values"][i][k], at + " top " + std::to_string(k));
            }
            const auto probeIds = pl["probe_ids"].get<std::vector<int64_t>>();
            for (size_t k = 0; k < probeIds.size(); ++k) {
                tl.check(row[probeIds[k]].item<double>(), pl["probe_values"][i][k],
                         at + " probe id " + std::to_string(probeIds[k]));
            }
            tlse.check(torch::logsumexp(row, 0).item<double>(), pl["logsumexp"][i], at + " logsumexp");
            for (int64_t d = 0; d < hidden.size(1); ++d) {
                th.check(hidden[i][d].item<double>(), pl["final_hidden"][i][d], at + " hidden " + std::to_string(d));
            }
        }
        std::cout << "[" << GetParam() << " " << c["id"] << "] " << tl.summary("logits") << "\n  "
                  << tlse.summary("logsumexp") << "\n  " << th.summary("final hidden") << "\n";
        EXPECT_TRUE(tl.ok()) << tl.summary("logits");
        EXPECT_TRUE(tlse.ok()) << tlse.summary("logsumexp");
        EXPECT_TRUE(th.ok()) << th.summary("final hidden");
    }
}

TEST_P(ModelGolden, FullVocabularyAtLastPromptPosition) {
    torch::NoGradGuard noGrad;
    const auto& c = golden["cases"][0];
    const auto& ref = c["prompt_logits"]["full_last_position"];
    auto file = SafetensorsFile::open(dataDir() / "golden" / ref["file"].get<std::string>());
    ASSERT_TRUE(file.ok()) << file.error().message;
    const TensorInfo* info = file.value()->find(ref["tensor"].get<std::string>());
    ASSERT_NE(info, nullptr);
    std::vector<float> expected(static_cast<size_t>(info->numel()));
    ASSERT_TRUE(convertToFloat32(info->dtype, file.value()->bytes(*info), expected.data(), expected.size()));

    auto out = model->model->forward(model->model->embed(ids(c["prompt_ids"])), {});
    auto last = out.logits.squeeze(0)[-1].contiguous();
    ASSERT_EQ(last.numel(), static_cast<int64_t>(expected.size()));
    Tolerance tol{c["prompt_logits"]["float32_error_estimate"]["logits"].get<double>()};
    const float* got = last.data_ptr<float>();
    for (size_t v = 0; v < expected.size(); ++v) tol.check(got[v], expected[v], "vocab id " + std::to_string(v));
    std::cout << "[" << GetParam() << "] " << tol.summary("full last-position logits") << "\n";
    EXPECT_TRUE(tol.ok()) << tol.summary("full last-position logits");
}

TEST_P(ModelGolden, GreedyContinuationAndStepScores) {
    for (const auto& c : golden["cases"]) {
        const auto prompt = c["prompt_ids"].get<std::vector<int64_t>>();
        GenerationOptions o;
        o.maxNewTokens = c["t"].get<int64_t>();
        o.stopAtEos = false;
        auto gen = generate(*model->model, prompt, o);
        ASSERT_TRUE(gen.ok()) << gen.error().message;
        EXPECT_EQ(gen->ids, c["output_ids"].get<std::vector<int64_t>>()) << c["id"];

        const auto& est = c["step_scores_float32_error_estimate"];
        Tolerance tp{est["probability"].get<double>()}, te{est["entropy"].get<double>()};
        for (size_t j = 0; j < gen->ids.size(); ++j) {
            tp.check(gen->scores.probability[j], c["step_scores"]["probability"][j], "probability " + std::to_string(j));
            te.check(gen->scores.entropy[j], c["step_scores"]["entropy"][j], "entropy " + std::to_string(j));
        }
        std::cout << "[" << GetParam() << " " << c["id"] << "] " << tp.summary("step probability") << "; "
                  << te.summary("step entropy") << "\n";
        EXPECT_TRUE(tp.ok()) << tp.summary("probability");
        EXPECT_TRUE(te.ok()) << te.summary("entropy");

        // Forced decoding of the same continuation gives the same scores.
        auto forced = scoreContinuation(*model->model, prompt, gen->ids);
        ASSERT_TRUE(forced.ok()) << forced.error().message;
        for (size_t j = 0; j < gen->ids.size(); ++j) {
            EXPECT_NEAR(forced->scores.probability[j], gen->scores.probability[j], 1e-5);
            EXPECT_NEAR(forced->scores.entropy[j], gen->scores.entropy[j], 1e-4);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ModelGolden, ::testing::ValuesIn(fixtureNames()), fixtureTestName);
