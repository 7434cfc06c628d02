#include "model/generation.h"
#include "model/serial_scope.h"
#include "util/cancellation.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <random>

namespace tokenlens {
namespace {

at::Tensor idsTensor(std::span<const int64_t> ids) {
    return torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0); // (1, n)
}

Status validate(const CausalLM& model, std::span<const int64_t> promptIds, const GenerationOptions& o) {
    if (promptIds.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         "the prompt is empty and this tokenizer adds no BOS token: give at least one token");
    }
    const int64_t vocab = model.config().vocabSize;
    for (int64_t id : promptIds) {
        if (id < 0 || id >= vocab) {
            return makeError(ErrorCode::InvalidArgument, "token id " + std::to_string(id) +
                                                             " is outside the model's vocabulary of " +
                                                             std::to_string(vocab));
        }
    }
    if (o.maxNewTokens < 0) return makeError(ErrorCode::InvalidArgument, "max_new_tokens must be >= 0");
    if (o.sample) {
        if (!(o.temperature > 0)) return makeError(ErrorCode::InvalidArgument, "temperature must be > 0");
        if (o.topK < 0) return makeError(ErrorCode::InvalidArgument, "top_k must be >= 0");
        if (!(o.topP > 0 && o.topP <= 1)) return makeError(ErrorCode::InvalidArgument, "top_p must be in (0, 1]");
    }
    return checkSequenceLength(model.config(), static_cast<int64_t>(promptIds.size()), o.maxNewTokens);
}


// Temperature, then top-k, then top-p (nucleus), then a draw.
int64_t sampleToken(const at::Tensor& logitsRow, const GenerationOptions& o, std::mt19937_64& rng) {
    auto logits = logitsRow.to(torch::kFloat64) / o.temperature;
    auto probs = torch::softmax(logits, -1);
    auto [sorted, order] = probs.sort(-1, /*descending=*/true);
    const auto* p = sorted.data_ptr<double>();
    const auto* idx = order.data_ptr<int64_t>();
    int64_t keep = sorted.size(0);
    if (o.topK > 0) keep = std::min(keep, o.topK);
    if (o.topP < 1.0) {
        double cum = 0;
        int64_t k = 0;
        while (k < keep && (k == 0 || cum < o.topP)) cum += p[k++];
        keep = k;
    }
    const double total = std::accumulate(p, p + keep, 0.0);
    double r = std::uniform_real_distribution<double>(0.0, total)(rng);
    for (int64_t k = 0; k < keep; ++k) {
        r -= p[k];
        if (r <= 0) return idx[k];
    }
    return idx[keep - 1];
}

} // namespace

std::vector<int64_t> stopIdsFor(const ModelConfig& config, const GenerationOptions& options) {
    std::vector<int64_t> ids = config.eosTokenIds;
    for (int64_t id : options.stopIds) {
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    return ids;
}

Status checkSequenceLength(const ModelConfig& config, int64_t promptTokens, int64_t newTokens) {
    if (config.maxPositions > 0 && promptTokens + newTokens > config.maxPositions) {
        return makeError(ErrorCode::InvalidArgument,
                         "the prompt has " + std::to_string(promptTokens) + " tokens and " +
                             std::to_string(newTokens) + " new tokens were asked for, but the model handles at most " +
                             std::to_string(config.maxPositions) +
                             " positions: shorten the prompt, ask for fewer tokens, or truncate the prompt");
    }
    return {};
}

StepScores stepScores(const at::Tensor& logits, std::span<const int64_t> targets) {
    StepScores s;
    auto logp = torch::log_softmax(logits.to(torch::kFloat32), -1); // (t, vocab)
    auto entropy = -(logp.exp() * logp).sum(-1);                     // (t)
    auto picked = logp.gather(1, idsTensor(targets).t().to(logp.device())).squeeze(1).exp();
    picked = picked.to(torch::kCPU);
    entropy = entropy.to(torch::kCPU);
    for (size_t j = 0; j < targets.size(); ++j) {
        s.probability.push_back(picked[static_cast<int64_t>(j)].item<double>());
        s.entropy.push_back(entropy[static_cast<int64_t>(j)].item<double>());
    }
    return s;
}

Result<Generation> generate(const CausalLM& model, std::span<const int64_t> promptIds, const GenerationOptions& o) {
    if (auto st = validate(model, promptIds, o); !st) return st.error();
    torch::NoGradGuard noGrad;
    const auto device = model.embeddingMatrix().device();
    std::mt19937_64 rng(o.seed);
    Generation gen;
    KvCache cache;
    // Keys and values written in place: no concatenation, no new memory per step.
    cache.reserve(static_cast<int64_t>(promptIds.size()) + o.maxNewTokens);
    std::vector<int64_t> sequence(promptIds.begin(), promptIds.end());
    at::Tensor stepInput = idsTensor(promptIds).to(device); // what the next forward consumes
    std::vector<at::Tensor> chosenLogits;
    const std::vector<int64_t> stopIds = stopIdsFor(model.config(), o);
    // The check also runs between the blocks of each step's forward (a long
    // prompt's first step is one long pass): a cancel there ends it the same way.
    const bool finished = runCancellable(o.isCancelled, [&] {
        for (int64_t step = 0; step < o.maxNewTokens; ++step) {
            if (o.isCancelled && o.isCancelled()) {
                gen.cancelled = true;
                break;
            }
            ForwardOptions fo;
            fo.computeLogits = false;
            if (o.useCache) fo.cache = &cache;
            at::Tensor input = o.useCache ? stepInput : idsTensor(sequence).to(device);
            // A single-token step runs on this thread alone (its products
            // through layers::project's row kernel): no hand-offs to other
            // threads, and no change to the thread count other work uses.
            std::optional<SerialScope> serial;
            if (o.serialSteps && input.size(1) == 1) serial.emplace();
            auto out = model.forward(model.embed(input), fo);
            auto logits = model.lmHead(out.finalHidden.select(1, -1)).squeeze(0).to(torch::kCPU); // (vocab)
            const int64_t next = o.sample ? sampleToken(logits, o, rng) : logits.argmax().item<int64_t>();
            chosenLogits.push_back(logits);
            gen.ids.push_back(next);
            sequence.push_back(next);
            stepInput = torch::full({1, 1}, next, torch::kInt64).to(device);
            if (o.onProgress) o.onProgress(step + 1, o.maxNewTokens);
            if (o.stopAtEos && std::find(stopIds.begin(), stopIds.end(), next) != stopIds.end()) {
                gen.stoppedAtEos = true;
                break;
            }
        }
    });
    if (!finished) gen.cancelled = true;
    if (!chosenLogits.empty()) gen.scores = stepScores(torch::stack(chosenLogits), gen.ids);
    return gen;
}

Result<Generation> scoreContinuation(const CausalLM& model, std::span<const int64_t> promptIds,
                                     std::span<const int64_t> continuationIds) {
    GenerationOptions o;
    o.maxNewTokens = static_cast<int64_t>(continuationIds.size());
    if (auto st = validate(model, promptIds, o); !st) return st.error();
    if (continuationIds.empty()) return makeError(ErrorCode::InvalidArgument, "the continuation has no tokens");
    for (int64_t id : continuationIds) {
        if (id < 0 || id >= model.config().vocabSize) {
            return makeError(ErrorCode::InvalidArgument,
                             "continuation token id " + std::to_string(id) + " is outside the vocabulary");
        }
    }
    torch::NoGradGuard noGrad;
    std::vector<int64_t> sequence(promptIds.begin(), promptIds.end());
    sequence.insert(sequence.end(), continuationIds.begin(), continuationIds.end());
    const auto n = static_cast<int64_t>(promptIds.size());
    const auto t = static_cast<int64_t>(continuationIds.size());
    ForwardOptions fo;
    fo.computeLogits = false;
    auto input = idsTensor(sequence).to(model.embeddingMatrix().device());
    auto out = model.forward(model.embed(input), fo);
    auto hidden = out.finalHidden.squeeze(0).slice(0, n - 1, n - 1 + t); // (t, hidden)
    Generation gen;
    gen.ids.assign(continuationIds.begin(), continuationIds.end());
    gen.scores = stepScores(model.lmHead(hidden), gen.ids);
    return gen;
}

} // namespace tokenlens
