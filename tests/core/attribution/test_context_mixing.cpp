// attention_rollout, value_zeroing and alti. On a two-layer GPT-2-layout toy
// model with fixed weights (hidden 4, 2 heads) the three are recomputed here
// from the weights by a plain double-precision reference written from the
// papers' definitions; on the fixture models what must hold: shapes, NaN
// past the causal boundary, rows that sum to 1, nonnegative, deterministic,
// the ALTI decomposition of one position done by hand, cancel, progress and
// option errors.

#include "attribution_test_util.h"
#include "attribution/method.h"
#include "model/model_loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

using namespace tokenlens;
using namespace tokenlens::testing;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- toy model

constexpr int D = 4, H = 2, HD = 2, FF = 8, V = 6, P = 16, NL = 2;
using Vec = std::vector<double>;
using Mat = std::vector<Vec>; // rows

struct ToyWeights {
    std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> tensors;
    // A fixed pattern per tensor: deterministic, varied, of the given scale.
    void add(const std::string& name, std::vector<int64_t> shape, double scale, double offset = 0) {
        int64_t n = 1;
        for (auto s : shape) n *= s;
        std::vector<float> v(static_cast<size_t>(n));
        const double phase = 0.7 * static_cast<double>(tensors.size()) + 0.3;
        for (int64_t k = 0; k < n; ++k) {
            v[static_cast<size_t>(k)] = static_cast<float>(offset + scale * std::sin(1.7 * static_cast<double>(k) + phase) *
                                                                        std::cos(0.45 * static_cast<double>(k * k) + phase));
        }
        tensors[name] = {shape, v};
    }
    const std::vector<float>& at(const std::string& name) const { return tensors.at(name).second; }
    // Conv1D weight [in, out] element
    double w(const std::string& name, int in, int out, int outDim) const {
        return at(name)[static_cast<size_t>(in * outDim + out)];
    }
};

ToyWeights toyWeights() {
    ToyWeights t;
    t.add("transformer.wte.weight", {V, D}, 1.0);
    t.add("transformer.wpe.weight", {P, D}, 0.4);
    for (int l = 0; l < NL; ++l) {
        const std::string p = "transformer.h." + std::to_string(l) + ".";
        t.add(p + "ln_1.weight", {D}, 0.2, 1.0);
        t.add(p + "ln_1.bias", {D}, 0.1);
        t.add(p + "attn.c_attn.weight", {D, 3 * D}, 1.6);
        t.add(p + "attn.c_attn.bias", {3 * D}, 0.2);
        t.add(p + "attn.c_proj.weight", {D, D}, 0.9);
        t.add(p + "attn.c_proj.bias", {D}, 0.1);
        t.add(p + "ln_2.weight", {D}, 0.2, 1.0);
        t.add(p + "ln_2.bias", {D}, 0.1);
        t.add(p + "mlp.c_fc.weight", {D, FF}, 0.8);
        t.add(p + "mlp.c_fc.bias", {FF}, 0.1);
        t.add(p + "mlp.c_proj.weight", {FF, D}, 0.6);
        t.add(p + "mlp.c_proj.bias", {D}, 0.1);
    }
    t.add("transformer.ln_f.weight", {D}, 0.2, 1.0);
    t.add("transformer.ln_f.bias", {D}, 0.1);
    return t;
}

void writeSafetensors(const ToyWeights& t, const fs::path& file) {
    nlohmann::json header = nlohmann::json::object();
    header["__metadata__"] = {{"format", "pt"}};
    uint64_t offset = 0;
    for (const auto& [name, st] : t.tensors) { // std::map: name order
        const uint64_t bytes = st.second.size() * sizeof(float);
        header[name] = {{"dtype", "F32"}, {"shape", st.first}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string text = header.dump();
    while (text.size() % 8 != 0) text.push_back(' ');
    std::ofstream out(file, std::ios::binary);
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, st] : t.tensors) {
        out.write(reinterpret_cast<const char*>(st.second.data()), static_cast<std::streamsize>(st.second.size() * 4));
    }
}

std::shared_ptr<LoadedModel> toyModel(const ToyWeights& w) {
    static std::shared_ptr<LoadedModel> cached;
    if (cached) return cached;
    const fs::path dir = fs::temp_directory_path() / ("tokenlens-toy-gpt2-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    nlohmann::json config = {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"vocab_size", V},
                             {"n_embd", D}, {"n_layer", NL}, {"n_head", H}, {"n_inner", FF}, {"n_positions", P},
                             {"activation_function", "gelu_new"}, {"layer_norm_epsilon", 1e-5},
                             {"tie_word_embeddings", true}, {"bos_token_id", 0}, {"eos_token_id", 0}};
    std::ofstream(dir / "config.json") << config.dump();
    writeSafetensors(w, dir / "model.safetensors");
    LoadOptions o;
    o.loadTokenizer = false;
    auto m = loadModelFolder(dir, o);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    fs::remove_all(dir);
    if (m.ok()) cached = m.value();
    return cached;
}

// The reference: GPT-2 blocks in double precision, straight from the weights.
Vec layerNorm(const Vec& x, const std::vector<float>& g, const std::vector<float>& b) {
    double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= D;
    for (double v : x) var += (v - mean) * (v - mean);
    var /= D;
    Vec out(D);
    for (int k = 0; k < D; ++k) out[k] = (x[k] - mean) / std::sqrt(var + 1e-5) * g[k] + b[k];
    return out;
}

struct BlockTrace {
    Mat ln1, values, attnOut, y, out; // per position
    std::vector<Mat> probs;           // [head][query][key]
};

// One block on x (L x D); token `zero` (if >= 0) has its value vectors zeroed.
BlockTrace block(const ToyWeights& w, int l, const Mat& x, int zero = -1) {
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    const int L = static_cast<int>(x.size());
    BlockTrace t;
    Mat q(L, Vec(D)), k(L, Vec(D));
    t.values.assign(L, Vec(D));
    for (int i = 0; i < L; ++i) {
        t.ln1.push_back(layerNorm(x[i], w.at(p + "ln_1.weight"), w.at(p + "ln_1.bias")));
        for (int o = 0; o < 3 * D; ++o) {
            double s = w.at(p + "attn.c_attn.bias")[o];
            for (int a = 0; a < D; ++a) s += t.ln1[i][a] * w.w(p + "attn.c_attn.weight", a, o, 3 * D);
            if (o < D) q[i][o] = s;
            else if (o < 2 * D) k[i][o - D] = s;
            else t.values[i][o - 2 * D] = i == zero ? 0.0 : s;
        }
    }
    t.probs.assign(H, Mat(L, Vec(L, 0.0)));
    Mat heads(L, Vec(D, 0.0));
    for (int h = 0; h < H; ++h) {
        for (int i = 0; i < L; ++i) {
            Vec s(i + 1);
            double mx = -1e300;
            for (int j = 0; j <= i; ++j) {
                s[j] = 0;
                for (int d = 0; d < HD; ++d) s[j] += q[i][h * HD + d] * k[j][h * HD + d];
                s[j] /= std::sqrt(static_cast<double>(HD));
                mx = std::max(mx, s[j]);
            }
            double z = 0;
            for (int j = 0; j <= i; ++j) z += std::exp(s[j] - mx);
            for (int j = 0; j <= i; ++j) {
                t.probs[h][i][j] = std::exp(s[j] - mx) / z;
                for (int d = 0; d < HD; ++d) heads[i][h * HD + d] += t.probs[h][i][j] * t.values[j][h * HD + d];
            }
        }
    }
    for (int i = 0; i < L; ++i) {
        Vec a(D), y(D);
        for (int o = 0; o < D; ++o) {
            a[o] = w.at(p + "attn.c_proj.bias")[o];
            for (int c = 0; c < D; ++c) a[o] += heads[i][c] * w.w(p + "attn.c_proj.weight", c, o, D);
            y[o] = x[i][o] + a[o];
        }
        auto n2 = layerNorm(y, w.at(p + "ln_2.weight"), w.at(p + "ln_2.bias"));
        Vec f(FF);
        for (int o = 0; o < FF; ++o) {
            double s = w.at(p + "mlp.c_fc.bias")[o];
            for (int c = 0; c < D; ++c) s += n2[c] * w.w(p + "mlp.c_fc.weight", c, o, FF);
            f[o] = 0.5 * s * (1 + std::tanh(std::sqrt(2 / M_PI) * (s + 0.044715 * s * s * s)));
        }
        Vec out(D);
        for (int o = 0; o < D; ++o) {
            double s = w.at(p + "mlp.c_proj.bias")[o];
            for (int c = 0; c < FF; ++c) s += f[c] * w.w(p + "mlp.c_proj.weight", c, o, D);
            out[o] = y[o] + s;
        }
        t.attnOut.push_back(a);
        t.y.push_back(y);
        t.out.push_back(out);
    }
    return t;
}

// Hidden states entering each block (and leaving the last) for ids[0..L-1].
std::vector<Mat> referenceStates(const ToyWeights& w, const std::vector<int64_t>& ids) {
    Mat h;
    for (size_t i = 0; i < ids.size(); ++i) {
        Vec e(D);
        for (int d = 0; d < D; ++d) {
            e[d] = w.at("transformer.wte.weight")[static_cast<size_t>(ids[i] * D + d)] +
                   w.at("transformer.wpe.weight")[i * D + d];
        }
        h.push_back(e);
    }
    std::vector<Mat> states = {h};
    for (int l = 0; l < NL; ++l) states.push_back(block(w, l, states.back()).out);
    return states;
}

Mat normalized(Mat m) {
    for (auto& row : m) {
        double s = 0;
        for (double v : row) s += v;
        for (double& v : row) v /= s;
    }
    return m;
}

Mat matmul(const Mat& a, const Mat& b) {
    Mat c(a.size(), Vec(b[0].size(), 0.0));
    for (size_t i = 0; i < a.size(); ++i)
        for (size_t k = 0; k < b.size(); ++k)
            for (size_t j = 0; j < b[0].size(); ++j) c[i][j] += a[i][k] * b[k][j];
    return c;
}

double cosine(const Vec& a, const Vec& b) {
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < D; ++k) {
        ab += a[k] * b[k];
        aa += a[k] * a[k];
        bb += b[k] * b[k];
    }
    return ab / std::sqrt(aa * bb);
}

// Per-layer matrices of the three methods, by the definitions.
Mat rolloutLayer(const BlockTrace& t, double residual) {
    const size_t L = t.out.size();
    Mat a(L, Vec(L, 0.0));
    for (size_t i = 0; i < L; ++i)
        for (size_t j = 0; j < L; ++j) {
            double mean = 0;
            for (int h = 0; h < H; ++h) mean += t.probs[h][i][j] / H;
            a[i][j] = (1 - residual) * mean + (i == j ? residual : 0.0);
        }
    return normalized(a);
}

Mat valueZeroingLayer(const ToyWeights& w, int l, const Mat& x) {
    const int L = static_cast<int>(x.size());
    const auto clean = block(w, l, x);
    Mat s(L, Vec(L, 0.0));
    for (int i = 0; i < L; ++i) {
        const auto zeroed = block(w, l, x, i);
        for (int p = i; p < L; ++p) s[p][i] = 1 - cosine(clean.out[p], zeroed.out[p]);
    }
    return normalized(s);
}

// ALTI: T_i(x_j) = Σ_h α^h_ij (LN1(x_j) W_V + b_V)^h W_O^h, plus x_i for j = i.
Mat altiLayer(const ToyWeights& w, int l, const Mat& x) {
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    const int L = static_cast<int>(x.size());
    const auto t = block(w, l, x);
    Mat c(L, Vec(L, 0.0));
    for (int i = 0; i < L; ++i) {
        double yNorm = 0;
        for (int d = 0; d < D; ++d) yNorm += std::abs(t.y[i][d]);
        for (int j = 0; j <= i; ++j) {
            Vec tv(D, 0.0);
            for (int o = 0; o < D; ++o) {
                for (int h = 0; h < H; ++h)
                    for (int d = 0; d < HD; ++d)
                        tv[o] += t.probs[h][i][j] * t.values[j][h * HD + d] *
                                 w.w(p + "attn.c_proj.weight", h * HD + d, o, D);
                if (i == j) tv[o] += x[i][o];
            }
            double dist = 0;
            for (int d = 0; d < D; ++d) dist += std::abs(t.y[i][d] - tv[d]);
            c[i][j] = std::max(0.0, yNorm - dist);
        }
    }
    return normalized(c);
}

// --------------------------------------------------------------- helpers

MethodOutput run(const std::string& method, const AttributionInput& in, const nlohmann::json& options,
                 const RunControl& control = {}) {
    const auto* m = findMethod(method);
    EXPECT_NE(m, nullptr) << method;
    if (!m) return {};
    auto resolved = m->resolveOptions(options, &in.model->config(), true);
    EXPECT_TRUE(resolved.ok()) << (resolved.ok() ? "" : resolved.error().message);
    if (!resolved.ok()) return {};
    auto out = m->run(in, *resolved, control);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
    return out.ok() ? *out : MethodOutput{};
}

const std::vector<int64_t> kToyIds = {1, 3, 0, 5, 2, 4}; // n = 3 prompt, t = 3 outputs
constexpr int kToyN = 3;

AttributionInput toyInput(const LoadedModel& m) {
    AttributionInput in;
    in.model = m.model.get();
    in.promptIds.assign(kToyIds.begin(), kToyIds.begin() + kToyN);
    in.outputIds.assign(kToyIds.begin() + kToyN, kToyIds.end());
    return in;
}

// Compares column j of the method's matrix with row p_j of `expected` (width x width).
void expectColumnsMatch(const MethodOutput& out, const Mat& expected, double tol, const std::string& what) {
    const int t = static_cast<int>(kToyIds.size()) - kToyN;
    ASSERT_EQ(out.matrix.rows, static_cast<int64_t>(kToyIds.size())) << what;
    ASSERT_EQ(out.matrix.cols, t) << what;
    for (int j = 0; j < t; ++j) {
        const int pj = kToyN + j - 1;
        for (int i = 0; i < static_cast<int>(kToyIds.size()); ++i) {
            const float a = out.matrix.at(i, j);
            if (i > pj) {
                EXPECT_TRUE(std::isnan(a)) << what << " A[" << i << "," << j << "]";
            } else {
                EXPECT_NEAR(a, expected[pj][i], tol) << what << " A[" << i << "," << j << "]";
            }
        }
    }
}

Mat rolloutOf(const std::vector<Mat>& layers) {
    Mat r = layers[0];
    for (size_t l = 1; l < layers.size(); ++l) r = matmul(layers[l], r);
    return r;
}

} // namespace

// ------------------------------------------------------------------ toy tests

TEST(ContextMixingToy, AttentionRolloutEqualsHandComputed) {
    const auto w = toyWeights();
    auto m = toyModel(w);
    ASSERT_TRUE(m);
    const std::vector<int64_t> ids(kToyIds.begin(), kToyIds.end() - 1); // the last token is never an input
    const auto states = referenceStates(w, ids);
    for (double residual : {0.5, 0.0, 0.8}) {
        std::vector<Mat> layers;
        for (int l = 0; l < NL; ++l) layers.push_back(rolloutLayer(block(w, l, states[l]), residual));
        const auto out = run("attention_rollout", toyInput(*m), {{"residual_weight", residual}});
        expectColumnsMatch(out, rolloutOf(layers), 2e-5, "rollout w=" + std::to_string(residual));
        // One layer alone is that layer's residual-averaged attention.
        const auto one = run("attention_rollout", toyInput(*m), {{"residual_weight", residual}, {"first_layer", 1}});
        expectColumnsMatch(one, layers[1], 2e-5, "layer 1 only");
    }
    // The toy's attention is far from uniform, so the check has teeth.
    const auto t0 = block(w, 0, states[0]);
    EXPECT_GT(std::abs(t0.probs[0][3][0] - 0.25), 0.05);
}

TEST(ContextMixingToy, ValueZeroingEqualsHandComputed) {
    const auto w = toyWeights();
    auto m = toyModel(w);
    ASSERT_TRUE(m);
    const std::vector<int64_t> ids(kToyIds.begin(), kToyIds.end() - 1);
    const auto states = referenceStates(w, ids);
    std::vector<Mat> layers;
    for (int l = 0; l < NL; ++l) layers.push_back(valueZeroingLayer(w, l, states[l]));
    // Chunks of one row and of all rows give the same numbers.
    for (double chunk : {0.005, 3600.0}) {
        const auto out = run("value_zeroing", toyInput(*m), {{"chunk_seconds", chunk}});
        expectColumnsMatch(out, rolloutOf(layers), 2e-4, "value zeroing rollout");
    }
    const auto last = run("value_zeroing", toyInput(*m), {{"combine", "last_layer"}});
    expectColumnsMatch(last, layers[1], 2e-4, "value zeroing last layer");
    const auto first = run("value_zeroing", toyInput(*m), {{"combine", "last_layer"}, {"last_layer", 0}});
    expectColumnsMatch(first, layers[0], 2e-4, "value zeroing layer 0");
    // Zeroing does change the output: the scores are not all on the diagonal.
    EXPECT_LT(layers[0][3][3], 0.9);
}

TEST(ContextMixingToy, AltiEqualsHandComputed) {
    const auto w = toyWeights();
    auto m = toyModel(w);
    ASSERT_TRUE(m);
    const std::vector<int64_t> ids(kToyIds.begin(), kToyIds.end() - 1);
    const auto states = referenceStates(w, ids);
    std::vector<Mat> layers;
    for (int l = 0; l < NL; ++l) layers.push_back(altiLayer(w, l, states[l]));
    const auto out = run("alti", toyInput(*m), {});
    expectColumnsMatch(out, rolloutOf(layers), 2e-5, "alti rollout");
    const auto last = run("alti", toyInput(*m), {{"combine", "last_layer"}});
    expectColumnsMatch(last, layers[1], 2e-5, "alti last layer");
    // The decomposition is exact: Σ_j T_i(x_j) + b_O = y_i (checked on the reference itself).
    const auto t = block(w, 0, states[0]);
    for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
        for (int o = 0; o < D; ++o) {
            double sum = w.at("transformer.h.0.attn.c_proj.bias")[o] + states[0][i][o];
            for (int j = 0; j <= i; ++j)
                for (int h = 0; h < H; ++h)
                    for (int d = 0; d < HD; ++d)
                        sum += t.probs[h][i][j] * t.values[j][h * HD + d] *
                               w.w("transformer.h.0.attn.c_proj.weight", h * HD + d, o, D);
            EXPECT_NEAR(sum, t.y[i][o], 1e-9);
        }
    }
}

// ------------------------------------------------------------- fixture tests

namespace {

AttributionInput fixtureInput(const LoadedModel& m, int caseIndex) {
    return inputFor(m, goldenFor(m.name)["cases"][caseIndex]);
}

const std::vector<std::string> kMethods = {"attention_rollout", "value_zeroing", "alti"};

class ContextMixing : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(ContextMixing, ShapesCausalRowsSumToOneNonnegativeDeterministic) {
    auto m = fixture(GetParam());
    ASSERT_TRUE(m);
    const auto in = fixtureInput(*m, 1);
    const int64_t n = static_cast<int64_t>(in.promptIds.size()), t = static_cast<int64_t>(in.outputIds.size());
    for (const auto& method : kMethods) {
        for (const nlohmann::json& opts : {nlohmann::json::object(), nlohmann::json{{"combine", "last_layer"}}}) {
            if (method == "attention_rollout" && opts.contains("combine")) continue;
            const auto a = run(method, in, opts);
            ASSERT_EQ(a.matrix.rows, n + t) << method;
            ASSERT_EQ(a.matrix.cols, t) << method;
            EXPECT_EQ(a.targetFn, "");
            EXPECT_EQ(a.reduction, "");
            for (int64_t j = 0; j < t; ++j) {
                double sum = 0;
                for (int64_t i = 0; i < n + t; ++i) {
                    const float v = a.matrix.at(i, j);
                    if (i > n + j - 1) {
                        EXPECT_TRUE(std::isnan(v)) << method << " A[" << i << "," << j << "]";
                        continue;
                    }
                    ASSERT_TRUE(std::isfinite(v)) << method << " A[" << i << "," << j << "]";
                    EXPECT_GE(v, 0.0f) << method << " A[" << i << "," << j << "]";
                    sum += v;
                }
                EXPECT_NEAR(sum, 1.0, 1e-4) << method << " " << opts.dump() << " column " << j;
            }
            // Deterministic: with chunks sized by count (not time) the same
            // run twice gives the same bits; time-sized chunks agree to rounding.
            auto fixed = opts;
            if (method != "attention_rollout") fixed["chunk_seconds"] = 3600;
            const auto b = run(method, in, fixed);
            const auto c = run(method, in, fixed);
            for (size_t k = 0; k < a.matrix.data.size(); ++k) {
                const float x = a.matrix.data[k];
                if (std::isnan(x)) continue;
                EXPECT_EQ(b.matrix.data[k], c.matrix.data[k]) << method << " cell " << k;
                EXPECT_NEAR(x, b.matrix.data[k], 1e-5) << method << " cell " << k;
            }
        }
    }
}

TEST_P(ContextMixing, AltiDecomposesOnePositionByHand) {
    // Layer 1 alone (combine last_layer): column t-1 is position p = L-2's
    // contributions, computed here from the block's captured value vectors,
    // attention weights and output projection, one input token at a time.
    auto m = fixture(GetParam());
    ASSERT_TRUE(m);
    const auto in = fixtureInput(*m, 0);
    const auto& cfg = m->config;
    const int64_t n = static_cast<int64_t>(in.promptIds.size()), t = static_cast<int64_t>(in.outputIds.size());
    const int64_t width = n + t - 1, p = width - 1;
    torch::NoGradGuard noGrad;
    std::vector<int64_t> ids = in.promptIds;
    ids.insert(ids.end(), in.outputIds.begin(), in.outputIds.end() - 1);
    auto embeds = m->model->embed(torch::tensor(ids).unsqueeze(0));
    ForwardOptions fo;
    fo.outputHiddenStates = true;
    fo.computeLogits = false;
    const auto full = m->model->forward(embeds, fo);
    const int64_t layer = cfg.numLayers - 1;
    at::Tensor values, probs, outScale;
    ForwardOptions bo;
    bo.blocks = BlockRange{layer, layer + 1};
    bo.capture = [&](const std::string& name, const at::Tensor& v) {
        if (name.ends_with("attn.values")) values = v[0].clone();
        if (name.ends_with("attn.probs")) probs = v[0].clone();
        if (name.ends_with("attn.out_scale")) outScale = v[0].clone(); // Gemma's post-attention norm
    };
    const auto again = m->model->forward(full.hiddenStates[layer], bo);
    // The block range reproduces the full model's stream.
    EXPECT_LT((again.lastHidden - full.hiddenStates[layer + 1]).abs().max().item<double>(), 1e-5);
    const auto proj = m->model->attentionOutputProjection(layer);
    const auto x = full.hiddenStates[layer][0];
    // y_p = x_p + s_p ⊙ (Σ_h Σ_j α^h_pj v^{kv(h)}_j W_O^h + b_O), built token by
    // token; s_p = 1 except for a norm on the attention output (Gemma 3).
    EXPECT_EQ(outScale.defined(), cfg.gemmaNorms);
    const auto s = outScale.defined() ? outScale[p] : torch::ones({cfg.hiddenSize});
    const int64_t groups = cfg.numHeads / cfg.numKvHeads;
    std::vector<at::Tensor> contrib;
    at::Tensor y = proj.bias.defined() ? proj.bias * s : torch::zeros({cfg.hiddenSize});
    for (int64_t j = 0; j <= p; ++j) {
        at::Tensor tj = torch::zeros({cfg.hiddenSize});
        for (int64_t h = 0; h < cfg.numHeads; ++h) {
            const auto wo = proj.weight.slice(0, h * cfg.headDim, (h + 1) * cfg.headDim); // (hd, hidden)
            tj += probs[h][p][j].item<double>() * torch::matmul(values[h / groups][j], wo);
        }
        tj = tj * s;
        if (j == p) tj += x[p]; // the residual
        y += tj;
        contrib.push_back(tj);
    }
    const double yNorm = y.abs().sum().item<double>();
    std::vector<double> c;
    double total = 0;
    for (const auto& tj : contrib) {
        c.push_back(std::max(0.0, yNorm - (y - tj).abs().sum().item<double>()));
        total += c.back();
    }
    const auto out = run("alti", in, {{"combine", "last_layer"}});
    for (int64_t j = 0; j <= p; ++j) {
        EXPECT_NEAR(out.matrix.at(j, t - 1), c[static_cast<size_t>(j)] / total, 1e-5) << "token " << j;
    }
    // y from the decomposition equals the block's attention output plus residual.
    at::Tensor attnOut;
    ForwardOptions co;
    co.blocks = BlockRange{layer, layer + 1};
    co.capture = [&](const std::string& name, const at::Tensor& v) {
        if (name.ends_with("attn.out")) attnOut = v[0].clone();
    };
    m->model->forward(full.hiddenStates[layer], co);
    EXPECT_LT((y - (x[p] + attnOut[p])).abs().max().item<double>(), 1e-4);
}

TEST_P(ContextMixing, CancelStopsAtOnceAndProgressReachesTotal) {
    auto m = fixture(GetParam());
    ASSERT_TRUE(m);
    const auto in = fixtureInput(*m, 2);
    const int64_t n = static_cast<int64_t>(in.promptIds.size()), t = static_cast<int64_t>(in.outputIds.size());
    for (const auto& method : kMethods) {
        const auto* meth = findMethod(method);
        auto resolved = meth->resolveOptions(nlohmann::json::object(), &m->config);
        ASSERT_TRUE(resolved.ok());
        int64_t lastDone = -1, lastTotal = -1;
        RunControl control;
        control.progress = [&](int64_t done, int64_t total) {
            EXPECT_GE(done, lastDone) << method;
            lastDone = done;
            lastTotal = total;
        };
        auto full = meth->run(in, *resolved, control);
        ASSERT_TRUE(full.ok());
        // The run knows the model's depth (exact total, see
        // ProgressTotalExactForEveryLayerRange); the estimate without it is an upper bound.
        EXPECT_LE(lastTotal, meth->estimateWork(n, t, *resolved)) << method;
        EXPECT_EQ(lastDone, lastTotal) << method;

        // Cancelled at the first report: nothing more is computed.
        bool cancel = false;
        int reportsAfter = 0;
        control.isCancelled = [&] { return cancel; };
        control.progress = [&](int64_t, int64_t) {
            if (cancel) ++reportsAfter;
            cancel = true;
        };
        auto stopped = meth->run(in, *resolved, control);
        ASSERT_TRUE(stopped.ok());
        if (method == "attention_rollout") {
            // One pass: a cancel is seen before it starts.
            cancel = true;
            stopped = meth->run(in, *resolved, control);
            ASSERT_TRUE(stopped.ok());
            EXPECT_EQ(stopped->forwardPasses, 1);
        } else {
            EXPECT_EQ(stopped->forwardPasses, 1) << method; // the clean pass only
            EXPECT_EQ(reportsAfter, 0) << method;
        }
        EXPECT_TRUE(stopped->cancelled) << method;
    }
}

TEST_P(ContextMixing, ProgressTotalExactForEveryLayerRange) {
    // The total a run reports is what its units add up to (no jump at the
    // end), for the default range and for others, counted here from the
    // definitions: value_zeroing recomputes positions i.. of each zeroed
    // token i in every computed layer (the last from n − 1), a position
    // through one layer being 1/L unit; alti runs each computed layer once
    // and decomposes its (query, key) pairs (32 pairs per unit, the last
    // layer's queries from n − 1).
    auto m = fixture(GetParam());
    ASSERT_TRUE(m);
    const auto in = fixtureInput(*m, 2);
    const int64_t n = static_cast<int64_t>(in.promptIds.size()), t = static_cast<int64_t>(in.outputIds.size());
    const int64_t width = n + t - 1, layers = m->config.numLayers;
    ASSERT_GE(layers, 2);
    const std::vector<nlohmann::json> ranges = {
        nlohmann::json::object(),
        {{"first_layer", 1}},
        {{"last_layer", 0}},
        {{"first_layer", 0}, {"last_layer", layers - 2}},
        {{"combine", "last_layer"}, {"last_layer", 0}},
        {{"combine", "last_layer"}},
    };
    for (const std::string method : {"value_zeroing", "alti"}) {
        const auto* meth = findMethod(method);
        for (const auto& range : ranges) {
            auto resolved = meth->resolveOptions(range, &m->config);
            ASSERT_TRUE(resolved.ok()) << resolved.error().message;
            const int64_t last = range.contains("last_layer") ? range["last_layer"].get<int64_t>() : layers - 1;
            const int64_t first = range.value("combine", "rollout") == "last_layer" ? last : range.value("first_layer", 0);
            double units = 0; // beyond the clean pass
            for (int64_t l = first; l <= last; ++l) {
                const int64_t qmin = l == last ? n - 1 : 0;
                if (method == "value_zeroing") {
                    for (int64_t i = 0; i < width; ++i) {
                        for (int64_t p = std::max(i, qmin); p < width; ++p) units += 1.0 / static_cast<double>(layers);
                    }
                } else {
                    units += static_cast<double>(width) / static_cast<double>(layers);
                    for (int64_t q = qmin; q < width; ++q) units += (q + 1) / 32.0 / static_cast<double>(layers);
                }
            }
            const int64_t expected = width + static_cast<int64_t>(std::ceil(units - 1e-9));
            std::vector<int64_t> done;
            int64_t total = -1;
            RunControl control;
            control.progress = [&](int64_t d, int64_t tot) {
                done.push_back(d);
                total = tot;
            };
            auto out = meth->run(in, *resolved, control);
            ASSERT_TRUE(out.ok()) << out.error().message;
            EXPECT_EQ(total, expected) << method << " " << range.dump();
            EXPECT_LE(total, meth->estimateWork(n, t, *resolved)) << method << " " << range.dump();
            ASSERT_GE(done.size(), 2u);
            // Before the final report the units already reached the total (up to one for rounding).
            EXPECT_GE(done[done.size() - 2], total - 1) << method << " " << range.dump();
            EXPECT_EQ(done.back(), total);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ContextMixing, ::testing::ValuesIn(fixtureNames()), fixtureTestName);

TEST(ContextMixingOptions, BadValuesNameTheOption) {
    auto m = fixture("tiny-gpt2");
    ASSERT_TRUE(m);
    for (const auto& method : kMethods) {
        const auto* meth = findMethod(method);
        ASSERT_NE(meth, nullptr) << method;
        auto tooDeep = meth->resolveOptions({{"last_layer", 2}}, &m->config);
        ASSERT_FALSE(tooDeep.ok());
        EXPECT_NE(tooDeep.error().message.find("'last_layer' is 2 but the model has 2 layers"), std::string::npos)
            << tooDeep.error().message;
        auto first = meth->resolveOptions({{"first_layer", 5}}, &m->config);
        ASSERT_FALSE(first.ok());
        EXPECT_NE(first.error().message.find("first_layer"), std::string::npos) << first.error().message;
        auto order = meth->resolveOptions({{"first_layer", 1}, {"last_layer", 0}});
        ASSERT_FALSE(order.ok());
        EXPECT_NE(order.error().message.find("'first_layer' (1) is after option 'last_layer' (0)"), std::string::npos)
            << order.error().message;
        auto word = meth->resolveOptions({{"last_layer", "top"}});
        ASSERT_FALSE(word.ok());
        EXPECT_NE(word.error().message.find("last_layer"), std::string::npos);
        auto negative = meth->resolveOptions({{"first_layer", -1}});
        ASSERT_FALSE(negative.ok());
        EXPECT_NE(negative.error().message.find("first_layer"), std::string::npos);
        EXPECT_TRUE(meth->resolveOptions({{"first_layer", 1}, {"last_layer", "1"}}, &m->config).ok());
        // A model the options were not checked against fails at run time, with the same message.
        auto unchecked = meth->resolveOptions({{"first_layer", 7}});
        ASSERT_TRUE(unchecked.ok());
        auto ran = meth->run(fixtureInput(*m, 0), *unchecked, {});
        ASSERT_FALSE(ran.ok());
        EXPECT_NE(ran.error().message.find("first_layer"), std::string::npos) << ran.error().message;
    }
    auto combine = findMethod("alti")->resolveOptions({{"combine", "sum"}});
    ASSERT_FALSE(combine.ok());
    EXPECT_NE(combine.error().message.find("combine"), std::string::npos);
    auto residual = findMethod("attention_rollout")->resolveOptions({{"residual_weight", 1.5}});
    ASSERT_FALSE(residual.ok());
    EXPECT_NE(residual.error().message.find("residual_weight"), std::string::npos);
    // An empty prompt is an error, not a crash.
    AttributionInput empty;
    empty.model = m->model.get();
    empty.outputIds = {5};
    for (const auto& method : kMethods) {
        auto r = findMethod(method)->resolveOptions(nlohmann::json::object());
        auto out = findMethod(method)->run(empty, *r, {});
        ASSERT_FALSE(out.ok()) << method;
        EXPECT_NE(out.error().message.find("no tokens"), std::string::npos);
    }
    // No output tokens: an empty matrix, not a crash.
    AttributionInput noOutput;
    noOutput.model = m->model.get();
    noOutput.promptIds = {5};
    for (const auto& method : kMethods) {
        auto r = findMethod(method)->resolveOptions(nlohmann::json::object());
        auto out = findMethod(method)->run(noOutput, *r, {});
        ASSERT_TRUE(out.ok()) << method;
        EXPECT_EQ(out->matrix.rows, 1);
        EXPECT_EQ(out->matrix.cols, 0);
    }
}
