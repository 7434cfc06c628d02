#pragma once
// make-model: a Hugging Face folder with random weights in the real shapes
// of a public checkpoint (GPT-2 small, Qwen2.5-0.5B, Llama 3.2 1B, Llama 3.1
// 8B), for trying sizes before downloading and for the scale benchmark.
// config.json and generation_config.json carry the public values, the
// tokenizer is the family's from the fixtures, and the weights are written
// tensor by tensor into Hub-style shards with an index, in the family's
// stored dtype: memory stays at one chunk of one tensor whatever the size.

#include "util/result.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

struct MakeModelOptions {
    std::string like;                   // a name of modelPresetNames()
    std::filesystem::path out;          // created; must not hold a model already
    uint64_t seed = 1;
    std::optional<std::string> dtype;   // "float32" | "bfloat16"; default: the family's
    std::optional<int64_t> layers;      // depth instead of the public one
    uint64_t maxShardBytes = 2'000'000'000; // as Hugging Face's max_shard_size="2GB"
    std::filesystem::path tokenizerDir; // empty: the family's tokenizer from the fixtures
    // Called after each tensor with the bytes written so far and in all.
    std::function<void(uint64_t written, uint64_t total)> onProgress;
};

struct MakeModelReport {
    int64_t parameters = 0;
    uint64_t bytes = 0;                 // tensor data over all shards
    std::vector<std::string> shards;    // file names, in order
    std::string dtype;
    std::filesystem::path tokenizerFrom;
};

// "gpt2-small", "qwen2.5-0.5b", "llama-3.2-1b", "llama-3.1-8b".
const std::vector<std::string>& modelPresetNames();

// Writes the folder. Random weights: every matrix N(0, initializer_range²)
// drawn in float32 from one generator seeded with `seed`, in file order,
// then rounded to the stored dtype; norm weights 1, biases 0. The same
// options give byte-identical files.
Result<MakeModelReport> makeModel(const MakeModelOptions& options);

// Parses "2GB", "500MB", "64KB" (powers of 1000, as Hugging Face) or a byte count.
std::optional<uint64_t> parseByteSize(const std::string& text);

} // namespace tokenlens
