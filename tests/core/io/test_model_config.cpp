#include "io/model_config.h"

#include "io_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

using namespace tokenlens;
using namespace tokenlens::testing;
using ::testing::AllOf;
using ::testing::HasSubstr;
using json = nlohmann::json;

namespace {

json llamaBase() {
    return json{{"model_type", "llama"},       {"architectures", {"LlamaForCausalLM"}},
                {"vocab_size", 1000},          {"hidden_size", 64},
                {"num_hidden_layers", 2},      {"num_attention_heads", 8},
                {"intermediate_size", 128},    {"max_position_embeddings", 512}};
}

json gpt2Base() {
    return json{{"model_type", "gpt2"}, {"vocab_size", 100}, {"n_embd", 16},
                {"n_layer", 1},         {"n_head", 2},       {"n_positions", 32}};
}

Result<ModelConfig> parseJ(const json& j) { return parseModelConfig(j.dump(), "config.json"); }
std::string errorOf(const Result<ModelConfig>& r) { return r.ok() ? std::string("<ok>") : r.error().message; }

} // namespace

TEST(ModelConfig, TinyGpt2) {
    auto c = loadModelConfig(fixture("tiny-gpt2"));
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->modelType, "gpt2");
    EXPECT_EQ(c->architecture, "GPT2LMHeadModel");
    EXPECT_EQ(c->family, ArchFamily::Gpt2);
    EXPECT_EQ(c->vocabSize, 50257);
    EXPECT_EQ(c->hiddenSize, 32);
    EXPECT_EQ(c->numLayers, 2);
    EXPECT_EQ(c->numHeads, 4);
    EXPECT_EQ(c->numKvHeads, 4);
    EXPECT_EQ(c->headDim, 8);
    EXPECT_EQ(c->intermediateSize, 128); // n_inner null -> 4 * n_embd
    EXPECT_EQ(c->maxPositions, 128);
    EXPECT_DOUBLE_EQ(c->normEps, 1e-5);
    EXPECT_EQ(c->activation, "gelu_new");
    EXPECT_TRUE(c->tieWordEmbeddings);
    EXPECT_EQ(c->torchDtype, "float32");
    EXPECT_EQ(c->bosTokenIds, (std::vector<int64_t>{50256}));
    EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{50256}));
    EXPECT_EQ(c->ropeScaling.type, "none");
}

TEST(ModelConfig, TinyLlama) {
    auto c = loadModelConfig(fixture("tiny-llama"));
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->family, ArchFamily::Llama);
    EXPECT_EQ(c->architecture, "LlamaForCausalLM");
    EXPECT_EQ(c->vocabSize, 32000);
    EXPECT_EQ(c->numKvHeads, 2);
    EXPECT_EQ(c->headDim, 8);
    EXPECT_EQ(c->intermediateSize, 64);
    EXPECT_EQ(c->maxPositions, 256);
    EXPECT_DOUBLE_EQ(c->ropeTheta, 10000.0);
    EXPECT_EQ(c->ropeScaling.type, "none");
    EXPECT_FALSE(c->tieWordEmbeddings);
    EXPECT_FALSE(c->attentionBias);
    EXPECT_FALSE(c->mlpBias);
    EXPECT_EQ(c->activation, "silu");
    EXPECT_EQ(c->torchDtype, "float16");
    EXPECT_EQ(c->bosTokenIds, (std::vector<int64_t>{1}));
    EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{2}));
    EXPECT_FALSE(c->padTokenId.has_value());
}

TEST(ModelConfig, TinyQwen2) {
    auto c = loadModelConfig(fixture("tiny-qwen2"));
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->modelType, "qwen2");
    EXPECT_EQ(c->family, ArchFamily::Llama);
    EXPECT_EQ(c->vocabSize, 151669);
    EXPECT_DOUBLE_EQ(c->normEps, 1e-6);
    EXPECT_DOUBLE_EQ(c->ropeTheta, 1e6);
    EXPECT_TRUE(c->tieWordEmbeddings);
    EXPECT_TRUE(c->attentionBias); // qwen2: q/k/v biases always
    EXPECT_FALSE(c->slidingWindow.has_value()); // use_sliding_window false
    EXPECT_EQ(c->torchDtype, "bfloat16");
    EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{151645}));
}

TEST(ModelConfig, TinyQwen3) {
    auto c = loadModelConfig(fixture("tiny-qwen3"));
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->modelType, "qwen3");
    EXPECT_EQ(c->architecture, "Qwen3ForCausalLM");
    EXPECT_EQ(c->family, ArchFamily::Llama);
    EXPECT_EQ(c->headDim, 16); // from the config, not hidden / heads
    EXPECT_TRUE(c->qkNorm);
    EXPECT_FALSE(c->attentionBias);
    EXPECT_FALSE(c->gemmaNorms);
    EXPECT_FALSE(c->slidingWindow.has_value());
    EXPECT_EQ(c->rotaryDim(), 16);
    EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{151645}));
}

TEST(ModelConfig, TinyGemma3) {
    auto c = loadModelConfig(fixture("tiny-gemma3"));
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->modelType, "gemma3_text");
    EXPECT_EQ(c->architecture, "Gemma3ForCausalLM");
    EXPECT_EQ(c->numLayers, 3);
    EXPECT_EQ(c->headDim, 8);
    EXPECT_TRUE(c->gemmaNorms);
    EXPECT_TRUE(c->qkNorm);
    EXPECT_DOUBLE_EQ(*c->queryPreAttnScalar, 64.0);
    EXPECT_DOUBLE_EQ(c->ropeTheta, 1e6);
    EXPECT_DOUBLE_EQ(*c->ropeLocalTheta, 1e4);
    EXPECT_EQ(c->activation, "gelu_pytorch_tanh"); // hidden_activation
    EXPECT_EQ(c->slidingWindow, 8);
    EXPECT_EQ(c->slidingLayers, (std::vector<bool>{true, true, false}));
    EXPECT_FALSE(c->attnLogitSoftcap.has_value());
    EXPECT_FALSE(c->finalLogitSoftcap.has_value());
    EXPECT_TRUE(c->tieWordEmbeddings);
    EXPECT_FALSE(c->textOfMultimodal);
}

TEST(ModelConfig, TinyPhi3) {
    auto c = loadModelConfig(fixture("tiny-phi3"));
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->modelType, "phi3");
    EXPECT_TRUE(c->fusedProjections);
    EXPECT_DOUBLE_EQ(c->partialRotaryFactor, 0.75);
    EXPECT_EQ(c->rotaryDim(), 6);
    EXPECT_EQ(c->slidingWindow, 2047);
    EXPECT_EQ(c->slidingLayers, (std::vector<bool>{true, true}));
    EXPECT_FALSE(c->tieWordEmbeddings);
    EXPECT_EQ(c->vocabSize, 32064);
}

TEST(ModelConfig, Gemma3ConditionalGenerationReadsTextConfig) {
    json text = {{"model_type", "gemma3_text"}, {"hidden_size", 64}, {"intermediate_size", 128},
                 {"num_hidden_layers", 4},      {"sliding_window", 16}, {"vocab_size", 300},
                 {"eos_token_id", 1}};
    json j = {{"model_type", "gemma3"}, {"architectures", {"Gemma3ForConditionalGeneration"}},
              {"text_config", text},    {"eos_token_id", {1, 106}}, {"torch_dtype", "bfloat16"}};
    auto c = parseJ(j);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(c->textOfMultimodal);
    EXPECT_EQ(c->modelType, "gemma3_text");
    EXPECT_EQ(c->architecture, "Gemma3ForConditionalGeneration");
    EXPECT_EQ(c->vocabSize, 300);
    EXPECT_EQ(c->numHeads, 8); // Gemma3TextConfig's defaults for what the folder leaves out
    EXPECT_EQ(c->numKvHeads, 4);
    EXPECT_EQ(c->headDim, 256);
    EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{1, 106})); // the wrapper's list
    EXPECT_EQ(c->torchDtype, "bfloat16");
    EXPECT_EQ(c->slidingLayers, (std::vector<bool>{true, true, true, true}));
    j.erase("eos_token_id");
    c = parseJ(j);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{1})); // else the text config's
    j.erase("text_config");
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("'text_config'"));
    j["text_config"] = text;
    j["text_config"]["model_type"] = "llama";
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("expected gemma3_text"));
    j["text_config"] = text;
    j["text_config"]["layer_types"] = {"sliding_attention", "chunked_attention", "full_attention", "full_attention"};
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("chunked_attention"));
    j["text_config"]["layer_types"] = {"full_attention"};
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("one per layer"));
}

TEST(ModelConfig, LlamaDefaults) {
    auto c = parseJ(llamaBase());
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->numKvHeads, 8);
    EXPECT_EQ(c->headDim, 8);
    EXPECT_DOUBLE_EQ(c->ropeTheta, 10000.0);
    EXPECT_FALSE(c->tieWordEmbeddings);
    EXPECT_EQ(c->activation, "silu");
    EXPECT_TRUE(c->bosTokenIds.empty());
    EXPECT_TRUE(c->torchDtype.empty());
}

TEST(ModelConfig, ExplicitHeadDimNeedNotDivide) {
    json j = llamaBase();
    j["hidden_size"] = 60;
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("config.json"), HasSubstr("not divisible")));
    j["head_dim"] = 16;
    auto c = parseJ(j);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->headDim, 16);
    j["head_dim"] = nullptr; // null means "derive it"
    EXPECT_FALSE(parseJ(j).ok());
}

TEST(ModelConfig, TokenIdsIntListOrNull) {
    json j = llamaBase();
    j["bos_token_id"] = 5;
    j["eos_token_id"] = {7, 8, 9};
    j["pad_token_id"] = 0;
    auto c = parseJ(j);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->bosTokenIds, (std::vector<int64_t>{5}));
    EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{7, 8, 9}));
    EXPECT_EQ(c->padTokenId, 0);
    j["bos_token_id"] = nullptr;
    j["pad_token_id"] = -1; // "none" in some old configs
    c = parseJ(j);
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->bosTokenIds.empty());
    EXPECT_FALSE(c->padTokenId.has_value());
    j["eos_token_id"] = "2";
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("config.json"), HasSubstr("'eos_token_id'"), HasSubstr("integer")));
    j["eos_token_id"] = {1, "x"};
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("'eos_token_id'"));
}

TEST(ModelConfig, GenerationConfigOverridesIds) {
    TempDir tmp;
    json j = llamaBase();
    j["bos_token_id"] = 1;
    j["eos_token_id"] = 2;
    writeFile(tmp / "config.json", j.dump());
    writeFile(tmp / "generation_config.json", R"({"bos_token_id": 10, "eos_token_id": [11, 12], "do_sample": false})");
    auto c = loadModelConfig(tmp.path());
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->bosTokenIds, (std::vector<int64_t>{10}));
    EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{11, 12}));
    // Absent or null keys leave config.json's ids alone.
    writeFile(tmp / "generation_config.json", R"({"eos_token_id": null})");
    c = loadModelConfig(tmp.path());
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->bosTokenIds, (std::vector<int64_t>{1}));
    EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{2}));
    writeFile(tmp / "generation_config.json", R"({"eos_token_id": "2"})");
    c = loadModelConfig(tmp.path());
    ASSERT_FALSE(c.ok());
    EXPECT_THAT(c.error().message, AllOf(HasSubstr("generation_config.json"), HasSubstr("'eos_token_id'")));
    writeFile(tmp / "generation_config.json", "{");
    c = loadModelConfig(tmp.path());
    ASSERT_FALSE(c.ok());
    EXPECT_THAT(c.error().message, AllOf(HasSubstr("generation_config.json"), HasSubstr("not valid JSON")));
}

TEST(ModelConfig, RopeScaling) {
    json j = llamaBase();
    j["rope_theta"] = 500000.0;
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 8.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 8192}};
    auto c = parseJ(j);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->ropeScaling.type, "llama3");
    EXPECT_DOUBLE_EQ(c->ropeScaling.factor, 8.0);
    EXPECT_DOUBLE_EQ(c->ropeScaling.highFreqFactor, 4.0);
    EXPECT_EQ(c->ropeScaling.originalMaxPositions, 8192);
    EXPECT_DOUBLE_EQ(c->ropeTheta, 500000.0);

    j["rope_scaling"] = {{"type", "linear"}, {"factor", 2}};
    c = parseJ(j);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->ropeScaling.type, "linear");
    EXPECT_DOUBLE_EQ(c->ropeScaling.factor, 2.0);

    j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 4.0}};
    c = parseJ(j);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->ropeScaling.type, "dynamic");

    j["rope_scaling"] = {{"rope_type", "default"}};
    c = parseJ(j);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->ropeScaling.type, "none");

    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("config.json"), HasSubstr("low_freq_factor")));
    j["rope_scaling"] = {{"rope_type", "linear"}};
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("rope_scaling.factor"));
    j["rope_scaling"] = {{"factor", 2.0}};
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("rope_type"));
    j["rope_scaling"] = "linear";
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("'rope_scaling'"), HasSubstr("an object or null")));
}

TEST(ModelConfig, MistralSlidingWindowAndBiases) {
    json j = llamaBase();
    j["model_type"] = "mistral";
    j["sliding_window"] = 4096;
    j["num_key_value_heads"] = 2;
    auto c = parseJ(j);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->slidingWindow, 4096);
    EXPECT_EQ(c->numKvHeads, 2);
    j["sliding_window"] = nullptr;
    c = parseJ(j);
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c->slidingWindow.has_value());
    j = llamaBase();
    j["attention_bias"] = true;
    j["mlp_bias"] = true;
    c = parseJ(j);
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->attentionBias);
    EXPECT_TRUE(c->mlpBias);
}

TEST(ModelConfig, Gpt2Defaults) {
    auto c = parseJ(gpt2Base());
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(c->tieWordEmbeddings);
    EXPECT_EQ(c->intermediateSize, 64);
    EXPECT_EQ(c->activation, "gelu_new");
    json j = gpt2Base();
    j["n_inner"] = 48;
    j["tie_word_embeddings"] = false;
    c = parseJ(j);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->intermediateSize, 48);
    EXPECT_FALSE(c->tieWordEmbeddings);
}

TEST(ModelConfig, UnknownModelType) {
    json j = llamaBase();
    j["model_type"] = "xyz";
    auto c = parseJ(j);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::Unsupported);
    EXPECT_EQ(c.error().message,
              "config.json: model_type 'xyz' is not supported (supported: gpt2, llama, mistral, qwen2, qwen3, phi3, "
              "gemma3_text, gemma3)");
    j.erase("model_type");
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("'model_type'"), HasSubstr("missing")));
}

TEST(ModelConfig, MissingAndIllTypedKeys) {
    json j = llamaBase();
    j.erase("hidden_size");
    auto c = parseJ(j);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::NotFound);
    EXPECT_EQ(c.error().message, "config.json: required key 'hidden_size' (an integer) is missing");

    j = llamaBase();
    j["hidden_size"] = "64";
    c = parseJ(j);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::Corrupt);
    EXPECT_EQ(c.error().message, "config.json: key 'hidden_size' must be an integer, got a string");

    j = llamaBase();
    j["num_attention_heads"] = 8.5;
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("'num_attention_heads'"), HasSubstr("integer")));
    j = llamaBase();
    j["rms_norm_eps"] = "1e-5";
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("'rms_norm_eps'"), HasSubstr("a number")));
    j = llamaBase();
    j["tie_word_embeddings"] = 1;
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("'tie_word_embeddings'"), HasSubstr("true or false")));
    j = llamaBase();
    j["architectures"] = "LlamaForCausalLM";
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("'architectures'"));
    j = gpt2Base();
    j.erase("n_embd");
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("'n_embd'"));
    j = gpt2Base();
    j["vocab_size"] = nullptr;
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("'vocab_size'"), HasSubstr("null")));
    j = llamaBase();
    j["max_position_embeddings"] = 18446744073709551615ull;
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("'max_position_embeddings'"));
}

TEST(ModelConfig, InconsistentSizes) {
    json j = llamaBase();
    j["num_key_value_heads"] = 3;
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("num_attention_heads 8"), HasSubstr("num_key_value_heads 3")));
    j = llamaBase();
    j["vocab_size"] = 0;
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("'vocab_size'"), HasSubstr("positive")));
    j = llamaBase();
    j["num_attention_heads"] = 0;
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("'num_attention_heads'"), HasSubstr("positive")));
    j = llamaBase();
    j["intermediate_size"] = -4;
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("'intermediate_size'"));
    j = gpt2Base();
    j["n_head"] = 3;
    EXPECT_THAT(errorOf(parseJ(j)), AllOf(HasSubstr("n_embd 16"), HasSubstr("n_head 3")));
    j = gpt2Base();
    j["n_embd"] = 1ll << 40; // refused rather than overflowing 4 * n_embd
    EXPECT_THAT(errorOf(parseJ(j)), HasSubstr("'n_embd'"));
}

TEST(ModelConfig, NotJsonOrNotObject) {
    auto c = parseModelConfig("{\"model_type\": ", "x/config.json");
    ASSERT_FALSE(c.ok());
    EXPECT_THAT(c.error().message, AllOf(HasSubstr("x/config.json"), HasSubstr("not valid JSON")));
    c = parseModelConfig("[]", "config.json");
    EXPECT_THAT(errorOf(c), HasSubstr("expected a JSON object"));
    c = parseModelConfig(std::string(10000, '[') , "config.json");
    EXPECT_THAT(errorOf(c), HasSubstr("nested"));
}

TEST(ModelConfigFiles, MissingConfigJson) {
    TempDir tmp;
    auto c = loadModelConfig(tmp.path());
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::NotFound);
    EXPECT_THAT(c.error().message, AllOf(HasSubstr((tmp / "config.json").string()), HasSubstr("no such file")));
    c = loadModelConfig(tmp / "does-not-exist");
    ASSERT_FALSE(c.ok());
    EXPECT_THAT(c.error().message, AllOf(HasSubstr("does-not-exist"), HasSubstr("no such directory")));
}

TEST(ModelConfigFiles, UnreadableConfig) {
    TempDir tmp;
    if (::geteuid() == 0) {
        // Root reads any file whatever its mode: test a directory in place of the file.
        fs::create_directories(tmp / "config.json");
        auto c = loadModelConfig(tmp.path());
        ASSERT_FALSE(c.ok());
        EXPECT_EQ(c.error().code, ErrorCode::Unreadable);
        EXPECT_THAT(c.error().message, AllOf(HasSubstr("config.json"), HasSubstr("is a directory")));
    } else {
        writeFile(tmp / "config.json", llamaBase().dump());
        ASSERT_EQ(::chmod((tmp / "config.json").c_str(), 0), 0);
        auto c = loadModelConfig(tmp.path());
        ASSERT_FALSE(c.ok());
        EXPECT_EQ(c.error().code, ErrorCode::Unreadable);
        EXPECT_THAT(c.error().message, AllOf(HasSubstr("config.json"), HasSubstr("ermission")));
    }
}

TEST(ModelConfigFiles, WrongTypesOnDisk) {
    TempDir tmp;
    json j = gpt2Base();
    j["n_layer"] = {2};
    writeFile(tmp / "config.json", j.dump());
    auto c = loadModelConfig(tmp.path());
    ASSERT_FALSE(c.ok());
    EXPECT_THAT(c.error().message, AllOf(HasSubstr((tmp / "config.json").string()), HasSubstr("'n_layer'"),
                                         HasSubstr("must be an integer, got an array")));
}
