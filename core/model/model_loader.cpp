#include "model/model_loader.h"

#include "io/safetensors.h"
#include "model/architectures.h"
#include "model/compute_dtype.h"
#include "model/cpu_allocator.h"

#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace tokenlens {

int64_t TorchCausalLM::parameterCount() const {
    int64_t n = 0;
    for (const auto& p : const_cast<TorchCausalLM*>(this)->module().parameters()) n += p.numel();
    return n;
}

int64_t TorchCausalLM::parameterBytes() const {
    int64_t n = 0;
    for (const auto& p : const_cast<TorchCausalLM*>(this)->module().parameters()) n += p.numel() * p.element_size();
    return n;
}

std::string TorchCausalLM::device() const {
    auto params = const_cast<TorchCausalLM*>(this)->module().parameters();
    return params.empty() ? "cpu" : params.front().device().str();
}

namespace {

std::string shapeString(at::IntArrayRef shape) {
    std::ostringstream os;
    os << "[";
    for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    os << "]";
    return os.str();
}

std::string joinNames(const std::vector<std::string>& names, size_t limit = 8) {
    std::string s;
    for (size_t i = 0; i < names.size() && i < limit; ++i) s += (i ? ", " : "") + ("'" + names[i] + "'");
    if (names.size() > limit) s += ", ... (" + std::to_string(names.size()) + " in all)";
    return s;
}

// Buffers some checkpoints carry that hold no learned weights.
bool isIgnorableTensor(const std::string& name) {
    auto endsWith = [&](const char* suffix) {
        const size_t n = std::strlen(suffix);
        return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
    };
    return endsWith(".attn.bias") || endsWith(".attn.masked_bias") || endsWith("rotary_emb.inv_freq");
}

// Tensors of a multimodal folder that are not part of its text model.
bool isOtherTower(const std::string& name) {
    for (const char* prefix : {"vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                               "model.multi_modal_projector."}) {
        if (name.rfind(prefix, 0) == 0) return true;
    }
    return false;
}

Result<std::unique_ptr<TorchCausalLM>> makeArchitecture(const ModelConfig& config) {
    if (config.family == ArchFamily::Gpt2) return makeGpt2(config);
    return makeLlama(config);
}

std::optional<at::ScalarType> storedScalarType(DType d) {
    switch (d) {
    case DType::F32: return torch::kFloat32;
    case DType::BF16: return torch::kBFloat16;
    case DType::F16: return torch::kFloat16;
    case DType::F64: return torch::kFloat64;
    default: return std::nullopt;
    }
}

// How the weights were placed (see placeWeight).
struct Placement {
    uint64_t mapped = 0;    // bytes used in place from the mapping
    uint64_t converted = 0; // bytes of copies in the compute dtype (vectors; matrices stored wider)
    uint64_t unaligned = 0; // bytes copied because the file placed them unaligned for their dtype
};

// The tensor a parameter uses, from a tensor's bytes in a mapped file: on
// the CPU with mapping on, a tensor over the mapping itself (kept alive by
// the tensor's deleter), unless the bytes are not aligned for their dtype
// (copied as stored). Then, if the stored dtype differs from the compute
// dtype, vectors (norms, biases) and matrices stored at least as wide as the
// compute dtype are converted once (a copy no larger than what is stored);
// a matrix stored narrower (bfloat16 computing in float32) stays as stored
// and is converted as it is used (layers::linear).
at::Tensor placeWeight(const std::shared_ptr<SafetensorsFile>& file, const TensorInfo& info, at::ScalarType stored,
                       at::ScalarType compute, Placement& placement) {
    auto bytes = file->bytes(info);
    const auto elem = static_cast<uintptr_t>(dtypeSize(info.dtype));
    at::Tensor t;
    const bool aligned = reinterpret_cast<uintptr_t>(bytes.data()) % elem == 0;
    if (aligned) {
        // Read-only memory (PROT_READ): nothing writes to loaded weights.
        void* data = const_cast<std::byte*>(bytes.data());
        t = torch::from_blob(data, info.shape, [keep = file](void*) mutable { keep.reset(); },
                             torch::TensorOptions().dtype(stored));
    } else {
        t = torch::empty(info.shape, torch::TensorOptions().dtype(stored));
        if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    }
    if (stored != compute && (t.dim() < 2 || c10::elementSize(stored) >= c10::elementSize(compute))) {
        placement.converted += static_cast<uint64_t>(t.numel()) * c10::elementSize(compute);
        return t.to(compute);
    }
    (aligned ? placement.mapped : placement.unaligned) += bytes.size();
    return t;
}

Status fillWeights(TorchCausalLM& model, const WeightSet& weights, const std::filesystem::path& dir,
                   const LoadOptions& options, at::ScalarType compute, Placement& placement) {
    torch::NoGradGuard noGrad;
    std::vector<std::string> missing;
    std::set<std::string> used;
    std::string firstFile = weights.files().empty() ? "model.safetensors"
                                                    : weights.files().front()->path().filename().string();
    std::map<const SafetensorsFile*, std::shared_ptr<SafetensorsFile>> owners;
    for (const auto& f : weights.files()) owners[f.get()] = f;
    for (auto& item : model.module().named_parameters()) {
        const std::string& name = item.key();
        at::Tensor& param = item.value();
        const WeightSet::Entry* entry = weights.find(name);
        if (!entry && model.config().textOfMultimodal) {
            // Gemma3ForConditionalGeneration: the text model's tensors carry
            // "language_model." (as released) or sit under
            // "model.language_model." (as transformers >= 4.52 saves them).
            if (name.rfind("model.", 0) == 0) {
                const std::string rest = name.substr(6);
                entry = weights.find("language_model.model." + rest);
                if (!entry) entry = weights.find("model.language_model." + rest);
            } else {
                entry = weights.find("language_model." + name);
            }
        }
        if (!entry) {
            // Checkpoints saved from the base model (GPT2Model, LlamaModel)
            // carry no "transformer." / "model." prefix, as in the original
            // GPT-2 files; Hugging Face accepts them, so do we.
            for (const char* prefix : {"transformer.", "model."}) {
                if (name.rfind(prefix, 0) == 0 && (entry = weights.find(name.substr(std::strlen(prefix))))) break;
            }
        }
        if (!entry) {
            missing.push_back(name);
            continue;
        }
        used.insert(entry->info->name);
        const TensorInfo& info = *entry->info;
        const std::string file = entry->file->path().filename().string();
        if (at::IntArrayRef(info.shape) != param.sizes()) {
            return makeError(ErrorCode::Mismatch, file + ": tensor '" + name + "' has shape " +
                                                      shapeString(info.shape) + " but config.json implies " +
                                                      shapeString(param.sizes()));
        }
        const auto stored = storedScalarType(info.dtype);
        if (!stored) {
            return makeError(ErrorCode::Unsupported, file + ": tensor '" + name + "' is stored as " +
                                                         dtypeName(info.dtype) +
                                                         "; weights must be F32, F16, BF16 or F64");
        }
        if (param.device().is_cpu() && options.mapWeights) {
            // set_data swaps the parameter's storage (and dtype) in place, so
            // the modules holding it (and a tied head) see the new tensor.
            param.set_data(placeWeight(owners.at(entry->file), info, *stored, compute, placement));
            continue;
        }
        auto bytes = entry->file->bytes(info);
        at::Tensor cpu = param.device().is_cpu() ? param : torch::empty(param.sizes(), torch::kFloat32);
        convertToFloat32(info.dtype, bytes, cpu.data_ptr<float>(), static_cast<size_t>(cpu.numel()));
        if (!param.device().is_cpu()) param.copy_(cpu);
    }
    if (!missing.empty()) {
        return makeError(ErrorCode::Mismatch, (dir / firstFile).string() + ": missing tensors " + joinNames(missing));
    }
    std::vector<std::string> unexpected;
    for (const auto& name : weights.names()) {
        if (used.count(name) || isIgnorableTensor(name)) continue;
        // A tied head stored anyway is harmless: the tie wins, as in Hugging Face.
        if (model.config().tieWordEmbeddings && (name == "lm_head.weight" || name == "language_model.lm_head.weight")) {
            continue;
        }
        if (model.config().textOfMultimodal && isOtherTower(name)) continue; // vision tower, projector
        unexpected.push_back(name);
    }
    if (!unexpected.empty()) {
        return makeError(ErrorCode::Mismatch, (dir / firstFile).string() + ": unexpected tensors " +
                                                  joinNames(unexpected) + " (not part of a " +
                                                  model.config().architecture + ")");
    }
    model.finishLoading();
    return {};
}

Result<std::unique_ptr<TorchCausalLM>> createOnDevice(const ModelConfig& config, const LoadOptions& options) {
    auto device = checkDevice(options.device);
    if (!device) return device.error();
    auto arch = makeArchitecture(config);
    if (!arch) return arch.error();
    if (*device != "cpu") arch.value()->module().to(torch::Device(*device));
    for (auto& p : arch.value()->module().parameters()) p.set_requires_grad(false);
    return std::move(arch.value());
}

} // namespace

Result<std::string> checkDevice(const std::string& device) {
    if (device == "cpu") return std::string("cpu");
    if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
        if (!torch::cuda::is_available()) {
            return makeError(ErrorCode::Unsupported,
                             "device '" + device + "' requested, but this LibTorch build has no usable CUDA device");
        }
        return device;
    }
    return makeError(ErrorCode::InvalidArgument, "unknown device '" + device + "' (use cpu or cuda)");
}

Result<std::vector<ParameterSpec>> parameterSpecs(const ModelConfig& config) {
    // The parameters are torch::empty: their pages are never touched, so
    // even an 8B architecture costs address space here, not memory.
    auto arch = makeArchitecture(config);
    if (!arch) return arch.error();
    std::vector<ParameterSpec> specs;
    for (const auto& item : arch.value()->module().named_parameters()) {
        specs.push_back({item.key(), item.value().sizes().vec()});
    }
    return specs;
}

Result<std::shared_ptr<CausalLM>> createModel(const ModelConfig& config, const LoadOptions& options) {
    installCachingCpuAllocator(); // every pass of a model allocates through it
    auto m = createOnDevice(config, options);
    if (!m) return m.error();
    m.value()->finishLoading();
    return std::shared_ptr<CausalLM>(std::move(m.value()));
}

Result<std::shared_ptr<LoadedModel>> loadModelFolder(const std::filesystem::path& dir, const LoadOptions& options) {
    installCachingCpuAllocator(); // every pass of a model allocates through it
    const auto start = std::chrono::steady_clock::now();
    const auto computeType = computeScalarType(options.computeDtype);
    if (!computeType) {
        return makeError(ErrorCode::InvalidArgument,
                         "compute_dtype: '" + options.computeDtype + "' is not float32 or bfloat16");
    }
    auto config = loadModelConfig(dir);
    if (!config) return config.error();
    auto weights = WeightSet::openFolder(dir);
    if (!weights) return weights.error();
    auto model = createOnDevice(*config, options);
    if (!model) return model.error();
    const bool mapped = options.mapWeights && model.value()->device() == "cpu";
    Placement placement;
    if (auto st = fillWeights(*model.value(), *weights, dir, options, *computeType, placement); !st) {
        return st.error();
    }

    auto loaded = std::make_shared<LoadedModel>();
    for (const auto& f : weights->files()) loaded->weightFiles.push_back({f->path(), f->stamp()});
    // A file rewritten while its weights were read: what was placed may mix the two.
    if (auto st = checkWeightFiles(*loaded); !st) return st.error();
    loaded->dir = dir;
    loaded->name = dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
    loaded->config = *config;
    loaded->storedDtype = dtypeTorchName(weights->dominantDType());
    loaded->computeDtype = options.computeDtype;
    loaded->mappedBytes = placement.mapped;
    loaded->copiedBytes = placement.converted + placement.unaligned;
    loaded->unalignedBytes = placement.unaligned;
    model.value()->setComputeType(*computeType);
    if (*computeType == torch::kFloat32) {
        loaded->model = std::shared_ptr<const CausalLM>(std::move(model.value()));
    } else {
        // Mapped weights are already in their place; copied ones are float32.
        loaded->model = computeIn(std::move(model.value()), *computeType, /*convert=*/!mapped);
    }
    if (!mapped) loaded->copiedBytes = static_cast<uint64_t>(loaded->model->parameterBytes());
    if (options.loadTokenizer) {
        auto tok = Tokenizer::fromFolder(dir);
        if (!tok) return tok.error();
        loaded->tokenizer = std::move(tok.value());
    }
    loaded->loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return loaded;
}

Status checkWeightFiles(const LoadedModel& model) {
    for (const auto& f : model.weightFiles) {
        if (auto st = checkUnchanged(f.path, f.stamp); !st) return st;
    }
    return {};
}

void initRandomWeights(CausalLM& model, uint64_t seed, double stddev) {
    auto& torchModel = dynamic_cast<TorchCausalLM&>(model);
    torch::NoGradGuard noGrad;
    auto gen = at::detail::createCPUGenerator(seed);
    for (auto& item : torchModel.module().named_parameters()) {
        const std::string& name = item.key();
        at::Tensor& p = item.value();
        const bool isNorm = name.find("norm") != std::string::npos || name.find("ln_") != std::string::npos;
        if (isNorm && name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0) {
            p.fill_(model.config().gemmaNorms ? 0.0 : 1.0); // Gemma's norms scale by (1 + w)
        } else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
            p.zero_();
        } else {
            p.normal_(0.0, stddev, gen);
        }
    }
    torchModel.finishLoading();
}

Status saveSafetensors(const CausalLM& model, const std::filesystem::path& file) {
    auto& torchModel = const_cast<TorchCausalLM&>(dynamic_cast<const TorchCausalLM&>(model));
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& item : torchModel.module().named_parameters()) {
        tensors.emplace_back(item.key(), item.value().detach().to(torch::kCPU).contiguous());
    }
    std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    nlohmann::json header = nlohmann::json::object();
    header["__metadata__"] = {{"format", "pt"}};
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        const uint64_t bytes = static_cast<uint64_t>(t.numel()) * sizeof(float);
        header[name] = {{"dtype", "F32"}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string text = header.dump();
    while (text.size() % 8 != 0) text.push_back(' ');
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) return makeError(ErrorCode::Unreadable, file.string() + ": cannot open for writing");
    uint64_t n = text.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : tensors) {
        out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * sizeof(float)));
    }
    if (!out) return makeError(ErrorCode::Unreadable, file.string() + ": write failed");
    return {};
}

} // namespace tokenlens
