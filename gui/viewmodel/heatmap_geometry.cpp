#include "viewmodel/heatmap_geometry.h"

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

void HeatmapGeometry::setShape(int64_t rows, int64_t cols) {
    m_rows = std::max<int64_t>(0, rows);
    m_cols = std::max<int64_t>(0, cols);
    reset();
}

void HeatmapGeometry::setPlot(const QRectF& plot) {
    m_plot = plot;
    clamp();
}

double HeatmapGeometry::fitCellW() const {
    if (m_cols == 0 || m_plot.width() <= 0) return 1;
    return std::min(kMaxCell, m_plot.width() / static_cast<double>(m_cols));
}

double HeatmapGeometry::fitCellH() const {
    if (m_rows == 0 || m_plot.height() <= 0) return 1;
    return std::min(kMaxCell, m_plot.height() / static_cast<double>(m_rows));
}

double HeatmapGeometry::minCell() const { return std::min(fitCellW(), fitCellH()); }

void HeatmapGeometry::reset() {
    m_offset = {0, 0};
    const double fitBoth = minCell();
    if (fitBoth >= kReadableCell) {
        // The whole matrix fits with readable square cells.
        m_cellW = m_cellH = std::min(fitBoth, 2 * kDefaultCell);
    } else if (static_cast<double>(m_cols) * kDefaultCell <= 2 * m_plot.width() &&
               static_cast<double>(m_rows) * kDefaultCell <= 3 * m_plot.height()) {
        // A few screens of readable cells: pan to see the rest.
        m_cellW = m_cellH = kDefaultCell;
    } else {
        fit();
        return;
    }
    clamp();
}

void HeatmapGeometry::fit() {
    m_cellW = fitCellW();
    m_cellH = fitCellH();
    m_offset = {0, 0};
    clamp();
}

void HeatmapGeometry::clamp() {
    m_cellW = std::clamp(m_cellW, minCell(), kMaxCell);
    m_cellH = std::clamp(m_cellH, minCell(), kMaxCell);
    const double maxX = std::max(0.0, static_cast<double>(m_cols) * m_cellW - m_plot.width());
    const double maxY = std::max(0.0, static_cast<double>(m_rows) * m_cellH - m_plot.height());
    m_offset.setX(std::clamp(m_offset.x(), 0.0, maxX));
    m_offset.setY(std::clamp(m_offset.y(), 0.0, maxY));
}

void HeatmapGeometry::zoomAt(QPointF pos, double factor) {
    if (factor <= 0 || !std::isfinite(factor)) return;
    // Content coordinates (in cells) under pos.
    const double cx = (pos.x() - m_plot.left() + m_offset.x()) / m_cellW;
    const double cy = (pos.y() - m_plot.top() + m_offset.y()) / m_cellH;
    m_cellW = std::clamp(m_cellW * factor, minCell(), kMaxCell);
    m_cellH = std::clamp(m_cellH * factor, minCell(), kMaxCell);
    m_offset = {cx * m_cellW - (pos.x() - m_plot.left()), cy * m_cellH - (pos.y() - m_plot.top())};
    clamp();
}

void HeatmapGeometry::panBy(QPointF delta) {
    m_offset -= delta;
    clamp();
}

void HeatmapGeometry::setOffset(QPointF offset) {
    m_offset = offset;
    clamp();
}

QRectF HeatmapGeometry::contentRect() const {
    return {m_plot.left() - m_offset.x(), m_plot.top() - m_offset.y(), static_cast<double>(m_cols) * m_cellW,
            static_cast<double>(m_rows) * m_cellH};
}

QRectF HeatmapGeometry::cellRect(int64_t row, int64_t col) const {
    const QRectF c = contentRect();
    return {c.left() + static_cast<double>(col) * m_cellW, c.top() + static_cast<double>(row) * m_cellH, m_cellW,
            m_cellH};
}

std::optional<CellIndex> HeatmapGeometry::cellAt(QPointF pos) const {
    if (!m_plot.contains(pos)) return std::nullopt;
    const QRectF c = contentRect();
    const auto col = static_cast<int64_t>(std::floor((pos.x() - c.left()) / m_cellW));
    const auto row = static_cast<int64_t>(std::floor((pos.y() - c.top()) / m_cellH));
    if (row < 0 || col < 0 || row >= m_rows || col >= m_cols) return std::nullopt;
    return CellIndex{row, col};
}

std::pair<int64_t, int64_t> HeatmapGeometry::visibleRows() const {
    const auto first = static_cast<int64_t>(std::floor(m_offset.y() / m_cellH));
    const auto end = static_cast<int64_t>(std::ceil((m_offset.y() + m_plot.height()) / m_cellH));
    return {std::clamp<int64_t>(first, 0, m_rows), std::clamp<int64_t>(end, 0, m_rows)};
}

std::pair<int64_t, int64_t> HeatmapGeometry::visibleCols() const {
    const auto first = static_cast<int64_t>(std::floor(m_offset.x() / m_cellW));
    const auto end = static_cast<int64_t>(std::ceil((m_offset.x() + m_plot.width()) / m_cellW));
    return {std::clamp<int64_t>(first, 0, m_cols), std::clamp<int64_t>(end, 0, m_cols)};
}

void HeatmapGeometry::ensureVisible(int64_t row, int64_t col) {
    if (row >= 0 && row < m_rows) {
        const double top = static_cast<double>(row) * m_cellH, bottom = top + m_cellH;
        if (top < m_offset.y()) m_offset.setY(top);
        else if (bottom > m_offset.y() + m_plot.height()) m_offset.setY(bottom - m_plot.height());
    }
    if (col >= 0 && col < m_cols) {
        const double left = static_cast<double>(col) * m_cellW, right = left + m_cellW;
        if (left < m_offset.x()) m_offset.setX(left);
        else if (right > m_offset.x() + m_plot.width()) m_offset.setX(right - m_plot.width());
    }
    clamp();
}

std::pair<int, int> HeatmapGeometry::pyramidLevel() const {
    auto level = [](double cell) {
        if (cell >= 1 || cell <= 0) return 0;
        return std::clamp(static_cast<int>(std::floor(std::log2(1.0 / cell))), 0, 30);
    };
    return {level(m_cellW), level(m_cellH)};
}

std::vector<HeatmapGeometry::Tile> HeatmapGeometry::visibleTiles(int levelWidth, int levelHeight) const {
    std::vector<Tile> tiles;
    if (levelWidth <= 0 || levelHeight <= 0 || m_rows == 0 || m_cols == 0) return tiles;
    // Source pixel size in widget pixels for this level.
    const double sx = static_cast<double>(m_cols) * m_cellW / levelWidth;
    const double sy = static_cast<double>(m_rows) * m_cellH / levelHeight;
    const QRectF content = contentRect();
    const int x0 = std::max(0, static_cast<int>(std::floor(m_offset.x() / sx)) / kTile);
    const int y0 = std::max(0, static_cast<int>(std::floor(m_offset.y() / sy)) / kTile);
    const int x1 = std::min((levelWidth - 1) / kTile, static_cast<int>(std::ceil((m_offset.x() + m_plot.width()) / sx)) / kTile);
    const int y1 = std::min((levelHeight - 1) / kTile, static_cast<int>(std::ceil((m_offset.y() + m_plot.height()) / sy)) / kTile);
    for (int ty = y0; ty <= y1; ++ty) {
        for (int tx = x0; tx <= x1; ++tx) {
            const QRect src(tx * kTile, ty * kTile, std::min(kTile, levelWidth - tx * kTile),
                            std::min(kTile, levelHeight - ty * kTile));
            const QRectF target(content.left() + src.x() * sx, content.top() + src.y() * sy, src.width() * sx,
                                src.height() * sy);
            if (target.intersects(m_plot)) tiles.push_back({src, target});
        }
    }
    return tiles;
}

int64_t HeatmapGeometry::labelStep(double cell, double extent) {
    if (cell <= 0) return 1;
    int64_t base = 1;
    while (true) {
        for (int64_t m : {1, 2, 5}) {
            const int64_t step = m * base;
            if (static_cast<double>(step) * cell >= extent) return step;
        }
        if (base > (int64_t{1} << 40)) return base;
        base *= 10;
    }
}

} // namespace tokenlens::gui
