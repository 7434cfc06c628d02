#include "model/model_maker.h"

#include "io/model_config.h"
#include "io/safetensors_writer.h"
#include "model/model_loader.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

namespace tokenlens {
namespace {

namespace fs = std::filesystem;
using ordered = nlohmann::ordered_json;

// One preset: the public config.json and generation_config.json of the
// checkpoint (as published on the Hugging Face Hub) and where the family's
// tokenizer lives among the fixtures.
struct Preset {
    const char* name;
    const char* layersKey;
    const char* tokenizer; // relative to the source tree / install tree
    ordered config;
    ordered generation;
};

// Llama 3.2 writes head_dim into its config; Llama 3.1 does not (0 here).
ordered llama3Config(int64_t hidden, int64_t layers, int64_t intermediate, double ropeFactor, bool tied,
                     int64_t headDim) {
    ordered c = {{"architectures", {"LlamaForCausalLM"}},
            {"attention_bias", false},
            {"attention_dropout", 0.0},
            {"bos_token_id", 128000},
            {"eos_token_id", 128001},
            {"hidden_act", "silu"},
            {"hidden_size", hidden},
            {"initializer_range", 0.02},
            {"intermediate_size", intermediate},
            {"max_position_embeddings", 131072},
            {"mlp_bias", false},
            {"model_type", "llama"},
            {"num_attention_heads", 32},
            {"num_hidden_layers", layers},
            {"num_key_value_heads", 8},
            {"pretraining_tp", 1},
            {"rms_norm_eps", 1e-05},
            {"rope_scaling",
             {{"factor", ropeFactor},
              {"high_freq_factor", 4.0},
              {"low_freq_factor", 1.0},
              {"original_max_position_embeddings", 8192},
              {"rope_type", "llama3"}}},
            {"rope_theta", 500000.0},
            {"tie_word_embeddings", tied},
            {"torch_dtype", "bfloat16"},
            {"use_cache", true},
            {"vocab_size", 128256}};
    if (headDim > 0) c["head_dim"] = headDim;
    return c;
}

const std::vector<Preset>& presets() {
    static const std::vector<Preset> table = [] {
        std::vector<Preset> t;
        t.push_back({"gpt2-small", "n_layer", "tests/data/models/tiny-gpt2",
                     {{"activation_function", "gelu_new"},
                      {"architectures", {"GPT2LMHeadModel"}},
                      {"attn_pdrop", 0.1},
                      {"bos_token_id", 50256},
                      {"embd_pdrop", 0.1},
                      {"eos_token_id", 50256},
                      {"initializer_range", 0.02},
                      {"layer_norm_epsilon", 1e-05},
                      {"model_type", "gpt2"},
                      {"n_ctx", 1024},
                      {"n_embd", 768},
                      {"n_head", 12},
                      {"n_layer", 12},
                      {"n_positions", 1024},
                      {"resid_pdrop", 0.1},
                      {"tie_word_embeddings", true},
                      {"torch_dtype", "float32"},
                      {"vocab_size", 50257}},
                     {{"bos_token_id", 50256}, {"eos_token_id", 50256}}});
        // Qwen2.5 uses the Qwen2 tokenizer: the fixtures' copy (from Qwen3,
        // the same byte-level BPE and 151643 base ids plus added tokens).
        t.push_back({"qwen2.5-0.5b", "num_hidden_layers", "tests/data/models/tiny-qwen2",
                     {{"architectures", {"Qwen2ForCausalLM"}},
                      {"attention_dropout", 0.0},
                      {"bos_token_id", 151643},
                      {"eos_token_id", 151643},
                      {"hidden_act", "silu"},
                      {"hidden_size", 896},
                      {"initializer_range", 0.02},
                      {"intermediate_size", 4864},
                      {"max_position_embeddings", 32768},
                      {"max_window_layers", 24},
                      {"model_type", "qwen2"},
                      {"num_attention_heads", 14},
                      {"num_hidden_layers", 24},
                      {"num_key_value_heads", 2},
                      {"rms_norm_eps", 1e-06},
                      {"rope_theta", 1000000.0},
                      {"sliding_window", 32768},
                      {"tie_word_embeddings", true},
                      {"torch_dtype", "bfloat16"},
                      {"use_cache", true},
                      {"use_sliding_window", false},
                      {"vocab_size", 151936}},
                     {{"bos_token_id", 151643}, {"do_sample", false}, {"eos_token_id", 151643}, {"max_new_tokens", 2048}}});
        const ordered llamaGeneration = {{"bos_token_id", 128000}, {"do_sample", true}, {"eos_token_id", 128001},
                                         {"temperature", 0.6}, {"top_p", 0.9}};
        t.push_back({"llama-3.2-1b", "num_hidden_layers", "tests/data/tokenizers/llama3",
                     llama3Config(2048, 16, 8192, 32.0, true, 64), llamaGeneration});
        // Llama 3.1 8B: the same rope_type but factor 8 (its public config).
        t.push_back({"llama-3.1-8b", "num_hidden_layers", "tests/data/tokenizers/llama3",
                     llama3Config(4096, 32, 14336, 8.0, false, 0), llamaGeneration});
        return t;
    }();
    return table;
}

const Preset* findPreset(const std::string& name) {
    for (const auto& p : presets()) {
        if (name == p.name) return &p;
    }
    return nullptr;
}

std::string presetList() {
    std::string s;
    for (const auto& n : modelPresetNames()) s += (s.empty() ? "" : ", ") + n;
    return s;
}

// The family's tokenizer: installed next to the executable
// (share/tokenlens/<relative path>), else in the source tree.
fs::path findTokenizer(const std::string& relative) {
    std::vector<fs::path> candidates;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back(exe.parent_path() / ".." / "share" / "tokenlens" / relative);
#ifdef TOKENLENS_SOURCE_DIR
    candidates.emplace_back(fs::path(TOKENLENS_SOURCE_DIR) / relative);
#endif
    for (const auto& c : candidates) {
        if (fs::is_regular_file(c / "tokenizer.json", ec)) return c.lexically_normal();
    }
    return {};
}

Status writeJson(const fs::path& file, const ordered& j) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) return makeError(ErrorCode::Unreadable, file.string() + ": cannot open for writing");
    out << j.dump(2) << "\n";
    if (!out) return makeError(ErrorCode::Unreadable, file.string() + ": write failed");
    return {};
}

bool isNormWeight(const std::string& name) {
    const bool norm = name.find("norm") != std::string::npos || name.find("ln_") != std::string::npos;
    return norm && name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
}

bool isBias(const std::string& name) { return name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0; }

// Writes one tensor's values in chunks through reused buffers (fresh pages
// are slow to touch; a chunk is 16 MB of float32).
Status writeTensor(SafetensorsWriter& w, const TensorSpec& t, double stddev, at::Generator& gen, at::Tensor& f32,
                   at::Tensor& stored) {
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    const int64_t chunk = f32.numel();
    for (int64_t offset = 0; offset < numel; offset += chunk) {
        const int64_t n = std::min(chunk, numel - offset);
        at::Tensor v = f32.narrow(0, 0, n);
        if (isNormWeight(t.name)) {
            v.fill_(1.0);
        } else if (isBias(t.name)) {
            v.zero_();
        } else {
            v.normal_(0.0, stddev, gen);
        }
        at::Tensor out = v;
        if (t.dtype == DType::BF16) {
            out = stored.narrow(0, 0, n);
            out.copy_(v); // round to nearest even, as torch's .to(bfloat16)
        }
        const auto* p = static_cast<const std::byte*>(out.data_ptr());
        if (auto st = w.append({p, static_cast<size_t>(n) * dtypeSize(t.dtype)}); !st) return st;
    }
    return {};
}

} // namespace

const std::vector<std::string>& modelPresetNames() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const auto& p : presets()) n.emplace_back(p.name);
        return n;
    }();
    return names;
}

std::optional<uint64_t> parseByteSize(const std::string& text) {
    static const std::vector<std::pair<std::string, uint64_t>> units = {
        {"GB", 1'000'000'000ull}, {"MB", 1'000'000ull}, {"KB", 1'000ull}, {"B", 1ull}};
    std::string digits = text;
    uint64_t unit = 1;
    for (const auto& [suffix, scale] : units) {
        if (digits.size() > suffix.size() && digits.compare(digits.size() - suffix.size(), suffix.size(), suffix) == 0) {
            digits.resize(digits.size() - suffix.size());
            unit = scale;
            break;
        }
    }
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        digits.size() > 12) {
        return std::nullopt;
    }
    const uint64_t n = std::stoull(digits) * unit;
    if (n == 0) return std::nullopt;
    return n;
}

Result<MakeModelReport> makeModel(const MakeModelOptions& o) {
    const Preset* preset = findPreset(o.like);
    if (!preset) {
        return makeError(ErrorCode::InvalidArgument, "--like: unknown model '" + o.like + "' (known: " + presetList() + ")");
    }
    ordered config = preset->config;
    if (o.layers) {
        if (*o.layers < 1) return makeError(ErrorCode::InvalidArgument, "--layers: must be at least 1");
        config[preset->layersKey] = *o.layers;
        if (config.contains("max_window_layers")) config["max_window_layers"] = *o.layers;
    }
    if (o.dtype) {
        if (*o.dtype != "float32" && *o.dtype != "bfloat16") {
            return makeError(ErrorCode::InvalidArgument, "--dtype: '" + *o.dtype + "' is not float32 or bfloat16");
        }
        config["torch_dtype"] = *o.dtype;
    }
    const DType dtype = config["torch_dtype"] == "bfloat16" ? DType::BF16 : DType::F32;
    const double stddev = config["initializer_range"].get<double>();
    auto parsed = parseModelConfig(config.dump(), "config.json");
    if (!parsed) return parsed.error();
    auto specs = parameterSpecs(*parsed);
    if (!specs) return specs.error();

    MakeModelReport report;
    report.dtype = dtypeTorchName(dtype);
    report.tokenizerFrom = o.tokenizerDir.empty() ? findTokenizer(preset->tokenizer) : o.tokenizerDir;
    if (report.tokenizerFrom.empty()) {
        return makeError(ErrorCode::NotFound, std::string("no tokenizer.json of the family found (looked for ") +
                                                  preset->tokenizer + " in the install and source trees); give one with --tokenizer DIR");
    }
    const fs::path tokenizerJson = report.tokenizerFrom / "tokenizer.json";
    std::error_code ec;
    if (!fs::is_regular_file(tokenizerJson, ec)) return makeError(ErrorCode::NotFound, tokenizerJson.string() + ": no such file");
    if (fs::exists(o.out, ec) && !fs::is_directory(o.out, ec)) {
        return makeError(ErrorCode::InvalidArgument, o.out.string() + ": exists and is not a folder");
    }
    if (fs::is_directory(o.out, ec) && !fs::is_empty(o.out, ec)) {
        return makeError(ErrorCode::InvalidArgument, o.out.string() + ": folder is not empty (make-model writes a new folder)");
    }
    fs::create_directories(o.out, ec);
    if (ec) return makeError(ErrorCode::Unreadable, o.out.string() + ": cannot create the folder: " + ec.message());

    // Shards in state-dict order, a new one when the next tensor would pass
    // the limit (a tensor larger than the limit gets a shard of its own).
    std::vector<std::vector<TensorSpec>> shards(1);
    uint64_t shardBytes = 0;
    for (const auto& p : *specs) {
        TensorSpec t{p.name, dtype, p.shape};
        if (!shards.back().empty() && shardBytes + t.byteSize() > o.maxShardBytes) {
            shards.emplace_back();
            shardBytes = 0;
        }
        shardBytes += t.byteSize();
        report.bytes += t.byteSize();
        report.parameters += static_cast<int64_t>(t.byteSize() / dtypeSize(dtype));
        shards.back().push_back(std::move(t));
    }

    torch::NoGradGuard noGrad;
    auto gen = at::detail::createCPUGenerator(o.seed);
    at::Tensor f32 = torch::empty({int64_t{1} << 22}, torch::kFloat32);
    at::Tensor stored = dtype == DType::BF16 ? torch::empty({int64_t{1} << 22}, torch::kBFloat16) : at::Tensor();
    std::map<std::string, std::string> weightMap; // sorted by name, as the Hub's
    uint64_t written = 0;
    for (size_t s = 0; s < shards.size(); ++s) {
        char file[64];
        std::snprintf(file, sizeof file, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
        auto& tensors = shards[s];
        std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        auto writer = SafetensorsWriter::create(o.out / file, tensors);
        if (!writer) return writer.error();
        for (const auto& t : tensors) {
            if (auto st = writeTensor(**writer, t, stddev, gen, f32, stored); !st) return st.error();
            weightMap[t.name] = file;
            written += t.byteSize();
            if (o.onProgress) o.onProgress(written, report.bytes);
        }
        if (auto st = (*writer)->finish(); !st) return st.error();
        report.shards.emplace_back(file);
    }
    const ordered index = {{"metadata", {{"total_size", report.bytes}}}, {"weight_map", ordered(weightMap)}};
    for (const auto& [name, j] : std::vector<std::pair<std::string, ordered>>{
             {"model.safetensors.index.json", index}, {"config.json", config}, {"generation_config.json", preset->generation}}) {
        if (auto st = writeJson(o.out / name, j); !st) return st.error();
    }
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
        const fs::path from = report.tokenizerFrom / name;
        if (!fs::is_regular_file(from, ec)) continue; // tokenizer_config.json is optional
        fs::copy_file(from, o.out / name, fs::copy_options::overwrite_existing, ec);
        if (ec) return makeError(ErrorCode::Unreadable, (o.out / name).string() + ": cannot copy from " + from.string() + ": " + ec.message());
    }
    return report;
}

} // namespace tokenlens
