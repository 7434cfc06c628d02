// attnlrp and cp_lrp: a network small enough to propagate relevance on
// paper, conservation on every fixture (the relevance of the inputs plus
// what biases, position embeddings and softmax absorb is f_j), and the two
// strategies agreeing.

#include "attribution_test_util.h"
#include "hand_model.h"
#include "model/architectures.h"
#include "model/model_loader.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>

using namespace tokenlens;
using namespace tokenlens::testing;

namespace {

// One Llama block, hidden size 2, one head of dim 2, no biases, RMSNorm with
// eps 0 and weight 1, q/k/v/o projections the identity, the MLP's weights 0
// (its output is 0 and gets no relevance), an untied head. RoPE is made the
// identity by a linear scaling of 1e9 (rotation angles ~1e-9 rad).
std::shared_ptr<CausalLM> handNetwork() {
    const nlohmann::json config = {
        {"model_type", "llama"},      {"architectures", {"LlamaForCausalLM"}},
        {"vocab_size", 2},            {"hidden_size", 2},
        {"num_hidden_layers", 1},     {"num_attention_heads", 1},
        {"num_key_value_heads", 1},   {"intermediate_size", 1},
        {"max_position_embeddings", 16}, {"rms_norm_eps", 0.0},
        {"tie_word_embeddings", false}, {"rope_scaling", {{"type", "linear"}, {"factor", 1e9}}},
        {"hidden_act", "silu"}};
    const std::map<std::string, std::vector<float>> values = {
        {"model.embed_tokens.weight", {1, 1, 1, -1}}, // e_0 = (1, 1), e_1 = (1, -1)
        {"model.layers.0.input_layernorm.weight", {1, 1}},
        {"model.layers.0.self_attn.q_proj.weight", {1, 0, 0, 1}},
        {"model.layers.0.self_attn.k_proj.weight", {1, 0, 0, 1}},
        {"model.layers.0.self_attn.v_proj.weight", {1, 0, 0, 1}},
        {"model.layers.0.self_attn.o_proj.weight", {1, 0, 0, 1}},
        {"model.layers.0.post_attention_layernorm.weight", {1, 1}},
        {"model.layers.0.mlp.gate_proj.weight", {0, 0}},
        {"model.layers.0.mlp.up_proj.weight", {0, 0}},
        {"model.layers.0.mlp.down_proj.weight", {0, 0}},
        {"model.norm.weight", {1, 1}},
        {"lm_head.weight", {1, 2, 0, 0}}, // w = W[0] = (1, 2)
    };
    return handModel(config, values);
}

struct HandValues {
    double s0, s1, c, f;
};

// Prompt [0, 1], output [0]: the one column reads position 1.
//   x_0 = e_0 = (1, 1), x_1 = e_1 = (1, -1); rms of both is 1, so the normed
//   inputs are x_j themselves and q_1 = x_1, k_j = v_j = x_j.
//   Scores z_j = q_1·k_j / √2: z_0 = 0, z_1 = 2/√2 = √2; s = softmax(z):
//   s_1 = e^√2 / (1 + e^√2), s_0 = 1 − s_1.
//   Attention output o = s_0 v_0 + s_1 v_1 = (1, s_0 − s_1);
//   h_1 = x_1 + o = (2, −2 s_1) (the MLP adds 0).
//   Final norm: c = 1/rms(h_1) = 1/√(2 + 2 s_1²); logit f = c w·h_1 = c (2 − 4 s_1).
HandValues handValues() {
    HandValues v{};
    v.s1 = std::exp(std::sqrt(2.0)) / (1 + std::exp(std::sqrt(2.0)));
    v.s0 = 1 - v.s1;
    v.c = 1 / std::sqrt(2 + 2 * v.s1 * v.s1);
    v.f = v.c * (2 - 4 * v.s1);
    return v;
}

// The per-dimension relevances of the two prompt tokens for the logit
// target, as derived in the HandDerivedNetwork tests below, and what the
// attention softmax absorbs.
struct HandRelevance {
    double r0[2], r1[2], absorbed;
    double sum0() const { return r0[0] + r0[1]; }
    double sum1() const { return r1[0] + r1[1]; }
};

HandRelevance handRelevance(const std::string& method, const HandValues& v) {
    if (method == "cp_lrp") {
        return {{v.s0 * v.c, 2 * v.s0 * v.c}, {(1 + v.s1) * v.c, -2 * (1 + v.s1) * v.c}, 0.0};
    }
    const double G = 2 * v.s0 * v.s1 * v.c, b = G / (2 * std::sqrt(2.0));
    return {{b + 0.5 * v.s0 * v.c, -b + v.s0 * v.c},
            {v.c - b + 0.5 * v.s1 * v.c, -2 * v.c - 3 * b - v.s1 * v.c},
            0.5 * v.c * (3 * v.s0 - v.s1) + std::sqrt(2.0) * G};
}

AttributionInput handInput(const CausalLM& model) {
    AttributionInput in;
    in.model = &model;
    in.promptIds = {0, 1};
    in.outputIds = {0};
    return in;
}

} // namespace

TEST(AttnLrp, HandDerivedNetwork) {
    // Backwards from f with g = ∂̃f/∂h_1 = c w = c (1, 2) (the final norm's
    // scale is a constant, so R(h_1) = h_1 ⊙ g sums to f).
    // Residual: R(x_1 via the residual) = x_1 ⊙ g = c (1, −2).
    // o = Σ_j s_j v_j under the uniform rule: each factor gets half the
    // gradient: ∂̃f/∂v_j = ½ s_j g, ∂̃f/∂s_j = ½ v_j·g:
    //   R(v_0) = v_0 ⊙ ½ s_0 g = ½ s_0 c (1, 2),  R(v_1) = ½ s_1 c (1, −2);
    //   g_s0 = ½ c (1 + 2) = 3c/2,  g_s1 = ½ c (1 − 2) = −c/2.
    // Softmax, ordinary gradient: ḡ = s_0 g_s0 + s_1 g_s1,
    //   g_z0 = s_0 (g_s0 − ḡ) = s_0 s_1 (g_s0 − g_s1) = 2 s_0 s_1 c =: G,  g_z1 = −G.
    //   It absorbs Σ_j s_j g_sj − Σ_j z_j g_zj = ½c (3 s_0 − s_1) + √2 G.
    // z_j = q_1·k_j/√2 under the uniform rule (b := G / (2√2)):
    //   ∂̃f/∂q_1 = ½ (g_z0 k_0 + g_z1 k_1)/√2 = ½ G (0, 2)/√2,  R(q_1) = q_1 ⊙ that = (0, −2b);
    //   ∂̃f/∂k_0 = ½ g_z0 q_1/√2,  R(k_0) = k_0 ⊙ that = (b, −b);
    //   ∂̃f/∂k_1 = ½ g_z1 q_1/√2,  R(k_1) = (−b, −b).
    // The projections are the identity and the input norms' scale 1 is a
    // constant, so the token vectors are the sums of their paths:
    //   R_0 = R(k_0) + R(v_0) = (b + ½ s_0 c, −b + s_0 c),            Σ = 3/2 s_0 c;
    //   R_1 = residual + R(q_1) + R(k_1) + R(v_1)
    //       = (c − b + ½ s_1 c, −2c − 3b − s_1 c),                   Σ = −c (1 + s_1/2) − 4b.
    // Check: R_0 + R_1 + absorbed = c (3 s_0 − 1 − s_1) = c (2 − 4 s_1) = f.
    auto model = handNetwork();
    ASSERT_TRUE(model);
    const auto v = handValues();
    const auto hand = handRelevance("attnlrp", v);
    const auto& r0 = hand.r0;
    const auto& r1 = hand.r1;
    const double absorbed = hand.absorbed;
    EXPECT_NEAR(r0[0] + r0[1] + r1[0] + r1[1] + absorbed, v.f, 1e-12); // the derivation adds up
    const auto in = handInput(*model);
    for (const std::string strategy : {"batched", "per_step"}) {
        auto sum = runOrFail("attnlrp", in, {{"strategy", strategy}});
        ASSERT_EQ(sum.matrix.rows, 3);
        EXPECT_NEAR(sum.matrix.at(0, 0), r0[0] + r0[1], 1e-5) << strategy;
        EXPECT_NEAR(sum.matrix.at(1, 0), r1[0] + r1[1], 1e-5) << strategy;
        EXPECT_TRUE(std::isnan(sum.matrix.at(2, 0)));
        ASSERT_EQ(sum.fInput.size(), 1u);
        EXPECT_NEAR(sum.fInput[0], v.f, 1e-5);
        EXPECT_NEAR(sum.convergenceDelta[0], -absorbed, 1e-5) << "what the softmax absorbs";
        auto l2 = runOrFail("attnlrp", in, {{"strategy", strategy}, {"reduction", "l2"}});
        EXPECT_NEAR(l2.matrix.at(0, 0), std::hypot(r0[0], r0[1]), 1e-5) << strategy;
        EXPECT_NEAR(l2.matrix.at(1, 0), std::hypot(r1[0], r1[1]), 1e-5) << strategy;
    }
}

TEST(CpLrp, HandDerivedNetwork) {
    // The attention weights are constants: o = Σ_j s_j v_j is linear in v, so
    // ∂̃f/∂v_j = s_j g and nothing reaches q or k or is absorbed:
    //   R_0 = R(v_0) = s_0 c (1, 2),                      Σ = 3 s_0 c;
    //   R_1 = residual + R(v_1) = (1 + s_1) c (1, −2),    Σ = −(1 + s_1) c;
    //   R_0 + R_1 = c (3 s_0 − 1 − s_1) = f exactly.
    auto model = handNetwork();
    ASSERT_TRUE(model);
    const auto v = handValues();
    const auto in = handInput(*model);
    for (const std::string strategy : {"batched", "per_step"}) {
        auto sum = runOrFail("cp_lrp", in, {{"strategy", strategy}});
        const auto hand = handRelevance("cp_lrp", v);
        EXPECT_NEAR(sum.matrix.at(0, 0), hand.sum0(), 1e-5) << strategy;
        EXPECT_NEAR(sum.matrix.at(1, 0), hand.sum1(), 1e-5) << strategy;
        EXPECT_NEAR(hand.sum0(), 3 * v.s0 * v.c, 1e-12); // the sums of the derivation
        EXPECT_NEAR(hand.sum1(), -(1 + v.s1) * v.c, 1e-12);
        EXPECT_NEAR(sum.convergenceDelta[0], 0.0, 1e-5);
        auto l2 = runOrFail("cp_lrp", in, {{"strategy", strategy}, {"reduction", "l2"}});
        EXPECT_NEAR(l2.matrix.at(0, 0), v.s0 * v.c * std::sqrt(5.0), 1e-5) << strategy;
        EXPECT_NEAR(l2.matrix.at(1, 0), (1 + v.s1) * v.c * std::sqrt(5.0), 1e-5) << strategy;
    }
}

TEST(LrpTargets, ProbabilityAndLogProbabilityThroughTheVocabularySoftmaxRule) {
    // The hand network's logits are z_0 = f (the logit above) and z_1 = 0
    // (W[1] = 0), p_0 = softmax(z)_0 = 1 / (1 + e^−f). The paper's softmax
    // rule (Proposition 3.1, LXT's softmax_fn) with the relevance p_0 on
    // token 0: R(z_i) = z_i (R_i − p_i Σ R) gives R(z_0) = f p_0 (1 − p_0) and
    // R(z_1) = 0, so z_0 passes on the fraction p_0 (1 − p_0) of its value,
    // and below the logits every relevance is the logit target's times
    // p_0 (1 − p_0). The log-probability log p_0 = z_0 − log Σ e^z, taken
    // at x with its bias as Proposition 3.1 takes the softmax: R(z_i) =
    // z_i ∂log p_0/∂z_i, i.e. R(z_0) = f (1 − p_0), the fraction 1 − p_0.
    auto model = handNetwork();
    ASSERT_TRUE(model);
    const auto v = handValues();
    const double p0 = 1 / (1 + std::exp(-v.f));
    const auto in = handInput(*model);
    for (const std::string method : {"attnlrp", "cp_lrp"}) {
        const auto hand = handRelevance(method, v);
        for (const std::string target : {"probability", "log_probability"}) {
            const double fraction = target == "probability" ? p0 * (1 - p0) : 1 - p0;
            for (const std::string strategy : {"batched", "per_step"}) {
                auto out = runOrFail(method, in, {{"strategy", strategy}, {"target_fn", target}});
                ASSERT_EQ(out.targetFn, target);
                EXPECT_NEAR(out.matrix.at(0, 0), fraction * hand.sum0(), 1e-6) << method << " " << target << " " << strategy;
                EXPECT_NEAR(out.matrix.at(1, 0), fraction * hand.sum1(), 1e-6) << method << " " << target << " " << strategy;
                ASSERT_EQ(out.fInput.size(), 1u);
                EXPECT_NEAR(out.fInput[0], target == "probability" ? p0 : std::log(p0), 1e-6);
            }
        }
    }
}

namespace {

struct ConservationParam {
    std::string fixture, method, strategy;
};

class LrpConservation : public ::testing::TestWithParam<ConservationParam> {};

// A private copy of the fixture whose biases and position embeddings take
// gradients (the shared copy's parameters never do).
std::shared_ptr<LoadedModel> gradientCopy(const std::string& name, std::vector<at::Tensor>& absorbing) {
    auto loaded = loadModelFolder(dataDir() / "models" / name);
    EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
    if (!loaded.ok()) return nullptr;
    auto* m = const_cast<TorchCausalLM*>(dynamic_cast<const TorchCausalLM*>(loaded.value()->model.get()));
    EXPECT_NE(m, nullptr);
    if (!m) return nullptr;
    for (auto& p : m->module().named_parameters()) {
        const auto& key = p.key();
        const bool bias = key.size() >= 4 && key.compare(key.size() - 4, 4, "bias") == 0;
        if (bias || key == "transformer.wpe.weight") {
            p.value().set_requires_grad(true);
            absorbing.push_back(p.value());
        }
    }
    return loaded.value();
}

} // namespace

TEST_P(LrpConservation, InputsPlusAbsorbedEqualTheLogit) {
    // For column j, with relevance = value ⊙ modified gradient everywhere:
    // every rule but softmax conserves (the norms and linear maps are linear
    // in their inputs and biases, the identity and uniform rules give back
    // exactly their output's relevance), so
    //   f_j = Σ inputs e ⊙ g_e + Σ biases b ⊙ g_b + Σ wpe ⊙ g_wpe + Σ softmax (R_out − R_in).
    // A softmax row s = softmax(z) with gradient g at s passes R_out = Σ s g
    // and keeps R_in = Σ z ⊙ s ⊙ (g − ḡ), ḡ = Σ s g; as z = log s + const and
    // Σ s (g − ḡ) = 0, R_in = Σ s log s (g − ḡ), read from the probabilities.
    // Tolerance: float32 sums of terms of both signs, 2e-4 of their sizes.
    const auto& p = GetParam();
    std::vector<at::Tensor> absorbing;
    auto m = gradientCopy(p.fixture, absorbing);
    ASSERT_TRUE(m);
    const auto c = goldenFor(p.fixture)["cases"][2];
    const auto in = inputFor(*m, c);
    auto out = runOrFail(p.method, in, {{"strategy", p.strategy}});
    ASSERT_EQ(out.targetFn, "logit");
    const auto& model = *m->model;
    const auto n = static_cast<int64_t>(in.promptIds.size());
    std::vector<int64_t> ids = in.promptIds;
    ids.insert(ids.end(), in.outputIds.begin(), in.outputIds.end());
    double worst = 0;
    for (int64_t j = 0; j < out.matrix.cols; ++j) {
        const int64_t pos = n + j - 1;
        torch::AutoGradMode grad(true);
        auto idT = torch::tensor(std::vector<int64_t>(ids.begin(), ids.begin() + pos + 1)).unsqueeze(0);
        auto x = model.embed(idT).detach().requires_grad_(true);
        std::vector<at::Tensor> probs;
        ForwardOptions fo;
        fo.lrp = p.method == "attnlrp" ? LrpMode::AttnLrp : LrpMode::CpLrp;
        fo.computeLogits = false;
        fo.capture = [&](const std::string& name, const at::Tensor& t) {
            if (name.size() > 10 && name.compare(name.size() - 10, 10, "attn.probs") == 0) probs.push_back(t);
        };
        auto fw = model.forward(x, fo);
        auto f = (fw.finalHidden[0][pos] * model.headMatrix()[ids[static_cast<size_t>(pos + 1)]]).sum();
        std::vector<at::Tensor> wrt = {x};
        wrt.insert(wrt.end(), probs.begin(), probs.end());
        wrt.insert(wrt.end(), absorbing.begin(), absorbing.end());
        auto g = torch::autograd::grad({f}, wrt, {}, false, false, /*allow_unused=*/true);
        const double inputs = (x * g[0]).sum().item<double>();
        double softmax = 0, absorbed = 0, scale = std::abs(f.item<double>()) + std::abs(inputs);
        for (size_t k = 0; k < probs.size(); ++k) {
            const auto& gs = g[1 + k];
            if (!gs.defined()) continue; // cp_lrp: the weights are constants
            auto s = probs[k].detach().to(torch::kFloat64);
            auto gd = gs.to(torch::kFloat64);
            auto mean = (s * gd).sum(-1, true);
            auto slogs = torch::where(s > 0, s * s.log(), torch::zeros_like(s));
            softmax += ((s * gd).sum() - (slogs * (gd - mean)).sum()).item<double>();
        }
        for (size_t k = 0; k < absorbing.size(); ++k) {
            const auto& gb = g[1 + probs.size() + k];
            if (gb.defined()) absorbed += (absorbing[k] * gb).sum().item<double>();
        }
        scale += std::abs(softmax) + std::abs(absorbed);
        const double gap = inputs + softmax + absorbed - f.item<double>();
        worst = std::max(worst, std::abs(gap) / scale);
        EXPECT_LE(std::abs(gap), 2e-4 * scale) << "column " << j;
        // The method's column: the same input relevance, its gap reported.
        double column = 0;
        for (int64_t i = 0; i <= pos; ++i) column += out.matrix.at(i, j);
        EXPECT_NEAR(column, inputs, 2e-4 * scale) << "column " << j;
        EXPECT_NEAR(out.convergenceDelta[static_cast<size_t>(j)], inputs - f.item<double>(), 2e-4 * scale);
        if (j == 0) {
            std::cout << "  " << p.fixture << " " << p.method << " column 0: f " << f.item<double>() << " = inputs "
                      << inputs << " + biases/positions " << absorbed << " + softmax " << softmax << "\n";
        }
    }
    std::cout << "  worst |gap| / scale " << worst << "\n";
}

namespace {

std::vector<ConservationParam> conservationParams() {
    std::vector<ConservationParam> out;
    for (const auto& f : fixtureNames()) {
        for (const char* method : {"attnlrp", "cp_lrp"}) {
            for (const char* s : {"batched", "per_step"}) out.push_back({f, method, s});
        }
    }
    return out;
}

std::string conservationName(const ::testing::TestParamInfo<ConservationParam>& info) {
    std::string s = info.param.fixture + "_" + info.param.method + "_" + info.param.strategy;
    for (auto& ch : s) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    }
    return s;
}

} // namespace

INSTANTIATE_TEST_SUITE_P(Fixtures, LrpConservation, ::testing::ValuesIn(conservationParams()), conservationName);
