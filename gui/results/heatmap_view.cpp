#include "results/heatmap_view.h"

#include "results/selection_model.h"
#include "viewmodel/palette.h"

#include <QFontMetricsF>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

namespace {

constexpr double kMaxRowLabel = 150, kMaxColLabel = 96; // widest row and column labels

QColor nanBackground(const QPalette& pal) {
    const QColor base = pal.color(QPalette::Base);
    return base.lightness() > 128 ? base.darker(112) : base.lighter(135);
}

QColor hatchColour(const QPalette& pal) {
    QColor c = pal.color(QPalette::Text);
    c.setAlphaF(0.35f);
    return c;
}

} // namespace

HeatmapView::HeatmapView(const ResultModel* model, SelectionModel* selection, QWidget* parent)
    : QWidget(parent), m_model(model), m_selection(selection) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setAccessibleName(tr("Attribution heatmap"));
    setToolTip(tr("Rows: context tokens (prompt, then output). Columns: output tokens.\n"
                  "Drag or scroll to pan, Ctrl+wheel or +/− to zoom, 0 to fit. Click a cell to pin its output token."));
    connect(selection, &SelectionModel::changed, this, qOverload<>(&QWidget::update));
    tokensChanged();
}

void HeatmapView::updateRows() {
    const int64_t n = m_model->promptLength(), total = m_model->contextLength();
    m_rowFirst.clear();
    m_rowEnd.clear();
    m_rowOfToken.assign(static_cast<size_t>(std::max<int64_t>(total, 0)), -1);
    const auto& segs = m_model->promptSegments();
    if (m_segmentRows && !segs.empty()) {
        for (const auto& g : segs) {
            for (int64_t k = g.tokenStart; k < g.tokenEnd && k < total; ++k) {
                m_rowOfToken[static_cast<size_t>(k)] = static_cast<int64_t>(m_rowFirst.size());
            }
            m_rowFirst.push_back(g.tokenStart);
            m_rowEnd.push_back(g.tokenEnd);
        }
    } else {
        for (int64_t k = 0; k < n; ++k) {
            m_rowOfToken[static_cast<size_t>(k)] = k;
            m_rowFirst.push_back(k);
            m_rowEnd.push_back(k + 1);
        }
    }
    m_promptRows = static_cast<int64_t>(m_rowFirst.size());
    for (int64_t k = n; k < total; ++k) {
        m_rowOfToken[static_cast<size_t>(k)] = static_cast<int64_t>(m_rowFirst.size());
        m_rowFirst.push_back(k);
        m_rowEnd.push_back(k + 1);
    }
}

void HeatmapView::setSegmentRows(bool on) {
    if (on == m_segmentRows) return;
    m_segmentRows = on;
    tokensChanged();
}

int64_t HeatmapView::displayRowOf(int64_t k) const {
    return k >= 0 && static_cast<size_t>(k) < m_rowOfToken.size() ? m_rowOfToken[static_cast<size_t>(k)] : -1;
}

int64_t HeatmapView::firstTokenOfRow(int64_t row) const {
    return row >= 0 && static_cast<size_t>(row) < m_rowFirst.size() ? m_rowFirst[static_cast<size_t>(row)] : -1;
}

QString HeatmapView::rowText(int64_t row) const {
    if (row < 0 || static_cast<size_t>(row) >= m_rowFirst.size()) return {};
    const auto& tokens = m_model->contextTokens();
    const int64_t a = m_rowFirst[static_cast<size_t>(row)], b = m_rowEnd[static_cast<size_t>(row)];
    if (b - a == 1) return displayToken(tokens[static_cast<size_t>(a)]);
    QString text = m_model->segmentSourceText(a);
    if (text.isEmpty()) {
        for (int64_t k = a; k < b; ++k) text += displayToken(tokens[static_cast<size_t>(k)]);
    }
    const auto& segs = m_model->promptSegments();
    const QString label = row < static_cast<int64_t>(segs.size()) ? QString::fromStdString(segs[static_cast<size_t>(row)].label)
                                                                  : QString();
    return (label.isEmpty() ? QString() : label + QStringLiteral(": ")) + text.trimmed();
}

void HeatmapView::tokensChanged() {
    updateRows();
    measureLabels();
    updatePlot();
    m_geom.setShape(displayRows(), m_model->outputLength());
    m_zoomMode = ZoomMode::Auto;
    m_imageDirty = true;
    update();
    emit viewChanged();
}

void HeatmapView::coloursChanged() {
    m_imageDirty = true;
    update();
}

const QStaticText& HeatmapView::label(int64_t k, bool column) const {
    const int side = column ? 1 : 0;
    auto& texts = m_labels[side];
    auto& ready = m_labelReady[side];
    const auto i = static_cast<size_t>(k);
    if (!ready[i]) {
        QFont f = font();
        f.setItalic(!column && k >= m_promptRows);
        const QFontMetricsF fm(f);
        const double w = (column ? m_colLabelH : m_rowLabelW) - 2 * kGap;
        const QString text = column ? displayToken(m_model->contextTokens()[i]) : rowText(k);
        texts[i].setText(fm.elidedText(text, Qt::ElideRight, w));
        texts[i].setTextFormat(Qt::PlainText);
        texts[i].setPerformanceHint(QStaticText::AggressiveCaching);
        texts[i].prepare(QTransform(), f);
        ready[i] = true;
    }
    return texts[i];
}

void HeatmapView::measureLabels() {
    for (int side = 0; side < 2; ++side) {
        m_labels[side].assign(m_model->contextTokens().size(), QStaticText());
        m_labelReady[side].assign(m_model->contextTokens().size(), false);
    }
    // Measured in bold: the highlighted label is bold and should fit too.
    QFont bold = font();
    bold.setBold(true);
    const QFontMetricsF fm(bold);
    const auto& tokens = m_model->contextTokens();
    double rowW = fm.horizontalAdvance(QStringLiteral("context ↓")), colW = 0;
    // Labels are cut at kMaxRowLabel / kMaxColLabel; long prompts need not be
    // measured past the point where the cap is reached.
    for (size_t k = 0; k < tokens.size(); ++k) {
        const double w = fm.horizontalAdvance(k < m_rowFirst.size() ? rowText(static_cast<int64_t>(k))
                                                                    : displayToken(tokens[k]));
        rowW = std::max(rowW, w);
        if (static_cast<int64_t>(k) >= m_model->promptLength()) colW = std::max(colW, w);
        if (rowW >= kMaxRowLabel && colW >= kMaxColLabel) break;
    }
    m_rowLabelW = std::min(kMaxRowLabel, rowW) + 2 * kGap;
    m_colLabelH = std::min(kMaxColLabel, std::max(colW, fm.horizontalAdvance(QStringLiteral("output →")))) + 2 * kGap;
}

double HeatmapView::legendHeight() const { return std::ceil(QFontMetricsF(font()).height()) + 12; }

void HeatmapView::updatePlot() {
    const QRectF plot(m_rowLabelW, m_colLabelH, std::max(1.0, width() - m_rowLabelW - kGap),
                      std::max(1.0, height() - m_colLabelH - legendHeight()));
    m_geom.setPlot(plot);
}

void HeatmapView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    updatePlot();
    if (m_zoomMode == ZoomMode::Auto) m_geom.reset();
    else if (m_zoomMode == ZoomMode::Fit) m_geom.fit();
    emit viewChanged();
}

void HeatmapView::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::FontChange) {
        measureLabels(); // also drops the prepared labels
        updatePlot();
    }
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange) m_imageDirty = true;
}

// ------------------------------------------------------------------ image

void HeatmapView::prepareImage() const {
    const QColor base = palette().color(QPalette::Base);
    if (!m_imageDirty && base == m_imageBase) return;
    m_levels.clear();
    // Segment rows: the segment scale, shared with the output rows (ResultModel::heatmapImage).
    m_levels[{0, 0}] = m_model->heatmapImage(base, m_segmentRows && !m_model->promptSegments().empty());
    m_imageBase = base;
    m_imageDirty = false;
}

const QImage& HeatmapView::levelImage(int lx, int ly) const {
    prepareImage();
    const QImage& full = m_levels[{0, 0}];
    if (full.isNull()) return full;
    lx = std::min(lx, static_cast<int>(std::floor(std::log2(std::max(1, full.width())))));
    ly = std::min(ly, static_cast<int>(std::floor(std::log2(std::max(1, full.height())))));
    auto it = m_levels.find({lx, ly});
    if (it != m_levels.end()) return it->second;
    const int w = std::max(1, (full.width() + (1 << lx) - 1) >> lx);
    const int h = std::max(1, (full.height() + (1 << ly) - 1) >> ly);
    return m_levels[{lx, ly}] = full.scaled(w, h, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
}

// ------------------------------------------------------------------ input

HeatmapView::Hit HeatmapView::hitAt(QPointF pos) const {
    Hit h;
    if (auto c = m_geom.cellAt(pos)) {
        h.kind = Hit::Cell;
        h.row = c->row;
        h.col = c->col;
        return h;
    }
    const QRectF plot = m_geom.plot();
    const QRectF content = m_geom.contentRect();
    if (pos.x() < plot.left() && pos.y() >= plot.top() && pos.y() < plot.bottom()) {
        const auto row = static_cast<int64_t>(std::floor((pos.y() - content.top()) / m_geom.cellH()));
        if (row >= 0 && row < m_geom.rows()) {
            h.kind = Hit::RowLabel;
            h.row = row;
        }
    } else if (pos.y() < plot.top() && pos.x() >= plot.left() && pos.x() < plot.right()) {
        const auto col = static_cast<int64_t>(std::floor((pos.x() - content.left()) / m_geom.cellW()));
        if (col >= 0 && col < m_geom.cols()) {
            h.kind = Hit::ColLabel;
            h.col = col;
        }
    }
    return h;
}

void HeatmapView::hover(const Hit& hit) {
    const int64_t n = m_model->promptLength();
    switch (hit.kind) {
    case Hit::Cell:
        m_selection->setCell(firstTokenOfRow(hit.row), hit.col);
        m_selection->setHovered(n + hit.col);
        break;
    case Hit::RowLabel:
        m_selection->setCell(-1, -1);
        m_selection->setHovered(firstTokenOfRow(hit.row));
        break;
    case Hit::ColLabel:
        m_selection->setCell(-1, -1);
        m_selection->setHovered(n + hit.col);
        break;
    case Hit::None:
        m_selection->setCell(-1, -1);
        m_selection->setHovered(-1);
        break;
    }
}

void HeatmapView::mouseMoveEvent(QMouseEvent* event) {
    const QPointF pos = event->position();
    if (m_pressed) {
        if (!m_dragging && (pos - m_pressPos).manhattanLength() > 4) {
            m_dragging = true;
            setCursor(Qt::ClosedHandCursor);
        }
        if (m_dragging) {
            m_geom.panBy(pos - m_lastPos);
            m_lastPos = pos;
            update();
            emit viewChanged();
            return;
        }
    }
    hover(hitAt(pos));
}

void HeatmapView::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return QWidget::mousePressEvent(event);
    m_pressed = true;
    m_dragging = false;
    m_pressPos = m_lastPos = event->position();
}

void HeatmapView::mouseReleaseEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return QWidget::mouseReleaseEvent(event);
    const bool wasDrag = m_dragging;
    m_pressed = m_dragging = false;
    unsetCursor();
    if (wasDrag) return;
    const Hit h = hitAt(event->position());
    const int64_t n = m_model->promptLength();
    switch (h.kind) {
    case Hit::Cell:
    case Hit::ColLabel: m_selection->togglePinned(n + h.col); break;
    case Hit::RowLabel: m_selection->togglePinned(firstTokenOfRow(h.row)); break;
    case Hit::None: m_selection->setPinned(-1); break;
    }
}

void HeatmapView::wheelEvent(QWheelEvent* event) {
    const QPoint angle = event->angleDelta();
    if (event->modifiers() & Qt::ControlModifier) {
        m_geom.zoomAt(event->position(), std::pow(1.0015, angle.y()));
        m_zoomMode = ZoomMode::Manual;
    } else {
        QPointF delta = event->pixelDelta().isNull() ? QPointF(angle) * 0.5 : QPointF(event->pixelDelta());
        if (event->modifiers() & Qt::ShiftModifier) delta = QPointF(delta.y(), delta.x());
        m_geom.panBy(delta);
    }
    hover(hitAt(event->position()));
    update();
    emit viewChanged();
    event->accept();
}

void HeatmapView::leaveEvent(QEvent* event) {
    QWidget::leaveEvent(event);
    m_selection->setCell(-1, -1);
    m_selection->setHovered(-1);
}

void HeatmapView::keyPressEvent(QKeyEvent* event) {
    const double step = 40;
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal: zoomIn(); return;
    case Qt::Key_Minus: zoomOut(); return;
    case Qt::Key_0: fitAll(); return;
    case Qt::Key_Left: m_geom.panBy({step, 0}); break;
    case Qt::Key_Right: m_geom.panBy({-step, 0}); break;
    case Qt::Key_Up: m_geom.panBy({0, step}); break;
    case Qt::Key_Down: m_geom.panBy({0, -step}); break;
    case Qt::Key_Escape: m_selection->clear(); return;
    default: return QWidget::keyPressEvent(event);
    }
    update();
    emit viewChanged();
}

void HeatmapView::matchView(const HeatmapView& other) {
    const HeatmapGeometry& g = other.geometry();
    if (m_geom.cellW() > 0 && g.cellW() > 0 && std::abs(g.cellW() - m_geom.cellW()) > 1e-9)
        m_geom.zoomAt(m_geom.plot().topLeft(), g.cellW() / m_geom.cellW());
    m_geom.setOffset(g.offset());
    m_zoomMode = ZoomMode::Manual;
    update();
}

void HeatmapView::zoomIn() {
    m_zoomMode = ZoomMode::Manual;
    m_geom.zoomAt(m_geom.plot().center(), 1.5);
    update();
    emit viewChanged();
}

void HeatmapView::zoomOut() {
    m_zoomMode = ZoomMode::Manual;
    m_geom.zoomAt(m_geom.plot().center(), 1 / 1.5);
    update();
    emit viewChanged();
}

void HeatmapView::fitAll() {
    m_zoomMode = ZoomMode::Fit;
    m_geom.fit();
    update();
    emit viewChanged();
}

void HeatmapView::resetZoom() {
    m_zoomMode = ZoomMode::Auto;
    m_geom.reset();
    update();
    emit viewChanged();
}

// ---------------------------------------------------------------- painting

void HeatmapView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    paintAll(p, size(), palette());
}

void HeatmapView::paintAll(QPainter& p, QSizeF size, const QPalette& pal) const {
    p.fillRect(QRectF(QPointF(0, 0), size), pal.color(QPalette::Base));
    p.setFont(font());
    if (m_geom.rows() == 0 || m_geom.cols() == 0) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(QRectF(QPointF(0, 0), size), Qt::AlignCenter,
                   m_model->hasJob() ? tr("No matrix to show.") : tr("The attribution matrix will appear here."));
        return;
    }
    const QRectF plot = m_geom.plot();
    const QRectF content = m_geom.contentRect().intersected(plot);
    p.save();
    p.setClipRect(plot);
    // NaN cells are transparent in the image: the hatch underneath shows.
    p.fillRect(content, nanBackground(pal));
    p.fillRect(content, QBrush(hatchColour(pal), Qt::BDiagPattern));
    const auto [lx, ly] = m_geom.pyramidLevel();
    const QImage& img = levelImage(lx, ly);
    if (!img.isNull() && !paintCellsAsRects(p)) {
        for (const auto& tile : m_geom.visibleTiles(img.width(), img.height())) {
            p.drawImage(tile.target, img, QRectF(tile.source));
        }
    }
    const int64_t n = m_model->promptLength();
    // Grid lines once cells are large enough to tell apart.
    if (m_geom.cellW() >= 12 && m_geom.cellH() >= 12) {
        QColor grid = pal.color(QPalette::Base);
        grid.setAlphaF(0.6f);
        p.setPen(QPen(grid, 1));
        const auto [r0, r1] = m_geom.visibleRows();
        const auto [c0, c1] = m_geom.visibleCols();
        for (int64_t r = r0; r <= r1; ++r) {
            const double y = m_geom.cellRect(r, 0).top();
            p.drawLine(QPointF(content.left(), y), QPointF(content.right(), y));
        }
        for (int64_t c = c0; c <= c1; ++c) {
            const double x = m_geom.cellRect(0, c).left();
            p.drawLine(QPointF(x, content.top()), QPointF(x, content.bottom()));
        }
    }
    // Prompt / output boundary.
    {
        const double y = m_geom.cellRect(m_promptRows, 0).top();
        p.setPen(QPen(pal.color(QPalette::Text), 1.5));
        p.drawLine(QPointF(content.left(), y), QPointF(content.right(), y));
    }
    // Crosshair: the hovered cell, else the focus token's row (and column).
    QColor band = pal.color(QPalette::Highlight);
    band.setAlphaF(0.22f);
    QColor line = pal.color(QPalette::Highlight);
    auto rowBand = [&](int64_t r) {
        const QRectF c = m_geom.cellRect(r, 0);
        const QRectF b(content.left(), c.top(), content.width(), std::max(1.0, m_geom.cellH()));
        p.fillRect(b, band);
        p.setPen(QPen(line, 1));
        p.drawLine(b.topLeft(), b.topRight());
        p.drawLine(b.bottomLeft(), b.bottomRight());
    };
    auto colBand = [&](int64_t col) {
        const QRectF c = m_geom.cellRect(0, col);
        const QRectF b(c.left(), content.top(), std::max(1.0, m_geom.cellW()), content.height());
        p.fillRect(b, band);
        p.setPen(QPen(line, 1));
        p.drawLine(b.topLeft(), b.bottomLeft());
        p.drawLine(b.topRight(), b.bottomRight());
    };
    if (const int64_t row = displayRowOf(m_selection->cellRow()); row >= 0) {
        rowBand(row);
        colBand(m_selection->cellCol());
        p.setPen(QPen(pal.color(QPalette::Text), 2));
        p.setBrush(Qt::NoBrush);
        p.drawRect(m_geom.cellRect(row, m_selection->cellCol()).adjusted(-1, -1, 1, 1));
    } else if (const int64_t f = m_selection->focus(); f >= 0 && displayRowOf(f) >= 0) {
        rowBand(displayRowOf(f));
        if (f >= n) colBand(f - n);
    }
    p.restore();
    paintLabels(p, pal);
    paintLegend(p, size, pal);
}

void HeatmapView::paintLabels(QPainter& p, const QPalette& pal) const {
    const QFontMetricsF fm(font());
    const double fh = fm.height();
    const QRectF plot = m_geom.plot();
    const int64_t n = m_model->promptLength();
    const auto& tokens = m_model->contextTokens();
    const int64_t hovRow = displayRowOf(m_selection->cellRow() >= 0 ? m_selection->cellRow() : m_selection->focus());
    const int64_t hovCol = m_selection->cellCol() >= 0 ? m_selection->cellCol()
                           : m_selection->focus() >= n ? m_selection->focus() - n
                                                       : -1;
    QFont outFont = font();
    outFont.setItalic(true);
    QFont boldFont = font();
    boldFont.setBold(true);
    QColor highlightBg = pal.color(QPalette::Highlight);
    const QColor highlightText = pal.color(QPalette::HighlightedText);

    // Corner.
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(kGap, plot.top() - fh - 4, m_rowLabelW - 2 * kGap, fh), Qt::AlignRight | Qt::AlignVCenter,
               tr("context ↓"));
    p.drawText(QRectF(kGap, plot.top() - 2 * fh - 6, m_rowLabelW - 2 * kGap, fh), Qt::AlignRight | Qt::AlignVCenter,
               tr("output →"));

    // Rows.
    p.save();
    p.setClipRect(QRectF(0, plot.top() - fh / 2, m_rowLabelW, plot.height() + fh));
    const int64_t rowStep = HeatmapGeometry::labelStep(m_geom.cellH(), fh + 1);
    auto drawRow = [&](int64_t r, bool highlighted) {
        const double y = m_geom.cellRect(r, 0).center().y();
        const QRectF rect(kGap, y - fh / 2, m_rowLabelW - 2 * kGap, fh);
        if (highlighted) {
            const QFontMetricsF bfm(boldFont);
            const QString text = bfm.elidedText(rowText(r), Qt::ElideRight, rect.width());
            const double w = bfm.horizontalAdvance(text) + 6;
            p.fillRect(QRectF(rect.right() - w + 3, rect.top(), w, rect.height()), highlightBg);
            p.setFont(boldFont);
            p.setPen(highlightText);
            p.drawText(rect, Qt::AlignRight | Qt::AlignVCenter, text);
            return;
        }
        const QStaticText& st = label(r, false);
        p.setFont(r >= m_promptRows ? outFont : font());
        p.setPen(pal.color(r >= m_promptRows ? QPalette::PlaceholderText : QPalette::Text));
        p.drawStaticText(QPointF(rect.right() - st.size().width(), y - st.size().height() / 2), st);
    };
    const auto [r0, r1] = m_geom.visibleRows();
    // Labels too close to the highlighted one give way to it.
    const bool hasRow = hovRow >= 0 && hovRow < m_geom.rows();
    for (int64_t r = (r0 + rowStep - 1) / rowStep * rowStep; r < r1; r += rowStep) {
        if (hasRow && std::abs(static_cast<double>(r - hovRow)) * m_geom.cellH() < fh + 1) continue;
        drawRow(r, false);
    }
    if (hasRow) drawRow(hovRow, true);
    p.restore();

    // Columns: rotated, reading upwards, ending just above the plot.
    p.save();
    p.setClipRect(QRectF(plot.left() - fh / 2, 0, plot.width() + fh, plot.top()));
    const int64_t colStep = HeatmapGeometry::labelStep(m_geom.cellW(), fh + 1);
    auto drawCol = [&](int64_t c, bool highlighted) {
        const double x = m_geom.cellRect(0, c).center().x();
        const QRectF rect(kGap, -fh / 2, m_colLabelH - 2 * kGap, fh);
        p.save();
        p.translate(x, plot.top());
        p.rotate(-90);
        if (highlighted) {
            const QFontMetricsF bfm(boldFont);
            const QString text =
                bfm.elidedText(displayToken(tokens[static_cast<size_t>(n + c)]), Qt::ElideRight, rect.width());
            p.fillRect(QRectF(rect.left() - 3, rect.top(), bfm.horizontalAdvance(text) + 6, rect.height()), highlightBg);
            p.setFont(boldFont);
            p.setPen(highlightText);
            p.drawText(rect, Qt::AlignLeft | Qt::AlignVCenter, text);
        } else {
            const QStaticText& st = label(n + c, true);
            p.setFont(font());
            p.setPen(pal.color(QPalette::Text));
            p.drawStaticText(QPointF(rect.left(), -st.size().height() / 2), st);
        }
        p.restore();
    };
    const auto [c0, c1] = m_geom.visibleCols();
    const bool hasCol = hovCol >= 0 && hovCol < m_geom.cols();
    for (int64_t c = (c0 + colStep - 1) / colStep * colStep; c < c1; c += colStep) {
        if (hasCol && std::abs(static_cast<double>(c - hovCol)) * m_geom.cellW() < fh + 1) continue;
        drawCol(c, false);
    }
    if (hasCol) drawCol(hovCol, true);
    p.restore();
    p.setFont(font());
}

void HeatmapView::paintLegend(QPainter& p, QSizeF size, const QPalette& pal) const {
    const QFontMetricsF fm(font());
    const double h = legendHeight();
    const double y = size.height() - h;
    double x = m_rowLabelW;
    const double sw = fm.height() * 0.9;
    const QRectF swatch(x, y + (h - sw) / 2, sw, sw);
    p.fillRect(swatch, nanBackground(pal));
    p.fillRect(swatch, QBrush(hatchColour(pal), Qt::BDiagPattern));
    p.setPen(QPen(pal.color(QPalette::Mid), 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(swatch);
    x += sw + 6;
    p.setPen(pal.color(QPalette::PlaceholderText));
    const QString text = legendText();
    const double w = std::max(0.0, size.width() - x - kGap);
    p.drawText(QRectF(x, y, w, h), Qt::AlignVCenter | Qt::AlignLeft, fm.elidedText(text, Qt::ElideRight, w));
}

QString HeatmapView::legendText() const {
    const QString cellSize = m_geom.cellW() >= 1 && m_geom.cellH() >= 1
                                 ? tr("%1 × %2 px per cell").arg(m_geom.cellW(), 0, 'f', 0).arg(m_geom.cellH(), 0, 'f', 0)
                                 : tr("%1 × %2 cells per px")
                                       .arg(1 / m_geom.cellW(), 0, 'f', 1)
                                       .arg(1 / m_geom.cellH(), 0, 'f', 1);
    const bool leftOut = !m_model->segments().empty() && !m_model->includeTemplate(); // a chat's template rows
    const bool segments = m_segmentRows && !m_model->promptSegments().empty();
    return tr("no value (%1) · %2×%3 matrix · %4 · %5")
        .arg(leftOut ? tr("the token itself or later, or a template token left out") : tr("the token itself or later"))
        .arg(m_geom.rows()).arg(m_geom.cols())
        .arg(cellSize)
        .arg(segments ? tr("segments summed, then scaled with the output rows") : tr("colours as in the token view"));
}

} // namespace tokenlens::gui
