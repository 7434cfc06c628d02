// attention: the softmax weight from query p_j to key i, aggregated (mean or
// max) over the selected layers and heads. One forward pass, no gradients.

#include "attribution/common.h"
#include "model/compute_dtype.h"
#include "model/serial_scope.h"

namespace tokenlens::attr {
namespace {

// Up to this many positions a float32 forward runs ATen's own operations on
// the calling thread alone (SerialScope) when the matrix products go to
// OpenBLAS, which splits them over its own threads: the element-wise
// operations of a short sequence gain little from a second thread, and
// after each of their parallel regions ATen's OpenMP workers spin, holding
// a core that OpenBLAS's threads then wait for (docs/benchmarks.md,
// "Single-token steps at the default thread count"). Longer sequences keep
// every thread: their maps are worth splitting. bfloat16 products run on
// the OpenMP threads (oneDNN) and keep them.
constexpr int64_t kSerialMaxPositions = 512;

bool serialForward(const CausalLM& model, const at::Tensor& embeds) {
    return computeTypeOf(model) == torch::kFloat32 && embeds.size(0) <= kSerialMaxPositions &&
           float32WantsSerialScope();
}

class AttentionMethod final : public NamedMethod {
public:
    AttentionMethod()
        : NamedMethod("attention", "How much the attention of the position that predicts the output token "
                                   "falls on each input token.") {}

    std::vector<OptionSpec> options() const override {
        return {
            {"layer", "layer", "all", 0, {}, {}, "layer index (from 0) or all"},
            {"head", "layer", "all", 0, {}, {}, "head index (from 0) or all"},
            {"aggregate", "choice", "mean", {}, {}, {"mean", "max"}, "how selected layers and heads are combined"},
        };
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json&) const override { return n + t; }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        const Sequence seq = makeSequence(input);
        Progress progress(control, estimateWork(seq.n, seq.t, r));
        MethodOutput out;
        out.forwardPasses = 1;
        if (progress.cancelled()) {
            out.cancelled = true;
            return out;
        }
        torch::NoGradGuard noGrad;
        // The forward computes only the t query rows the matrix needs (the
        // attention of the other rows is computed block by block and not
        // kept): a long context's full maps would not fit in memory. No head.
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.probsRows = std::make_pair(seq.n - 1, seq.n - 1 + seq.t);
        const int64_t width = seq.length() - 1;
        std::vector<at::Tensor> selected; // each (heads', t, L-1)
        fo.capture = [&](const std::string& name, const at::Tensor& value) {
            const auto probsLayer = attentionProbsLayer(name);
            if (!probsLayer) return;
            const int64_t layer = *probsLayer;
            if (r["layer"].is_number() && r["layer"].get<int64_t>() != layer) return;
            auto probs = value.squeeze(0); // (heads, t, L-1): the rows asked for
            if (r["head"].is_number()) probs = probs.slice(0, r["head"].get<int64_t>(), r["head"].get<int64_t>() + 1);
            selected.push_back(probs);
        };
        std::optional<SerialScope> serial;
        if (serialForward(*input.model, seq.embeds)) serial.emplace();
        input.model->forward(seq.embeds.slice(0, 0, width).unsqueeze(0), fo);
        auto all = torch::cat(selected, 0); // (layers*heads', t queries p_j, L-1 keys)
        auto rows = r["aggregate"] == "max" ? std::get<0>(all.max(0)) : all.mean(0); // (t, L-1)
        out.matrix = matrixFromColumns(seq, rows);
        progress.add(seq.n + seq.t);
        return out;
    }

protected:
    Status checkResolved(const nlohmann::json& r, const ModelConfig* config) const override {
        if (!config) return {};
        if (r["layer"].is_number() && r["layer"].get<int64_t>() >= config->numLayers) {
            return makeError(ErrorCode::InvalidArgument, "attention: option 'layer' is " + r["layer"].dump() +
                                                             " but the model has " +
                                                             std::to_string(config->numLayers) + " layers (0-based)");
        }
        if (r["head"].is_number() && r["head"].get<int64_t>() >= config->numHeads) {
            return makeError(ErrorCode::InvalidArgument, "attention: option 'head' is " + r["head"].dump() +
                                                             " but the model has " +
                                                             std::to_string(config->numHeads) + " heads (0-based)");
        }
        return {};
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(AttentionMethod, attentionMethod)

} // namespace tokenlens::attr
