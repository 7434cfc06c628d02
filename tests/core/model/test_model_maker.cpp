// make-model (core/model/model_maker.h): 2-layer folders in the shapes of
// Qwen2.5-0.5B and Llama 3.2 1B. Their config.json holds the public values,
// the index covers every tensor, the tensors carry Hugging Face's names and
// shapes in bfloat16, the folder loads and generates, and a seed gives
// byte-identical files.

#include "io/model_config.h"
#include "io/safetensors.h"
#include "model/generation.h"
#include "model/model_loader.h"
#include "model/model_maker.h"

#include "../io/io_test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <unistd.h>

using namespace tokenlens;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A temporary folder, deleted with what it holds (the io tests' TempDir).
using ScratchDir = tokenlens::testing::TempDir;

json readJson(const fs::path& file) {
    std::ifstream in(file);
    return json::parse(in);
}

std::string readBytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

MakeModelReport make(const std::string& like, const fs::path& out, uint64_t seed = 7, uint64_t shard = 2'000'000'000) {
    MakeModelOptions o;
    o.like = like;
    o.out = out;
    o.seed = seed;
    o.layers = 2;
    o.maxShardBytes = shard;
    auto r = makeModel(o);
    if (!r) throw std::runtime_error(r.error().message);
    return *r;
}

// The tensors of a Hugging Face Llama-layout checkpoint with `layers`
// blocks, written out from the public architecture (not from our loader):
// name -> shape.
std::map<std::string, std::vector<int64_t>> expectedTensors(int64_t layers, int64_t hidden, int64_t heads,
                                                            int64_t kvHeads, int64_t headDim, int64_t mlp,
                                                            int64_t vocab, bool qkvBias) {
    std::map<std::string, std::vector<int64_t>> t;
    t["model.embed_tokens.weight"] = {vocab, hidden};
    t["model.norm.weight"] = {hidden};
    for (int64_t i = 0; i < layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        t[p + "input_layernorm.weight"] = {hidden};
        t[p + "post_attention_layernorm.weight"] = {hidden};
        t[p + "self_attn.q_proj.weight"] = {heads * headDim, hidden};
        t[p + "self_attn.k_proj.weight"] = {kvHeads * headDim, hidden};
        t[p + "self_attn.v_proj.weight"] = {kvHeads * headDim, hidden};
        t[p + "self_attn.o_proj.weight"] = {hidden, heads * headDim};
        if (qkvBias) {
            t[p + "self_attn.q_proj.bias"] = {heads * headDim};
            t[p + "self_attn.k_proj.bias"] = {kvHeads * headDim};
            t[p + "self_attn.v_proj.bias"] = {kvHeads * headDim};
        }
        t[p + "mlp.gate_proj.weight"] = {mlp, hidden};
        t[p + "mlp.up_proj.weight"] = {mlp, hidden};
        t[p + "mlp.down_proj.weight"] = {hidden, mlp};
    }
    return t;
}

// Every tensor in the index is in its shard with the expected shape, in BF16,
// and the index lists exactly the expected tensors; total_size adds up.
void checkWeights(const fs::path& dir, const std::map<std::string, std::vector<int64_t>>& expected) {
    const json index = readJson(dir / "model.safetensors.index.json");
    std::set<std::string> listed;
    uint64_t total = 0;
    for (const auto& [name, file] : index.at("weight_map").items()) {
        listed.insert(name);
        auto st = SafetensorsFile::open(dir / file.get<std::string>());
        ASSERT_TRUE(st) << st.error().message;
        const TensorInfo* t = (*st)->find(name);
        ASSERT_NE(t, nullptr) << name << " not in " << file;
        EXPECT_EQ(t->dtype, DType::BF16) << name;
        ASSERT_TRUE(expected.count(name)) << "unexpected tensor " << name;
        EXPECT_EQ(t->shape, expected.at(name)) << name;
        total += t->dataEnd - t->dataBegin;
    }
    std::set<std::string> want;
    for (const auto& [name, shape] : expected) want.insert(name);
    EXPECT_EQ(listed, want);
    EXPECT_EQ(index.at("metadata").at("total_size").get<uint64_t>(), total);
    // No tensor in a shard that the index does not name.
    std::set<std::string> inFiles;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".safetensors") continue;
        auto st = SafetensorsFile::open(entry.path());
        ASSERT_TRUE(st) << st.error().message;
        for (const auto& t : (*st)->header().tensors) EXPECT_TRUE(inFiles.insert(t.name).second) << t.name << " twice";
    }
    EXPECT_EQ(inFiles, want);
}

void loadsAndGenerates(const fs::path& dir, const std::string& prompt) {
    auto m = loadModelFolder(dir);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ((*m)->storedDtype, "bfloat16");
    auto enc = (*m)->tokenizer->encode(prompt);
    ASSERT_TRUE(enc) << enc.error().message;
    const std::vector<int64_t> ids(enc->ids.begin(), enc->ids.end());
    ASSERT_FALSE(ids.empty());
    GenerationOptions g;
    g.maxNewTokens = 3;
    g.stopAtEos = false;
    auto out = generate(*(*m)->model, ids, g);
    ASSERT_TRUE(out) << out.error().message;
    ASSERT_EQ(out->ids.size(), 3u);
    for (double p : out->scores.probability) EXPECT_TRUE(std::isfinite(p) && p > 0 && p <= 1);
}

} // namespace

TEST(ModelMaker, Qwen25HalfBillionShapes) {
    ScratchDir dir;
    const auto r = make("qwen2.5-0.5b", dir.path());
    // Public Qwen/Qwen2.5-0.5B config.json values.
    const json c = readJson(dir.path() / "config.json");
    EXPECT_EQ(c.at("architectures"), json::array({"Qwen2ForCausalLM"}));
    EXPECT_EQ(c.at("hidden_size"), 896);
    EXPECT_EQ(c.at("intermediate_size"), 4864);
    EXPECT_EQ(c.at("num_attention_heads"), 14);
    EXPECT_EQ(c.at("num_key_value_heads"), 2);
    EXPECT_EQ(c.at("num_hidden_layers"), 2); // --layers
    EXPECT_EQ(c.at("vocab_size"), 151936);
    EXPECT_EQ(c.at("tie_word_embeddings"), true);
    EXPECT_EQ(c.at("rope_theta").get<double>(), 1e6);
    EXPECT_EQ(c.at("rms_norm_eps").get<double>(), 1e-6);
    EXPECT_EQ(c.at("torch_dtype"), "bfloat16");
    EXPECT_EQ(c.at("bos_token_id"), 151643);
    EXPECT_EQ(readJson(dir.path() / "generation_config.json").at("eos_token_id"), 151643);
    // Tied: no lm_head.weight; Qwen2 has q/k/v biases. head_dim 896 / 14 = 64.
    checkWeights(dir.path(), expectedTensors(2, 896, 14, 2, 64, 4864, 151936, true));
    EXPECT_EQ(r.parameters, 151936 * 896 + 896 + 2 * (2 * 896 + 896 * 896 + 2 * 128 * 896 + 896 + 2 * 128 +
                                                      896 * 896 + 3 * 4864 * 896));
    EXPECT_TRUE(fs::is_regular_file(dir.path() / "tokenizer.json"));
    loadsAndGenerates(dir.path(), "The quick brown fox");
}

TEST(ModelMaker, Llama32OneBillionShapesInShards) {
    ScratchDir dir;
    // 300 MB shards: the 525 MB embedding alone, then the rest.
    const auto r = make("llama-3.2-1b", dir.path(), 7, 300'000'000);
    const json c = readJson(dir.path() / "config.json");
    EXPECT_EQ(c.at("architectures"), json::array({"LlamaForCausalLM"}));
    EXPECT_EQ(c.at("hidden_size"), 2048);
    EXPECT_EQ(c.at("intermediate_size"), 8192);
    EXPECT_EQ(c.at("num_attention_heads"), 32);
    EXPECT_EQ(c.at("num_key_value_heads"), 8);
    EXPECT_EQ(c.at("head_dim"), 64);
    EXPECT_EQ(c.at("vocab_size"), 128256);
    EXPECT_EQ(c.at("tie_word_embeddings"), true);
    EXPECT_EQ(c.at("rope_theta").get<double>(), 5e5);
    const json& rs = c.at("rope_scaling");
    EXPECT_EQ(rs.at("rope_type"), "llama3");
    EXPECT_EQ(rs.at("factor").get<double>(), 32.0);
    EXPECT_EQ(rs.at("low_freq_factor").get<double>(), 1.0);
    EXPECT_EQ(rs.at("high_freq_factor").get<double>(), 4.0);
    EXPECT_EQ(rs.at("original_max_position_embeddings"), 8192);
    // The loader reads the same rope scaling back.
    auto parsed = loadModelConfig(dir.path());
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->ropeScaling.type, "llama3");
    EXPECT_EQ(parsed->ropeScaling.factor, 32.0);
    ASSERT_GE(r.shards.size(), 2u);
    EXPECT_EQ(r.shards.front(), "model-00001-of-0000" + std::to_string(r.shards.size()) + ".safetensors");
    // The 525 MB embedding is larger than a shard: it gets one of its own (as
    // Hugging Face does); the other shards stay under the limit.
    const json index = readJson(dir.path() / "model.safetensors.index.json");
    EXPECT_EQ(index.at("weight_map").at("model.embed_tokens.weight"), r.shards.front());
    for (size_t s = 1; s < r.shards.size(); ++s) EXPECT_LE(fs::file_size(dir.path() / r.shards[s]), 300'000'000u) << r.shards[s];
    checkWeights(dir.path(), expectedTensors(2, 2048, 32, 8, 64, 8192, 128256, false));
    loadsAndGenerates(dir.path(), "The quick brown fox");
}

TEST(ModelMaker, RandomWeightsFollowTheConfig) {
    ScratchDir dir;
    make("qwen2.5-0.5b", dir.path());
    auto weights = WeightSet::openFolder(dir.path());
    ASSERT_TRUE(weights) << weights.error().message;
    auto values = [&](const std::string& name) {
        const auto* e = weights->find(name);
        EXPECT_NE(e, nullptr) << name;
        std::vector<float> v(static_cast<size_t>(e->info->numel()));
        EXPECT_TRUE(convertToFloat32(e->info->dtype, e->file->bytes(*e->info), v.data(), v.size()));
        return v;
    };
    // Matrices: N(0, 0.02²) (initializer_range); with 151936·896 draws the
    // sample mean and std are within 1e-4 of 0 and 0.02 (bf16 rounding included).
    const auto e = values("model.embed_tokens.weight");
    double sum = 0, sq = 0;
    for (float x : e) sum += x, sq += double(x) * x;
    const double mean = sum / e.size(), sd = std::sqrt(sq / e.size() - mean * mean);
    EXPECT_NEAR(mean, 0.0, 1e-4);
    EXPECT_NEAR(sd, 0.02, 1e-4);
    for (float x : values("model.layers.1.input_layernorm.weight")) ASSERT_EQ(x, 1.0f);
    for (float x : values("model.layers.0.self_attn.q_proj.bias")) ASSERT_EQ(x, 0.0f);
}

TEST(ModelMaker, SameSeedSameBytes) {
    ScratchDir a, b, c;
    make("llama-3.2-1b", a.path(), 11, 300'000'000);
    make("llama-3.2-1b", b.path(), 11, 300'000'000);
    make("llama-3.2-1b", c.path(), 12, 300'000'000);
    size_t files = 0;
    for (const auto& entry : fs::directory_iterator(a.path())) {
        const auto name = entry.path().filename();
        EXPECT_EQ(readBytes(entry.path()), readBytes(b.path() / name)) << name;
        ++files;
    }
    EXPECT_EQ(files, static_cast<size_t>(std::distance(fs::directory_iterator(b.path()), fs::directory_iterator())));
    EXPECT_NE(readBytes(a.path() / "model-00002-of-00002.safetensors"), readBytes(c.path() / "model-00002-of-00002.safetensors"));
}

TEST(ModelMaker, BadOptionsNameTheOption) {
    ScratchDir dir;
    MakeModelOptions o;
    o.out = dir.path() / "m";
    o.like = "gpt5";
    auto r = makeModel(o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("--like: unknown model 'gpt5'"), std::string::npos) << r.error().message;
    o.like = "gpt2-small";
    o.dtype = "float16";
    r = makeModel(o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("--dtype"), std::string::npos) << r.error().message;
    std::ofstream(dir.path() / "x") << "x";
    o.dtype.reset();
    o.out = dir.path();
    r = makeModel(o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not empty"), std::string::npos) << r.error().message;
    EXPECT_EQ(parseByteSize("2GB"), 2'000'000'000u);
    EXPECT_EQ(parseByteSize("500MB"), 500'000'000u);
    EXPECT_FALSE(parseByteSize("2 GB"));
    EXPECT_FALSE(parseByteSize("GB"));
}
