#pragma once
// Loading a Hugging Face model folder into a CausalLM: config -> architecture
// -> weights matched by name (memory-mapped in their stored dtype) -> tokenizer.

#include "io/file_stamp.h"
#include "io/model_config.h"
#include "model/causal_lm.h"
#include "tokenizer/tokenizer.h"
#include "util/result.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tokenlens {

struct LoadOptions {
    std::string device = "cpu"; // "cpu" or "cuda" (when LibTorch was built with it)
    bool loadTokenizer = true;
    // "float32" (the goldens) or "bfloat16": the dtype forward passes run in;
    // inputs and outputs stay float32.
    std::string computeDtype = "float32";
    // On the CPU, weights are used in place from the memory-mapped files
    // (read-only) rather than copied; see docs/architecture.md, "Weights in
    // memory". false: every weight is copied into writable float32 memory
    // first (training continues from a folder with it).
    bool mapWeights = true;
};

// A model ready to run: what the engine, the CLI and the GUI pass around.
struct LoadedModel {
    std::filesystem::path dir;
    std::string name;           // folder name (or hub id when known)
    ModelConfig config;
    std::shared_ptr<const CausalLM> model;
    std::shared_ptr<const Tokenizer> tokenizer; // null when LoadOptions::loadTokenizer is false
    std::string storedDtype;    // "float32", "float16", "bfloat16"
    std::string computeDtype = "float32"; // LoadOptions::computeDtype
    double loadSeconds = 0;
    // Weight bytes used in place from the mapped files, and bytes of
    // copies: vectors and wider-stored matrices in the compute dtype,
    // tensors the file placed unaligned for their dtype (unalignedBytes, also
    // in copiedBytes), or everything when weights are not mapped.
    uint64_t mappedBytes = 0;
    uint64_t copiedBytes = 0;
    uint64_t unalignedBytes = 0;
    // The weight files as they were when loaded (mapped weights read them
    // for as long as the model lives): checkWeightFiles compares them.
    struct WeightFile {
        std::filesystem::path path;
        FileStamp stamp;
    };
    std::vector<WeightFile> weightFiles;
};

Result<std::shared_ptr<LoadedModel>> loadModelFolder(const std::filesystem::path& dir,
                                                     const LoadOptions& options = {});

// OK while every weight file of `model` has the size, modification time and
// inode it had when loaded; otherwise an error naming the first file that
// changed ("changed on disk since it was loaded (truncated from … to …
// bytes); reload the model"). A mapped file truncated under a loaded model
// would fault the process (SIGBUS) on the next read of a page past its new
// end: callers check before each pass that reads the weights.
Status checkWeightFiles(const LoadedModel& model);

// A parameter of an architecture: its Hugging Face name and shape.
struct ParameterSpec {
    std::string name;
    std::vector<int64_t> shape;
};
// The parameters the architecture for `config` has, in module order (the
// order of Hugging Face's state dict), without filling any: the weights a
// folder must hold for the loader (a tied head has none of its own).
Result<std::vector<ParameterSpec>> parameterSpecs(const ModelConfig& config);

// An architecture with uninitialised parameters (for tests and benchmarks).
Result<std::shared_ptr<CausalLM>> createModel(const ModelConfig& config, const LoadOptions& options = {});
// Fills every parameter with N(0, std²) (norm weights 1, biases 0) from `seed`.
void initRandomWeights(CausalLM& model, uint64_t seed, double stddev = 0.02);
// Writes every parameter as F32 under its Hugging Face name.
Status saveSafetensors(const CausalLM& model, const std::filesystem::path& file);

// Resolves "cpu"/"cuda"; fails when the device is not available.
Result<std::string> checkDevice(const std::string& device);

} // namespace tokenlens
