#include "io/model_folder.h"

#include "io/json_util.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

namespace tokenlens {

namespace fs = std::filesystem;

namespace {

bool isFile(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec); // follows symlinks (HF cache snapshots are symlinks to blobs)
}

std::string envOr(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

// Last component of a path, ignoring a trailing separator.
std::string folderName(const fs::path& p) {
    fs::path n = p.lexically_normal();
    std::string name = n.filename().string();
    if (name.empty()) name = n.parent_path().filename().string();
    if (name.empty() || name == ".") {
        std::error_code ec;
        fs::path abs = fs::absolute(p, ec);
        if (!ec) {
            abs = abs.lexically_normal();
            name = abs.filename().string();
            if (name.empty()) name = abs.parent_path().filename().string();
        }
    }
    return name.empty() ? p.string() : name;
}

std::string readRef(const fs::path& p) {
    std::ifstream in(p);
    std::string s;
    if (!in || !std::getline(in, s)) return {};
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    return s;
}

} // namespace

bool looksLikeModelFolder(const fs::path& dir) {
    return isFile(dir / "config.json") &&
           (isFile(dir / "model.safetensors") || isFile(dir / "model.safetensors.index.json"));
}

fs::path huggingFaceHubDir() {
    if (auto v = envOr("HF_HUB_CACHE"); !v.empty()) return v;
    if (auto v = envOr("HUGGINGFACE_HUB_CACHE"); !v.empty()) return v; // older name, still honoured by huggingface_hub
    if (auto v = envOr("HF_HOME"); !v.empty()) return fs::path(v) / "hub";
    if (auto v = envOr("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "huggingface" / "hub";
    if (auto v = envOr("HOME"); !v.empty()) return fs::path(v) / ".cache" / "huggingface" / "hub";
    return {};
}

std::vector<ModelLocation> discoverHfCache(const fs::path& hubDir) {
    std::vector<ModelLocation> out;
    std::error_code ec;
    if (hubDir.empty() || !fs::is_directory(hubDir, ec)) return out;
    std::vector<fs::path> repos;
    for (fs::directory_iterator it(hubDir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.rfind("models--", 0) == 0 && name.size() > 8) repos.push_back(it->path());
    }
    std::sort(repos.begin(), repos.end());
    for (const fs::path& repo : repos) {
        std::error_code rec;
        if (!fs::is_directory(repo, rec)) continue;
        // HF turns "org/name" into "models--org--name"; repo names cannot contain "--".
        const std::string rest = repo.filename().string().substr(8);
        std::string id = rest;
        if (auto sep = rest.find("--"); sep != std::string::npos) id = rest.substr(0, sep) + "/" + rest.substr(sep + 2);

        const fs::path snapshots = repo / "snapshots";
        fs::path chosen;
        const std::string mainRev = readRef(repo / "refs" / "main");
        if (!mainRev.empty() && mainRev.find('/') == std::string::npos && mainRev != ".." &&
            looksLikeModelFolder(snapshots / mainRev)) {
            chosen = snapshots / mainRev;
        } else {
            fs::file_time_type newest{};
            for (fs::directory_iterator it(snapshots, rec), end; !rec && it != end; it.increment(rec)) {
                if (!looksLikeModelFolder(it->path())) continue;
                std::error_code tec;
                auto t = fs::last_write_time(it->path(), tec);
                if (tec) continue;
                if (chosen.empty() || t > newest || (t == newest && it->path() < chosen)) {
                    chosen = it->path();
                    newest = t;
                }
            }
        }
        if (!chosen.empty()) out.push_back(ModelLocation{id, chosen, "hf-cache"});
    }
    return out;
}

std::vector<ModelLocation> discoverFolders(const std::vector<fs::path>& folders) {
    std::vector<ModelLocation> out;
    std::set<fs::path> seen;
    auto add = [&](const fs::path& p) {
        std::error_code ec;
        fs::path key = fs::weakly_canonical(p, ec);
        if (ec) key = p;
        if (seen.insert(key).second) out.push_back(ModelLocation{folderName(p), p, "folder"});
    };
    for (const fs::path& folder : folders) {
        std::error_code ec;
        if (!fs::is_directory(folder, ec)) continue;
        if (looksLikeModelFolder(folder)) {
            add(folder);
            continue;
        }
        std::vector<fs::path> children;
        for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
            std::error_code dec;
            if (fs::is_directory(it->path(), dec) && looksLikeModelFolder(it->path())) children.push_back(it->path());
        }
        std::sort(children.begin(), children.end());
        for (const auto& c : children) add(c);
    }
    return out;
}

// ---------------------------------------------------------------------------

namespace {

using Shape = std::vector<int64_t>;

std::string where(const WeightSet& ws, const WeightSet::Entry* e) {
    return (e ? e->file->path() : ws.source()).string();
}

bool isFloating(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16 || d == DType::F64; }

// Highest N in names "<layerPrefix>N.", or -1.
int64_t highestLayer(const WeightSet& ws, const std::string& layerPrefix, std::string* example) {
    int64_t best = -1;
    for (const auto& name : ws.names()) {
        if (name.rfind(layerPrefix, 0) != 0) continue;
        size_t i = layerPrefix.size(), j = i;
        while (j < name.size() && j - i < 10 && name[j] >= '0' && name[j] <= '9') ++j;
        if (j == i || j >= name.size() || name[j] != '.') continue;
        const int64_t n = std::stoll(name.substr(i, j - i));
        if (n > best) {
            best = n;
            if (example) *example = name;
        }
    }
    return best;
}

struct Expect {
    std::string name;
    Shape shape;
    std::string because; // config keys the shape comes from
};

} // namespace

Result<WeightLayout> checkWeightsMatchConfig(const ModelConfig& c, const WeightSet& ws) {
    using io_detail::formatShape;
    const bool gpt2 = c.family == ArchFamily::Gpt2;
    WeightLayout layout;
    if (gpt2) {
        layout.prefix = ws.find("transformer.wte.weight") || !ws.find("wte.weight") ? "transformer." : "";
        layout.layerPrefix = layout.prefix + "h.";
        layout.embedding = layout.prefix + "wte.weight";
    } else if (c.textOfMultimodal) {
        // Gemma3ForConditionalGeneration: "language_model.model." as released,
        // "model.language_model." as transformers >= 4.52 saves it.
        layout.prefix = ws.find("model.language_model.embed_tokens.weight") ? "model.language_model."
                                                                             : "language_model.model.";
        layout.layerPrefix = layout.prefix + "layers.";
        layout.embedding = layout.prefix + "embed_tokens.weight";
    } else {
        layout.prefix = "model.";
        layout.layerPrefix = "model.layers.";
        layout.embedding = "model.embed_tokens.weight";
    }
    const std::string vocabKey = "vocab_size";
    const std::string hiddenKey = gpt2 ? "n_embd" : "hidden_size";
    const std::string layersKey = gpt2 ? "n_layer" : "num_hidden_layers";
    const int64_t V = c.vocabSize, H = c.hiddenSize;

    // 1. The token embedding.
    const auto* emb = ws.find(layout.embedding);
    if (!emb) {
        return makeError(ErrorCode::Mismatch, where(ws, nullptr) + ": the token embedding '" + layout.embedding +
                                                  "' is missing (model_type " + c.modelType + ")");
    }
    if (emb->info->shape != Shape{V, H}) {
        return makeError(ErrorCode::Mismatch, where(ws, emb) + ": tensor '" + layout.embedding + "' has shape " +
                                                  formatShape(emb->info->shape) + " but config.json says " + vocabKey +
                                                  " " + std::to_string(V) + ", " + hiddenKey + " " +
                                                  std::to_string(H));
    }

    // 2. The layer count.
    std::string lastLayerTensor;
    const int64_t highest = highestLayer(ws, layout.layerPrefix, &lastLayerTensor);
    if (highest + 1 != c.numLayers) {
        const auto* e = highest >= 0 ? ws.find(lastLayerTensor) : nullptr;
        std::string held = highest < 0 ? "no layer tensors ('" + layout.layerPrefix + "N.*')"
                                       : "layers 0.." + std::to_string(highest) + " (" + std::to_string(highest + 1) +
                                             " layers, up to '" + lastLayerTensor + "')";
        return makeError(ErrorCode::Mismatch, where(ws, e) + ": the weights hold " + held + " but config.json says " +
                                                  layersKey + " " + std::to_string(c.numLayers));
    }

    // 3. Every tensor the architecture needs.
    std::vector<Expect> expect;
    const int64_t I = c.intermediateSize;
    if (gpt2) {
        const std::string p = layout.prefix;
        expect.push_back({p + "wpe.weight", {c.maxPositions, H}, "n_positions, n_embd"});
        expect.push_back({p + "ln_f.weight", {H}, "n_embd"});
        expect.push_back({p + "ln_f.bias", {H}, "n_embd"});
        for (int64_t l = 0; l < c.numLayers; ++l) {
            const std::string b = layout.layerPrefix + std::to_string(l) + ".";
            expect.push_back({b + "ln_1.weight", {H}, "n_embd"});
            expect.push_back({b + "ln_1.bias", {H}, "n_embd"});
            expect.push_back({b + "attn.c_attn.weight", {H, 3 * H}, "n_embd"});
            expect.push_back({b + "attn.c_attn.bias", {3 * H}, "n_embd"});
            expect.push_back({b + "attn.c_proj.weight", {H, H}, "n_embd"});
            expect.push_back({b + "attn.c_proj.bias", {H}, "n_embd"});
            expect.push_back({b + "ln_2.weight", {H}, "n_embd"});
            expect.push_back({b + "ln_2.bias", {H}, "n_embd"});
            expect.push_back({b + "mlp.c_fc.weight", {H, I}, "n_embd, n_inner"});
            expect.push_back({b + "mlp.c_fc.bias", {I}, "n_inner"});
            expect.push_back({b + "mlp.c_proj.weight", {I, H}, "n_inner, n_embd"});
            expect.push_back({b + "mlp.c_proj.bias", {H}, "n_embd"});
        }
    } else {
        const int64_t Q = c.numHeads * c.headDim, KV = c.numKvHeads * c.headDim;
        const std::string qKeys = "num_attention_heads " + std::to_string(c.numHeads) + " x head_dim " +
                                  std::to_string(c.headDim) + ", hidden_size " + std::to_string(H);
        const std::string kvKeys = "num_key_value_heads " + std::to_string(c.numKvHeads) + " x head_dim " +
                                   std::to_string(c.headDim) + ", hidden_size " + std::to_string(H);
        const std::string mlpKeys = "intermediate_size " + std::to_string(I) + ", hidden_size " + std::to_string(H);
        expect.push_back({layout.prefix + "norm.weight", {H}, "hidden_size"});
        const bool oBias = c.attentionBias && c.modelType != "qwen2";
        const std::string hdKey = "head_dim " + std::to_string(c.headDim);
        for (int64_t l = 0; l < c.numLayers; ++l) {
            const std::string b = layout.layerPrefix + std::to_string(l) + ".";
            expect.push_back({b + "input_layernorm.weight", {H}, "hidden_size"});
            expect.push_back({b + "post_attention_layernorm.weight", {H}, "hidden_size"});
            if (c.gemmaNorms) {
                expect.push_back({b + "pre_feedforward_layernorm.weight", {H}, "hidden_size"});
                expect.push_back({b + "post_feedforward_layernorm.weight", {H}, "hidden_size"});
            }
            if (c.fusedProjections) {
                expect.push_back({b + "self_attn.qkv_proj.weight", {Q + 2 * KV, H}, qKeys + ", " + kvKeys});
            } else {
                expect.push_back({b + "self_attn.q_proj.weight", {Q, H}, qKeys});
                expect.push_back({b + "self_attn.k_proj.weight", {KV, H}, kvKeys});
                expect.push_back({b + "self_attn.v_proj.weight", {KV, H}, kvKeys});
            }
            expect.push_back({b + "self_attn.o_proj.weight", {H, Q}, qKeys});
            if (c.qkNorm) {
                expect.push_back({b + "self_attn.q_norm.weight", {c.headDim}, hdKey});
                expect.push_back({b + "self_attn.k_norm.weight", {c.headDim}, hdKey});
            }
            if (c.attentionBias) {
                expect.push_back({b + "self_attn.q_proj.bias", {Q}, qKeys});
                expect.push_back({b + "self_attn.k_proj.bias", {KV}, kvKeys});
                expect.push_back({b + "self_attn.v_proj.bias", {KV}, kvKeys});
            }
            if (oBias) expect.push_back({b + "self_attn.o_proj.bias", {H}, "hidden_size"});
            if (c.fusedProjections) {
                expect.push_back({b + "mlp.gate_up_proj.weight", {2 * I, H}, mlpKeys});
            } else {
                expect.push_back({b + "mlp.gate_proj.weight", {I, H}, mlpKeys});
                expect.push_back({b + "mlp.up_proj.weight", {I, H}, mlpKeys});
            }
            expect.push_back({b + "mlp.down_proj.weight", {H, I}, mlpKeys});
            if (c.mlpBias) {
                expect.push_back({b + "mlp.gate_proj.bias", {I}, mlpKeys});
                expect.push_back({b + "mlp.up_proj.bias", {I}, mlpKeys});
                expect.push_back({b + "mlp.down_proj.bias", {H}, "hidden_size"});
            }
        }
    }
    const std::string headKeys = "vocab_size " + std::to_string(V) + ", " + hiddenKey + " " + std::to_string(H);
    std::string head = "lm_head.weight";
    if (c.textOfMultimodal && !ws.find(head) && ws.find("language_model.lm_head.weight")) {
        head = "language_model.lm_head.weight";
    }
    if (!c.tieWordEmbeddings || ws.find(head)) expect.push_back({head, {V, H}, headKeys});
    expect.insert(expect.begin(), Expect{layout.embedding, {V, H}, headKeys});

    for (const Expect& x : expect) {
        const auto* e = ws.find(x.name);
        if (!e) {
            std::string why = x.name == head ? " (config.json says tie_word_embeddings false)" : "";
            return makeError(ErrorCode::Mismatch, where(ws, nullptr) + ": tensor '" + x.name + "' is missing" + why +
                                                      "; expected shape " + formatShape(x.shape));
        }
        if (e->info->shape != x.shape) {
            return makeError(ErrorCode::Mismatch, where(ws, e) + ": tensor '" + x.name + "' has shape " +
                                                      formatShape(e->info->shape) + " but config.json implies " +
                                                      formatShape(x.shape) + " (" + x.because + ")");
        }
        if (!isFloating(e->info->dtype)) {
            return makeError(ErrorCode::Unsupported, where(ws, e) + ": tensor '" + x.name + "' is stored as " +
                                                         dtypeName(e->info->dtype) +
                                                         "; only floating-point weights (F32, F16, BF16, F64) "
                                                         "are supported");
        }
    }
    return layout;
}

Result<ModelFolderInfo> inspectModelFolder(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return makeError(ErrorCode::NotFound, dir.string() + ": no such model folder");
    if (!fs::is_directory(dir, ec)) return makeError(ErrorCode::NotFound, dir.string() + ": is not a directory");
    auto config = loadModelConfig(dir);
    if (!config) return config.error();
    auto weights = WeightSet::openFolder(dir);
    if (!weights) return weights.error();
    auto layout = checkWeightsMatchConfig(*config, *weights);
    if (!layout) return layout.error();
    ModelFolderInfo info;
    info.path = dir;
    info.config = std::move(config).value();
    info.weights = std::move(weights).value();
    info.layout = std::move(layout).value();
    info.storedDType = info.weights.dominantDType();
    info.parameterCount = info.weights.parameterCount();
    for (const auto& f : info.weights.files()) info.weightFiles.push_back(f->path().filename().string());
    return info;
}

} // namespace tokenlens
