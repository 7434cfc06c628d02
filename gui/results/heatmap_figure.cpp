// HeatmapView's export figure: the same painting as the screen (paintAll)
// on an image (PNG), an SVG generator or a PDF writer; on the vector devices
// each cell is a rectangle in the cell image's colour.

#include "results/heatmap_view.h"

#include "results/figure_image.h"

#include <QFontMetricsF>
#include <QPaintEngine>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

bool HeatmapView::paintCellsAsRects(QPainter& p) const {
    // SVG and PDF: one rectangle per visible cell in the cell image's own
    // colour (so the colours are the screen's), unless there are too many.
    const auto type = p.paintEngine() ? p.paintEngine()->type() : QPaintEngine::Raster;
    if (type != QPaintEngine::SVG && type != QPaintEngine::Pdf) return false;
    const auto [r0, r1] = m_geom.visibleRows();
    const auto [c0, c1] = m_geom.visibleCols();
    const QImage& cells = levelImage(0, 0);
    if ((r1 - r0 + 1) * (c1 - c0 + 1) > 60000 || cells.width() < m_geom.cols() || cells.height() < m_geom.rows()) {
        return false;
    }
    for (int64_t r = std::max<int64_t>(r0, 0); r <= r1 && r < m_geom.rows(); ++r) {
        for (int64_t c = std::max<int64_t>(c0, 0); c <= c1 && c < m_geom.cols(); ++c) {
            const QColor colour = cells.pixelColor(static_cast<int>(c), static_cast<int>(r));
            if (colour.alpha() == 0) continue;
            p.fillRect(m_geom.cellRect(r, c), colour);
        }
    }
    return true;
}

QSizeF HeatmapView::figureSize(const QString& title, double* titleHeight) const {
    QFont titleFont = font();
    titleFont.setBold(true);
    titleFont.setPointSizeF(font().pointSizeF() * 1.25);
    const QFontMetricsF tfm(titleFont);
    const double titleH = title.isEmpty() ? 0 : std::ceil(tfm.height()) + 16;
    if (titleHeight) *titleHeight = titleH;
    // What is on screen, cropped to the matrix, its labels and the legend
    // (a small matrix does not export a mostly empty canvas).
    const QFontMetricsF fm(font());
    const QRectF content = m_geom.contentRect().intersected(m_geom.plot());
    const double legendW = m_rowLabelW + fm.height() + 6 + fm.horizontalAdvance(legendText()) + 2 * kGap;
    const double titleW = title.isEmpty() ? 0 : tfm.horizontalAdvance(title) + 24;
    return {std::min<double>(width(), std::max({content.right() + 2 * kGap, legendW, titleW})),
            std::min<double>(height(), content.bottom() + legendHeight() + 4) + titleH};
}

void HeatmapView::paintFigure(QPainter& p, const QString& title) const {
    double titleH = 0;
    const QSizeF size = figureSize(title, &titleH);
    const QSizeF body(size.width(), size.height() - titleH);
    const QPalette& pal = palette();
    p.fillRect(QRectF(QPointF(0, 0), size), pal.color(QPalette::Base));
    p.setRenderHint(QPainter::TextAntialiasing);
    if (!title.isEmpty()) {
        QFont titleFont = font();
        titleFont.setBold(true);
        titleFont.setPointSizeF(font().pointSizeF() * 1.25);
        const QFontMetricsF tfm(titleFont);
        p.setFont(titleFont);
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRectF(12, 8, body.width() - 24, tfm.height()), Qt::AlignLeft | Qt::AlignVCenter,
                   tfm.elidedText(title, Qt::ElideRight, body.width() - 24));
    }
    p.translate(0, titleH);
    paintAll(p, body, pal);
    p.translate(0, -titleH);
}

QImage HeatmapView::render(double scale, const QString& title) const {
    return figureImage(figureSize(title), scale, palette().color(QPalette::Base),
                       [&](QPainter& p) { paintFigure(p, title); });
}

} // namespace tokenlens::gui
