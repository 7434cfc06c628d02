#pragma once
// The fused bfloat16 softmax rows (model/attend_blocked.cpp): a block's
// scaling, mask and softmax in one AVX2 pass per row, in float. Used by the
// blocked attention outside autograd and by the attention core's node
// (model/attention_core.cpp) for the probabilities it keeps.

#include "model/avx2_float.h"

#include <ATen/ATen.h>

#include <cstdint>

namespace tokenlens::layers {

// Whether the fused rows are on (setAttentionBlockFusedSoftmax, layers.h).
bool attentionBlockFusedSoftmax();

#ifdef TOKENLENS_AVX2_FLOAT
// Whether the fused rows serve a block in `dtype` with `softcap`: bfloat16,
// no softcap, AVX2 present and the switch on.
bool fusedSoftmaxRows(at::ScalarType dtype, double softcap);

// Query rows [s, s + c) of every (batch row, head): scores (b·heads, c,
// width) in bfloat16, unscaled, to probabilities of the same shape:
// softmax(scores · f) over each row's allowed keys, exactly 0 for the
// others; a row with no allowed key gets uniform probabilities, as the
// recorded operations' softmax over float32's lowest value gives it.
// allowedRows: the mask (batch, 1, seq, total) contiguous; width ≤ total.
void softmaxRowsBf16(const at::Tensor& scores, const at::Tensor& probs, const bool* allowedRows, int64_t heads,
                     int64_t seq, int64_t total, int64_t s, float f);
#endif

} // namespace tokenlens::layers
