#pragma once
// The one scale of a view at a segment granularity (docs/gui.md, "Segments"):
// the app's token view and heatmap, the exported HTML page and the SVG/PDF
// figures (drawn by the views) all colour segments from this matrix.
//
// Attribution is additive, so a segment's row is the sum of its tokens' raw
// rows (sumIntoSegments). The display normalisation (eq. 7 or the view's
// Scale setting) is then applied to that segment-level matrix, not to the
// tokens before summing: the strongest segment reaches full strength, a
// long segment of small values stays weak, and a segment whose values are
// all 0 takes the colour a 0 takes on that scale (none on a matrix without
// negative values). The parameters (range, column sums) come from the
// segment rows — the prompt block, as at token level — and the output rows
// are mapped with the same parameters, so segment rows and output-token rows
// share one scale (output values beyond it clamp when coloured).
//
// Plain C++ (no LibTorch, no Qt); kept out of segments.h, which the engine's
// headers include.

#include "analysis/normalization.h"
#include "result/attribution_matrix.h"
#include "result/job_result.h"

#include <vector>

namespace tokenlens::analysis {

// normalize(sumIntoSegments(raw, segments), scope, segments.size()):
// (segments + t) × t. `segments` must cover the prompt rows (checkSegments).
AttributionMatrix normalizedSegments(const AttributionMatrix& raw, const std::vector<PromptSegment>& segments,
                                     NormScope scope);

} // namespace tokenlens::analysis
