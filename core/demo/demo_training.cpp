// Training a demo model (train-demo): the rows of a batch (task examples,
// copy, pairs and recall rows), the learning-rate schedule, and the loop
// that writes the trained folder.

#include "demo/demo_model.h"

#include "model/architectures.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <unordered_map>

namespace tokenlens::demo {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

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
        for (int64_t i = 0; i < 4; ++i) m[kSpecialTokens[i]] = i;
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

// `k` distinct corpus words, drawn in order.
std::vector<int64_t> distinctWords(Rng& rng, size_t k) {
    const auto& words = corpusWords();
    std::vector<int64_t> seq;
    while (seq.size() < k) {
        const auto id = static_cast<int64_t>(4 + rng.below(words.size()));
        if (std::find(seq.begin(), seq.end(), id) == seq.end()) seq.push_back(id);
    }
    return seq;
}

// BOS, `seq` twice, and the loss on the second copy from its word `from` on.
Row repeatedRow(const std::vector<int64_t>& seq, size_t from) {
    Row r;
    r.ids.push_back(kBosId);
    r.ids.insert(r.ids.end(), seq.begin(), seq.end());
    r.ids.insert(r.ids.end(), seq.begin(), seq.end());
    const size_t k = seq.size();
    for (size_t i = from; i < k; ++i) r.loss.push_back({static_cast<int64_t>(k + i), seq[i]});
    return r;
}

Row copyRow(Rng& rng, int64_t shortest, int64_t longest) {
    const auto seq = distinctWords(rng, static_cast<size_t>(rng.range(shortest, longest)));
    return repeatedRow(seq, 1); // predicts the second copy's w_{i+1}
}

// Copy rows over a small alphabet (5-8 words drawn with repetition): a word,
// and most word pairs, recur within the sequence, so copying it needs the
// two or three words before each position — an induction head over
// n-grams, as the key-value lookup "tom has a" -> the word after the earlier
// "tom has a" needs. Loss on the second copy from its fourth word on.
Row ngramCopyRow(Rng& rng, int64_t shortest, int64_t longest) {
    const auto alphabet = static_cast<size_t>(rng.range(5, 8));
    const auto letters = distinctWords(rng, alphabet);
    const auto k = static_cast<size_t>(rng.range(shortest, longest));
    std::vector<int64_t> seq;
    for (size_t i = 0; i < k; ++i) seq.push_back(letters[rng.below(alphabet)]);
    return repeatedRow(seq, 3);
}

// Distinct words, then several (A, B) pairs of adjacent words from them:
// each A follows an unrelated word, so only single-token matching finds its
// successor — what the induction family asks, with several answers per row.
Row pairsRow(Rng& rng) {
    const auto k = static_cast<size_t>(rng.range(6, 16));
    const auto seq = distinctWords(rng, k);
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

double learningRateAt(int64_t step, int64_t steps, double peak) {
    const int64_t warmup = std::max<int64_t>(1, std::min<int64_t>(100, steps / 10));
    if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, steps - warmup));
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress))));
}

} // namespace

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
        LoadOptions load{"cpu", false};
        load.mapWeights = false; // training writes the weights
        auto loaded = loadModelFolder(o.init, load);
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

} // namespace tokenlens::demo
