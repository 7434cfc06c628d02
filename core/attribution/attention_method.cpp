// attention: the softmax weight from query p_j to key i, aggregated (mean or
// max) over the selected layers and heads. One forward pass, no gradients.

#include "attribution/common.h"

namespace tokenlens::attr {
namespace {

class AttentionMethod final : public AttributionMethod {
public:
    std::string id() const override { return "attention"; }
    std::string description() const override {
        return "How much the attention of the position that predicts the output token falls on each input token.";
    }

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
        const auto& cfg = input.model->config();
        ForwardOptions fo;
        fo.outputAttentions = true;
        fo.computeLogits = false;
        const int64_t width = seq.length() - 1;
        auto fwd = input.model->forward(seq.embeds.slice(0, 0, width).unsqueeze(0), fo);
        std::vector<at::Tensor> selected; // each (heads', L-1, L-1)
        for (int64_t l = 0; l < cfg.numLayers; ++l) {
            if (r["layer"].is_number() && r["layer"].get<int64_t>() != l) continue;
            auto probs = fwd.attentions[static_cast<size_t>(l)].squeeze(0); // (heads, L-1, L-1)
            if (r["head"].is_number()) probs = probs.slice(0, r["head"].get<int64_t>(), r["head"].get<int64_t>() + 1);
            selected.push_back(probs);
        }
        auto all = torch::cat(selected, 0); // (layers*heads', L-1 queries, L-1 keys)
        auto agg = r["aggregate"] == "max" ? std::get<0>(all.max(0)) : all.mean(0); // (L-1, L-1)
        auto rows = agg.slice(0, seq.n - 1, seq.n - 1 + seq.t); // (t, L-1): query p_j, every key
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

const AttributionMethod& attentionMethod() {
    static const AttentionMethod m;
    return m;
}

} // namespace tokenlens::attr
