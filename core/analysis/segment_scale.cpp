#include "analysis/segment_scale.h"

#include "analysis/segments.h"

namespace tokenlens::analysis {

AttributionMatrix normalizedSegments(const AttributionMatrix& raw, const std::vector<PromptSegment>& segments,
                                     NormScope scope) {
    return normalize(sumIntoSegments(raw, segments), scope, static_cast<int64_t>(segments.size()));
}

} // namespace tokenlens::analysis
