#include "demo/demo_model.h"

#include "model/architectures.h"

#include <torch/torch.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <regex>
#include <fstream>
#include <unordered_map>

namespace tokenlens::demo {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char* const kSpecials[] = {"[UNK]", "[BOS]", "[EOS]", "[PAD]"};
constexpr int64_t kMaxPositions = 64;

struct ArchDefaults {
    int64_t steps;
    double learningRate;
};

ArchDefaults defaultsFor(const std::string& arch) {
    if (arch == "gpt2") return {1600, 3e-3};
    return {1400, 2e-3};
}

const std::unordered_map<std::string, int64_t>& wordIds() {
    static const auto ids = [] {
        std::unordered_map<std::string, int64_t> m;
        for (int64_t i = 0; i < 4; ++i) m[kSpecials[i]] = i;
        int64_t next = 4;
        for (const auto& w : corpusWords()) m[w] = next++;
        return m;
    }();
    return ids;
}

Status writeText(const fs::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) return makeError(ErrorCode::Unreadable, file.string() + ": cannot open for writing");
    out << text << "\n";
    if (!out) return makeError(ErrorCode::Unreadable, file.string() + ": write failed");
    return {};
}

// One training batch of right-padded sequences (causal attention makes right
// padding invisible to the positions that matter) and the positions the loss
// is taken at. Three kinds of rows:
//  - task examples: BOS prompt answer, loss on the answer and on the EOS
//    after it;
//  - copy rows (the copy phase): BOS w1..wk w1..wk, loss on w2..wk of the
//    second copy, a dense signal that grows induction heads;
//  - pairs rows: BOS w1..wk then pairs (w_i, w_i+1), loss on each w_i+1;
//  - recall rows: key–value clauses followed by some of them again, loss on
//    the colour and the object of every repeated clause.
struct Batch {
    at::Tensor ids;       // (B, S)
    at::Tensor positions; // flat indices into (B*S)
    at::Tensor targets;
    at::Tensor isTask;    // per loss position: from a task example (not copy / recall)
};

struct Row {
    std::vector<int64_t> ids;
    std::vector<std::pair<int64_t, int64_t>> loss; // (position, target)
    bool task = false;
};

Row taskRow(const Example& e) {
    const auto& ids = wordIds();
    Row r;
    r.ids.push_back(kBosId);
    for (const auto& w : e.words) r.ids.push_back(ids.at(w));
    r.ids.push_back(ids.at(e.answer));
    const auto n = static_cast<int64_t>(r.ids.size());
    r.loss = {{n - 2, r.ids.back()}};
    // EOS after the answer, so that generation stops there — except for the
    // induction family: "... A B" then EOS would teach that a repeated word
    // ends the text, the opposite of what its prompt "... A" asks.
    if (e.family != TaskFamily::Induction) r.loss.push_back({n - 1, kEosId});
    r.task = true;
    return r;
}

Row copyRow(Rng& rng, int64_t shortest, int64_t longest) {
    const auto& words = corpusWords();
    const auto k = static_cast<size_t>(rng.range(shortest, longest));
    std::vector<int64_t> seq;
    while (seq.size() < k) {
        const auto id = static_cast<int64_t>(4 + rng.below(words.size()));
        if (std::find(seq.begin(), seq.end(), id) == seq.end()) seq.push_back(id);
    }
    Row r;
    r.ids.push_back(kBosId);
    r.ids.insert(r.ids.end(), seq.begin(), seq.end());
    r.ids.insert(r.ids.end(), seq.begin(), seq.end());
    for (size_t i = 1; i < k; ++i) r.loss.push_back({static_cast<int64_t>(k + i), seq[i]}); // predicts second copy's w_{i+1}
    return r;
}

// Copy rows over a small alphabet (5-8 words drawn with repetition): a word,
// and most word pairs, recur within the sequence, so copying it needs the
// two or three words before each position — an induction head over
// n-grams, as the key-value lookup "tom has a" -> the word after the earlier
// "tom has a" needs. Loss on the second copy from its fourth word on.
Row ngramCopyRow(Rng& rng, int64_t shortest, int64_t longest) {
    const auto& words = corpusWords();
    const auto alphabet = static_cast<size_t>(rng.range(5, 8));
    std::vector<int64_t> letters;
    while (letters.size() < alphabet) {
        const auto id = static_cast<int64_t>(4 + rng.below(words.size()));
        if (std::find(letters.begin(), letters.end(), id) == letters.end()) letters.push_back(id);
    }
    const auto k = static_cast<size_t>(rng.range(shortest, longest));
    std::vector<int64_t> seq;
    for (size_t i = 0; i < k; ++i) seq.push_back(letters[rng.below(alphabet)]);
    Row r;
    r.ids.push_back(kBosId);
    r.ids.insert(r.ids.end(), seq.begin(), seq.end());
    r.ids.insert(r.ids.end(), seq.begin(), seq.end());
    for (size_t i = 3; i < k; ++i) r.loss.push_back({static_cast<int64_t>(k + i), seq[i]});
    return r;
}

// Distinct words, then several (A, B) pairs of adjacent words from them:
// each A follows an unrelated word, so only single-token matching finds its
// successor — what the induction family asks, with several answers per row.
Row pairsRow(Rng& rng) {
    const auto& words = corpusWords();
    const auto k = static_cast<size_t>(rng.range(6, 16));
    std::vector<int64_t> seq;
    while (seq.size() < k) {
        const auto id = static_cast<int64_t>(4 + rng.below(words.size()));
        if (std::find(seq.begin(), seq.end(), id) == seq.end()) seq.push_back(id);
    }
    Row r;
    r.ids.push_back(kBosId);
    r.ids.insert(r.ids.end(), seq.begin(), seq.end());
    const auto queries = static_cast<size_t>(rng.range(3, 6));
    for (size_t q = 0; q < queries; ++q) {
        const size_t i = rng.below(k - 1);
        r.ids.push_back(seq[i]);
        r.loss.push_back({static_cast<int64_t>(r.ids.size()) - 1, seq[i + 1]});
        r.ids.push_back(seq[i + 1]);
    }
    return r;
}

// Key-value clauses, then some of them repeated: loss on each repeated
// clause's colour and object ("tom has a" -> the colour after the earlier
// "tom has a"). maxClauses > 4 draws longer rows than the task family's 2-4,
// where telling the clauses apart by anything but the name fails.
Row recallRow(CorpusGenerator& gen, Rng& rng, int64_t maxClauses) {
    const auto& ids = wordIds();
    // BOS + the clauses + one repeat must fit the positions: at most 9 clauses.
    const Example e = maxClauses > 4 ? keyValueExample(rng, 2, std::min<int64_t>(maxClauses, (kMaxPositions - 7) / 6))
                                     : gen.next(TaskFamily::KeyValue);
    // The clauses are the words before the query ("name has a"), six words each.
    const size_t clauses = (e.words.size() - 3) / 6;
    Row r;
    r.ids.push_back(kBosId);
    for (size_t i = 0; i + 3 < e.words.size(); ++i) r.ids.push_back(ids.at(e.words[i]));
    const size_t repeats = 1 + rng.below(clauses);
    for (size_t q = 0; q < repeats && r.ids.size() + 6 <= static_cast<size_t>(kMaxPositions); ++q) {
        const size_t c = rng.below(clauses);
        for (size_t w = 0; w < 6; ++w) {
            const int64_t id = ids.at(e.words[c * 6 + w]);
            if (w == 3 || w == 4) r.loss.push_back({static_cast<int64_t>(r.ids.size()) - 1, id});
            r.ids.push_back(id);
        }
    }
    return r;
}

// The first quarter of the steps (the copy phase) trains on long copy rows
// only: induction heads form there, long before they would in the mix.
// After it, rows of a batch come in a cycle of 16: the families the model learns fast
// (agreement, coreference) once, arithmetic (a table of 100 sums) twice, the
// two that need induction heads (key-value, induction) twice each, then 5
// pairs rows and 3 recall rows for the dense induction signal.
Batch makeBatch(CorpusGenerator& gen, Rng& rng, int64_t batchSize, bool copyPhase, const TaskFamily* focus,
                bool ngramRows, int64_t recallClauses) {
    static const int kCycle[16] = {0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6};
    std::vector<Row> rows;
    for (int64_t b = 0; b < batchSize; ++b) {
        if (copyPhase) {
            if (ngramRows && b % 2 == 1) rows.push_back(ngramCopyRow(rng, 12, (kMaxPositions - 1) / 2));
            else rows.push_back(copyRow(rng, 8, (kMaxPositions - 1) / 2));
            continue;
        }
        if (ngramRows && (b % 16 == 8 || b % 16 == 9)) { // two of the five pairs rows
            rows.push_back(ngramCopyRow(rng, 12, (kMaxPositions - 1) / 2));
            continue;
        }
        switch (kCycle[b % 16]) {
        case 0: rows.push_back(taskRow(gen.next(TaskFamily::Agreement))); break;
        case 1: rows.push_back(taskRow(gen.next(TaskFamily::Arithmetic))); break;
        case 2: rows.push_back(taskRow(gen.next(TaskFamily::Coreference))); break;
        case 3: rows.push_back(taskRow(gen.next(TaskFamily::KeyValue))); break;
        case 4: rows.push_back(taskRow(gen.next(TaskFamily::Induction))); break;
        case 5: rows.push_back(focus ? taskRow(gen.next(*focus)) : pairsRow(rng)); break;
        default: rows.push_back(recallRow(gen, rng, recallClauses)); break;
        }
    }
    size_t longest = 0;
    for (const auto& r : rows) longest = std::max(longest, r.ids.size());
    const auto S = static_cast<int64_t>(longest);
    auto tokens = torch::full({batchSize, S}, kPadId, torch::kInt64);
    std::vector<int64_t> positions, targets;
    std::vector<uint8_t> isTask;
    auto acc = tokens.accessor<int64_t, 2>();
    for (int64_t b = 0; b < batchSize; ++b) {
        const Row& row = rows[static_cast<size_t>(b)];
        for (size_t i = 0; i < row.ids.size(); ++i) acc[b][static_cast<int64_t>(i)] = row.ids[i];
        for (const auto& [pos, target] : row.loss) {
            positions.push_back(b * S + pos);
            targets.push_back(target);
            isTask.push_back(row.task ? 1 : 0);
        }
    }
    return {tokens, torch::tensor(positions, torch::kInt64), torch::tensor(targets, torch::kInt64),
            torch::tensor(std::vector<int64_t>(isTask.begin(), isTask.end()), torch::kInt64).to(torch::kBool)};
}

// wpe[p][2i] = a sin(p w_i), wpe[p][2i+1] = a cos(p w_i), w_i = 10000^(-2i/d),
// a = s sqrt(2) so that the entries' RMS is s, that of the token embeddings.
void initSinusoidalPositions(CausalLM& model, double rms) {
    auto& torchModel = dynamic_cast<TorchCausalLM&>(model);
    torch::NoGradGuard noGrad;
    for (auto& item : torchModel.module().named_parameters()) {
        if (item.key().find("wpe") == std::string::npos) continue;
        at::Tensor& p = item.value();
        const int64_t positions = p.size(0), d = p.size(1);
        auto table = torch::zeros({positions, d});
        auto acc = table.accessor<float, 2>();
        for (int64_t pos = 0; pos < positions; ++pos) {
            for (int64_t i = 0; 2 * i < d; ++i) {
                const double w = std::pow(10000.0, -2.0 * static_cast<double>(i) / static_cast<double>(d));
                acc[pos][2 * i] = static_cast<float>(rms * std::sqrt(2.0) * std::sin(static_cast<double>(pos) * w));
                if (2 * i + 1 < d) acc[pos][2 * i + 1] = static_cast<float>(rms * std::sqrt(2.0) * std::cos(static_cast<double>(pos) * w));
            }
        }
        p.copy_(table.to(p.dtype()));
    }
}

} // namespace

Result<std::shared_ptr<CausalLM>> growModel(const CausalLM& trained, const ModelConfig& config, bool front,
                                            uint64_t seed) {
    if (config.family != trained.config().family || config.hiddenSize != trained.config().hiddenSize ||
        config.vocabSize != trained.config().vocabSize || config.numLayers <= trained.config().numLayers) {
        return makeError(ErrorCode::Mismatch, "cannot grow the model: the new one must be the same but deeper");
    }
    auto created = createModel(config);
    if (!created) return created.error();
    std::shared_ptr<CausalLM> model = created.value();
    initRandomWeights(*model, seed, 0.02);
    auto& src = const_cast<TorchCausalLM&>(dynamic_cast<const TorchCausalLM&>(trained));
    auto& dst = dynamic_cast<TorchCausalLM&>(*model);
    const int64_t added = config.numLayers - trained.config().numLayers;
    auto old = src.module().named_parameters();
    torch::NoGradGuard noGrad;
    static const std::regex layerName(R"(^(.*\.(?:h|layers)\.)(\d+)(\..*)$)");
    for (auto& item : dst.module().named_parameters()) {
        std::string name = item.key();
        std::smatch m;
        if (std::regex_match(name, m, layerName)) {
            const int64_t i = std::stoll(m[2].str());
            const int64_t j = front ? i - added : i;
            if (j < 0 || j >= trained.config().numLayers) { // a new layer
                const std::string rest = m[3].str();
                if (rest.find("c_proj") != std::string::npos || rest.find("o_proj") != std::string::npos ||
                    rest.find("down_proj") != std::string::npos) {
                    item.value().zero_();
                }
                continue;
            }
            name = m[1].str() + std::to_string(j) + m[3].str();
        }
        const at::Tensor* p = old.find(name);
        if (!p || !p->sizes().equals(item.value().sizes())) {
            return makeError(ErrorCode::Mismatch, "cannot grow the model: no trained weight " + name + " of its shape");
        }
        item.value().copy_(*p);
    }
    dst.finishLoading();
    return model;
}

namespace {

double learningRateAt(int64_t step, int64_t steps, double peak) {
    const int64_t warmup = std::max<int64_t>(1, std::min<int64_t>(100, steps / 10));
    if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, steps - warmup));
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress))));
}

} // namespace

json tokenizerJson() {
    json added = json::array();
    for (int64_t i = 0; i < 4; ++i) {
        added.push_back({{"id", i}, {"content", kSpecials[i]}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}});
    }
    json vocab = json::object();
    for (int64_t i = 0; i < 4; ++i) vocab[kSpecials[i]] = i;
    int64_t next = 4;
    for (const auto& w : corpusWords()) vocab[w] = next++;
    json bos = {{"SpecialToken", {{"id", "[BOS]"}, {"type_id", 0}}}};
    return {
        {"version", "1.0"},
        {"truncation", nullptr},
        {"padding", nullptr},
        {"added_tokens", added},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "WhitespaceSplit"}}},
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
          {"pair", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
          {"special_tokens", {{"[BOS]", {{"id", "[BOS]"}, {"ids", {kBosId}}, {"tokens", {"[BOS]"}}}}}}}},
        {"decoder", nullptr},
        {"model", {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "[UNK]"}}},
    };
}

json tokenizerConfigJson() {
    return {{"tokenizer_class", "PreTrainedTokenizerFast"},
            {"bos_token", "[BOS]"},
            {"eos_token", "[EOS]"},
            {"unk_token", "[UNK]"},
            {"pad_token", "[PAD]"},
            {"clean_up_tokenization_spaces", false},
            {"model_max_length", kMaxPositions}};
}

Result<json> demoConfigJson(const std::string& arch, int64_t hiddenSize, int64_t layers, int64_t heads) {
    const auto vocab = static_cast<int64_t>(corpusWords().size()) + 4;
    if (hiddenSize < 0 || layers < 0 || hiddenSize % 4 != 0 || hiddenSize > 1024 || layers > 12) {
        return makeError(ErrorCode::InvalidArgument,
                         "demo model width must be a positive multiple of 4 up to 1024 and depth 1-12");
    }
    const int64_t width = hiddenSize ? hiddenSize : (arch == "llama" ? 128 : 96);
    const int64_t h = heads ? heads : 4;
    if (h < 1 || width % h != 0 || (arch == "llama" && (h % 2 != 0 || (width / h) % 2 != 0))) {
        return makeError(ErrorCode::InvalidArgument, "demo model heads must divide the width " + std::to_string(width) +
                                                         (arch == "llama" ? " into an even number of even-sized heads" : ""));
    }
    if (arch == "llama") {
        return json{{"architectures", {"LlamaForCausalLM"}},
                    {"model_type", "llama"},
                    {"vocab_size", vocab},
                    {"hidden_size", width},
                    {"intermediate_size", 3 * width},
                    {"num_hidden_layers", layers ? layers : 3},
                    {"num_attention_heads", h},
                    {"num_key_value_heads", h / 2},
                    {"max_position_embeddings", kMaxPositions},
                    {"rms_norm_eps", 1e-5},
                    {"hidden_act", "silu"},
                    {"rope_theta", 10000.0},
                    {"attention_bias", false},
                    {"mlp_bias", false},
                    {"tie_word_embeddings", false},
                    {"bos_token_id", kBosId},
                    {"eos_token_id", kEosId},
                    {"pad_token_id", kPadId},
                    {"torch_dtype", "float32"}};
    }
    if (arch == "gpt2") {
        return json{{"architectures", {"GPT2LMHeadModel"}},
                    {"model_type", "gpt2"},
                    {"vocab_size", vocab},
                    {"n_embd", width},
                    {"n_layer", layers ? layers : 3},
                    {"n_head", h},
                    {"n_inner", 4 * width},
                    {"n_positions", kMaxPositions},
                    {"n_ctx", kMaxPositions},
                    {"activation_function", "gelu_new"},
                    {"layer_norm_epsilon", 1e-5},
                    {"tie_word_embeddings", true},
                    {"bos_token_id", kBosId},
                    {"eos_token_id", kEosId},
                    {"pad_token_id", kPadId},
                    {"torch_dtype", "float32"}};
    }
    return makeError(ErrorCode::InvalidArgument, "unknown demo architecture '" + arch + "' (use llama or gpt2)");
}

Result<TrainReport> trainDemoModel(const TrainOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    auto configJson = demoConfigJson(o.arch, o.hiddenSize, o.layers, o.heads);
    if (!configJson) return configJson.error();
    auto config = parseModelConfig(configJson->dump(), "config.json");
    if (!config) return config.error();
    const ArchDefaults defaults = defaultsFor(o.arch);
    const int64_t steps = o.steps > 0 ? o.steps : defaults.steps;
    const double peak = o.learningRate > 0 ? o.learningRate : defaults.learningRate;
    if (o.batchSize <= 0) return makeError(ErrorCode::InvalidArgument, "batch size must be positive");
    std::error_code ec;
    fs::create_directories(o.out, ec);
    if (ec) return makeError(ErrorCode::Unreadable, o.out.string() + ": cannot create the folder (" + ec.message() + ")");

    torch::manual_seed(o.seed);
    std::shared_ptr<CausalLM> model;
    if (!o.init.empty()) {
        // Continue from a folder this command wrote earlier (same architecture).
        auto loaded = loadModelFolder(o.init, LoadOptions{"cpu", false});
        if (!loaded) return loaded.error();
        const ModelConfig& from = loaded.value()->config;
        const bool deeper = o.growAt != GrowAt::None && from.numLayers < config->numLayers;
        if (from.family != config->family || from.hiddenSize != config->hiddenSize ||
            (from.numLayers != config->numLayers && !deeper) || from.vocabSize != config->vocabSize) {
            return makeError(ErrorCode::Mismatch, o.init.string() + ": not a demo " + o.arch +
                                                      " model of this size (pass the --hidden and --layers it was trained with)");
        }
        if (deeper) {
            auto grown = growModel(*loaded.value()->model, *config, o.growAt == GrowAt::Front, o.seed);
            if (!grown) return grown.error();
            model = grown.value();
        } else {
            model = std::const_pointer_cast<CausalLM>(loaded.value()->model);
        }
    } else {
        auto created = createModel(*config);
        if (!created) return created.error();
        model = created.value();
        initRandomWeights(*model, o.seed, 0.02);
        if (o.arch == "gpt2" && o.sinusoidalPositions) initSinusoidalPositions(*model, 0.02);
    }
    auto& torchModel = dynamic_cast<TorchCausalLM&>(*model);
    std::vector<at::Tensor> params = torchModel.module().parameters();
    for (auto& p : params) p.set_requires_grad(true);
    torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(peak).betas({0.9, 0.98}).weight_decay(0.01));

    CorpusGenerator gen(o.seed);
    Rng rng(o.seed ^ 0xC0FFEEull);
    const int64_t copySteps = o.copyPhaseSteps >= 0 ? o.copyPhaseSteps : (o.init.empty() ? steps / 4 : 0);
    TrainReport report;
    report.parameters = model->parameterCount();
    double intervalLoss = 0, intervalTaskLoss = 0;
    int64_t intervalSteps = 0;
    LoadedModel watched; // the model being trained, for onEval
    for (int64_t step = 0; step < steps; ++step) {
        if (o.isCancelled && o.isCancelled()) {
            report.cancelled = true;
            break;
        }
        const double lr = learningRateAt(step, steps, peak);
        for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        Batch batch = makeBatch(gen, rng, o.batchSize, step < copySteps, o.focus ? &*o.focus : nullptr,
                                o.arch == "gpt2" && o.ngramRows, o.recallClauses);
        ForwardOptions fo;
        fo.computeLogits = false;
        auto out = model->forward(model->embed(batch.ids), fo);
        auto hidden = out.finalHidden.reshape({-1, out.finalHidden.size(-1)}).index_select(0, batch.positions);
        auto perPosition = torch::nn::functional::cross_entropy(
            model->lmHead(hidden), batch.targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
        auto loss = perPosition.mean();
        optimizer.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(params, 1.0);
        optimizer.step();
        intervalLoss += loss.item<double>();
        if (step >= copySteps) intervalTaskLoss += perPosition.detach().masked_select(batch.isTask).mean().item<double>();
        ++intervalSteps;
        if (o.evalEvery > 0 && o.onEval && ((step + 1) % o.evalEvery == 0 || step + 1 == steps)) {
            if (!watched.tokenizer) {
                auto tok = Tokenizer::fromJson(tokenizerJson().dump(), tokenizerConfigJson().dump(), "demo");
                if (!tok) return tok.error();
                watched.tokenizer = tok.value();
                watched.config = *config;
                watched.model = model;
                watched.name = o.out.filename().string();
            }
            auto eval = evaluateDemoModel(watched, o.evalExamples, kValidationSeed);
            if (!eval) return eval.error();
            o.onEval(step + 1, *eval);
        }
        if ((step + 1) % o.reportEvery == 0 || step + 1 == steps) {
            report.finalLoss = intervalLoss / static_cast<double>(intervalSteps);
            report.finalTaskLoss = intervalTaskLoss / static_cast<double>(intervalSteps);
            if (o.onProgress) {
                o.onProgress({step + 1, steps, report.finalLoss, report.finalTaskLoss, lr,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
            }
            intervalLoss = 0;
            intervalTaskLoss = 0;
            intervalSteps = 0;
        }
        report.steps = step + 1;
    }
    for (auto& p : params) p.set_requires_grad(false);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (report.cancelled) return report;

    const fs::path weights = o.out / "model.safetensors";
    if (auto st = saveSafetensors(*model, weights); !st) return st.error();
    report.safetensorsBytes = static_cast<int64_t>(fs::file_size(weights, ec));
    const json generation = {{"bos_token_id", kBosId}, {"eos_token_id", kEosId}, {"pad_token_id", kPadId},
                             {"do_sample", false}, {"max_new_tokens", 4}};
    const json info = {{"generator", "tokenlens-cli train-demo"},
                       {"arch", o.arch},
                       {"steps", report.steps},
                       {"batch_size", o.batchSize},
                       {"learning_rate", peak},
                       {"seed", o.seed},
                       {"copy_steps", copySteps},
                       {"focus", o.focus ? nlohmann::json(familyName(*o.focus)) : nlohmann::json(nullptr)},
                       {"ngram_rows", o.arch == "gpt2" && o.ngramRows},
                       {"grown", o.growAt == GrowAt::None ? nlohmann::json(nullptr) : nlohmann::json(o.growAt == GrowAt::Front ? "front" : "back")},
                       {"recall_clauses", o.recallClauses > 4 ? o.recallClauses : 4},
                       {"sinusoidal_positions", o.arch == "gpt2" && o.sinusoidalPositions && o.init.empty()},
                       {"continued_from", o.init.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.init.string())},
                       {"final_loss", report.finalLoss},
                       {"final_task_loss", report.finalTaskLoss},
                       {"train_seconds", report.seconds},
                       {"parameters", report.parameters},
                       {"task_families", {"key_value", "agreement", "induction", "arithmetic", "coreference"}}};
    for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
             {"config.json", configJson->dump(2)},
             {"generation_config.json", generation.dump(2)},
             {"tokenizer.json", tokenizerJson().dump(1)},
             {"tokenizer_config.json", tokenizerConfigJson().dump(2)},
             {"demo_training.json", info.dump(2)}}) {
        if (auto st = writeText(o.out / name, text); !st) return st.error();
    }
    return report;
}

double EvalReport::minAccuracy() const {
    double m = 1.0;
    for (const auto& f : families) m = std::min(m, f.accuracy());
    return families.empty() ? 0.0 : m;
}

Result<EvalReport> evaluateDemoModel(const LoadedModel& loaded, int64_t perFamily, uint64_t seed) {
    if (!loaded.tokenizer) return makeError(ErrorCode::Internal, loaded.name + ": loaded without its tokenizer");
    const Tokenizer& tok = *loaded.tokenizer;
    const CausalLM& model = *loaded.model;
    const auto examples = makeExamples(seed, perFamily);
    EvalReport report;
    for (TaskFamily f : kTaskFamilies) report.families.push_back({f, 0, 0});
    torch::NoGradGuard noGrad;
    constexpr size_t kChunk = 64;
    for (size_t begin = 0; begin < examples.size(); begin += kChunk) {
        const size_t end = std::min(examples.size(), begin + kChunk);
        std::vector<std::vector<int32_t>> rows;
        std::vector<std::optional<int32_t>> answers;
        size_t longest = 1;
        for (size_t k = begin; k < end; ++k) {
            auto enc = tok.encode(examples[k].prompt());
            if (!enc) return makeError(enc.error().code, "prompt '" + examples[k].prompt() + "': " + enc.error().message);
            longest = std::max(longest, enc->ids.size());
            rows.push_back(enc->ids);
            answers.push_back(tok.tokenToId(examples[k].answer));
        }
        const int64_t pad = loaded.config.padTokenId.value_or(0);
        auto ids = torch::full({static_cast<int64_t>(rows.size()), static_cast<int64_t>(longest)}, pad, torch::kInt64);
        std::vector<int64_t> last;
        for (size_t r = 0; r < rows.size(); ++r) {
            for (size_t i = 0; i < rows[r].size(); ++i) ids[static_cast<int64_t>(r)][static_cast<int64_t>(i)] = rows[r][i];
            last.push_back(static_cast<int64_t>(r * longest + rows[r].size() - 1));
        }
        ForwardOptions fo;
        fo.computeLogits = false;
        auto out = model.forward(model.embed(ids), fo);
        auto hidden = out.finalHidden.reshape({-1, out.finalHidden.size(-1)})
                          .index_select(0, torch::tensor(last, torch::kInt64));
        auto predicted = model.lmHead(hidden).argmax(-1).to(torch::kCPU);
        for (size_t r = 0; r < rows.size(); ++r) {
            const Example& e = examples[begin + r];
            auto& fam = report.families[static_cast<size_t>(e.family)];
            ++fam.total;
            const int64_t guess = predicted[static_cast<int64_t>(r)].item<int64_t>();
            const bool ok = answers[r] && guess == *answers[r];
            if (ok) ++fam.correct;
            else if (report.failures.size() < 10) report.failures.push_back(e);
            if (e.family == TaskFamily::KeyValue && !e.evidence.empty()) {
                // Clauses are six words ("name has a colour object ."), then the query.
                const auto clauses = static_cast<int64_t>((e.words.size() - 3) / 6);
                const int64_t asked = e.evidence.front() / 6;
                auto cell = std::find_if(report.keyValueCells.begin(), report.keyValueCells.end(),
                                         [&](const KeyValueCell& c) { return c.clauses == clauses && c.asked == asked; });
                if (cell == report.keyValueCells.end()) {
                    report.keyValueCells.push_back({clauses, asked, 0, 0, 0});
                    cell = report.keyValueCells.end() - 1;
                }
                ++cell->total;
                if (ok) ++cell->correct;
                else {
                    for (int64_t c = 0; c < clauses; ++c) {
                        if (tok.tokenToId(e.words[static_cast<size_t>(c * 6 + 3)]) == guess) ++cell->otherClause;
                    }
                }
            }
        }
    }
    std::sort(report.keyValueCells.begin(), report.keyValueCells.end(), [](const KeyValueCell& a, const KeyValueCell& b) {
        return a.clauses != b.clauses ? a.clauses < b.clauses : a.asked < b.asked;
    });
    return report;
}

} // namespace tokenlens::demo
