// The perturbation and Shapley methods (lime, kernel_shap, shapley_sampling),
// gradient_shap and the contrastive targets, checked against what must hold:
// Shapley efficiency, a brute-force Shapley enumeration written here, the
// recovery of a synthetic scorer's coefficients, seeded reproducibility,
// linearity of the contrastive targets, option errors, progress and cancel.

#include "attribution_test_util.h"
#include "attribution/engine.h"
#include "attribution/method.h"
#include "attribution/perturbation.h"
#include "model/model_loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

// f_j of the model on X ⊕ Y with the rows of `kept` == false replaced by
// the zero embedding, straight from the model's full logits at p_j.
double scoreWith(const LoadedModel& m, const AttributionInput& in, int64_t j, const std::vector<bool>& kept,
                 const std::string& fn) {
    torch::NoGradGuard noGrad;
    std::vector<int64_t> ids = in.promptIds;
    ids.insert(ids.end(), in.outputIds.begin(), in.outputIds.end());
    const int64_t n = static_cast<int64_t>(in.promptIds.size()), p = n + j - 1;
    auto e = m.model->embed(torch::tensor(ids, torch::kInt64).slice(0, 0, p + 1).unsqueeze(0)).clone(); // (1, p+1, h)
    for (int64_t i = 0; i <= p; ++i) {
        if (!kept[static_cast<size_t>(i)]) e[0][i].zero_();
    }
    auto logits = m.model->forward(e, {}).logits[0][p].to(torch::kFloat64);
    const int64_t y = in.outputIds[static_cast<size_t>(j)];
    if (fn == "logit") return logits[y].item<double>();
    auto lp = torch::log_softmax(logits, 0)[y].item<double>();
    return fn == "log_probability" ? lp : std::exp(lp);
}

double columnSum(const AttributionMatrix& a, int64_t j) {
    double s = 0;
    for (int64_t i = 0; i < a.rows; ++i) {
        if (std::isfinite(a.at(i, j))) s += a.at(i, j);
    }
    return s;
}

bool sameMatrix(const AttributionMatrix& a, const AttributionMatrix& b) {
    if (a.rows != b.rows || a.cols != b.cols) return false;
    for (size_t k = 0; k < a.data.size(); ++k) {
        const float x = a.data[k], y = b.data[k];
        if (std::isnan(x) != std::isnan(y)) return false;
        if (!std::isnan(x) && x != y) return false;
    }
    return true;
}

// A synthetic game on `width` positions: column j (features 0..counts[j]-1)
// scores z with `score(j, z)`; no model.
attr::MaskScorer syntheticScorer(const attr::FeatureLayout& layout,
                                 const std::function<double(int64_t, const std::vector<double>&)>& score) {
    return [layout, score](const at::Tensor& masks, at::Tensor& scores) {
        scores = torch::zeros({masks.size(0), layout.columns()}, torch::kFloat64);
        auto ma = masks.accessor<bool, 2>();
        for (int64_t r = 0; r < masks.size(0); ++r) {
            for (int64_t j = 0; j < layout.columns(); ++j) {
                std::vector<double> z(static_cast<size_t>(layout.counts[static_cast<size_t>(j)]));
                for (size_t i = 0; i < z.size(); ++i) z[i] = ma[r][static_cast<int64_t>(i)] ? 1.0 : 0.0;
                scores[r][j] = score(j, z);
            }
        }
        return true;
    };
}

} // namespace

// ---------------------------------------------------------------- Shapley

TEST(ShapleySampling, ExactModeEqualsBruteForceEnumeration) {
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    // 4 prompt tokens, 3 outputs: columns see 4, 5 and 6 tokens (all exact).
    const auto in = inputFor(*m, goldenFor("tiny-gpt2")["cases"][0], 4, 3);
    auto out = runOrFail("shapley_sampling", in, {{"target_fn", "logit"}});
    const int64_t n = 4;
    for (int64_t j = 0; j < 3; ++j) {
        const int64_t features = n + j;
        // v(S) for every subset, then φ_i = Σ_{S ∌ i} |S|!(m−|S|−1)!/m! (v(S∪i) − v(S)).
        std::vector<double> v(size_t{1} << features);
        for (size_t s = 0; s < v.size(); ++s) {
            std::vector<bool> kept(static_cast<size_t>(features));
            for (int64_t i = 0; i < features; ++i) kept[static_cast<size_t>(i)] = (s >> i) & 1;
            v[s] = scoreWith(*m, in, j, kept, "logit");
        }
        auto fact = [](int64_t k) { return std::tgamma(static_cast<double>(k) + 1); };
        for (int64_t i = 0; i < features; ++i) {
            double phi = 0;
            for (size_t s = 0; s < v.size(); ++s) {
                if ((s >> i) & 1) continue;
                const int64_t size = __builtin_popcountll(s);
                phi += fact(size) * fact(features - size - 1) / fact(features) * (v[s | (size_t{1} << i)] - v[s]);
            }
            EXPECT_NEAR(out.matrix.at(i, j), phi, 2e-5 * (1 + std::abs(phi))) << "A[" << i << "," << j << "]";
        }
    }
}

TEST(ShapleySampling, EfficiencyExactAndSampled) {
    for (const std::string name : {"tiny-gpt2", "tiny-llama"}) {
        auto m = fixture(name);
        ASSERT_TRUE(m);
        // 7-8 prompt tokens and 4 outputs: the first columns are exact (<= 10
        // tokens), the last sampled; exact_max_tokens 0 samples them all.
        const auto in = inputFor(*m, goldenFor(name)["cases"][0], 0, 4);
        const int64_t n = static_cast<int64_t>(in.promptIds.size());
        for (int exact : {10, 0}) {
            for (const std::string method : {"shapley_sampling", "kernel_shap"}) {
                if (method == "kernel_shap" && exact == 0) continue;
                nlohmann::json o = {{"target_fn", "log_probability"}, {"samples", 10}};
                if (method == "shapley_sampling") o["exact_max_tokens"] = exact;
                auto out = runOrFail(method, in, o);
                for (int64_t j = 0; j < 4; ++j) {
                    std::vector<bool> all(static_cast<size_t>(n + j), true), none(static_cast<size_t>(n + j), false);
                    const double change = scoreWith(*m, in, j, all, "log_probability") -
                                          scoreWith(*m, in, j, none, "log_probability");
                    // Exact or per-permutation telescoping: only float32 rounding of the scores remains.
                    EXPECT_NEAR(columnSum(out.matrix, j), change, 1e-4 * (1 + std::abs(change)))
                        << name << " " << method << " exact_max_tokens " << exact << " column " << j;
                }
            }
        }
    }
}

TEST(ShapleySampling, SamplingApproachesExactValues) {
    // On the synthetic game below the permutation estimate with many samples
    // comes close to the exact enumeration of the same game (standard error
    // ~ 1/sqrt(samples)).
    attr::FeatureLayout layout{8, {5, 8}};
    auto game = [](int64_t, const std::vector<double>& z) {
        double s = 0.5 + z[0] + 2 * z[1] * z[2] + 3 * z[0] * z[1] * z[3] - z[4];
        if (z.size() > 5) s += 1.5 * z[5] * z[7] - 0.7 * z[6] * z[2];
        return s;
    };
    auto scorer = syntheticScorer(layout, game);
    attr::ShapleySettings exact{1, 16, 1};
    attr::ShapleySettings sampled{20000, 0, 1};
    auto a = attr::shapleyEstimate(layout, exact, scorer).values;
    auto b = attr::shapleyEstimate(layout, sampled, scorer).values;
    // Hand-computed (each interaction term split equally among its players):
    const std::vector<double> col0 = {1 + 1, 1 + 1, 1, 1, -1};
    for (int64_t i = 0; i < 5; ++i) EXPECT_NEAR(a[0][i].item<double>(), col0[static_cast<size_t>(i)], 1e-12);
    const std::vector<double> col1 = {2, 2, 1 - 0.35, 1, -1, 0.75, -0.35, 0.75};
    for (int64_t i = 0; i < 8; ++i) {
        EXPECT_NEAR(a[1][i].item<double>(), col1[static_cast<size_t>(i)], 1e-12) << i;
        EXPECT_NEAR(b[1][i].item<double>(), col1[static_cast<size_t>(i)], 0.08) << i;
    }
}

TEST(ShapleySampling, PrefixRequestsEqualWholeRowsOnTheModel) {
    // A request of prefixes x suffixes (the prefixes' KV cache reused for
    // their suffix rows) scores exactly what the same masks written out as
    // whole rows score, for columns read in the prefix pass and after it;
    // tiny-llama: rotary positions continue from the cached prefix.
    for (const std::string name : {"tiny-llama", "tiny-gpt2"}) {
        auto m = fixture(name);
        ASSERT_TRUE(m);
        const auto in = inputFor(*m, goldenFor(name)["cases"][0], 3, 5); // width 7, columns at positions 2..6
        const auto seq = attr::makeSequence(in);
        const auto baseline = torch::zeros_like(seq.embeds);
        RunControl control;
        attr::Progress progress(control, 1 << 30);
        int64_t passes = 0; // both scorers count into it
        int64_t units = 0;
        RunControl counting;
        counting.progress = [&](int64_t done, int64_t) { units = done; };
        attr::Progress counted(counting, 1 << 30);
        auto split = attr::modelScorer(*in.model, seq, baseline, attr::TargetFn::LogProbability, 1 << 30, 0.05, counted,
                                       passes);
        auto whole = attr::modelScorer(*in.model, seq, baseline, attr::TargetFn::LogProbability, 1 << 30, 0.05,
                                       progress, passes);
        const auto layout = attr::layoutFor(3, 5);
        attr::ScoreRequest req;
        req.prefixes = torch::tensor({1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1}, torch::kBool).view({4, 3}); // G 4, d 3
        req.masks = torch::tensor({1, 0, 0, 0, 1, 1, 1, 1, 0}, torch::kBool).view({3, 3}); // K 3, positions 3..5
        req.firstColumn = 0;
        req.lastColumn = 4; // positions 2..5: column 0 in the prefix pass, 1..3 after it
        at::Tensor a;
        ASSERT_TRUE(split(layout, req, a));
        EXPECT_EQ(units, 4 * 3 + 12 * 3); // prefix positions + suffix positions
        attr::ScoreRequest plain;
        plain.masks = torch::cat({req.prefixes.repeat_interleave(3, 0), req.masks.repeat({4, 1})}, 1); // (12, 6)
        plain.firstColumn = 0;
        plain.lastColumn = 4;
        at::Tensor b;
        ASSERT_TRUE(whole(layout, plain, b));
        ASSERT_EQ(a.sizes(), b.sizes());
        for (int64_t r = 0; r < 12; ++r) {
            for (int64_t j = 0; j < 4; ++j) {
                EXPECT_NEAR(a[r][j].item<double>(), b[r][j].item<double>(), 1e-5 * (1 + std::abs(b[r][j].item<double>())));
                if (r % 3 != j % 3) continue; // a quarter of the entries also by brute force
                // Brute force from the model's full logits, the mask written out.
                std::vector<bool> kept(static_cast<size_t>(3 + j));
                for (int64_t i = 0; i < 3 + j; ++i) kept[static_cast<size_t>(i)] = plain.masks[r][i].item<bool>();
                const double direct = scoreWith(*m, in, j, kept, "log_probability");
                EXPECT_NEAR(a[r][j].item<double>(), direct, 1e-4 * (1 + std::abs(direct))) << name << " " << r << " " << j;
                EXPECT_NEAR(b[r][j].item<double>(), direct, 1e-4 * (1 + std::abs(direct))) << name << " " << r << " " << j;
            }
        }
    }
}

// ------------------------------------------------ shared clean prefix

namespace {

// Delegates to a model and counts the token positions its forwards run.
class CountingModel final : public CausalLM {
public:
    explicit CountingModel(const CausalLM& inner) : m_inner(inner) {}
    const ModelConfig& config() const override { return m_inner.config(); }
    at::Tensor embed(const at::Tensor& ids) const override { return m_inner.embed(ids); }
    ForwardOutput forward(const at::Tensor& e, const ForwardOptions& o) const override {
        positions += e.size(0) * e.size(1);
        return m_inner.forward(e, o);
    }
    at::Tensor lmHead(const at::Tensor& h) const override { return m_inner.lmHead(h); }
    at::Tensor embeddingMatrix() const override { return m_inner.embeddingMatrix(); }
    at::Tensor headMatrix() const override { return m_inner.headMatrix(); }
    OutputProjection attentionOutputProjection(int64_t l) const override {
        return m_inner.attentionOutputProjection(l);
    }
    int64_t parameterCount() const override { return m_inner.parameterCount(); }
    int64_t parameterBytes() const override { return m_inner.parameterBytes(); }
    std::string device() const override { return m_inner.device(); }
    mutable int64_t positions = 0;

private:
    const CausalLM& m_inner;
};

} // namespace

TEST(PerturbationScorer, RowsStartAtTheirFirstReplacedPositionAndScoreAsWholeRows) {
    // Whole keep-masks scored on the unperturbed sequence's cache up to each
    // row's first replaced position equal the model's full forward of the
    // written-out row (no cache), in every family (RoPE positions continuing
    // from the cache, GPT-2's learned positions, Gemma's sliding window),
    // and the model runs fewer positions than rows x length.
    for (const auto& name : fixtureNames()) {
        auto m = fixture(name);
        ASSERT_TRUE(m);
        const auto in = inputFor(*m, goldenFor(name)["cases"][2], 0, 4);
        const auto seq = attr::makeSequence(in);
        const int64_t width = seq.length() - 1, n = seq.n;
        ASSERT_GE(width, 6) << name;
        // Rows: every position kept; one replaced late, in the middle, first;
        // two replaced; a row keeping only the first position.
        std::vector<std::vector<bool>> rows;
        rows.emplace_back(static_cast<size_t>(width), true);
        for (int64_t at : {width - 1, width / 2, int64_t{0}, n - 1}) {
            rows.emplace_back(static_cast<size_t>(width), true);
            rows.back()[static_cast<size_t>(at)] = false;
        }
        rows.emplace_back(static_cast<size_t>(width), true);
        rows.back()[1] = rows.back()[static_cast<size_t>(width - 2)] = false;
        rows.emplace_back(static_cast<size_t>(width), false);
        rows.back()[0] = true;
        const auto r = static_cast<int64_t>(rows.size());
        auto masks = torch::zeros({r, width}, torch::kBool);
        int64_t lowerBound = width; // the unperturbed pass, then each row from its first replaced position
        for (int64_t i = 0; i < r; ++i) {
            int64_t f = width;
            for (int64_t p = 0; p < width; ++p) {
                masks[i][p] = static_cast<bool>(rows[static_cast<size_t>(i)][static_cast<size_t>(p)]);
                if (!rows[static_cast<size_t>(i)][static_cast<size_t>(p)] && f == width) f = p;
            }
            lowerBound += width - f;
        }
        CountingModel counting(*in.model);
        RunControl control;
        attr::Progress progress(control, r * width);
        int64_t passes = 0;
        const auto baseline = torch::zeros_like(seq.embeds);
        auto scorer = attr::modelScorer(counting, seq, baseline, attr::TargetFn::LogProbability, int64_t{1} << 30,
                                        3600, progress, passes);
        at::Tensor scores;
        ASSERT_TRUE(scorer(masks, scores));
        ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{r, seq.t}));
        EXPECT_LT(counting.positions, r * width) << name;
        EXPECT_GE(counting.positions, lowerBound) << name;
        for (int64_t i = 0; i < r; ++i) {
            for (int64_t j = 0; j < seq.t; ++j) {
                const double direct = scoreWith(*m, in, j, rows[static_cast<size_t>(i)], "log_probability");
                EXPECT_NEAR(scores[i][j].item<double>(), direct, 1e-4 * (1 + std::abs(direct)))
                    << name << " row " << i << " column " << j;
            }
        }
    }
}

// ---------------------------------------------------------- surrogates

TEST(Surrogates, LimeAndKernelShapRecoverALinearScorer) {
    // f_j(z) = b_j + Σ_i θ_i z_i on column j's features: LIME's surrogate is
    // that linear model (a tiny ridge), KernelSHAP's values are θ (a linear
    // game's Shapley values are its coefficients).
    attr::FeatureLayout layout{12, {6, 9, 12}};
    const std::vector<double> theta = {0.9, -1.3, 0.25, 2.0, -0.4, 0.0, 1.1, -2.2, 0.6, 0.05, -0.8, 1.7};
    auto linear = [&](int64_t j, const std::vector<double>& z) {
        double s = 0.3 * static_cast<double>(j) - 1;
        for (size_t i = 0; i < z.size(); ++i) s += theta[i] * z[i];
        return s;
    };
    auto scorer = syntheticScorer(layout, linear);
    attr::LimeSettings ls;
    ls.samples = 400;
    ls.alpha = 1e-8;
    ls.seed = 5;
    auto lime = attr::limeEstimate(layout, ls, scorer);
    attr::KernelShapSettings ks;
    ks.samples = 400;
    ks.seed = 5;
    auto shap = attr::kernelShapEstimate(layout, ks, scorer);
    EXPECT_TRUE(shap.warnings.empty());
    for (int64_t j = 0; j < 3; ++j) {
        for (int64_t i = 0; i < 12; ++i) {
            const double want = i < layout.counts[static_cast<size_t>(j)] ? theta[static_cast<size_t>(i)] : 0.0;
            EXPECT_NEAR(lime.values[j][i].item<double>(), want, 1e-5) << "lime " << j << " " << i;
            EXPECT_NEAR(shap.values[j][i].item<double>(), want, 1e-6) << "kernel_shap " << j << " " << i;
        }
    }
    // With the default ridge penalty LIME shrinks the coefficients a little, not
    // their order: it still ranks the true coefficients the same way.
    ls.alpha = 1.0;
    auto shrunk = attr::limeEstimate(layout, ls, scorer);
    for (int64_t i = 0; i < 12; ++i) {
        EXPECT_NEAR(shrunk.values[2][i].item<double>(), theta[static_cast<size_t>(i)],
                    0.1 * std::abs(theta[static_cast<size_t>(i)]) + 0.05)
            << i;
    }
}

TEST(Surrogates, KernelShapWeightsGiveShapleyValuesOfANonlinearGame) {
    // Interaction terms: with the Shapley kernel (and the per-column
    // reweighting of the shared coalitions) the regression converges to the
    // exact Shapley values; a token outside every term (a dummy) gets 0.
    attr::FeatureLayout layout{8, {5, 8}};
    auto game = [](int64_t, const std::vector<double>& z) {
        double s = z[0] + 2 * z[1] * z[2] + 3 * z[0] * z[1] * z[3];
        if (z.size() > 5) s += 1.5 * z[5] * z[7];
        return s;
    };
    auto scorer = syntheticScorer(layout, game);
    attr::KernelShapSettings ks;
    ks.samples = 200000;
    ks.seed = 11;
    auto shap = attr::kernelShapEstimate(layout, ks, scorer);
    const std::vector<std::vector<double>> want = {{2, 2, 1, 1, 0}, {2, 2, 1, 1, 0, 0.75, 0, 0.75}};
    for (int64_t j = 0; j < 2; ++j) {
        double sum = 0;
        for (size_t i = 0; i < want[static_cast<size_t>(j)].size(); ++i) {
            const double v = shap.values[j][static_cast<int64_t>(i)].item<double>();
            sum += v;
            EXPECT_NEAR(v, want[static_cast<size_t>(j)][i], 0.03) << j << " " << i;
        }
        EXPECT_NEAR(sum, j == 0 ? 6 : 7.5, 1e-9); // efficiency is exact
    }
}

// --------------------------------------------------------------- seeds

TEST(SeededMethods, SameSeedSameMatrixOtherSeedOtherMatrix) {
    auto m = fixture("tiny-qwen2");
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor("tiny-qwen2")["cases"][2], 0, 3);
    const std::vector<std::pair<std::string, nlohmann::json>> runs = {
        {"lime", {{"samples", 40}}},
        {"kernel_shap", {{"samples", 40}}},
        {"shapley_sampling", {{"samples", 3}, {"exact_max_tokens", 0}}},
        {"gradient_shap", {{"samples", 3}, {"stdevs", 0.1}}},
    };
    for (auto [method, o] : runs) {
        o["target_fn"] = "logit"; // no full-vocabulary softmax per row: fast on tiny-qwen2's 151669 ids
        o["seed"] = 1;
        auto a = runOrFail(method, in, o);
        auto b = runOrFail(method, in, o);
        o["seed"] = 2;
        auto c = runOrFail(method, in, o);
        EXPECT_TRUE(sameMatrix(a.matrix, b.matrix)) << method;
        EXPECT_FALSE(sameMatrix(a.matrix, c.matrix)) << method;
        EXPECT_GT(a.forwardPasses, 0) << method;
    }
}

TEST(GradientShap, WithoutNoiseItIsMonteCarloIntegratedGradients) {
    // stdevs 0: the mean over random alphas of the gradient times (x − b),
    // an unbiased estimate of integrated gradients: many samples come close
    // to it (sum reduction, tiny-gpt2, where integrated gradients is complete).
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor("tiny-gpt2")["cases"][0], 0, 2);
    auto gs = runOrFail("gradient_shap", in, {{"samples", 4000}, {"reduction", "sum"}, {"target_fn", "logit"}});
    auto ig = runOrFail("integrated_gradients", in, {{"reduction", "sum"}, {"target_fn", "logit"}});
    for (int64_t j = 0; j < 2; ++j) {
        const double want = columnSum(ig.matrix, j);
        EXPECT_NEAR(columnSum(gs.matrix, j), want, 0.04 * std::abs(want) + 0.05) << j;
        std::cout << "  column " << j << ": gradient_shap sum " << columnSum(gs.matrix, j) << ", integrated gradients "
                  << want << "\n";
    }
}

// ---------------------------------------------------------- contrastive

TEST(ContrastiveTargets, DifferenceOfTheTwoTargetsForLinearMethods) {
    // With one output token y, the sequence the model reads is the prompt
    // alone, so attributing logit(c) is the same run with c as the output:
    // for occlusion (a difference of scores) and input x gradient with the
    // sum reduction (linear in the gradient) the contrastive attribution is
    // A(y) − A(c).
    auto m = fixture("tiny-llama");
    ASSERT_TRUE(m);
    auto in = inputFor(*m, goldenFor("tiny-llama")["cases"][1], 0, 1);
    const int64_t c = 1234;
    auto other = in;
    other.outputIds = {c};
    const std::vector<std::tuple<std::string, std::string, std::string, nlohmann::json>> runs = {
        {"occlusion", "contrast_logit_diff", "logit", nlohmann::json::object()},
        {"occlusion", "contrast_probability_diff", "probability", nlohmann::json::object()},
        {"input_x_gradient", "contrast_logit_diff", "logit", {{"reduction", "sum"}}},
        {"input_x_gradient", "contrast_probability_diff", "probability", {{"reduction", "sum"}}},
    };
    for (const auto& [method, contrastFn, plainFn, extra] : runs) {
        nlohmann::json o = extra;
        o["target_fn"] = contrastFn;
        o["contrast_token"] = c;
        auto diff = runOrFail(method, in, o);
        o.erase("contrast_token");
        o["target_fn"] = plainFn;
        auto a = runOrFail(method, in, o);
        auto b = runOrFail(method, other, o);
        EXPECT_EQ(diff.targetFn, contrastFn);
        // Tolerance relative to the column's scale (probabilities here are ~1e-5).
        double scale = 0;
        for (int64_t i = 0; i < diff.matrix.rows; ++i) {
            const double want = a.matrix.at(i, 0) - b.matrix.at(i, 0);
            if (std::isfinite(want)) scale = std::max(scale, std::abs(want));
        }
        ASSERT_GT(scale, 0) << method << " " << contrastFn;
        for (int64_t i = 0; i < diff.matrix.rows; ++i) {
            const double want = a.matrix.at(i, 0) - b.matrix.at(i, 0);
            if (std::isnan(want)) {
                EXPECT_TRUE(std::isnan(diff.matrix.at(i, 0)));
                continue;
            }
            EXPECT_NEAR(diff.matrix.at(i, 0), want, 1e-4 * scale) << method << " " << contrastFn << " " << i;
        }
    }
}

TEST(ContrastiveTargets, ContrastTextSingleTokenAndAlignedThroughTheEngine) {
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    Job job;
    job.input = "The cat sat on the mat.";
    job.targetText = " It was happy";
    job.methods = {"occlusion"};
    job.options = {{"target_fn", "contrast_logit_diff"}};
    auto seq = prepareSequence(*m, job);
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    ASSERT_EQ(seq->output.ids.size(), 3u);
    auto single = m->tokenizer->encode(" dog", false);
    auto three = m->tokenizer->encode(" A dog sat", false);
    ASSERT_TRUE(single.ok() && three.ok());
    ASSERT_EQ(single->ids.size(), 1u);
    ASSERT_EQ(three->ids.size(), 3u);

    auto run = [&](const nlohmann::json& extra) {
        auto j = job;
        for (const auto& [k, v] : extra.items()) j.options[k] = v;
        return runMethod(*m, *seq, j, "occlusion");
    };
    auto byText = run({{"contrast_text", " dog"}});
    auto byId = run({{"contrast_token", single->ids[0]}});
    ASSERT_EQ(byText.status, RunStatus::Completed) << byText.error.value_or("");
    ASSERT_EQ(byId.status, RunStatus::Completed) << byId.error.value_or("");
    EXPECT_TRUE(sameMatrix(byText.raw, byId.raw));

    // Aligned: column j against token j of the text, i.e. what contrast_token = that token gives in column j.
    auto aligned = run({{"contrast_text", " A dog sat"}});
    ASSERT_EQ(aligned.status, RunStatus::Completed) << aligned.error.value_or("");
    for (int64_t j = 0; j < 3; ++j) {
        auto one = run({{"contrast_token", three->ids[static_cast<size_t>(j)]}});
        ASSERT_EQ(one.status, RunStatus::Completed);
        for (int64_t i = 0; i < one.raw.rows; ++i) {
            const float x = aligned.raw.at(i, j), y = one.raw.at(i, j);
            if (std::isnan(y)) EXPECT_TRUE(std::isnan(x));
            else EXPECT_NEAR(x, y, 1e-5 * (1 + std::abs(y))) << "column " << j << " row " << i;
        }
    }
    // Per-method options carry their own contrast.
    auto j2 = job;
    j2.options["methods"] = {{"occlusion", {{"contrast_text", " dog"}}}};
    auto perMethod = runMethod(*m, *seq, j2, "occlusion");
    EXPECT_TRUE(sameMatrix(perMethod.raw, byId.raw));

    // k != t: a clear error naming the option and both counts.
    auto two = run({{"contrast_text", " A dog"}});
    ASSERT_EQ(two.status, RunStatus::Failed);
    EXPECT_NE(two.error->find("contrast_text"), std::string::npos) << *two.error;
    EXPECT_NE(two.error->find("2 tokens"), std::string::npos) << *two.error;
    EXPECT_NE(two.error->find("has 3"), std::string::npos) << *two.error;
    // Both options, or none, for a contrastive target.
    auto both = run({{"contrast_text", " dog"}, {"contrast_token", 5}});
    ASSERT_EQ(both.status, RunStatus::Failed);
    EXPECT_NE(both.error->find("only one"), std::string::npos) << *both.error;
    auto none = run(nlohmann::json::object());
    ASSERT_EQ(none.status, RunStatus::Failed);
    EXPECT_NE(none.error->find("contrast_token"), std::string::npos) << *none.error;
    // An id outside the vocabulary.
    auto big = run({{"contrast_token", 50257}});
    ASSERT_EQ(big.status, RunStatus::Failed);
    EXPECT_NE(big.error->find("contrast_token"), std::string::npos) << *big.error;
    EXPECT_NE(big.error->find("50256"), std::string::npos) << *big.error;
    // The plain targets ignore the contrast options and keep their values.
    auto plain = run({{"target_fn", "logit"}, {"contrast_token", 5}});
    auto plainAlone = run({{"target_fn", "logit"}});
    EXPECT_TRUE(sameMatrix(plain.raw, plainAlone.raw));
}

TEST(ContrastiveTargets, ContrastTextNeedsTheTokenizer) {
    auto m = fixture("tiny-llama");
    ASSERT_TRUE(m);
    auto ids = contrastTextIds(*m, {{"contrast_text", " dog"}});
    ASSERT_TRUE(ids.ok()) << ids.error().message;
    EXPECT_FALSE(ids->empty());
    EXPECT_TRUE(contrastTextIds(*m, {{"contrast_text", ""}})->empty()); // unset
    LoadedModel bare = *m;
    bare.tokenizer.reset();
    auto missing = contrastTextIds(bare, {{"contrast_text", " dog"}});
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("contrast_text"), std::string::npos);
    EXPECT_NE(missing.error().message.find("tokenizer"), std::string::npos);
    // A method run without the engine cannot tokenize: a clear error, not a crash.
    auto in = inputFor(*m, goldenFor("tiny-llama")["cases"][0], 0, 2);
    auto direct = runMethodRaw("occlusion", in, {{"target_fn", "contrast_logit_diff"}, {"contrast_text", " dog"}});
    ASSERT_FALSE(direct.ok());
    EXPECT_NE(direct.error().message.find("contrast_text"), std::string::npos);
}

// ------------------------------------------------------------- options

TEST(PerturbationOptions, BadValuesNameTheOption) {
    auto expectError = [](const std::string& method, const nlohmann::json& o, const std::string& word) {
        const auto* m = findMethod(method);
        ASSERT_NE(m, nullptr) << method;
        auto r = m->resolveOptions(o);
        ASSERT_FALSE(r.ok()) << method << " " << o.dump();
        EXPECT_NE(r.error().message.find(word), std::string::npos) << r.error().message;
    };
    for (const std::string method : {"lime", "kernel_shap", "shapley_sampling", "gradient_shap"}) {
        expectError(method, {{"samples", 0}}, "samples");
        expectError(method, {{"seed", -1}}, "seed");
        expectError(method, {{"target_fn", "contrast_logit_diff"}}, "contrast_token");
        EXPECT_TRUE(findMethod(method)->resolveOptions({{"target_fn", "contrast_logit_diff"}, {"contrast_token", 3}}).ok());
    }
    expectError("lime", {{"mask_probability", 0}}, "mask_probability");
    expectError("lime", {{"mask_probability", 1}}, "mask_probability");
    expectError("lime", {{"mask_probability", 1.5}}, "mask_probability");
    expectError("shapley_sampling", {{"exact_max_tokens", 17}}, "exact_max_tokens");
    expectError("gradient_shap", {{"stdevs", -0.1}}, "stdevs");
    // Every target-function method takes the contrastive targets.
    expectError("saliency", {{"target_fn", "contrast_probability_diff"}}, "contrast_text");
    // A text option keeps numbers given on the command line as text.
    auto r = findMethod("occlusion")->resolveOptions({{"target_fn", "contrast_logit_diff"}, {"contrast_text", 42}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)["contrast_text"], "42");
}

// ---------------------------------------------------- progress, cancel

TEST(PerturbationRun, ProgressReachesTotalAndCancelStopsPromptly) {
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor("tiny-gpt2")["cases"][2]);
    const int64_t n = static_cast<int64_t>(in.promptIds.size()), t = static_cast<int64_t>(in.outputIds.size());
    for (const std::string method : {"lime", "kernel_shap", "shapley_sampling", "gradient_shap"}) {
        const nlohmann::json o = {{"samples", 8}};
        int64_t lastDone = 0, lastTotal = 0;
        RunControl control;
        control.progress = [&](int64_t done, int64_t total) {
            EXPECT_GE(done, lastDone);
            lastDone = done;
            lastTotal = total;
        };
        auto out = runMethodRaw(method, in, o, control);
        ASSERT_TRUE(out.ok()) << out.error().message;
        EXPECT_FALSE(out->cancelled);
        const auto* meth = findMethod(method);
        EXPECT_EQ(lastTotal, meth->estimateWork(n, t, *meth->resolveOptions(o))) << method;
        EXPECT_EQ(lastDone, lastTotal) << method;
    }
    // A long run (tens of thousands of perturbed sequences) cancelled after
    // its first pass returns within a pass or two.
    for (const std::string method : {"lime", "shapley_sampling"}) {
        std::atomic<bool> cancel{false};
        int64_t done = 0, total = 0;
        RunControl control;
        control.isCancelled = [&] { return cancel.load(); };
        control.progress = [&](int64_t d, int64_t tot) {
            done = d;
            total = tot;
            cancel = true;
        };
        nlohmann::json o = {{"samples", 20000}};
        if (method == "shapley_sampling") o["exact_max_tokens"] = 0;
        const auto start = std::chrono::steady_clock::now();
        auto out = runMethodRaw(method, in, o, control);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ASSERT_TRUE(out.ok()) << out.error().message;
        EXPECT_TRUE(out->cancelled) << method;
        EXPECT_LE(out->forwardPasses, 2) << method;
        EXPECT_LT(done, total / 10) << method;
        std::cout << "  " << method << " cancelled after " << done << " of " << total << " units, " << secs << " s\n";
    }
}

TEST(PerturbationRun, EveryOutputColumnFromSharedPasses) {
    // Batched: far fewer passes than perturbations x columns.
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    const auto in = inputFor(*m, goldenFor("tiny-gpt2")["cases"][2]);
    auto out = runOrFail("lime", in, {{"samples", 200}, {"chunk_seconds", 3600}});
    EXPECT_GE(out.forwardPasses, 1);
    EXPECT_LT(out.forwardPasses, 200 / 4);
}
