// ResultModel at a segment granularity: the prompt's own text of a segment
// and the segment scale (analysis/segment_scale.h) that the chips and the
// heatmap's segment rows are coloured on (the rest of the model is
// result_model.cpp).

#include "viewmodel/result_model.h"

#include "analysis/segment_scale.h"
#include "analysis/segment_text.h"
#include "analysis/segments.h"
#include "viewmodel/palette.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace tokenlens::gui {

namespace an = tokenlens::analysis;

QString ResultModel::segmentSourceText(int64_t first) const {
    if (methods().empty()) return {};
    for (const auto& g : m_promptSegments) {
        if (g.tokenStart != first) continue;
        // One rule for the views and the exported page (analysis/segment_text.h).
        return QString::fromStdString(analysis::segmentText(methodResult(0).input.text, g));
    }
    return {};
}

int segmentOfToken(const std::vector<PromptSegment>& segments, int64_t k) {
    if (k < 0) return -1;
    // Segments are in token order and cover the prompt: binary search.
    const auto it = std::upper_bound(segments.begin(), segments.end(), k,
                                     [](int64_t v, const PromptSegment& g) { return v < g.tokenStart; });
    if (it == segments.begin()) return -1;
    const auto s = std::prev(it);
    return k < s->tokenEnd ? static_cast<int>(s - segments.begin()) : -1;
}

int ResultModel::promptSegmentOf(int64_t k) const {
    return k < m_n ? segmentOfToken(m_promptSegments, k) : -1;
}

int64_t ResultModel::windowRows() const {
    return m_promptSegments.empty() ? m_n : static_cast<int64_t>(m_promptSegments.size());
}

const AttributionMatrix& ResultModel::segmentRaw(int m) const {
    Cache& c = m_cache[static_cast<size_t>(m)];
    if (!c.segmentRawValid) {
        c.segmentRaw = m_promptSegments.empty() ? AttributionMatrix{}
                                                : an::sumIntoSegments(shownRaw(m), m_promptSegments);
        c.segmentRawValid = true;
    }
    return c.segmentRaw;
}

const AttributionMatrix& ResultModel::segmentNormalized(int m) const {
    Cache& c = m_cache[static_cast<size_t>(m)];
    if (!c.segmentValid) {
        c.segmentNormalized = m_promptSegments.empty()
                                  ? AttributionMatrix{}
                                  : an::normalizedSegments(shownRaw(m), m_promptSegments, m_scope);
        c.segmentValid = true;
    }
    return c.segmentNormalized;
}

std::vector<double> ResultModel::segmentImportance(int m) const {
    const auto& raw = rawCache(m).raw.input; // per prompt token
    std::vector<double> out(m_promptSegments.size(), NAN);
    for (size_t s = 0; s < m_promptSegments.size(); ++s) {
        double sum = 0;
        bool any = false;
        for (int64_t k = m_promptSegments[s].tokenStart; k < m_promptSegments[s].tokenEnd; ++k) {
            if (k < 0 || static_cast<size_t>(k) >= raw.size() || !std::isfinite(raw[static_cast<size_t>(k)])) continue;
            sum += raw[static_cast<size_t>(k)];
            any = true;
        }
        if (any) out[s] = sum;
    }
    return out;
}

AttributionMatrix displayedSegmentMatrix(const StatisticsRequest& rq, QString* what) {
    if (rq.results.empty() || !rq.job) {
        if (what) *what = QStringLiteral("no method");
        return {};
    }
    std::vector<AttributionMatrix> summed;
    for (size_t i : rq.results) {
        summed.push_back(an::sumIntoSegments(withoutRows(rq.job->results[i].raw, rq.leftOutRows), rq.segments));
    }
    const QString leftOut = rq.leftOutRows.empty() ? QString() : QStringLiteral(", template tokens left out");
    if (summed.size() == 1) {
        if (what) *what = QStringLiteral("%1, raw, tokens summed per segment%2").arg(QString::fromStdString(rq.methodLabels[0]), leftOut);
        return std::move(summed[0]);
    }
    auto mm = an::multiMethod(summed, rq.scope, static_cast<int64_t>(rq.segments.size()));
    if (what) {
        *what = QStringLiteral("mean of %1 methods (eq. 10) on the segment-summed matrices%2").arg(summed.size()).arg(leftOut);
    }
    return mm ? std::move(mm.value()) : AttributionMatrix{};
}

void ResultModel::colourSegments(Colouring& col) const {
    const auto segs = static_cast<int64_t>(m_promptSegments.size());
    if (segs == 0) return;
    for (int m : col.methods) {
        std::vector<double> v(static_cast<size_t>(segs), NAN);
        const AttributionMatrix& s = segmentNormalized(m);
        if (col.mode == ColourMode::Importance) {
            // As a prompt token's: eq. 6 on the segment matrix, min–max over the segments.
            v = vectorIntensity(an::tokenImportance(s, segs).input);
        } else if (col.mode == ColourMode::OutputWindow) {
            // As at token level: the window over the segment rows and the
            // output rows, min–max over that whole vector.
            auto w = vectorIntensity(an::outputCentredWindow(s, segs, col.focus - m_n, m_window, true));
            w.resize(static_cast<size_t>(segs), NAN);
            v = std::move(w);
        }
        v.resize(static_cast<size_t>(segs), NAN);
        col.segmentIntensity.push_back(std::move(v));
    }
    const std::vector<QColor> colours = activeColours();
    std::vector<double> vals(col.methods.size());
    col.segmentFills.resize(static_cast<size_t>(segs));
    for (size_t g = 0; g < static_cast<size_t>(segs); ++g) {
        for (size_t a = 0; a < col.methods.size(); ++a) vals[a] = col.segmentIntensity[a][g];
        col.segmentFills[g] = blendIntensities(vals, colours);
    }
}

} // namespace tokenlens::gui
