#pragma once
// Internal to core/model (includes model/architectures.h): a loaded model
// computing in bfloat16 behind the float32 interface of CausalLM.

#include "model/architectures.h"

#include <memory>
#include <optional>
#include <string>

namespace tokenlens {

// "float32" -> Float, "bfloat16" -> BFloat16; nullopt for anything else.
std::optional<at::ScalarType> computeScalarType(const std::string& computeDtype);

// With `convert`, converts the model's parameters to `dtype` (once: the
// float32 ones are freed; the loader places mapped weights itself and passes
// false). Wraps the model: forward passes run in `dtype`, while inputs are taken
// and every output (embeddings, logits, hidden states, attentions, captured
// activations, projections) is given in float32, so gradients w.r.t. the
// input embeddings and the attribution sums stay float32.
std::shared_ptr<const CausalLM> computeIn(std::unique_ptr<TorchCausalLM> model, at::ScalarType dtype,
                                          bool convert = true);

// The dtype `model`'s passes compute in: a computeIn wrapper's, else float32.
at::ScalarType computeTypeOf(const CausalLM& model);

} // namespace tokenlens
