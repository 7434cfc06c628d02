#pragma once
// Rotary position embeddings (rotate-half convention) with rope_scaling,
// over all of a head's dims or (partial_rotary_factor) its first ones.

#include "io/model_config.h"
#include "util/result.h"

#include <ATen/core/Tensor.h>

namespace tokenlens {

class Rope {
public:
    // Fails for rope_scaling types TokenLens does not implement.
    static Result<Rope> create(const ModelConfig& config);
    // Gemma 3's sliding layers: base `theta`, no rope_scaling.
    static Result<Rope> createLocal(const ModelConfig& config, double theta);

    // positions (batch, seq) int64 -> cos, sin (batch, seq, rotary_dim), float32.
    std::pair<at::Tensor, at::Tensor> cosSin(const at::Tensor& positions) const;
    // x (batch, heads, seq, head_dim) rotated by cos/sin from cosSin(); with
    // rotary_dim < head_dim the remaining dims pass unchanged.
    static at::Tensor apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

private:
    at::Tensor invFreqFor(int64_t maxPosition) const;
    at::Tensor m_invFreq; // (head_dim / 2)
    ModelConfig m_config;
};

} // namespace tokenlens
