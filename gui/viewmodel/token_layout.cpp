#include "viewmodel/token_layout.h"

#include <algorithm>

namespace tokenlens::gui {

void TokenLayout::compute(const std::vector<QString>& display, const std::vector<int>& newlines, int64_t n,
                          const TokenLayoutParams& params, const Measure& measure,
                          const std::vector<int64_t>& lineStarts, const std::vector<bool>& hidden) {
    m_params = params;
    std::vector<bool> startsLine(display.size(), false);
    for (int64_t k : lineStarts) {
        if (k >= 0 && static_cast<size_t>(k) < display.size()) startsLine[static_cast<size_t>(k)] = true;
    }
    m_boxes.assign(display.size(), TokenBox{});
    m_lines.clear();
    const double right = params.left + params.width;
    double y = params.top;
    double x = params.left;
    bool lineOpen = false;
    TokenLine line;

    auto closeLine = [&]() {
        line.top = y;
        line.bottom = y + params.lineHeight;
        m_lines.push_back(line);
        y += params.lineHeight + params.lineGap;
        x = params.left;
        lineOpen = false;
    };
    auto openLine = [&](size_t first) {
        line = TokenLine{};
        line.first = first;
        line.end = first;
        lineOpen = true;
    };

    auto block = [&](size_t begin, size_t end) {
        for (size_t k = begin; k < end; ++k) {
            const QString& text = display[k];
            if (k < hidden.size() && hidden[k]) {
                if (!lineOpen) openLine(k);
                m_boxes[k] = TokenBox{static_cast<int64_t>(k), QRectF(x, y, 0, params.lineHeight), QString()};
                line.end = k + 1;
                continue;
            }
            const double w = std::min(measure(text) + 2 * params.padding, params.width);
            if (startsLine[k] && k > begin) {
                if (lineOpen && line.end > line.first) closeLine();
                y += params.bandGap;
                lineOpen = false;
            }
            if (!lineOpen) openLine(k);
            if (x > params.left && x + w > right) {
                closeLine();
                openLine(k);
            }
            m_boxes[k] = TokenBox{static_cast<int64_t>(k), QRectF(x, y, w, params.lineHeight), text};
            line.end = k + 1;
            x += w + params.boxGap;
            const int breaks = k < newlines.size() ? newlines[k] : 0;
            for (int b = 0; b < breaks; ++b) {
                closeLine();
                openLine(k + 1);
            }
        }
        if (lineOpen && line.end > line.first) closeLine();
        lineOpen = false;
        x = params.left;
    };

    const size_t total = display.size();
    const size_t np = static_cast<size_t>(std::clamp<int64_t>(n, 0, static_cast<int64_t>(total)));
    m_promptHeading = QRectF(params.left, y, params.width, params.headingHeight);
    y += params.headingHeight;
    block(0, np);
    // Blank lines the prompt ended with stay (they are part of the text).
    y += params.sectionGap;
    m_outputHeading = QRectF(params.left, y, params.width, params.headingHeight);
    y += params.headingHeight;
    block(np, total);
    m_height = m_lines.empty() ? y : std::max(y - params.lineGap, m_lines.back().bottom);
}

QRectF TokenLayout::box(int64_t k) const {
    return k >= 0 && static_cast<size_t>(k) < m_boxes.size() ? m_boxes[static_cast<size_t>(k)].rect : QRectF();
}

std::pair<size_t, size_t> TokenLayout::linesBetween(double top, double bottom) const {
    const auto first = std::partition_point(m_lines.begin(), m_lines.end(),
                                            [&](const TokenLine& l) { return l.bottom <= top; });
    const auto end = std::partition_point(first, m_lines.end(), [&](const TokenLine& l) { return l.top < bottom; });
    return {static_cast<size_t>(first - m_lines.begin()), static_cast<size_t>(end - m_lines.begin())};
}

int64_t TokenLayout::hitTest(QPointF p) const {
    const double halfLine = m_params.lineGap / 2, halfBox = m_params.boxGap / 2;
    const auto it = std::partition_point(m_lines.begin(), m_lines.end(),
                                         [&](const TokenLine& l) { return l.bottom + halfLine <= p.y(); });
    if (it == m_lines.end() || p.y() < it->top - halfLine) return -1;
    const TokenLine& l = *it;
    if (l.first >= l.end) return -1;
    const auto b = std::partition_point(m_boxes.begin() + static_cast<std::ptrdiff_t>(l.first),
                                        m_boxes.begin() + static_cast<std::ptrdiff_t>(l.end),
                                        [&](const TokenBox& box) { return box.rect.right() + halfBox <= p.x(); });
    if (b == m_boxes.begin() + static_cast<std::ptrdiff_t>(l.end)) return -1;
    if (p.x() < b->rect.left() - halfBox) return -1;
    if (b->rect.width() <= 0) return -1; // a folded token
    return b->index;
}

} // namespace tokenlens::gui
