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

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json&) const override { return n + t; }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        if (input.promptIds.empty()) return makeError(ErrorCode::InvalidArgument, id() + ": the prompt has no tokens");
        if (input.outputIds.empty()) return emptyOutput(input);
        auto span = layerSpan(id(), r, input.model->config().numLayers);
        if (!span) return span.error();
        const Sequence seq = makeSequence(input);
        Progress progress(control, estimateWork(seq.n, seq.t, r));
        MethodOutput out;
        out.forwardPasses = 1;
        if (progress.cancelled()) {
            out.cancelled = true;
            return out;
        }
        torch::NoGradGuard noGrad;
        const int64_t width = seq.length() - 1;
        const double w = r["residual_weight"].get<double>();
        Rollout rollout(memoryBudgetBytes(r));
        at::Tensor lastRows;
        const auto eye = torch::eye(width, seq.embeds.options().dtype(torch::kFloat32));
        ForwardOptions fo;
        fo.computeLogits = false;
        fo.capture = [&](const std::string& name, const at::Tensor& value) {
            if (!name.ends_with(".attn.probs")) return;
            const int64_t layer = std::stoll(name.substr(7, name.find('.', 7) - 7)); // "layers.N.attn.probs"
            if (layer < span->first || layer > span->last) return;
            auto a = value.squeeze(0).to(torch::kFloat32).mean(0); // (width, width), heads averaged
            a = (1.0 - w) * a + w * eye;
            a = a / a.sum(-1, /*keepdim=*/true);
            if (layer == span->last) {
                lastRows = a.slice(0, seq.n - 1, width); // rows p_j only
            } else {
                rollout.add(a);
            }
        };
        input.model->forward(seq.embeds.slice(0, 0, width).unsqueeze(0), fo);
        if (!lastRows.defined()) return makeError(ErrorCode::Internal, id() + ": the model reported no attention");
        out.matrix = matrixFromColumns(seq, rollout.finish(lastRows));
        progress.add(seq.n + seq.t);
        return out;
    }

};

} // namespace

TOKENLENS_METHOD_ACCESSOR(AttentionRollout, attentionRolloutMethod)

} // namespace tokenlens::attr
