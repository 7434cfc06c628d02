#include "io/model_folder.h"

#include "io_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <functional>
#include <optional>

using namespace tokenlens;
using namespace tokenlens::testing;
using ::testing::AllOf;
using ::testing::HasSubstr;
using json = nlohmann::json;

namespace {

// Sets an environment variable for the scope of a test and restores it.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::optional<std::string>& value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old;
        if (value) ::setenv(name, value->c_str(), 1);
        else ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (m_old) ::setenv(m_name.c_str(), m_old->c_str(), 1);
        else ::unsetenv(m_name.c_str());
    }

private:
    std::string m_name;
    std::optional<std::string> m_old;
};

void editJson(const fs::path& p, const std::function<void(json&)>& edit) {
    json j = json::parse(readFile(p));
    edit(j);
    writeFile(p, j.dump(2));
}

// A model folder whose large files are symlinks to the fixture and whose JSON
// files are copies the test may edit.
fs::path linkFixture(const std::string& name, const fs::path& parent) {
    fs::path dst = parent / name;
    fs::create_directories(dst);
    for (const auto& e : fs::directory_iterator(fixture(name))) {
        if (e.path().extension() == ".json") fs::copy_file(e.path(), dst / e.path().filename());
        else fs::create_symlink(e.path(), dst / e.path().filename());
    }
    return dst;
}

std::string errorOf(const Result<ModelFolderInfo>& r) { return r.ok() ? std::string("<ok>") : r.error().message; }

} // namespace

// --- weights ------------------------------------------------------------------

TEST(WeightSet, FixturesParameterCounts) {
    // Counts computed from config.json alone (see tests/cli/inspect.cmake).
    // tiny-qwen3: embeddings 151669·32, per layer q 32·64, k and v 32·32, o 64·32,
    // q/k norms 16 each, MLP 3·32·64, two norms 32 each; final norm 32.
    constexpr int64_t QWEN3 = 151669 * 32 + 2 * (2048 + 1024 + 1024 + 2048 + 32 + 6144 + 64) + 32;
    // tiny-gemma3: embeddings 32000·32; per layer q 32·32, k and v 32·16, o 32·32,
    // q/k norms 8 each, MLP 3·32·64, four norms 32 each; final norm 32.
    constexpr int64_t GEMMA3 = 32000 * 32 + 3 * (1024 + 512 + 512 + 1024 + 16 + 6144 + 128) + 32;
    // tiny-phi3: embeddings and lm_head 32064·32; per layer qkv 64·32, o 32·32,
    // gate_up 128·32, down 32·64, two norms 32 each; final norm 32.
    constexpr int64_t PHI3 = 2 * 32064 * 32 + 2 * (2048 + 1024 + 4096 + 2048 + 64) + 32;
    struct Case {
        const char* name;
        int64_t params;
        DType dtype;
        size_t files;
        size_t tensors;
    };
    for (const Case& c : {Case{"tiny-gpt2", 1637792, DType::F32, 1, 28}, Case{"tiny-llama", 2066592, DType::F16, 1, 21},
                          Case{"tiny-qwen2", 4872128, DType::BF16, 2, 26}, Case{"tiny-qwen3", QWEN3, DType::BF16, 1, 24},
                          Case{"tiny-gemma3", GEMMA3, DType::BF16, 1, 41}, Case{"tiny-phi3", PHI3, DType::F16, 1, 15}}) {
        auto ws = WeightSet::openFolder(fixture(c.name));
        ASSERT_TRUE(ws.ok()) << ws.error().message;
        EXPECT_EQ(ws->parameterCount(), c.params) << c.name;
        EXPECT_EQ(ws->dominantDType(), c.dtype) << c.name;
        EXPECT_EQ(ws->files().size(), c.files) << c.name;
        EXPECT_EQ(ws->names().size(), c.tensors) << c.name;
        EXPECT_EQ(ws->totalBytes(), static_cast<uint64_t>(c.params) * dtypeSize(c.dtype)) << c.name;
    }
    auto qwen = WeightSet::openFolder(fixture("tiny-qwen2"));
    ASSERT_TRUE(qwen.ok());
    const auto* norm = qwen->find("model.norm.weight");
    ASSERT_NE(norm, nullptr);
    EXPECT_EQ(norm->file->path().filename(), "model-00002-of-00002.safetensors");
    EXPECT_EQ(qwen->find("lm_head.weight"), nullptr);
    EXPECT_EQ(qwen->source().filename(), "model.safetensors.index.json");
}

TEST(WeightSet, NoWeightFiles) {
    TempDir tmp;
    auto ws = WeightSet::openFolder(tmp.path());
    ASSERT_FALSE(ws.ok());
    EXPECT_EQ(ws.error().code, ErrorCode::NotFound);
    EXPECT_EQ(ws.error().message, "no model.safetensors or model.safetensors.index.json in " + tmp.path().string());
}

TEST(WeightSet, ShardMissingFromIndex) {
    TempDir tmp;
    fs::path dir = linkFixture("tiny-qwen2", tmp.path());
    fs::remove(dir / "model-00002-of-00002.safetensors");
    auto ws = WeightSet::openFolder(dir);
    ASSERT_FALSE(ws.ok());
    EXPECT_EQ(ws.error().code, ErrorCode::NotFound);
    EXPECT_THAT(ws.error().message, AllOf(HasSubstr("model.safetensors.index.json"),
                                          HasSubstr("model-00002-of-00002.safetensors"), HasSubstr("does not exist")));
}

TEST(WeightSet, TensorListedButNotInShard) {
    TempDir tmp;
    fs::path dir = linkFixture("tiny-qwen2", tmp.path());
    editJson(dir / "model.safetensors.index.json",
             [](json& j) { j["weight_map"]["lm_head.weight"] = "model-00002-of-00002.safetensors"; });
    auto ws = WeightSet::openFolder(dir);
    ASSERT_FALSE(ws.ok());
    EXPECT_THAT(ws.error().message, AllOf(HasSubstr("'lm_head.weight'"), HasSubstr("model-00002-of-00002.safetensors"),
                                          HasSubstr("does not contain it")));
}

TEST(WeightSet, TensorInTwoShards) {
    TempDir tmp;
    const std::string data(8, '\0');
    writeFile(tmp / "a.safetensors",
              makeSafetensors(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data));
    writeFile(tmp / "b.safetensors",
              makeSafetensors(R"({"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              data));
    writeFile(tmp / "model.safetensors.index.json",
              R"({"metadata": {}, "weight_map": {"x": "a.safetensors", "y": "b.safetensors"}})");
    auto ws = WeightSet::openFolder(tmp.path());
    ASSERT_FALSE(ws.ok());
    EXPECT_THAT(ws.error().message, AllOf(HasSubstr("'x'"), HasSubstr("a.safetensors"), HasSubstr("b.safetensors"),
                                          HasSubstr("twice")));
}

TEST(WeightSet, ShardNamesMustStayInTheFolder) {
    TempDir tmp;
    fs::create_directories(tmp / "model");
    writeFile(tmp / "outside.safetensors",
              makeSafetensors(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')));
    for (const char* shard : {"../outside.safetensors", "/etc/passwd", "sub/x.safetensors", "..", ""}) {
        json index = {{"weight_map", {{"x", shard}}}};
        writeFile(tmp / "model" / "model.safetensors.index.json", index.dump());
        auto ws = WeightSet::openFolder(tmp / "model");
        ASSERT_FALSE(ws.ok()) << shard;
        EXPECT_THAT(ws.error().message, AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("not a plain file")))
            << shard;
    }
}

TEST(WeightSet, BadIndexFiles) {
    TempDir tmp;
    const fs::path index = tmp / "model.safetensors.index.json";
    for (const char* text : {"not json", "[]", R"({"metadata": {}})", R"({"weight_map": []})", R"({"weight_map": {}})",
                             R"({"weight_map": {"x": 3}})"}) {
        writeFile(index, text);
        auto ws = WeightSet::openFolder(tmp.path());
        ASSERT_FALSE(ws.ok()) << text;
        EXPECT_THAT(ws.error().message, HasSubstr(index.string())) << text;
    }
}

TEST(WeightSet, TruncatedModelFile) {
    TempDir tmp;
    fs::path dir = tmp / "m";
    fs::create_directories(dir);
    const std::string full = readFile(fixture("tiny-llama") / "model.safetensors");
    writeFile(dir / "model.safetensors", full.substr(0, full.size() / 2));
    auto ws = WeightSet::openFolder(dir);
    ASSERT_FALSE(ws.ok());
    EXPECT_THAT(ws.error().message, AllOf(HasSubstr((dir / "model.safetensors").string()), HasSubstr("truncated")));
}

// --- whole folders --------------------------------------------------------------

TEST(InspectModelFolder, Fixtures) {
    auto gpt2 = inspectModelFolder(fixture("tiny-gpt2"));
    ASSERT_TRUE(gpt2.ok()) << gpt2.error().message;
    EXPECT_EQ(gpt2->parameterCount, 1637792);
    EXPECT_EQ(gpt2->storedDType, DType::F32);
    EXPECT_EQ(gpt2->layout.embedding, "transformer.wte.weight");
    EXPECT_EQ(gpt2->weightFiles, (std::vector<std::string>{"model.safetensors"}));

    auto llama = inspectModelFolder(fixture("tiny-llama"));
    ASSERT_TRUE(llama.ok()) << llama.error().message;
    EXPECT_EQ(llama->parameterCount, 2066592);
    EXPECT_EQ(llama->storedDType, DType::F16);

    auto qwen = inspectModelFolder(fixture("tiny-qwen2"));
    ASSERT_TRUE(qwen.ok()) << qwen.error().message;
    EXPECT_EQ(qwen->parameterCount, 4872128);
    EXPECT_EQ(qwen->storedDType, DType::BF16);
    EXPECT_EQ(qwen->weightFiles,
              (std::vector<std::string>{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}));
}

TEST(InspectModelFolder, NewArchitectures) {
    for (const char* name : {"tiny-qwen3", "tiny-gemma3", "tiny-phi3"}) {
        auto info = inspectModelFolder(fixture(name));
        ASSERT_TRUE(info.ok()) << name << ": " << info.error().message;
        EXPECT_EQ(info->layout.embedding, "model.embed_tokens.weight") << name;
        EXPECT_EQ(info->parameterCount, info->weights.parameterCount()) << name;
    }
}

TEST(InspectModelFolder, NewArchitecturesNeedTheirOwnTensors) {
    // A Qwen3 folder without q_norm, a Phi-3 one with split projections
    // instead of fused ones, a Gemma 3 one without its post-feedforward norm.
    struct Case {
        const char* fixture;
        const char* modelType;
        const char* missing;
    };
    for (const Case& k : {Case{"tiny-qwen2", "qwen3", "self_attn.q_norm.weight"},
                          Case{"tiny-llama", "phi3", "self_attn.qkv_proj.weight"},
                          Case{"tiny-llama", "gemma3_text", "pre_feedforward_layernorm.weight"}}) {
        TempDir tmp;
        fs::path dir = copyFixture(k.fixture, tmp.path());
        auto config = nlohmann::json::parse(readFile(dir / "config.json"));
        config["model_type"] = k.modelType;
        writeFile(dir / "config.json", config.dump());
        auto info = inspectModelFolder(dir);
        ASSERT_FALSE(info.ok()) << k.modelType;
        EXPECT_NE(info.error().message.find(std::string("layers.0.") + k.missing + "' is missing"), std::string::npos)
            << info.error().message;
    }
}

TEST(InspectModelFolder, MissingFolderAndConfig) {
    TempDir tmp;
    auto r = inspectModelFolder(tmp / "nope");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, AllOf(HasSubstr("nope"), HasSubstr("no such model folder")));
    fs::path dir = linkFixture("tiny-gpt2", tmp.path());
    fs::remove(dir / "config.json");
    r = inspectModelFolder(dir);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_THAT(r.error().message, AllOf(HasSubstr((dir / "config.json").string()), HasSubstr("no such file")));
}

TEST(InspectModelFolder, EmbeddingDisagreesWithConfig) {
    TempDir tmp;
    fs::path dir = linkFixture("tiny-llama", tmp.path());
    editJson(dir / "config.json", [](json& j) {
        j["hidden_size"] = 64;
        j["intermediate_size"] = 128;
    });
    auto r = inspectModelFolder(dir);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Mismatch);
    EXPECT_EQ(r.error().message, (dir / "model.safetensors").string() +
                                     ": tensor 'model.embed_tokens.weight' has shape [32000, 32] but config.json "
                                     "says vocab_size 32000, hidden_size 64");

    editJson(dir / "config.json", [](json& j) {
        j["hidden_size"] = 32;
        j["vocab_size"] = 32001;
    });
    EXPECT_THAT(errorOf(inspectModelFolder(dir)), HasSubstr("says vocab_size 32001, hidden_size 32"));
}

TEST(InspectModelFolder, LayerCountDisagrees) {
    TempDir tmp;
    fs::path dir = linkFixture("tiny-gpt2", tmp.path());
    editJson(dir / "config.json", [](json& j) { j["n_layer"] = 3; });
    auto r = inspectModelFolder(dir);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Mismatch);
    EXPECT_THAT(r.error().message,
                AllOf(HasSubstr("model.safetensors"), HasSubstr("2 layers"), HasSubstr("config.json says n_layer 3")));
    editJson(dir / "config.json", [](json& j) { j["n_layer"] = 1; });
    EXPECT_THAT(errorOf(inspectModelFolder(dir)), AllOf(HasSubstr("transformer.h.1."), HasSubstr("n_layer 1")));
}

TEST(InspectModelFolder, ProjectionShapesDisagree) {
    TempDir tmp;
    fs::path dir = linkFixture("tiny-qwen2", tmp.path());
    editJson(dir / "config.json", [](json& j) { j["num_key_value_heads"] = 4; });
    auto r = inspectModelFolder(dir);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message,
                AllOf(HasSubstr("model-00001-of-00002.safetensors"), HasSubstr("'model.layers.0.self_attn.k_proj.weight'"),
                      HasSubstr("[16, 32]"), HasSubstr("[32, 32]"), HasSubstr("num_key_value_heads 4")));

    // An untied config needs an lm_head that a tied checkpoint does not store.
    editJson(dir / "config.json", [](json& j) {
        j["num_key_value_heads"] = 2;
        j["tie_word_embeddings"] = false;
    });
    EXPECT_THAT(errorOf(inspectModelFolder(dir)), AllOf(HasSubstr("'lm_head.weight' is missing"),
                                                        HasSubstr("tie_word_embeddings false")));
}

TEST(InspectModelFolder, ShapesDisagreeInHandMadeModel) {
    // A gpt2 folder whose c_fc is the wrong width for n_inner.
    TempDir tmp;
    json cfg = {{"model_type", "gpt2"}, {"vocab_size", 4}, {"n_embd", 2}, {"n_layer", 1},
                {"n_head", 1},          {"n_positions", 2}, {"n_inner", 3}};
    writeFile(tmp / "config.json", cfg.dump());
    json header;
    std::string data;
    auto add = [&](const std::string& name, std::vector<int64_t> shape) {
        int64_t n = 1;
        for (auto d : shape) n *= d;
        header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + 4 * n}}};
        data += std::string(static_cast<size_t>(4 * n), '\0');
    };
    add("transformer.wte.weight", {4, 2});
    add("transformer.wpe.weight", {2, 2});
    add("transformer.ln_f.weight", {2});
    add("transformer.ln_f.bias", {2});
    for (const char* n : {"ln_1", "ln_2"}) {
        add(std::string("transformer.h.0.") + n + ".weight", {2});
        add(std::string("transformer.h.0.") + n + ".bias", {2});
    }
    add("transformer.h.0.attn.c_attn.weight", {2, 6});
    add("transformer.h.0.attn.c_attn.bias", {6});
    add("transformer.h.0.attn.c_proj.weight", {2, 2});
    add("transformer.h.0.attn.c_proj.bias", {2});
    add("transformer.h.0.mlp.c_fc.weight", {2, 4}); // n_inner 3 says [2, 3]
    add("transformer.h.0.mlp.c_fc.bias", {3});
    add("transformer.h.0.mlp.c_proj.weight", {3, 2});
    add("transformer.h.0.mlp.c_proj.bias", {2});
    writeFile(tmp / "model.safetensors", makeSafetensors(header.dump(), data));
    auto r = inspectModelFolder(tmp.path());
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, AllOf(HasSubstr("'transformer.h.0.mlp.c_fc.weight' has shape [2, 4]"),
                                         HasSubstr("implies [2, 3]")));
    // Fixed, the folder passes.
    cfg["n_inner"] = 4;
    writeFile(tmp / "config.json", cfg.dump());
    EXPECT_THAT(errorOf(inspectModelFolder(tmp.path())), HasSubstr("'transformer.h.0.mlp.c_fc.bias' has shape [3]"));
}

TEST(InspectModelFolder, TruncatedWeights) {
    TempDir tmp;
    fs::path dir = tmp / "tiny-gpt2";
    fs::create_directories(dir);
    fs::copy_file(fixture("tiny-gpt2") / "config.json", dir / "config.json");
    const std::string full = readFile(fixture("tiny-gpt2") / "model.safetensors");
    writeFile(dir / "model.safetensors", full.substr(0, full.size() / 2));
    auto r = inspectModelFolder(dir);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Corrupt);
    EXPECT_THAT(r.error().message, AllOf(HasSubstr("model.safetensors"), HasSubstr("truncated")));
}

// --- discovery ----------------------------------------------------------------

TEST(Discovery, HubDirFromEnvironment) {
    ScopedEnv a("HF_HUB_CACHE", std::nullopt), b("HUGGINGFACE_HUB_CACHE", std::nullopt), c("HF_HOME", std::nullopt),
        d("XDG_CACHE_HOME", std::nullopt), e("HOME", "/home/u");
    EXPECT_EQ(huggingFaceHubDir(), fs::path("/home/u/.cache/huggingface/hub"));
    {
        ScopedEnv x("XDG_CACHE_HOME", "/xdg");
        EXPECT_EQ(huggingFaceHubDir(), fs::path("/xdg/huggingface/hub"));
        ScopedEnv h("HF_HOME", "/hf");
        EXPECT_EQ(huggingFaceHubDir(), fs::path("/hf/hub"));
        ScopedEnv hub("HF_HUB_CACHE", "/hubcache");
        EXPECT_EQ(huggingFaceHubDir(), fs::path("/hubcache"));
    }
    ScopedEnv empty("HF_HOME", ""); // empty counts as unset
    EXPECT_EQ(huggingFaceHubDir(), fs::path("/home/u/.cache/huggingface/hub"));
}

namespace {

// models--ORG--NAME/{blobs,snapshots/REV,refs/main} with snapshot files as
// relative symlinks into ../../blobs, as huggingface_hub lays them out; the
// blobs themselves are symlinks to the fixture files.
fs::path fakeHfRepo(const fs::path& hub, const std::string& repoDir, const std::string& fixtureName,
                    const std::vector<std::string>& revs, const std::optional<std::string>& mainRev) {
    const fs::path repo = hub / repoDir;
    fs::create_directories(repo / "blobs");
    int blob = 0;
    for (const auto& rev : revs) {
        const fs::path snap = repo / "snapshots" / rev;
        fs::create_directories(snap);
        for (const auto& e : fs::directory_iterator(fixture(fixtureName))) {
            const std::string blobName = "blob" + std::to_string(blob++);
            fs::create_symlink(e.path(), repo / "blobs" / blobName);
            fs::create_symlink(fs::path("../../blobs") / blobName, snap / e.path().filename());
        }
    }
    if (mainRev) writeFile(repo / "refs" / "main", *mainRev);
    return repo;
}

} // namespace

TEST(Discovery, FakeHuggingFaceCache) {
    TempDir tmp;
    const fs::path hub = tmp / "hub";
    fakeHfRepo(hub, "models--tiny-org--tiny-gpt2", "tiny-gpt2", {"1111", "2222"}, std::string("2222"));
    fakeHfRepo(hub, "models--someone--tiny-qwen2", "tiny-qwen2", {"abcd"}, std::nullopt); // no refs/main
    fakeHfRepo(hub, "models--llama", "tiny-llama", {"r1"}, std::string("r1\n"));           // no org
    // An incomplete download: the snapshot's links point at missing blobs.
    fs::create_directories(hub / "models--broken--model" / "snapshots" / "x");
    fs::create_symlink("../../blobs/missing", hub / "models--broken--model" / "snapshots" / "x" / "config.json");
    fs::create_symlink("../../blobs/missing2", hub / "models--broken--model" / "snapshots" / "x" / "model.safetensors");
    fs::create_directories(hub / "datasets--org--data" / "snapshots");
    writeFile(hub / "version.txt", "1");

    auto found = discoverHfCache(hub);
    ASSERT_EQ(found.size(), 3u);
    EXPECT_EQ(found[0].id, "llama");
    EXPECT_EQ(found[0].path, hub / "models--llama" / "snapshots" / "r1");
    EXPECT_EQ(found[1].id, "someone/tiny-qwen2");
    EXPECT_EQ(found[2].id, "tiny-org/tiny-gpt2");
    EXPECT_EQ(found[2].path, hub / "models--tiny-org--tiny-gpt2" / "snapshots" / "2222");
    for (const auto& m : found) EXPECT_EQ(m.source, "hf-cache");

    // The snapshot reads through its symlinks like any folder.
    auto info = inspectModelFolder(found[1].path);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->parameterCount, 4872128);

    // refs/main naming a revision that is not there: fall back to a snapshot that is.
    writeFile(hub / "models--tiny-org--tiny-gpt2" / "refs" / "main", "9999");
    found = discoverHfCache(hub);
    ASSERT_EQ(found.size(), 3u);
    EXPECT_EQ(found[2].id, "tiny-org/tiny-gpt2");
    EXPECT_TRUE(looksLikeModelFolder(found[2].path));
}

TEST(Discovery, MissingHubIsEmpty) {
    TempDir tmp;
    EXPECT_TRUE(discoverHfCache(tmp / "no-such-hub").empty());
    EXPECT_TRUE(discoverHfCache(fs::path()).empty());
    writeFile(tmp / "file", "x");
    EXPECT_TRUE(discoverHfCache(tmp / "file").empty());
    EXPECT_TRUE(discoverHfCache(tmp.path()).empty());
}

TEST(Discovery, Folders) {
    auto found = discoverFolders({dataDir() / "models"});
    ASSERT_EQ(found.size(), 6u);
    EXPECT_EQ(found[0].id, "tiny-gemma3");
    EXPECT_EQ(found[1].id, "tiny-gpt2");
    EXPECT_EQ(found[2].id, "tiny-llama");
    EXPECT_EQ(found[3].id, "tiny-phi3");
    EXPECT_EQ(found[4].id, "tiny-qwen2");
    EXPECT_EQ(found[5].id, "tiny-qwen3");
    EXPECT_EQ(found[0].source, "folder");

    found = discoverFolders({fixture("tiny-llama"), fixture("tiny-llama").string() + "/", dataDir() / "nope"});
    ASSERT_EQ(found.size(), 1u); // the same folder twice is listed once
    EXPECT_EQ(found[0].id, "tiny-llama");
    EXPECT_TRUE(discoverFolders({dataDir() / "tokenizers"}).empty());

    EXPECT_TRUE(looksLikeModelFolder(fixture("tiny-qwen2")));
    EXPECT_FALSE(looksLikeModelFolder(dataDir() / "tokenizers" / "llama3"));
}
