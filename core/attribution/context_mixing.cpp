#include "attribution/context_mixing.h"

#include <cmath>
#include <limits>

namespace tokenlens::attr {

std::vector<OptionSpec> layerRangeOptions() {
    return {
        {"first_layer", "int", 0, 0, 1 << 20, {}, "first layer (from 0) whose mixing is combined"},
        {"last_layer", "layer", "all", 0, {}, {}, "last layer (from 0) whose mixing is combined, or all (the model's last)"},
    };
}

OptionSpec combineOption() {
    return {"combine", "choice", "rollout", {}, {}, {"rollout", "last_layer"},
            "rollout: the product of the layers' mixing matrices from first_layer to last_layer; last_layer: "
            "last_layer's matrix alone"};
}

std::vector<OptionSpec> chunkOptions() {
    std::vector<OptionSpec> out;
    for (const auto& o : targetOptions()) {
        if (o.name == "memory_budget_mb" || o.name == "chunk_seconds") out.push_back(o);
    }
    return out;
}

MethodOutput emptyOutput(const AttributionInput& input) {
    MethodOutput out;
    out.matrix = AttributionMatrix::filled(static_cast<int64_t>(input.promptIds.size()), 0);
    return out;
}

Result<MethodOutput> ContextMixingMethod::run(const AttributionInput& input, const nlohmann::json& r,
                                              const RunControl& control) const {
    if (input.promptIds.empty()) return makeError(ErrorCode::InvalidArgument, id() + ": the prompt has no tokens");
    if (input.outputIds.empty()) return emptyOutput(input);
    const int64_t numLayers = input.model->config().numLayers;
    auto span = layerSpan(id(), r, numLayers);
    if (!span) return span.error();
    const Sequence seq = makeSequence(input);
    std::optional<SerialScope> serial;
    serialForFloat32(serial, *input.model);
    const int64_t total = runWork(seq.n, seq.t, r, numLayers);
    Progress progress(control, total);
    MethodOutput out;
    out.forwardPasses = passesFromStart();
    if (progress.cancelled()) {
        out.cancelled = true;
        return out;
    }
    torch::NoGradGuard noGrad;
    if (auto st = mix(MixingRun{input, r, seq, *span, seq.length() - 1, total, progress}, out); !st) return st.error();
    return out;
}

bool combineIsRollout(const nlohmann::json& r) { return r.value("combine", std::string("rollout")) == "rollout"; }

Result<LayerSpan> layerSpan(const std::string& method, const nlohmann::json& r, int64_t numLayers) {
    LayerSpan s;
    s.first = r.value("first_layer", int64_t{0});
    const bool all = !r.contains("last_layer") || r["last_layer"].is_string();
    if (all) {
        s.last = numLayers > 0 ? numLayers - 1 : std::max<int64_t>(s.first, 0);
    } else {
        s.last = r["last_layer"].get<int64_t>();
    }
    if (numLayers > 0 && s.last >= numLayers) {
        return makeError(ErrorCode::InvalidArgument, method + ": option 'last_layer' is " + std::to_string(s.last) +
                                                         " but the model has " + std::to_string(numLayers) +
                                                         " layers (0-based)");
    }
    if (numLayers > 0 && s.first >= numLayers) {
        return makeError(ErrorCode::InvalidArgument, method + ": option 'first_layer' is " + std::to_string(s.first) +
                                                         " but the model has " + std::to_string(numLayers) +
                                                         " layers (0-based)");
    }
    if (!all && s.first > s.last) {
        return makeError(ErrorCode::InvalidArgument, method + ": option 'first_layer' (" + std::to_string(s.first) +
                                                         ") is after option 'last_layer' (" + std::to_string(s.last) +
                                                         ")");
    }
    return s;
}

double layerFraction(const nlohmann::json& r) {
    const bool all = !r.contains("last_layer") || r["last_layer"].is_string();
    if (all) return 1.0; // exact for all layers; otherwise the depth is unknown: at most all of it
    const int64_t last = r["last_layer"].get<int64_t>();
    const int64_t first = r.value("first_layer", int64_t{0});
    const int64_t computed = combineIsRollout(r) ? last - first + 1 : 1;
    return std::clamp(static_cast<double>(computed) / static_cast<double>(last + 1), 0.0, 1.0);
}

void Rollout::add(const at::Tensor& c) {
    const int64_t bytes = c.numel() * static_cast<int64_t>(c.element_size());
    if (m_stored.empty() || static_cast<int64_t>(m_stored.size() + 1) * bytes <= m_budget) {
        m_stored.push_back(c);
        return;
    }
    // Over the budget: multiply everything out, C · (C_k … C_1), and keep one matrix.
    at::Tensor product = m_stored.front();
    for (size_t k = 1; k < m_stored.size(); ++k) product = torch::matmul(m_stored[k], product);
    m_stored.assign(1, torch::matmul(c, product));
}

at::Tensor Rollout::finish() const {
    at::Tensor v = m_lastRows;
    for (auto it = m_stored.rbegin(); it != m_stored.rend(); ++it) v = torch::matmul(v, *it);
    return v;
}

at::Tensor normalizeRows(const at::Tensor& scores, int64_t diagonalOffset) {
    auto sums = scores.sum(-1, /*keepdim=*/true);
    auto out = scores / sums.clamp_min(std::numeric_limits<float>::min());
    auto empty = (sums.squeeze(-1) <= 0).nonzero().flatten().to(torch::kCPU);
    const auto* e = empty.data_ptr<int64_t>();
    for (int64_t k = 0; k < empty.numel(); ++k) {
        out[e[k]].zero_();
        out[e[k]][diagonalOffset + e[k]] = 1.0;
    }
    return out;
}

void FractionalProgress::add(double units) {
    m_pending += units;
    const double whole = std::floor(m_pending);
    if (whole >= 1) {
        m_progress.add(static_cast<int64_t>(whole));
        m_pending -= whole;
    }
}

} // namespace tokenlens::attr
