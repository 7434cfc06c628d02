#pragma once
// The bundled demo models: their word-level tokenizer, their two
// architectures, training on the synthetic corpus (LibTorch, AdamW) and
// held-out evaluation. What train-demo writes is a plain Hugging Face folder
// (config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
// generation_config.json) that loads through loadModelFolder like any other.

#include "demo/corpus.h"
#include "io/model_config.h"
#include "model/model_loader.h"
#include "util/result.h"

#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens::demo {

// Special tokens of the demo tokenizer; corpus words follow from id 4.
constexpr int64_t kUnkId = 0, kBosId = 1, kEosId = 2, kPadId = 3;
inline constexpr const char* kSpecialTokens[] = {"[UNK]", "[BOS]", "[EOS]", "[PAD]"}; // by id
// The demo models' context (max_position_embeddings): what a training row may fill.
constexpr int64_t kMaxPositions = 64;
// Seed of the examples train-demo watches a run on (neither a training nor the held-out seed).
constexpr uint64_t kValidationSeed = 777;

// tokenizer.json: WordLevel over corpusWords(), WhitespaceSplit, a BOS added
// by TemplateProcessing, no decoder (tokens joined by single spaces).
nlohmann::json tokenizerJson();
nlohmann::json tokenizerConfigJson();

// "llama" or "gpt2": the first shipped sizes (the shipped demo-gpt2 was
// trained with heads 8). Fails for anything else. A positive
// hiddenSize, layers or heads replaces the shipped width (n_embd /
// hidden_size; the MLP stays 3x for Llama, 4x for GPT-2), depth or number of
// attention heads (4; Llama keeps half as many KV heads), to try other sizes.
Result<nlohmann::json> demoConfigJson(const std::string& arch, int64_t hiddenSize = 0, int64_t layers = 0,
                                      int64_t heads = 0);

struct EvalReport;

struct TrainProgress {
    int64_t step = 0, steps = 0;
    double loss = 0;         // mean over the last report interval (every loss position)
    double taskLoss = 0;     // the same over the task examples' answer and EOS positions only
    double learningRate = 0;
    double seconds = 0;
};

enum class GrowAt { None, Front, Back };

struct TrainOptions {
    std::string arch = "llama";
    std::filesystem::path out;
    int64_t hiddenSize = 0;  // 0 = the shipped width (see demoConfigJson)
    int64_t layers = 0;      // 0 = the shipped depth
    int64_t heads = 0;       // 0 = the shipped 4 attention heads
    // With init and more layers than init's model: where the new layers go
    // (None: the depths must match).
    GrowAt growAt = GrowAt::None;
    std::filesystem::path init;  // continue from this folder's weights (empty: random initialisation)
    int64_t steps = 0;       // 0 = the architecture's default
    uint64_t seed = kDefaultTrainSeed;
    int64_t batchSize = 64;
    double learningRate = 0; // 0 = the architecture's default
    int64_t copyPhaseSteps = -1; // steps of copy rows only at the start; -1 = a quarter of the steps (none with init)
    // GPT-2 only, off by default: n-gram copy rows (small-alphabet sequences
    // repeated) as half the copy phase and two of the five pairs rows of
    // every 16 in the mix (see demo_model.cpp).
    bool ngramRows = false;
    // GPT-2 only, from scratch: start the learned position embeddings (wpe)
    // as sinusoids of the same scale as the token embeddings instead of
    // noise, so attention by relative offset ("the word two back") is a
    // linear map from the start.
    bool sinusoidalPositions = false;
    // Most clauses of a recall row (above 4: longer rows than the key_value
    // family's 2-4; at most 9 fit the 64 positions with a repeat); 0 = as the family.
    int64_t recallClauses = 0;
    // When set, the 5 pairs rows of every 16 become examples of this family
    // (to finish a family a continued model still misses).
    std::optional<TaskFamily> focus;
    int64_t reportEvery = 50;
    std::function<void(const TrainProgress&)> onProgress;
    // Every evalEvery steps (0: never) the accuracy on evalExamples examples
    // per family of the validation seed (not the held-out one) is passed to
    // onEval, to watch a run.
    int64_t evalEvery = 0;
    int64_t evalExamples = 100;
    std::function<void(int64_t step, const EvalReport&)> onEval;
    std::function<bool()> isCancelled;
};

struct TrainReport {
    int64_t steps = 0;
    double finalLoss = 0;     // mean of the last report interval
    double finalTaskLoss = 0; // the same, task examples only
    double seconds = 0;
    int64_t parameters = 0;
    int64_t safetensorsBytes = 0;
    bool cancelled = false;
};

// A deeper copy of a trained model (same family, width and vocabulary): its
// layers keep their weights; the new ones, before (front) or after them,
// start random with their attention and MLP output projections zero, so the
// grown model computes what the trained one did until training moves them.
Result<std::shared_ptr<CausalLM>> growModel(const CausalLM& trained, const ModelConfig& config, bool front,
                                            uint64_t seed);

// Trains from scratch and writes the folder (created if needed); demo_training.cpp.
Result<TrainReport> trainDemoModel(const TrainOptions& options);

struct FamilyAccuracy {
    TaskFamily family = TaskFamily::KeyValue;
    int64_t correct = 0, total = 0;
    double accuracy() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

// Key-value accuracy by the number of clauses and which one is asked (from 0).
struct KeyValueCell {
    int64_t clauses = 0, asked = 0;
    int64_t correct = 0, total = 0;
    int64_t otherClause = 0; // wrong answers that are another clause's colour
};

struct EvalReport {
    std::vector<FamilyAccuracy> families; // in kTaskFamilies order
    std::vector<KeyValueCell> keyValueCells; // by clauses, then asked
    std::vector<Example> failures;        // the first few wrong examples
    double minAccuracy() const;
};

// Greedy next token after each prompt == its answer, on `perFamily` examples
// of every family from `seed` (kHeldOutSeed: never used for training). The
// prompts go through the model's own tokenizer.
Result<EvalReport> evaluateDemoModel(const LoadedModel& model, int64_t perFamily, uint64_t seed = kHeldOutSeed);

} // namespace tokenlens::demo
