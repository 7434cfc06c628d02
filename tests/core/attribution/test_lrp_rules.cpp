// attnlrp and cp_lrp: the rules the attention-only hand network of
// test_lrp.cpp does not reach, each on a network small enough to propagate
// relevance on paper: the gated MLP (SiLU by the identity rule, gate · up by
// the uniform rule) and GPT-2's MLP (LayerNorm with its centering, GELU by
// the identity rule). Attention is switched off in both (its output
// projection is 0), so nothing is absorbed and the relevances add up to the
// logit exactly. The checks read the per-token sum and L2 norm over the
// hidden dimension: the sum checks conservation, the norm the split between
// the dimensions (a rule that conserves but sends the relevance to the wrong
// factor or the wrong dimension changes it).

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

// Prompt [0], output [0]: the one column reads position 0, row 0 is the
// prompt token's relevance.
AttributionInput oneTokenInput(const CausalLM& model) {
    AttributionInput in;
    in.model = &model;
    in.promptIds = {0};
    in.outputIds = {0};
    return in;
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// GPT-2's gelu_new: ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))).
double geluNew(double x) {
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

void expectRelevance(const std::string& method, const AttributionInput& in, const double r[2], double f) {
    for (const std::string strategy : {"batched", "per_step"}) {
        auto sum = runOrFail(method, in, {{"strategy", strategy}});
        ASSERT_EQ(sum.matrix.rows, 2);
        EXPECT_NEAR(sum.matrix.at(0, 0), r[0] + r[1], 1e-5) << method << " " << strategy;
        ASSERT_EQ(sum.fInput.size(), 1u);
        EXPECT_NEAR(sum.fInput[0], f, 1e-5) << method;
        EXPECT_NEAR(sum.convergenceDelta[0], 0.0, 1e-5) << method << ": nothing is absorbed";
        auto l2 = runOrFail(method, in, {{"strategy", strategy}, {"reduction", "l2"}});
        EXPECT_NEAR(l2.matrix.at(0, 0), std::hypot(r[0], r[1]), 1e-5) << method << " " << strategy;
    }
}

} // namespace

TEST(LrpRules, GatedMlpIdentityThenUniform) {
    // One Llama block, hidden size 2, intermediate size 1, RMSNorms with eps 0
    // and weight 1, attention's output projection 0 (no relevance reaches or
    // leaves attention), untied head w = W[0] = (1, 2).
    //   x = e_0 = (1, −1), rms 1: the MLP's normed input is x itself.
    //   gate = (1, 0)·x = 1, up = (0, 2)·x = −2, a = silu(gate) = σ(1) =: σ,
    //   act = a · up = −2σ, the MLP's output (1, 0) act, h = x + (−2σ, 0).
    //   Final norm: r = 1/rms(h) a constant; f = r w·h = r (−1 − 2σ).
    // Backwards: g_h = r w = r (1, 2); the residual gives x ⊙ g_h = r (1, −2).
    //   g_act = (1, 0)·g_h = r. Uniform rule on a · up: each factor half the
    //   gradient: g_a = ½ r up = −r, g_up = ½ r a = ½ r σ.
    //   Identity rule on a = silu(gate): g_gate = g_a · a / gate = −r σ, so
    //   R(gate) = −r σ = R(a) = ½ R(act), R(up) = up g_up = −r σ = ½ R(act).
    //   Back to x (the norm's scale 1 is a constant): g_x = g_gate (1, 0) +
    //   g_up (0, 2) = r σ (−1, 1), x ⊙ g_x = (−r σ, −r σ).
    //   R_0 = r (1 − σ, −2 − σ), Σ = r (−1 − 2σ) = f.
    // (The ordinary gradient would use silu'(1) = σ (2 − σ) for the gate and
    // the full gradient for both factors, and would not add up to f.)
    const nlohmann::json config = {
        {"model_type", "llama"},      {"architectures", {"LlamaForCausalLM"}},
        {"vocab_size", 2},            {"hidden_size", 2},
        {"num_hidden_layers", 1},     {"num_attention_heads", 1},
        {"num_key_value_heads", 1},   {"intermediate_size", 1},
        {"max_position_embeddings", 16}, {"rms_norm_eps", 0.0},
        {"tie_word_embeddings", false}, {"hidden_act", "silu"}};
    auto model = handModel(config, {
        {"model.embed_tokens.weight", {1, -1, 1, 1}}, // e_0 = (1, −1)
        {"model.layers.0.input_layernorm.weight", {1, 1}},
        {"model.layers.0.self_attn.q_proj.weight", {1, 0, 0, 1}},
        {"model.layers.0.self_attn.k_proj.weight", {1, 0, 0, 1}},
        {"model.layers.0.self_attn.v_proj.weight", {1, 0, 0, 1}},
        {"model.layers.0.self_attn.o_proj.weight", {0, 0, 0, 0}},
        {"model.layers.0.post_attention_layernorm.weight", {1, 1}},
        {"model.layers.0.mlp.gate_proj.weight", {1, 0}},
        {"model.layers.0.mlp.up_proj.weight", {0, 2}},
        {"model.layers.0.mlp.down_proj.weight", {1, 0}},
        {"model.norm.weight", {1, 1}},
        {"lm_head.weight", {1, 2, 0, 0}},
    });
    ASSERT_TRUE(model);
    const double s = sigmoid(1.0);
    const double hx = 1 - 2 * s, hy = -1;
    const double r = 1 / std::sqrt((hx * hx + hy * hy) / 2);
    const double f = r * (-1 - 2 * s);
    const double rel[2] = {r * (1 - s), r * (-2 - s)};
    EXPECT_NEAR(rel[0] + rel[1], f, 1e-12); // the derivation adds up
    const auto in = oneTokenInput(*model);
    // No attention path: cp_lrp's rules are attnlrp's here.
    for (const std::string method : {"attnlrp", "cp_lrp"}) expectRelevance(method, in, rel, f);
}

TEST(LrpRules, Gpt2LayerNormCenteringAndGeluIdentity) {
    // One GPT-2 block, hidden size 2, inner size 1, LayerNorms with eps 0,
    // weight 1 and bias 0, every bias 0, position embeddings 0, attention's
    // output projection 0, untied head w = W[0] = (1, 2).
    //   x = e_0 = (3, 1): mean 2, σ 1, ln_2(x) = (1, −1).
    //   fc = (1, 0)·ln_2(x) = 1, a = gelu_new(1) =: γ, the MLP's output
    //   (γ, 0), h = (3 + γ, 1): mean 2 + γ/2, centred ±d with d = 1 + γ/2,
    //   σ = d, ln_f(h) = (1, −1), f = w·(1, −1) = −1.
    // LayerNorm with 1/σ a constant and its centering linear: for an output
    // gradient g, u = g w / σ and the input gradient is u − mean(u).
    //   ln_f: u = (1, 2)/d, g_h = (−½, ½)/d; the residual gives
    //   x ⊙ g_h = (−3/2, 1/2)/d.
    //   g_a = (1, 0)·g_h = −1/(2d); identity rule on a = gelu_new(fc):
    //   g_fc = g_a · γ / 1, so R(fc) = R(a) = −γ/(2d).
    //   ln_2: u = (g_fc, 0) / 1, g_x = u − mean(u) = (−γ/4, γ/4)/d,
    //   x ⊙ g_x = (−3γ/4, γ/4)/d, Σ = −γ/(2d) = R(fc).
    //   R_0 = (−3/2 − 3γ/4, 1/2 + γ/4)/d, Σ = −(1 + γ/2)/d = −1 = f.
    // (Without the centering ln_2 would give x ⊙ u = (−3γ/2, 0)/d, without
    // the identity rule the gradient gelu_new'(1) ≈ 1.083 instead of γ ≈ 0.841:
    // neither adds up to f.)
    const nlohmann::json config = {
        {"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}},
        {"vocab_size", 2},      {"n_embd", 2}, {"n_layer", 1}, {"n_head", 1}, {"n_inner", 1},
        {"n_positions", 4},     {"activation_function", "gelu_new"}, {"layer_norm_epsilon", 0.0},
        {"tie_word_embeddings", false}};
    auto model = handModel(config, {
        {"transformer.wte.weight", {3, 1, 1, 1}}, // e_0 = (3, 1)
        {"transformer.wpe.weight", std::vector<float>(8, 0.0f)},
        {"transformer.h.0.ln_1.weight", {1, 1}},
        {"transformer.h.0.ln_1.bias", {0, 0}},
        {"transformer.h.0.attn.c_attn.weight", std::vector<float>(12, 0.0f)},
        {"transformer.h.0.attn.c_attn.bias", std::vector<float>(6, 0.0f)},
        {"transformer.h.0.attn.c_proj.weight", {0, 0, 0, 0}},
        {"transformer.h.0.attn.c_proj.bias", {0, 0}},
        {"transformer.h.0.ln_2.weight", {1, 1}},
        {"transformer.h.0.ln_2.bias", {0, 0}},
        {"transformer.h.0.mlp.c_fc.weight", {1, 0}}, // Conv1D, stored [in, out]
        {"transformer.h.0.mlp.c_fc.bias", {0}},
        {"transformer.h.0.mlp.c_proj.weight", {1, 0}},
        {"transformer.h.0.mlp.c_proj.bias", {0, 0}},
        {"transformer.ln_f.weight", {1, 1}},
        {"transformer.ln_f.bias", {0, 0}},
        {"lm_head.weight", {1, 2, 0, 0}},
    });
    ASSERT_TRUE(model);
    const double g = geluNew(1.0);
    const double d = 1 + g / 2;
    const double f = -1;
    const double rel[2] = {(-1.5 - 0.75 * g) / d, (0.5 + 0.25 * g) / d};
    EXPECT_NEAR(rel[0] + rel[1], f, 1e-12); // the derivation adds up
    const auto in = oneTokenInput(*model);
    for (const std::string method : {"attnlrp", "cp_lrp"}) expectRelevance(method, in, rel, f);
}
