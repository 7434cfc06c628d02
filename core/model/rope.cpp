#include "model/rope.h"

#include <torch/torch.h>

#include <cmath>

namespace tokenlens {
namespace {

at::Tensor defaultInvFreq(double base, int64_t dim) {
    // 1 / base^(2k/dim), in float32 as the reference computes it.
    auto exponents = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
    return 1.0 / torch::pow(base, exponents);
}

at::Tensor llama3InvFreq(at::Tensor invFreq, const RopeScaling& s) {
    const double oldLen = static_cast<double>(s.originalMaxPositions);
    const double lowWavelen = oldLen / s.lowFreqFactor;
    const double highWavelen = oldLen / s.highFreqFactor;
    auto wavelen = 2.0 * M_PI / invFreq;
    auto scaled = torch::where(wavelen > lowWavelen, invFreq / s.factor, invFreq);
    auto smooth = (oldLen / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    auto smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
    auto medium = (wavelen >= highWavelen).logical_and(wavelen <= lowWavelen);
    return torch::where(medium, smoothed, scaled);
}

} // namespace

Result<Rope> Rope::create(const ModelConfig& config) {
    const auto& type = config.ropeScaling.type;
    if (type != "none" && type != "default" && type != "linear" && type != "llama3" && type != "dynamic") {
        return makeError(ErrorCode::Unsupported, "config.json: rope_scaling type '" + type +
                                                     "' is not supported (supported: linear, llama3, dynamic)");
    }
    const int64_t dim = config.rotaryDim();
    if (dim <= 0 || dim % 2 != 0) {
        return makeError(ErrorCode::Unsupported, "config.json: rotary embeddings need an even number of rotated "
                                                 "dims (head_dim · partial_rotary_factor), got " +
                                                     std::to_string(dim));
    }
    Rope rope;
    rope.m_config = config;
    rope.m_invFreq = defaultInvFreq(config.ropeTheta, dim);
    if (type == "linear") rope.m_invFreq = rope.m_invFreq / config.ropeScaling.factor;
    if (type == "llama3") rope.m_invFreq = llama3InvFreq(rope.m_invFreq, config.ropeScaling);
    return rope;
}

Result<Rope> Rope::createLocal(const ModelConfig& config, double theta) {
    ModelConfig local = config;
    local.ropeTheta = theta;
    local.ropeScaling = RopeScaling{};
    return create(local);
}

at::Tensor Rope::invFreqFor(int64_t maxPosition) const {
    if (m_config.ropeScaling.type != "dynamic") return m_invFreq;
    // Dynamic NTK: grow the base once the sequence passes the trained length.
    const auto trained = static_cast<double>(m_config.maxPositions);
    const double seqLen = static_cast<double>(maxPosition + 1);
    if (seqLen <= trained) return m_invFreq;
    const double f = m_config.ropeScaling.factor;
    const double dim = static_cast<double>(m_config.rotaryDim());
    const double base = m_config.ropeTheta * std::pow(f * seqLen / trained - (f - 1), dim / (dim - 2));
    return defaultInvFreq(base, m_config.rotaryDim());
}

std::pair<at::Tensor, at::Tensor> Rope::cosSin(const at::Tensor& positions) const {
    auto invFreq = invFreqFor(positions.max().item<int64_t>()).to(positions.device());
    auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * invFreq.view({1, 1, -1}); // (b, seq, d/2)
    auto emb = torch::cat({freqs, freqs}, -1);                                          // (b, seq, d)
    return {emb.cos(), emb.sin()};
}

at::Tensor Rope::apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    const int64_t rot = cos.size(-1);
    if (rot < x.size(-1)) {
        // Partial rotary: the first `rot` dims rotate among themselves, the rest pass.
        auto rotated = apply(x.slice(-1, 0, rot), cos, sin);
        return torch::cat({rotated, x.slice(-1, rot)}, -1);
    }
    const int64_t half = x.size(-1) / 2;
    auto x1 = x.slice(-1, 0, half);
    auto x2 = x.slice(-1, half);
    auto rotated = torch::cat({-x2, x1}, -1);
    // The float32 tables in x's dtype (bfloat16 compute), as the reference does.
    const auto c = cos.scalar_type() == x.scalar_type() ? cos : cos.to(x.scalar_type());
    const auto s = sin.scalar_type() == x.scalar_type() ? sin : sin.to(x.scalar_type());
    return x * c.unsqueeze(1) + rotated * s.unsqueeze(1);
}

} // namespace tokenlens
