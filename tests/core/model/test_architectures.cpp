// Qwen3, Gemma 3 and Phi-3 beyond their goldens, and the sliding windows of
// every family: Gemma 3's sliding layers see 8 keys and its global layer all;
// a Mistral-style config with a window of 3 keeps it through the KV cache;
// the text part of a Gemma3ForConditionalGeneration folder loads under both
// weight prefixes; partial rotary dims; rope_scaling types we do not
// implement fail by name; generation stops at any stop id.

#include "../common/golden.h"
#include "io/model_config.h"
#include "io/model_folder.h"
#include "model/generation.h"
#include "model/model_loader.h"
#include "model/rope.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <unistd.h>

using namespace tokenlens;
using namespace tokenlens::testing;
namespace fs = std::filesystem;

namespace {

class ScratchDir {
public:
    ScratchDir() {
        std::string tmpl = (fs::temp_directory_path() / "tokenlens-arch-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        m_path = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    fs::path operator/(const std::string& name) const { return m_path / name; }

private:
    fs::path m_path;
};

fs::path fixtureDir(const std::string& name) { return dataDir() / "models" / name; }

std::string readBytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeBytes(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::shared_ptr<LoadedModel> loadDir(const fs::path& dir, bool tokenizer = false) {
    LoadOptions lo;
    lo.loadTokenizer = tokenizer;
    auto m = loadModelFolder(dir, lo);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    return m.ok() ? m.value() : nullptr;
}

// A folder holding links to a fixture's files, with `replaced` written instead.
fs::path linkedFixture(const std::string& name, const fs::path& dir,
                       const std::map<std::string, std::string>& replaced = {}) {
    fs::create_directories(dir);
    for (const auto& e : fs::directory_iterator(fixtureDir(name))) {
        const std::string file = e.path().filename().string();
        if (!replaced.count(file)) fs::create_symlink(e.path(), dir / file);
    }
    for (const auto& [file, bytes] : replaced) {
        if (!bytes.empty()) writeBytes(dir / file, bytes);
    }
    return dir;
}

std::vector<at::Tensor> attentionsOf(const CausalLM& m, const std::vector<int64_t>& ids) {
    torch::NoGradGuard noGrad;
    ForwardOptions fo;
    fo.outputAttentions = true;
    fo.computeLogits = false;
    return m.forward(m.embed(torch::tensor(ids).unsqueeze(0)), fo).attentions;
}

at::Tensor logitsOf(const CausalLM& m, const std::vector<int64_t>& ids) {
    torch::NoGradGuard noGrad;
    return m.forward(m.embed(torch::tensor(ids).unsqueeze(0)), {}).logits.squeeze(0); // (n, vocab)
}

// (n, n) true where key j lies outside query i's window of `window` keys (j <= i - window).
at::Tensor outsideWindow(int64_t n, int64_t window) {
    auto i = torch::arange(n).unsqueeze(1), j = torch::arange(n).unsqueeze(0);
    return j <= i - window;
}

// Largest |weight| that `probs` (1, heads, n, n) puts where `where` (n, n) is true.
double maxWhere(const at::Tensor& probs, const at::Tensor& where) {
    auto picked = probs.masked_select(where.expand_as(probs));
    return picked.numel() ? picked.abs().max().item<double>() : 0.0;
}

nlohmann::json mistralConfig(const nlohmann::json& window) {
    return {{"model_type", "mistral"},       {"architectures", {"MistralForCausalLM"}},
            {"vocab_size", 64},              {"hidden_size", 16},
            {"num_hidden_layers", 2},        {"num_attention_heads", 4},
            {"num_key_value_heads", 2},      {"intermediate_size", 32},
            {"max_position_embeddings", 64}, {"rms_norm_eps", 1e-5},
            {"sliding_window", window},      {"eos_token_id", 2}};
}

std::shared_ptr<CausalLM> randomModel(const nlohmann::json& config, uint64_t seed) {
    auto c = parseModelConfig(config.dump(), "config.json");
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    if (!c.ok()) return nullptr;
    auto m = createModel(*c);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    if (!m.ok()) return nullptr;
    initRandomWeights(*m.value(), seed, 0.5);
    return m.value();
}

// A safetensors file with every tensor renamed by `rename` and extra F32 tensors appended.
std::string renamedSafetensors(const fs::path& file, const std::function<std::string(const std::string&)>& rename,
                               const std::vector<std::pair<std::string, std::vector<int64_t>>>& extra) {
    const std::string bytes = readBytes(file);
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
    const auto header = nlohmann::json::parse(bytes.substr(8, n));
    std::string data = bytes.substr(8 + n);
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, info] : header.items()) out[name == "__metadata__" ? name : rename(name)] = info;
    for (const auto& [name, shape] : extra) {
        int64_t count = 1;
        for (auto s : shape) count *= s;
        const uint64_t begin = data.size();
        data += std::string(static_cast<size_t>(count) * 4, '\0');
        out[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, data.size()}}};
    }
    std::string h = out.dump();
    while (h.size() % 8) h += ' ';
    std::string result;
    for (int i = 0; i < 8; ++i) result += static_cast<char>((static_cast<uint64_t>(h.size()) >> (8 * i)) & 0xff);
    return result + h + data;
}

std::vector<int64_t> upToFirst(const std::vector<int64_t>& ids, int64_t stop) {
    std::vector<int64_t> out;
    for (int64_t id : ids) {
        out.push_back(id);
        if (id == stop) break;
    }
    return out;
}

} // namespace

// ------------------------------------------------------------ sliding windows

TEST(SlidingWindow, Gemma3SlidingLayersSeeEightKeysGlobalLayerAll) {
    auto m = loadDir(fixtureDir("tiny-gemma3"));
    ASSERT_TRUE(m);
    const auto& c = m->config;
    EXPECT_EQ(c.slidingWindow, 8);
    EXPECT_EQ(c.slidingLayers, (std::vector<bool>{true, true, false}));
    EXPECT_EQ(c.windowAt(0), 8);
    EXPECT_EQ(c.windowAt(2), 0);
    // dev-2's full sequence: 18 positions, so queries 8.. have keys outside the window.
    const auto ids = goldenFor("tiny-gemma3")["cases"][2]["sequence_ids"].get<std::vector<int64_t>>();
    const auto n = static_cast<int64_t>(ids.size());
    ASSERT_GT(n, 8);
    const auto att = attentionsOf(*m->model, ids);
    ASSERT_EQ(att.size(), 3u);
    const auto outside = outsideWindow(n, 8);
    const auto inside = outsideWindow(n, 8).logical_not() & torch::tril(torch::ones({n, n}, torch::kBool));
    for (size_t l = 0; l < 2; ++l) {
        EXPECT_EQ(maxWhere(att[l], outside), 0.0) << "sliding layer " << l << " looks beyond its window";
        EXPECT_GT(maxWhere(att[l], inside), 0.0) << "layer " << l;
        EXPECT_LT((att[l].sum(-1) - 1).abs().max().item<double>(), 1e-5);
    }
    EXPECT_GT(maxWhere(att[2], outside), 1e-4) << "the global layer sees every earlier key";
}

TEST(SlidingWindow, MistralStyleWindowHoldsThroughTheCache) {
    auto windowed = randomModel(mistralConfig(3), 31);
    auto global = randomModel(mistralConfig(nullptr), 31); // the same weights, no window
    ASSERT_TRUE(windowed && global);
    EXPECT_EQ(windowed->config().slidingLayers, (std::vector<bool>{true, true}));
    EXPECT_TRUE(global->config().slidingLayers.empty());
    const std::vector<int64_t> ids = {1, 7, 12, 40, 3, 9, 22, 5, 61, 17};
    const auto n = static_cast<int64_t>(ids.size());
    for (const auto& probs : attentionsOf(*windowed, ids)) {
        EXPECT_EQ(maxWhere(probs, outsideWindow(n, 3)), 0.0);
        EXPECT_LT((probs.sum(-1) - 1).abs().max().item<double>(), 1e-5);
    }
    // The first 3 positions see the same keys with and without the window; later ones do not.
    const auto a = logitsOf(*windowed, ids), b = logitsOf(*global, ids);
    EXPECT_LT((a.slice(0, 0, 3) - b.slice(0, 0, 3)).abs().max().item<double>(), 1e-6);
    EXPECT_GT((a.slice(0, 3) - b.slice(0, 3)).abs().max().item<double>(), 1e-3);
    // Token by token through the KV cache gives the full pass's logits.
    torch::NoGradGuard noGrad;
    KvCache cache;
    for (int64_t i = 0; i < n; ++i) {
        ForwardOptions fo;
        fo.cache = &cache;
        auto step = windowed->forward(windowed->embed(torch::tensor({ids[static_cast<size_t>(i)]}).unsqueeze(0)), fo);
        EXPECT_LT((step.logits[0][0] - a[i]).abs().max().item<double>(), 1e-5) << "position " << i;
    }
    // And generation with the cache equals recomputing the whole sequence.
    GenerationOptions o;
    o.maxNewTokens = 12;
    o.stopAtEos = false;
    auto cached = generate(*windowed, ids, o);
    o.useCache = false;
    auto full = generate(*windowed, ids, o);
    ASSERT_TRUE(cached.ok() && full.ok());
    EXPECT_EQ(cached->ids, full->ids);
}

TEST(SlidingWindow, WhichLayersSlidePerFamily) {
    auto parse = [](const nlohmann::json& j) {
        auto c = parseModelConfig(j.dump(), "config.json");
        EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
        return c.ok() ? *c : ModelConfig{};
    };
    auto qwen = mistralConfig(4);
    qwen["model_type"] = "qwen2";
    qwen["max_window_layers"] = 1;
    EXPECT_FALSE(parse(qwen).slidingWindow.has_value()); // use_sliding_window defaults to false
    qwen["use_sliding_window"] = true;
    EXPECT_EQ(parse(qwen).slidingLayers, (std::vector<bool>{false, true}));
    qwen["layer_types"] = {"sliding_attention", "full_attention"}; // an explicit list wins
    EXPECT_EQ(parse(qwen).slidingLayers, (std::vector<bool>{true, false}));
    auto llama = mistralConfig(4);
    llama["model_type"] = "llama";
    EXPECT_EQ(parse(llama).windowAt(0), 0);
    auto phi = loadModelConfig(fixtureDir("tiny-phi3"));
    ASSERT_TRUE(phi.ok());
    EXPECT_EQ(phi->windowAt(1), 2047);
}

// ------------------------------------------------------------ Gemma 3 multimodal folders

TEST(Gemma3ConditionalGeneration, TextPartLoadsUnderBothPrefixes) {
    auto text = loadDir(fixtureDir("tiny-gemma3"));
    ASSERT_TRUE(text);
    const auto ids = goldenFor("tiny-gemma3")["cases"][0]["prompt_ids"].get<std::vector<int64_t>>();
    const auto expected = logitsOf(*text->model, ids);

    auto textConfig = nlohmann::json::parse(readBytes(fixtureDir("tiny-gemma3") / "config.json"));
    textConfig.erase("architectures");
    textConfig.erase("bos_token_id");
    textConfig.erase("eos_token_id");
    const nlohmann::json config = {{"architectures", {"Gemma3ForConditionalGeneration"}},
                                   {"model_type", "gemma3"},
                                   {"text_config", textConfig},
                                   {"vision_config", {{"model_type", "siglip_vision_model"}, {"hidden_size", 4}}},
                                   {"mm_tokens_per_image", 4},
                                   {"eos_token_id", {2, 5}},
                                   {"torch_dtype", "bfloat16"}};
    const std::vector<std::pair<std::string, std::vector<int64_t>>> towers = {
        {"vision_tower.vision_model.post_layernorm.weight", {4}},
        {"multi_modal_projector.mm_input_projection_weight", {4, 32}}};
    ScratchDir tmp;
    for (const std::string prefix : {"language_model.model.", "model.language_model."}) {
        auto rename = [&](const std::string& name) { return prefix + name.substr(std::string("model.").size()); };
        auto extra = towers;
        if (prefix == "model.language_model.") {
            for (auto& [name, shape] : extra) name = "model." + name;
        }
        const fs::path dir = linkedFixture(
            "tiny-gemma3", tmp / prefix,
            {{"config.json", config.dump()},
             {"generation_config.json", ""}, // left out: the ids come from config.json
             {"model.safetensors", renamedSafetensors(fixtureDir("tiny-gemma3") / "model.safetensors", rename, extra)}});
        auto m = loadDir(dir);
        ASSERT_TRUE(m) << prefix;
        EXPECT_TRUE(m->config.textOfMultimodal);
        EXPECT_EQ(m->config.modelType, "gemma3_text");
        EXPECT_EQ(m->config.architecture, "Gemma3ForConditionalGeneration");
        EXPECT_EQ(m->config.eosTokenIds, (std::vector<int64_t>{2, 5}));
        EXPECT_EQ(m->config.slidingLayers, (std::vector<bool>{true, true, false}));
        EXPECT_EQ(m->model->parameterCount(), text->model->parameterCount()) << "the text model only";
        EXPECT_TRUE(torch::equal(logitsOf(*m->model, ids), expected)) << prefix;
        auto info = inspectModelFolder(dir);
        ASSERT_TRUE(info.ok()) << info.error().message;
        EXPECT_EQ(info->layout.prefix, prefix);
    }
}

TEST(Gemma3Config, LayerPatternAndDefaults) {
    // Older configs: no layer_types, every sliding_window_pattern-th layer global.
    nlohmann::json j = {{"model_type", "gemma3_text"}, {"vocab_size", 64}, {"hidden_size", 16},
                        {"intermediate_size", 32},     {"num_hidden_layers", 7}, {"num_attention_heads", 2},
                        {"num_key_value_heads", 1},    {"head_dim", 8},          {"sliding_window", 4},
                        {"sliding_window_pattern", 3}};
    auto c = parseModelConfig(j.dump(), "config.json");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->slidingLayers, (std::vector<bool>{true, true, false, true, true, false, true}));
    EXPECT_DOUBLE_EQ(*c->queryPreAttnScalar, 256.0); // Gemma3TextConfig's defaults
    EXPECT_DOUBLE_EQ(*c->ropeLocalTheta, 10000.0);
    EXPECT_DOUBLE_EQ(c->ropeTheta, 1000000.0);
    EXPECT_EQ(c->activation, "gelu_pytorch_tanh");
    EXPECT_TRUE(c->tieWordEmbeddings);
    j.erase("sliding_window_pattern");
    c = parseModelConfig(j.dump(), "config.json");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->slidingLayers, (std::vector<bool>{true, true, true, true, true, false, true}));
    j["use_bidirectional_attention"] = true;
    c = parseModelConfig(j.dump(), "config.json");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("use_bidirectional_attention"), std::string::npos);
}

// ------------------------------------------------------------ rotary embeddings

TEST(Rope, PartialRotaryLeavesTheLastDimsAlone) {
    auto c = loadModelConfig(fixtureDir("tiny-phi3"));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->rotaryDim(), 6);
    auto rope = Rope::create(*c);
    ASSERT_TRUE(rope.ok()) << rope.error().message;
    auto [cos, sin] = rope->cosSin(torch::arange(5).unsqueeze(0));
    EXPECT_EQ(cos.size(-1), 6);
    auto x = torch::randn({1, 2, 5, 8});
    auto y = Rope::apply(x, cos, sin);
    EXPECT_TRUE(torch::equal(y.slice(-1, 6), x.slice(-1, 6)));
    // Pairs (k, k + 3) of the first 6 dims rotate: their norms stay.
    for (int64_t k = 0; k < 3; ++k) {
        auto nx = x.select(-1, k).pow(2) + x.select(-1, k + 3).pow(2);
        auto ny = y.select(-1, k).pow(2) + y.select(-1, k + 3).pow(2);
        EXPECT_LT((nx - ny).abs().max().item<double>(), 1e-5);
    }
    EXPECT_TRUE(torch::allclose(y.select(2, 0), x.select(2, 0))); // position 0: no rotation
}

TEST(Rope, UnimplementedScalingTypesFailByName) {
    auto phi = nlohmann::json::parse(readBytes(fixtureDir("tiny-phi3") / "config.json"));
    phi["rope_scaling"] = {{"type", "longrope"}, {"short_factor", {1.0, 1.0, 1.0}}, {"long_factor", {2.0, 2.0, 2.0}}};
    auto gemma = nlohmann::json::parse(readBytes(fixtureDir("tiny-gemma3") / "config.json"));
    gemma["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 8.0}};
    for (const auto& [j, type] : {std::pair{phi, "longrope"}, std::pair{gemma, "yarn"}}) {
        auto c = parseModelConfig(j.dump(), "config.json");
        ASSERT_TRUE(c.ok()) << c.error().message;
        auto m = createModel(*c);
        ASSERT_FALSE(m.ok()) << type;
        EXPECT_NE(m.error().message.find(std::string("rope_scaling type '") + type + "' is not supported"),
                  std::string::npos)
            << m.error().message;
    }
    // Linear scaling applies to Gemma's global layers only (its sliding layers keep rope_local_base_freq).
    gemma["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
    auto c = parseModelConfig(gemma.dump(), "config.json");
    ASSERT_TRUE(c.ok());
    auto global = Rope::create(*c);
    auto local = Rope::createLocal(*c, *c->ropeLocalTheta);
    ASSERT_TRUE(global.ok() && local.ok());
    auto pos = torch::full({1, 1}, 3, torch::kInt64);
    // sin of position 3 times inv_freq_1 = theta^(-2/8) (divided by the factor when scaled).
    const double globalSin = global->cosSin(pos).second[0][0][1].item<double>();
    const double localSin = local->cosSin(pos).second[0][0][1].item<double>();
    EXPECT_NEAR(globalSin, std::sin(3.0 * std::pow(1e6, -2.0 / 8.0) / 8.0), 1e-6);
    EXPECT_NEAR(localSin, std::sin(3.0 * std::pow(1e4, -2.0 / 8.0)), 1e-6);
}

// ------------------------------------------------------------ stop ids

TEST(StopIds, GenerationStopsAtAnyStopId) {
    auto m = loadDir(fixtureDir("tiny-qwen3"));
    ASSERT_TRUE(m);
    const auto c = goldenFor("tiny-qwen3")["cases"][2];
    const auto prompt = c["prompt_ids"].get<std::vector<int64_t>>();
    const auto golden = c["output_ids"].get<std::vector<int64_t>>();
    GenerationOptions o;
    o.maxNewTokens = static_cast<int64_t>(golden.size());
    auto plain = generate(*m->model, prompt, o);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->ids, golden); // no eos in the greedy continuation
    EXPECT_FALSE(plain->stoppedAtEos);
    // A caller's stop id (e.g. a chat template's end-of-turn token) stops it.
    o.stopIds = {golden[2]};
    auto stopped = generate(*m->model, prompt, o);
    ASSERT_TRUE(stopped.ok());
    EXPECT_EQ(stopped->ids, upToFirst(golden, golden[2]));
    EXPECT_TRUE(stopped->stoppedAtEos);
    EXPECT_EQ(stopped->scores.probability.size(), stopped->ids.size());
    // stopAtEos false ignores every stop id.
    o.stopAtEos = false;
    auto ignored = generate(*m->model, prompt, o);
    ASSERT_TRUE(ignored.ok());
    EXPECT_EQ(ignored->ids, golden);
    // The list: the model's eos ids, then the caller's not already in it.
    o.stopIds = {151645, 7, 7};
    EXPECT_EQ(stopIdsFor(m->config, o), (std::vector<int64_t>{151645, 7}));
}

TEST(StopIds, EosListFromGenerationConfigThenConfig) {
    const auto c = goldenFor("tiny-phi3")["cases"][1];
    const auto prompt = c["prompt_ids"].get<std::vector<int64_t>>();
    const auto golden = c["output_ids"].get<std::vector<int64_t>>();
    const int64_t stop = golden[3];
    ScratchDir tmp;
    // generation_config.json's list wins over config.json's id.
    const fs::path a = linkedFixture("tiny-phi3", tmp / "gen",
                                     {{"generation_config.json", nlohmann::json{{"eos_token_id", {2, stop}}}.dump()}});
    // Without one there, config.json's list counts.
    auto config = nlohmann::json::parse(readBytes(fixtureDir("tiny-phi3") / "config.json"));
    config["eos_token_id"] = {stop, 2};
    const fs::path b = linkedFixture("tiny-phi3", tmp / "cfg",
                                     {{"config.json", config.dump()},
                                      {"generation_config.json", nlohmann::json{{"do_sample", false}}.dump()}});
    for (const auto& [dir, ids] : {std::pair{a, std::vector<int64_t>{2, stop}}, std::pair{b, std::vector<int64_t>{stop, 2}}}) {
        auto m = loadDir(dir);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->config.eosTokenIds, ids) << dir;
        GenerationOptions o;
        o.maxNewTokens = static_cast<int64_t>(golden.size());
        auto g = generate(*m->model, prompt, o);
        ASSERT_TRUE(g.ok());
        EXPECT_EQ(g->ids, upToFirst(golden, stop)) << dir;
        EXPECT_TRUE(g->stoppedAtEos);
    }
}
