#include "results/difference_view.h"

#include "viewmodel/palette.h"

#include <QFontMetricsF>
#include <QLinearGradient>
#include <QMouseEvent>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

namespace {
constexpr double kMargin = 8;
constexpr double kMaxCell = 40;
} // namespace

QColor divergingColour(double v, const QColor& neutral) {
    if (std::isnan(v)) return QColor(0, 0, 0, 0);
    v = std::clamp(v, -1.0, 1.0);
    const QColor& hue = v >= 0 ? kPositiveHue : kNegativeHue;
    const double w = std::fabs(v);
    auto mix = [w](int a, int b) { return static_cast<int>(std::lround(a + (b - a) * w)); };
    return QColor(mix(neutral.red(), hue.red()), mix(neutral.green(), hue.green()), mix(neutral.blue(), hue.blue()));
}

DifferenceView::DifferenceView(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setAccessibleName(tr("Difference heatmap"));
    setBackgroundRole(QPalette::Base);
    setAutoFillBackground(true);
}

void DifferenceView::setDifference(analysis::AlignedDifference difference, std::vector<QString> rowLabels,
                                   std::vector<QString> colLabels, const QString& nameA, const QString& nameB,
                                   const QString& normalisation, const QString& emptyReason) {
    m_diff = std::move(difference);
    m_rowLabels = std::move(rowLabels);
    m_colLabels = std::move(colLabels);
    m_nameA = nameA;
    m_nameB = nameB;
    m_normalisation = normalisation;
    m_empty = emptyReason;
    m_hiRow = m_hiCol = -1;
    update();
}

QColor DifferenceView::cellColour(int64_t row, int64_t col) const {
    const auto& d = m_diff.difference;
    if (row < 0 || col < 0 || row >= d.rows || col >= d.cols) return {};
    return divergingColour(d.at(row, col), palette().color(QPalette::Base));
}

QString DifferenceView::legendText() const {
    return tr("Difference %1 − %2 (red: %1 larger, blue: %2 larger, background colour: equal); scale −1 … 0 … +1. "
              "Normalisation: %3")
        .arg(m_nameA, m_nameB, m_normalisation);
}

void DifferenceView::setHighlight(int64_t row, int64_t col) {
    if (row == m_hiRow && col == m_hiCol) return;
    m_hiRow = row;
    m_hiCol = col;
    update();
}

DifferenceView::Geometry DifferenceView::geometry() const {
    const QFontMetricsF fm(font());
    Geometry g;
    double labelW = 40;
    for (const auto& l : m_rowLabels) labelW = std::max(labelW, fm.horizontalAdvance(l) + 8);
    labelW = std::min(labelW, width() * 0.3);
    double colLabelH = 40;
    for (const auto& l : m_colLabels) colLabelH = std::max(colLabelH, fm.horizontalAdvance(l) + 8);
    colLabelH = std::min(colLabelH, height() * 0.3);
    const double legendH = 3 * std::ceil(fm.height()) + 18;
    g.left = kMargin + labelW;
    g.top = kMargin + legendH + colLabelH;
    g.legendTop = kMargin;
    const auto& d = m_diff.difference;
    if (d.rows > 0 && d.cols > 0) {
        const double w = std::max(1.0, width() - g.left - kMargin), h = std::max(1.0, height() - g.top - kMargin);
        const double cell = std::min({kMaxCell, w / static_cast<double>(d.cols), h / static_cast<double>(d.rows)});
        g.cellW = g.cellH = std::max(1.0, cell);
    }
    return g;
}

QRectF DifferenceView::cellRect(int64_t row, int64_t col) const {
    const Geometry g = geometry();
    return {g.left + static_cast<double>(col) * g.cellW, g.top + static_cast<double>(row) * g.cellH, g.cellW, g.cellH};
}

void DifferenceView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const QPalette& pal = palette();
    p.fillRect(rect(), pal.color(QPalette::Base));
    p.setRenderHint(QPainter::Antialiasing);
    const QFontMetricsF fm(font());
    const Geometry g = geometry();
    const double rowH = std::ceil(fm.height());
    // Legend: the scale bar, then what the values are.
    const double barW = std::min(220.0, width() * 0.35);
    const QString lo = tr("−1 (%1 larger)").arg(m_nameB), hi = tr("+1 (%1 larger)").arg(m_nameA);
    double x = kMargin;
    p.setPen(pal.color(QPalette::Text));
    p.drawText(QRectF(x, g.legendTop, fm.horizontalAdvance(lo) + 2, rowH), Qt::AlignVCenter | Qt::AlignLeft, lo);
    x += fm.horizontalAdvance(lo) + 6;
    QLinearGradient grad(x, 0, x + barW, 0);
    const QColor base = pal.color(QPalette::Base);
    grad.setColorAt(0, divergingColour(-1, base));
    grad.setColorAt(0.5, divergingColour(0, base));
    grad.setColorAt(1, divergingColour(1, base));
    p.setPen(QPen(pal.color(QPalette::Mid), 1));
    p.setBrush(grad);
    p.drawRect(QRectF(x, g.legendTop + 2, barW, rowH - 4));
    p.drawLine(QPointF(x + barW / 2, g.legendTop), QPointF(x + barW / 2, g.legendTop + rowH));
    x += barW + 6;
    p.setPen(pal.color(QPalette::Text));
    p.drawText(QRectF(x, g.legendTop, width() - x - kMargin, rowH), Qt::AlignVCenter | Qt::AlignLeft,
               fm.elidedText(hi + tr("   0 = equal"), Qt::ElideRight, std::max(0.0, width() - x - kMargin)));
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(kMargin, g.legendTop + rowH + 4, width() - 2 * kMargin, 2 * rowH),
               Qt::AlignTop | Qt::AlignLeft | Qt::TextWordWrap,
               tr("After each model's normalisation: %1").arg(m_normalisation));
    const auto& d = m_diff.difference;
    if (d.empty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect().adjusted(0, static_cast<int>(g.legendTop + 3 * rowH + 10), 0, 0), Qt::AlignCenter,
                   m_empty.isEmpty() ? tr("No aligned cells to compare.") : m_empty);
        return;
    }
    p.setPen(Qt::NoPen);
    for (int64_t r = 0; r < d.rows; ++r) {
        for (int64_t c = 0; c < d.cols; ++c) {
            const QRectF cr = cellRect(r, c);
            const float v = d.at(r, c);
            if (std::isnan(v)) {
                p.setBrush(QBrush(pal.color(QPalette::Mid), Qt::BDiagPattern));
            } else {
                p.setBrush(divergingColour(v, base));
            }
            p.drawRect(cr.adjusted(0, 0, -0.5, -0.5));
        }
    }
    // Labels: rows on the left, columns rotated above.
    p.setPen(pal.color(QPalette::Text));
    const double labelW = g.left - kMargin - 4;
    const int64_t rowStep = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(rowH / g.cellH)));
    for (int64_t r = 0; r < d.rows && r < static_cast<int64_t>(m_rowLabels.size()); r += rowStep) {
        const QRectF cr = cellRect(r, 0);
        p.drawText(QRectF(kMargin, cr.center().y() - rowH / 2, labelW, rowH), Qt::AlignVCenter | Qt::AlignRight,
                   fm.elidedText(m_rowLabels[static_cast<size_t>(r)], Qt::ElideRight, labelW));
    }
    const int64_t colStep = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(rowH / g.cellW)));
    const double colLabelH = g.top - (g.legendTop + 3 * rowH + 10);
    for (int64_t c = 0; c < d.cols && c < static_cast<int64_t>(m_colLabels.size()); c += colStep) {
        const QRectF cr = cellRect(0, c);
        p.save();
        p.translate(cr.center().x() + rowH / 3, g.top - 4);
        p.rotate(-90);
        p.drawText(QRectF(0, -rowH, colLabelH, rowH), Qt::AlignVCenter | Qt::AlignLeft,
                   fm.elidedText(m_colLabels[static_cast<size_t>(c)], Qt::ElideRight, colLabelH));
        p.restore();
    }
    p.setBrush(Qt::NoBrush);
    p.setPen(QPen(pal.color(QPalette::Text), 2));
    if (m_hiRow >= 0 && m_hiRow < d.rows)
        p.drawRect(QRectF(g.left, cellRect(m_hiRow, 0).top(), g.cellW * static_cast<double>(d.cols), g.cellH));
    if (m_hiCol >= 0 && m_hiCol < d.cols)
        p.drawRect(QRectF(cellRect(0, m_hiCol).left(), g.top, g.cellW, g.cellH * static_cast<double>(d.rows)));
}

void DifferenceView::mouseMoveEvent(QMouseEvent* event) {
    const Geometry g = geometry();
    const auto& d = m_diff.difference;
    const QPointF pos = event->position();
    int64_t r = -1, c = -1;
    if (!d.empty() && g.cellW > 0 && pos.x() >= g.left && pos.y() >= g.top) {
        r = static_cast<int64_t>((pos.y() - g.top) / g.cellH);
        c = static_cast<int64_t>((pos.x() - g.left) / g.cellW);
        if (r >= d.rows || c >= d.cols) r = c = -1;
    }
    if (r >= 0) {
        setToolTip(tr("%1 × %2: %3 − %4 = %5")
                       .arg(r < static_cast<int64_t>(m_rowLabels.size()) ? m_rowLabels[static_cast<size_t>(r)] : QString(),
                            c < static_cast<int64_t>(m_colLabels.size()) ? m_colLabels[static_cast<size_t>(c)] : QString())
                       .arg(m_diff.a.at(r, c), 0, 'f', 3)
                       .arg(m_diff.b.at(r, c), 0, 'f', 3)
                       .arg(d.at(r, c), 0, 'f', 3));
    }
    emit cellHovered(r, c);
}

void DifferenceView::leaveEvent(QEvent* event) {
    QWidget::leaveEvent(event);
    emit cellHovered(-1, -1);
}

} // namespace tokenlens::gui
