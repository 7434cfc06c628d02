// ResultModel: the prompt's own text of a segment (the rest of the model is
// result_model.cpp).

#include "viewmodel/result_model.h"

namespace tokenlens::gui {

QString ResultModel::segmentSourceText(int64_t first) const {
    if (methods().empty()) return {};
    for (const auto& g : m_promptSegments) {
        if (g.tokenStart != first) continue;
        if (g.charEnd <= g.charStart) return {};
        const QList<uint> ucs = QString::fromStdString(methodResult(0).input.text).toUcs4();
        if (g.charEnd > ucs.size()) return {};
        return QString::fromUcs4(reinterpret_cast<const char32_t*>(ucs.constData()) + g.charStart,
                                 static_cast<qsizetype>(g.charEnd - g.charStart))
            .simplified();
    }
    return {};
}

} // namespace tokenlens::gui
