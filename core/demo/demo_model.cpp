#include "demo/demo_model.h"

#include "model/architectures.h"

#include <torch/torch.h>

#include <algorithm>
#include <regex>

namespace tokenlens::demo {

using nlohmann::json;

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

json tokenizerJson() {
    json added = json::array();
    for (int64_t i = 0; i < 4; ++i) {
        added.push_back({{"id", i}, {"content", kSpecialTokens[i]}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}});
    }
    json vocab = json::object();
    for (int64_t i = 0; i < 4; ++i) vocab[kSpecialTokens[i]] = i;
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
