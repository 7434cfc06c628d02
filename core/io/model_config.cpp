#include "io/model_config.h"

#include "io/json_util.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace tokenlens {

namespace fs = std::filesystem;
using nlohmann::json;

const char* supportedModelTypes() { return "gpt2, llama, mistral, qwen2, qwen3, phi3, gemma3_text, gemma3"; }

int64_t ModelConfig::windowAt(int64_t layer) const {
    if (!slidingWindow || layer < 0 || static_cast<size_t>(layer) >= slidingLayers.size()) return 0;
    return slidingLayers[static_cast<size_t>(layer)] ? *slidingWindow : 0;
}

int64_t ModelConfig::rotaryDim() const {
    return static_cast<int64_t>(static_cast<double>(headDim) * partialRotaryFactor);
}

namespace {

// Thrown inside this file only; parseModelConfig turns it into a Result.
struct ConfigError {
    Error error;
};

// Sizes above this are treated as a corrupt file rather than a big model.
constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();

class Reader {
public:
    Reader(const json& j, std::string file) : m_j(j), m_file(std::move(file)) {}

    [[noreturn]] void fail(ErrorCode code, const std::string& msg) const {
        throw ConfigError{makeError(code, m_file + ": " + msg)};
    }

    const json* find(const std::string& key) const {
        auto it = m_j.find(key);
        return it == m_j.end() ? nullptr : &*it;
    }
    // Present and not null.
    const json* given(const std::string& key) const {
        const json* v = find(key);
        return v && !v->is_null() ? v : nullptr;
    }

    [[noreturn]] void wrongType(const std::string& key, const char* expected, const json& got) const {
        fail(ErrorCode::Corrupt, "key '" + key + "' must be " + expected + ", got " + io_detail::jsonTypeName(got));
    }

    int64_t asInt(const std::string& key, const json& v) const {
        if (v.is_number_unsigned()) {
            const auto u = v.get<uint64_t>();
            if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                fail(ErrorCode::Corrupt, "key '" + key + "' is out of range");
            }
            return static_cast<int64_t>(u);
        }
        if (v.is_number_integer()) return v.get<int64_t>();
        wrongType(key, "an integer", v);
    }

    int64_t reqInt(const std::string& key) const {
        const json* v = find(key);
        if (!v) fail(ErrorCode::NotFound, "required key '" + key + "' (an integer) is missing");
        if (v->is_null()) fail(ErrorCode::Corrupt, "key '" + key + "' must be an integer, got null");
        return asInt(key, *v);
    }
    int64_t optInt(const std::string& key, int64_t fallback) const {
        const json* v = given(key);
        return v ? asInt(key, *v) : fallback;
    }
    // Positive and not absurdly large.
    int64_t size(const std::string& key, int64_t value) const {
        if (value <= 0) fail(ErrorCode::Corrupt, "key '" + key + "' must be positive, got " + std::to_string(value));
        if (value > kMaxSize) {
            fail(ErrorCode::Corrupt, "key '" + key + "' is " + std::to_string(value) + ", larger than TokenLens accepts (" +
                                         std::to_string(kMaxSize) + ")");
        }
        return value;
    }
    int64_t reqSize(const std::string& key) const { return size(key, reqInt(key)); }

    double asNumber(const std::string& key, const json& v) const {
        if (!v.is_number()) wrongType(key, "a number", v);
        const double d = v.get<double>();
        if (!std::isfinite(d)) fail(ErrorCode::Corrupt, "key '" + key + "' must be a finite number");
        return d;
    }
    double optNumber(const std::string& key, double fallback) const {
        const json* v = given(key);
        return v ? asNumber(key, *v) : fallback;
    }
    double reqNumber(const std::string& key) const {
        const json* v = find(key);
        if (!v) fail(ErrorCode::NotFound, "required key '" + key + "' (a number) is missing");
        return asNumber(key, *v);
    }
    bool optBool(const std::string& key, bool fallback) const {
        const json* v = given(key);
        if (!v) return fallback;
        if (!v->is_boolean()) wrongType(key, "true or false", *v);
        return v->get<bool>();
    }
    std::string optString(const std::string& key, const std::string& fallback) const {
        const json* v = given(key);
        if (!v) return fallback;
        if (!v->is_string()) wrongType(key, "a string", *v);
        return v->get<std::string>();
    }
    // An id, a list of ids, or null. Negative ids (-1 = "none" in some old configs) are dropped.
    std::optional<std::vector<int64_t>> optIds(const std::string& key) const {
        const json* v = find(key);
        if (!v) return std::nullopt;
        std::vector<int64_t> ids;
        if (v->is_null()) return ids;
        if (v->is_number_integer()) {
            int64_t id = asInt(key, *v);
            if (id >= 0) ids.push_back(id);
            return ids;
        }
        if (!v->is_array()) wrongType(key, "an integer, a list of integers or null", *v);
        for (const json& e : *v) {
            if (!e.is_number_integer()) wrongType(key, "an integer, a list of integers or null", *v);
            int64_t id = asInt(key, e);
            if (id >= 0) ids.push_back(id);
        }
        return ids;
    }

    const json& root() const { return m_j; }
    const std::string& file() const { return m_file; }

private:
    const json& m_j;
    std::string m_file;
};

RopeScaling readRopeScaling(const Reader& r, int64_t maxPositions) {
    RopeScaling rs;
    const json* v = r.given("rope_scaling");
    if (!v) return rs;
    if (!v->is_object()) r.wrongType("rope_scaling", "an object or null", *v);
    Reader sub(*v, r.file());
    std::string type = sub.optString("rope_type", "");
    if (type.empty()) type = sub.optString("type", "");
    if (type.empty()) r.fail(ErrorCode::Corrupt, "key 'rope_scaling' has neither 'rope_type' nor 'type'");
    if (type == "default") return rs; // no scaling
    rs.type = type;
    auto key = [](const char* k) { return std::string("rope_scaling.") + k; };
    auto num = [&](const char* k, double fallback, bool required) {
        const json* x = sub.given(k);
        if (!x) {
            if (required) {
                r.fail(ErrorCode::NotFound, "required key '" + key(k) + "' (a number) is missing for rope_scaling type '" +
                                                type + "'");
            }
            return fallback;
        }
        return sub.asNumber(key(k), *x);
    };
    const bool needsFactor = type == "linear" || type == "dynamic" || type == "llama3" || type == "yarn";
    rs.factor = num("factor", 1.0, needsFactor);
    if (rs.factor <= 0) r.fail(ErrorCode::Corrupt, "key 'rope_scaling.factor' must be positive");
    const bool llama3 = type == "llama3";
    rs.lowFreqFactor = num("low_freq_factor", rs.lowFreqFactor, llama3);
    rs.highFreqFactor = num("high_freq_factor", rs.highFreqFactor, llama3);
    if (llama3 && (rs.lowFreqFactor <= 0 || rs.highFreqFactor <= 0)) {
        r.fail(ErrorCode::Corrupt, "keys 'rope_scaling.low_freq_factor' and 'high_freq_factor' must be positive");
    }
    const json* omp = sub.given("original_max_position_embeddings");
    if (omp) {
        rs.originalMaxPositions = sub.size(key("original_max_position_embeddings"),
                                           sub.asInt(key("original_max_position_embeddings"), *omp));
    } else if (llama3) {
        r.fail(ErrorCode::NotFound, "required key 'rope_scaling.original_max_position_embeddings' (an integer) is "
                                    "missing for rope_scaling type 'llama3'");
    } else {
        rs.originalMaxPositions = maxPositions;
    }
    return rs;
}

void readGpt2(const Reader& r, ModelConfig& c) {
    c.family = ArchFamily::Gpt2;
    c.hiddenSize = r.reqSize("n_embd");
    c.numLayers = r.reqSize("n_layer");
    c.numHeads = r.reqSize("n_head");
    c.numKvHeads = c.numHeads;
    if (c.hiddenSize % c.numHeads != 0) {
        r.fail(ErrorCode::Corrupt, "n_embd " + std::to_string(c.hiddenSize) + " is not divisible by n_head " +
                                       std::to_string(c.numHeads));
    }
    c.headDim = c.hiddenSize / c.numHeads;
    c.intermediateSize = r.given("n_inner") ? r.size("n_inner", r.optInt("n_inner", 0)) : 4 * c.hiddenSize;
    if (r.given("n_positions")) c.maxPositions = r.reqSize("n_positions");
    else if (r.given("n_ctx")) c.maxPositions = r.reqSize("n_ctx");
    else r.fail(ErrorCode::NotFound, "required key 'n_positions' (an integer) is missing");
    c.normEps = r.optNumber("layer_norm_epsilon", 1e-5);
    c.activation = r.optString("activation_function", "gelu_new");
    c.tieWordEmbeddings = r.optBool("tie_word_embeddings", true);
    c.attentionBias = true; // GPT-2's Conv1D layers all have biases
    c.mlpBias = true;
    c.ropeScaling = RopeScaling{};
}

bool isLlamaFamily(const std::string& t) {
    return t == "llama" || t == "mistral" || t == "qwen2" || t == "qwen3" || t == "phi3" || t == "gemma3_text";
}

// Which layers slide: an explicit layer_types list, else the model type's rule.
void readSlidingLayers(const Reader& r, ModelConfig& c) {
    const bool gemma = c.modelType == "gemma3_text";
    const bool qwen = c.modelType == "qwen2" || c.modelType == "qwen3";
    std::optional<int64_t> window;
    if (r.given("sliding_window")) window = r.size("sliding_window", r.optInt("sliding_window", 0));
    else if (gemma && !r.find("sliding_window")) window = 4096; // Gemma3TextConfig's default
    if (qwen && !r.optBool("use_sliding_window", false)) window.reset();
    c.slidingWindow = window;
    if (!window) return;
    const auto n = static_cast<size_t>(c.numLayers);
    if (const json* types = r.given("layer_types")) {
        if (!types->is_array() || types->size() != n) {
            r.fail(ErrorCode::Corrupt, "key 'layer_types' must be a list of " + std::to_string(n) +
                                           " strings (one per layer, num_hidden_layers)");
        }
        for (const json& t : *types) {
            const std::string s = t.is_string() ? t.get<std::string>() : std::string();
            if (s != "sliding_attention" && s != "full_attention") {
                r.fail(ErrorCode::Unsupported, "key 'layer_types' holds '" + (t.is_string() ? s : t.dump()) +
                                                   "' (supported: sliding_attention, full_attention)");
            }
            c.slidingLayers.push_back(s == "sliding_attention");
        }
        return;
    }
    if (gemma) {
        // Older Gemma 3 configs: every pattern-th layer is global.
        const int64_t pattern = r.given("sliding_window_pattern")
                                    ? r.size("sliding_window_pattern", r.optInt("sliding_window_pattern", 0))
                                    : 6;
        for (size_t i = 0; i < n; ++i) c.slidingLayers.push_back((static_cast<int64_t>(i) + 1) % pattern != 0);
    } else if (qwen) {
        const int64_t from = r.optInt("max_window_layers", 28);
        for (size_t i = 0; i < n; ++i) c.slidingLayers.push_back(static_cast<int64_t>(i) >= from);
    } else if (c.modelType == "mistral" || c.modelType == "phi3") {
        c.slidingLayers.assign(n, true);
    } else {
        c.slidingWindow.reset(); // llama has no sliding window
    }
}

void readLlamaFamily(const Reader& r, ModelConfig& c) {
    c.family = ArchFamily::Llama;
    const bool gemma = c.modelType == "gemma3_text";
    // Gemma 3 folders leave many keys at Gemma3TextConfig's defaults.
    auto sizeOr = [&](const std::string& key, int64_t fallback) {
        return gemma && !r.given(key) ? fallback : r.reqSize(key);
    };
    c.vocabSize = sizeOr("vocab_size", 262208);
    c.hiddenSize = sizeOr("hidden_size", 2304);
    c.numLayers = sizeOr("num_hidden_layers", 26);
    c.numHeads = sizeOr("num_attention_heads", 8);
    c.numKvHeads = r.given("num_key_value_heads") ? r.reqSize("num_key_value_heads") : gemma ? 4 : c.numHeads;
    if (r.given("head_dim")) {
        c.headDim = r.reqSize("head_dim");
    } else if (gemma) {
        c.headDim = 256;
    } else {
        if (c.hiddenSize % c.numHeads != 0) {
            r.fail(ErrorCode::Corrupt, "hidden_size " + std::to_string(c.hiddenSize) +
                                           " is not divisible by num_attention_heads " + std::to_string(c.numHeads) +
                                           " (and no head_dim is given)");
        }
        c.headDim = c.hiddenSize / c.numHeads;
    }
    if (c.numHeads % c.numKvHeads != 0) {
        r.fail(ErrorCode::Corrupt, "num_attention_heads " + std::to_string(c.numHeads) +
                                       " is not a multiple of num_key_value_heads " + std::to_string(c.numKvHeads));
    }
    c.intermediateSize = sizeOr("intermediate_size", 9216);
    c.maxPositions = sizeOr("max_position_embeddings", 131072);
    c.normEps = r.optNumber("rms_norm_eps", 1e-6);
    if (c.normEps < 0) r.fail(ErrorCode::Corrupt, "key 'rms_norm_eps' must not be negative");
    if (gemma) {
        c.activation = r.optString("hidden_activation", r.optString("hidden_act", "gelu_pytorch_tanh"));
    } else {
        c.activation = r.optString("hidden_act", "silu");
    }
    c.ropeTheta = r.optNumber("rope_theta", gemma ? 1000000.0 : 10000.0);
    if (c.ropeTheta <= 0) r.fail(ErrorCode::Corrupt, "key 'rope_theta' must be positive");
    c.ropeScaling = readRopeScaling(r, c.maxPositions);
    c.tieWordEmbeddings = r.optBool("tie_word_embeddings", gemma);
    if (c.modelType == "qwen2") {
        c.attentionBias = true; // Qwen2 always has q/k/v biases (and no o_proj bias)
        c.mlpBias = false;
    } else {
        c.attentionBias = r.optBool("attention_bias", false);
        c.mlpBias = (c.modelType == "llama" || c.modelType == "mistral") && r.optBool("mlp_bias", false);
        if (c.modelType == "phi3") c.attentionBias = false; // Phi-3's projections have no biases
    }
    if (c.modelType == "qwen3" || gemma) c.qkNorm = true;
    if (c.modelType == "phi3") {
        c.fusedProjections = true;
        c.partialRotaryFactor = r.optNumber("partial_rotary_factor", 1.0);
        if (!(c.partialRotaryFactor > 0 && c.partialRotaryFactor <= 1)) {
            r.fail(ErrorCode::Corrupt, "key 'partial_rotary_factor' must be in (0, 1]");
        }
    }
    if (gemma) {
        c.gemmaNorms = true;
        c.queryPreAttnScalar = r.optNumber("query_pre_attn_scalar", 256.0);
        if (*c.queryPreAttnScalar <= 0) r.fail(ErrorCode::Corrupt, "key 'query_pre_attn_scalar' must be positive");
        c.ropeLocalTheta = r.optNumber("rope_local_base_freq", 10000.0);
        if (*c.ropeLocalTheta <= 0) r.fail(ErrorCode::Corrupt, "key 'rope_local_base_freq' must be positive");
        auto cap = [&](const char* key) -> std::optional<double> {
            if (!r.given(key)) return std::nullopt;
            const double v = r.optNumber(key, 0);
            if (v <= 0) r.fail(ErrorCode::Corrupt, std::string("key '") + key + "' must be positive or null");
            return v;
        };
        c.attnLogitSoftcap = cap("attn_logit_softcapping");
        c.finalLogitSoftcap = cap("final_logit_softcapping");
        if (r.optBool("use_bidirectional_attention", false)) {
            r.fail(ErrorCode::Unsupported, "key 'use_bidirectional_attention' is true: TokenLens explains causal "
                                           "language models only");
        }
    }
    readSlidingLayers(r, c);
}

} // namespace

Result<ModelConfig> parseModelConfig(const std::string& configJson, const std::string& fileName) {
    auto parsed = io_detail::parseJsonText(configJson, fileName);
    if (!parsed) return parsed.error();
    const json& root = *parsed;
    if (!root.is_object()) {
        return makeError(ErrorCode::Corrupt, fileName + ": expected a JSON object, got " + io_detail::jsonTypeName(root));
    }
    try {
        Reader r(root, fileName);
        ModelConfig c;
        const json* mt = r.find("model_type");
        if (!mt) r.fail(ErrorCode::NotFound, "required key 'model_type' (a string) is missing");
        if (!mt->is_string()) r.wrongType("model_type", "a string", *mt);
        c.modelType = mt->get<std::string>();
        if (const json* arch = r.given("architectures")) {
            if (!arch->is_array()) r.wrongType("architectures", "a list of strings", *arch);
            for (const json& a : *arch) {
                if (!a.is_string()) r.wrongType("architectures", "a list of strings", *arch);
            }
            if (!arch->empty()) c.architecture = (*arch)[0].get<std::string>();
        }
        if (c.modelType == "gpt2") {
            c.vocabSize = r.reqSize("vocab_size");
            readGpt2(r, c);
        } else if (isLlamaFamily(c.modelType)) {
            readLlamaFamily(r, c);
        } else if (c.modelType == "gemma3") {
            // Gemma3ForConditionalGeneration: the text model's config is nested.
            const json* text = r.given("text_config");
            if (!text) r.fail(ErrorCode::NotFound, "required key 'text_config' (an object) is missing for model_type 'gemma3'");
            if (!text->is_object()) r.wrongType("text_config", "an object", *text);
            Reader sub(*text, fileName + " (text_config)");
            const std::string textType = sub.optString("model_type", "gemma3_text");
            if (textType != "gemma3_text") {
                sub.fail(ErrorCode::Unsupported, "model_type '" + textType + "' is not supported here (expected gemma3_text)");
            }
            c.modelType = "gemma3_text";
            c.textOfMultimodal = true;
            readLlamaFamily(sub, c);
            // The wrapper's own tie_word_embeddings (default true) governs its lm_head.
            c.tieWordEmbeddings = r.optBool("tie_word_embeddings", c.tieWordEmbeddings);
        } else {
            std::string shown = c.modelType.size() > 64 ? c.modelType.substr(0, 64) + "..." : c.modelType;
            r.fail(ErrorCode::Unsupported, "model_type '" + shown + "' is not supported (supported: " +
                                               supportedModelTypes() + ")");
        }
        // transformers >= 4.56 writes "dtype"; older versions "torch_dtype".
        c.torchDtype = r.optString("torch_dtype", "");
        if (c.torchDtype.empty()) c.torchDtype = r.optString("dtype", "");
        if (auto ids = r.optIds("bos_token_id")) c.bosTokenIds = *ids;
        if (auto ids = r.optIds("eos_token_id")) c.eosTokenIds = *ids;
        if (auto ids = r.optIds("pad_token_id"); ids && !ids->empty()) c.padTokenId = ids->front();
        if (c.textOfMultimodal) {
            // Ids the wrapper leaves out come from the text config.
            Reader sub(root["text_config"], fileName + " (text_config)");
            if (!r.given("bos_token_id")) {
                if (auto ids = sub.optIds("bos_token_id")) c.bosTokenIds = *ids;
            }
            if (!r.given("eos_token_id")) {
                if (auto ids = sub.optIds("eos_token_id")) c.eosTokenIds = *ids;
            }
            if (!r.given("pad_token_id")) {
                if (auto ids = sub.optIds("pad_token_id"); ids && !ids->empty()) c.padTokenId = ids->front();
            }
        }
        return c;
    } catch (const ConfigError& e) {
        return e.error;
    } catch (const std::exception& e) {
        // Defensive: nlohmann type errors should not escape as exceptions.
        return makeError(ErrorCode::Corrupt, fileName + ": " + io_detail::jsonErrorText(e));
    }
}

Result<ModelConfig> loadModelConfig(const fs::path& dir) {
    constexpr uint64_t kMaxConfig = 16ull * 1024 * 1024;
    const fs::path configPath = dir / "config.json";
    std::error_code ec;
    if (!fs::exists(dir, ec)) return makeError(ErrorCode::NotFound, dir.string() + ": no such directory");
    if (!fs::is_directory(dir, ec)) return makeError(ErrorCode::NotFound, dir.string() + ": is not a directory");
    auto text = io_detail::readSmallFile(configPath, kMaxConfig);
    if (!text) {
        if (text.error().code == ErrorCode::NotFound) {
            return makeError(ErrorCode::NotFound, configPath.string() + ": no such file (a model folder needs config.json)");
        }
        return text.error();
    }
    auto config = parseModelConfig(*text, configPath.string());
    if (!config) return config;

    const fs::path genPath = dir / "generation_config.json";
    if (fs::exists(genPath, ec)) {
        auto genText = io_detail::readSmallFile(genPath, kMaxConfig);
        if (!genText) return genText.error();
        auto gen = io_detail::parseJsonText(*genText, genPath.string());
        if (!gen) return gen.error();
        if (!gen->is_object()) {
            return makeError(ErrorCode::Corrupt, genPath.string() + ": expected a JSON object, got " +
                                                     io_detail::jsonTypeName(*gen));
        }
        try {
            Reader r(*gen, genPath.string());
            if (auto ids = r.optIds("bos_token_id"); ids && !r.find("bos_token_id")->is_null()) {
                config->bosTokenIds = *ids;
            }
            if (auto ids = r.optIds("eos_token_id"); ids && !r.find("eos_token_id")->is_null()) {
                config->eosTokenIds = *ids;
            }
        } catch (const ConfigError& e) {
            return e.error;
        }
    }
    return config;
}

} // namespace tokenlens
