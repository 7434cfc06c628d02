#pragma once
// Zoom, pan, hit-testing, tiling and label spacing of the heatmap, as a value
// type tested without widgets. Cells are cellW × cellH pixels (the two axes
// zoom together but are clamped on their own, between minCell() and kMaxCell);
// `offset` is the content position shown at the plot's top-left corner.

#include <QPointF>
#include <QRect>
#include <QRectF>

#include <cstdint>
#include <optional>
#include <vector>

namespace tokenlens::gui {

struct CellIndex {
    int64_t row = -1;
    int64_t col = -1;
    bool operator==(const CellIndex&) const = default;
};

class HeatmapGeometry {
public:
    static constexpr double kMaxCell = 64;
    static constexpr double kDefaultCell = 22;
    static constexpr double kReadableCell = 14; // a label fits beside the cell
    static constexpr int kTile = 256; // tile edge in source pixels

    void setShape(int64_t rows, int64_t cols);
    void setPlot(const QRectF& plot); // keeps the zoom, re-clamps
    int64_t rows() const { return m_rows; }
    int64_t cols() const { return m_cols; }
    QRectF plot() const { return m_plot; }
    double cellW() const { return m_cellW; }
    double cellH() const { return m_cellH; }
    QPointF offset() const { return m_offset; }

    // Default view: the whole matrix with square cells when they are at least
    // kReadableCell; else cells of kDefaultCell when the matrix is a few
    // screens large at most; else the whole matrix fitted (cells < 1 px).
    void reset();
    void fit();
    void zoomAt(QPointF pos, double factor); // pos in widget coordinates stays on the same cell
    void panBy(QPointF delta);               // content moves by delta (pixels)
    void setOffset(QPointF offset);

    // Cell sizes that fit the whole matrix in the plot, per axis; no axis zooms
    // out beyond the smaller of the two.
    double fitCellW() const;
    double fitCellH() const;
    double minCell() const;
    QRectF contentRect() const; // the whole matrix in widget coordinates
    QRectF cellRect(int64_t row, int64_t col) const;
    std::optional<CellIndex> cellAt(QPointF pos) const; // inside the plot and the matrix only
    // Cells in view: rows [first, end), cols [first, end).
    std::pair<int64_t, int64_t> visibleRows() const;
    std::pair<int64_t, int64_t> visibleCols() const;
    // Keeps (row, col) in view (scrolls the least).
    void ensureVisible(int64_t row, int64_t col);

    // Level of the (anisotropic) image pyramid to draw from: level (lx, ly)
    // is the cell image shrunk 2^lx times in width and 2^ly times in height
    // (area-averaged), chosen so that one of its pixels still covers at least
    // one screen pixel on each axis; (0, 0) when cells are ≥ 1 pixel.
    std::pair<int, int> pyramidLevel() const;
    // Tiles of a level image (size w × h) that meet the plot: source rect
    // (in that image's pixels) and target rect (widget coordinates).
    struct Tile {
        QRect source;
        QRectF target;
    };
    std::vector<Tile> visibleTiles(int levelWidth, int levelHeight) const;

    // Draw every step-th label so that labels `extent` pixels tall never
    // overlap on cells `cell` pixels apart: the smallest of 1, 2, 5, 10, 20,
    // 50, ... with step·cell ≥ extent.
    static int64_t labelStep(double cell, double extent);

private:
    void clamp();
    int64_t m_rows = 0, m_cols = 0;
    QRectF m_plot;
    double m_cellW = kDefaultCell, m_cellH = kDefaultCell;
    QPointF m_offset;
};

} // namespace tokenlens::gui
