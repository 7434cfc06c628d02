// attention_rollout (Abnar & Zuidema 2020): per layer the attention averaged
// over heads, with the residual connection as an identity, Â = (1 − w)·Ā + w·I
// (w = 0.5 in the paper), rows renormalised; rolled out across layers by
// matrix product. Column j is row p_j of Â_last · … · Â_first. One forward
// pass, no gradients.

#include "attribution/context_mixing.h"

namespace tokenlens::attr {
namespace {

class AttentionRollout final : public ContextMixingMethod {
public:
    AttentionRollout()
        : ContextMixingMethod(
              "attention_rollout",
              "Attention averaged over heads, with the residual connection as identity, multiplied through "
              "the "
              "layers: how much each input token flows into the position that predicts the output token.") {}

    std::vector<OptionSpec> options() const override {
        auto o = layerRangeOptions();
        o.push_back({"residual_weight", "number", 0.5, 0.0, 1.0, {},
                     "weight w of the identity standing for the residual connection, Â = (1 − w)·attention + w·I "
                     "(0.5 as the paper; 0 rolls out raw attention)"});
        o.push_back(chunkOptions().front()); // memory_budget_mb: how many layer matrices are kept
        return o;
    }

    int64_t runWork(int64_t n, int64_t t, const nlohmann::json&, int64_t) const override { return n + t; }
    int64_t passesFromStart() const override { return 1; }

    Status mix(const MixingRun& run, MethodOutput& out) const override {
        const auto& [input, r, seq, span, width, total, progress] = run;
        const double w = r["residual_weight"].get<double>();
        Rollout rollout(memoryBudgetBytes(r));
        const auto eye = torch::eye(width, seq.embeds.options().dtype(torch::kFloat32));
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.capture = [&](const std::string& name, const at::Tensor& value) {
            const auto probsLayer = attentionProbsLayer(name);
            if (!probsLayer) return;
            const int64_t layer = *probsLayer;
            if (layer < span.first || layer > span.last) return;
            auto a = value.squeeze(0).to(torch::kFloat32).mean(0); // (width, width), heads averaged
            a = (1.0 - w) * a + w * eye;
            a = a / a.sum(-1, /*keepdim=*/true);
            const bool last = layer == span.last;
            rollout.addLayer(last ? a.slice(0, seq.n - 1, width) : a, last); // the last layer: rows p_j only
        };
        input.model->forward(seq.embeds.slice(0, 0, width).unsqueeze(0), fo);
        if (!rollout.hasLastLayer()) return makeError(ErrorCode::Internal, id() + ": the model reported no attention");
        out.matrix = matrixFromColumns(seq, rollout.finish());
        progress.add(seq.n + seq.t);
        return {};
    }

};

} // namespace

TOKENLENS_METHOD_ACCESSOR(AttentionRollout, attentionRolloutMethod)

} // namespace tokenlens::attr
