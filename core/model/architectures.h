#pragma once
// Factories of the architecture families. Each returns a model whose
// parameters are registered under the Hugging Face names and left
// uninitialised; model_loader.cpp fills them from the weight files.

#include "model/causal_lm.h"
#include "util/result.h"

#include <memory>
#include <torch/nn/module.h>

namespace tokenlens {

// A CausalLM that is also a torch module, so loading can walk its named parameters.
class TorchCausalLM : public CausalLM {
public:
    virtual torch::nn::Module& module() = 0;
    // Called once all parameters are filled (ties heads, precomputes tables).
    virtual void finishLoading() = 0;

    int64_t parameterCount() const override;
    int64_t parameterBytes() const override;
    std::string device() const override;

    // The dtype forward passes run in (set by the loader). Weights may be
    // stored narrower (a bfloat16 checkpoint computing in float32): the
    // layers then convert each matrix as they use it (layers::linear), and
    // embed() and attentionOutputProjection() give this dtype.
    at::ScalarType computeType() const { return m_computeType; }
    void setComputeType(at::ScalarType t) { m_computeType = t; }

private:
    at::ScalarType m_computeType = at::kFloat;
};

// Fail (Unsupported) for settings the implementation does not cover.
Result<std::unique_ptr<TorchCausalLM>> makeGpt2(const ModelConfig& config);
Result<std::unique_ptr<TorchCausalLM>> makeLlama(const ModelConfig& config);

} // namespace tokenlens
