#pragma once
// The matrix heatmap: context rows (X ⊕ Y) × output columns, each cell
// coloured like the tokens (ResultModel::heatmapImage), NaN cells hatched.
// Zoom (Ctrl+wheel, +/−, 0 = fit) and pan (drag, wheel); the hovered cell
// and the shared selection show as a crosshair. The cell image is built once
// per colouring and drawn in tiles from a lazily built, area-averaged pyramid,
// so panning a 4096 × 1024 matrix only blits what is visible.

#include "viewmodel/heatmap_geometry.h"
#include "viewmodel/result_model.h"

#include <QImage>
#include <QStaticText>
#include <QWidget>

#include <map>

namespace tokenlens::gui {

class SelectionModel;

class HeatmapView : public QWidget {
    Q_OBJECT
public:
    HeatmapView(const ResultModel* model, SelectionModel* selection, QWidget* parent = nullptr);

    void tokensChanged();  // new shape: default zoom, new image
    void coloursChanged(); // methods, scope or theme: new image

    const HeatmapGeometry& geometry() const { return m_geom; }
    QPointF cellCentre(int64_t row, int64_t col) const { return m_geom.cellRect(row, col).center(); }
    // Builds the cell image now if needed (otherwise the next paint does).
    void prepareImage() const;

    // What is on screen (same zoom and pan) under `title`, with the legend.
    QImage render(double scale, const QString& title) const;
    // The same figure for any paint device (SVG, PDF); cells become
    // rectangles of the cell image's colours there.
    QSizeF figureSize(const QString& title, double* titleHeight = nullptr) const;
    void paintFigure(QPainter& p, const QString& title) const;

    // Takes the other view's zoom and pan (cell size and offset) without
    // emitting viewChanged (the split view keeps its panes in step).
    void matchView(const HeatmapView& other);

    // With the job's segments (ResultModel::promptSegments): one row per
    // prompt segment (on by default when the result has segments), then the
    // output rows, all coloured on the segment scale (the matrix summed into
    // segments, then normalised: ResultModel::segmentNormalized). The
    // selection still speaks of context tokens: a segment row stands for its
    // first token.
    bool segmentRows() const { return m_segmentRows; }
    void setSegmentRows(bool on);
    int64_t displayRows() const { return static_cast<int64_t>(m_rowFirst.size()); }
    int64_t displayRowOf(int64_t contextIndex) const; // -1: none
    int64_t firstTokenOfRow(int64_t row) const;       // -1: none
    QString rowText(int64_t row) const;
    // The line under the plot: what a hatched cell means, the shape, the zoom.
    QString legendText() const;

    QSize sizeHint() const override { return {640, 360}; }
    QSize minimumSizeHint() const override { return {200, 160}; }

public slots:
    void zoomIn();
    void zoomOut();
    void fitAll();
    void resetZoom();

signals:
    void viewChanged();

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    struct Hit {
        enum Kind { None, Cell, RowLabel, ColLabel } kind = None;
        int64_t row = -1, col = -1;
    };
    Hit hitAt(QPointF pos) const;
    void hover(const Hit& hit);
    void updatePlot();
    void measureLabels();
    double legendHeight() const;
    const QImage& levelImage(int lx, int ly) const;
    void paintAll(QPainter& p, QSizeF size, const QPalette& pal) const;
    bool paintCellsAsRects(QPainter& p) const;
    void paintLabels(QPainter& p, const QPalette& pal) const;
    void paintLegend(QPainter& p, QSizeF size, const QPalette& pal) const;

    static constexpr double kGap = 6; // between labels, plot and legend
    const ResultModel* m_model;
    SelectionModel* m_selection;
    HeatmapGeometry m_geom;
    double m_rowLabelW = 80, m_colLabelH = 60;

    // Labels, elided and laid out once (when first drawn).
    const QStaticText& label(int64_t k, bool column) const;
    mutable std::vector<QStaticText> m_labels[2];
    mutable std::vector<bool> m_labelReady[2];

    bool m_segmentRows = true;
    int64_t m_promptRows = 0;            // display rows of the prompt
    std::vector<int64_t> m_rowFirst;     // display row -> its first context index
    std::vector<int64_t> m_rowEnd;       // display row -> one past its last context index
    std::vector<int64_t> m_rowOfToken;   // context index -> display row
    void updateRows();

    mutable bool m_imageDirty = true;
    mutable QColor m_imageBase;
    mutable std::map<std::pair<int, int>, QImage> m_levels; // (0,0) is the cell image

    // Auto: the default view, recomputed when the widget resizes; Fit: the
    // whole matrix, kept on resize; Manual: the user zoomed, kept as is.
    enum class ZoomMode { Auto, Fit, Manual } m_zoomMode = ZoomMode::Auto;
    QPointF m_pressPos, m_lastPos;
    bool m_pressed = false, m_dragging = false;
};

} // namespace tokenlens::gui
