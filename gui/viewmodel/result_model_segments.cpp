// ResultModel: the prompt's own text of a segment (the rest of the model is
// result_model.cpp).

#include "viewmodel/result_model.h"

#include "analysis/segment_text.h"

namespace tokenlens::gui {

QString ResultModel::segmentSourceText(int64_t first) const {
    if (methods().empty()) return {};
    for (const auto& g : m_promptSegments) {
        if (g.tokenStart != first) continue;
        // One rule for the views and the exported page (analysis/segment_text.h).
        return QString::fromStdString(analysis::segmentText(methodResult(0).input.text, g));
    }
    return {};
}

} // namespace tokenlens::gui
