#pragma once
// The difference heatmap of the split view: A^{m1} − A^{m2} on the aligned
// rows (prompt segments) and matched output columns of two results
// (analysis::alignedDifference), on a diverging colour scale centred on zero:
// one hue where the left pane's normalised attribution is larger, another
// where the right pane's is, the neutral background at zero. The legend
// states the scale and the normalisation the difference was taken after.

#include "analysis/alignment.h"

#include <QColor>
#include <QString>
#include <QWidget>

#include <vector>

namespace tokenlens::gui {

// Colour of a difference v in [−1, 1] (clamped): `neutral` at 0, blended
// linearly towards kPositiveHue (v > 0) or kNegativeHue (v < 0), reaching the
// full hue at |v| = 1. NaN gives a transparent colour.
QColor divergingColour(double v, const QColor& neutral);
inline const QColor kPositiveHue{0xB2, 0x18, 0x2B}; // red: left pane larger
inline const QColor kNegativeHue{0x21, 0x66, 0xAC}; // blue: right pane larger

class DifferenceView : public QWidget {
    Q_OBJECT
public:
    explicit DifferenceView(QWidget* parent = nullptr);

    // The difference to show, a label per row (segment text) and per column
    // (the left pane's output token), the names of the two sides and the
    // normalisation stated in the legend. An empty matrix shows `emptyReason`.
    void setDifference(analysis::AlignedDifference difference, std::vector<QString> rowLabels,
                       std::vector<QString> colLabels, const QString& nameA, const QString& nameB,
                       const QString& normalisation, const QString& emptyReason = {});
    const analysis::AlignedDifference& difference() const { return m_diff; }
    const AttributionMatrix& matrix() const { return m_diff.difference; }
    // The colour drawn for cell (row, col) of matrix().
    QColor cellColour(int64_t row, int64_t col) const;
    // The legend's text (scale and normalisation).
    QString legendText() const;
    // Row (segment) and column to outline, -1 for none (the panes' focus).
    void setHighlight(int64_t row, int64_t col);
    QRectF cellRect(int64_t row, int64_t col) const;

    QSize sizeHint() const override { return {640, 320}; }
    QSize minimumSizeHint() const override { return {200, 140}; }

signals:
    // The mouse is over cell (row, col) of matrix(); (-1, -1) when it left.
    void cellHovered(qint64 row, qint64 col);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    struct Geometry {
        double left = 0, top = 0, cellW = 0, cellH = 0, legendTop = 0;
    };
    Geometry geometry() const;

    analysis::AlignedDifference m_diff;
    std::vector<QString> m_rowLabels, m_colLabels;
    QString m_nameA, m_nameB, m_normalisation, m_empty;
    int64_t m_hiRow = -1, m_hiCol = -1;
};

} // namespace tokenlens::gui
