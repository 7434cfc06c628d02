// TokenView's painting: the tokens, the legend and the figure export
// (the rest of the view is token_view.cpp).

#include "results/token_view.h"

#include "results/figure_image.h"
#include "results/selection_model.h"
#include "viewmodel/palette.h"

#include <QEvent>
#include <QFontMetricsF>
#include <QHash>
#include <QKeyEvent>
#include <QLinearGradient>
#include <QMenu>
#include <QContextMenuEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QScrollBar>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

namespace {

constexpr double kRadius = 3.0;

} // namespace

void TokenView::paintEvent(QPaintEvent* event) {
    QPainter p(viewport());
    const QPalette& pal = palette();
    p.fillRect(event->rect(), pal.color(QPalette::Base));
    if (m_model->contextLength() == 0) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        const QString msg = m_model->hasJob()
                                ? tr("This model has no completed method to show.\nSee the warnings beside the view.")
                                : tr("Open a result (Ctrl+O) or drop a result .json file here.\n\n"
                                     "Each token will be coloured by how much it matters;\n"
                                     "hover one to see what it attends to.");
        p.drawText(viewport()->rect(), Qt::AlignCenter, msg);
        return;
    }
    ensureColouring();
    p.setRenderHint(QPainter::Antialiasing);
    const double scroll = verticalScrollBar()->value();
    p.translate(0, -scroll);
    paintContent(p, scroll + event->rect().top(), scroll + event->rect().bottom() + 1, pal);
}

void TokenView::paintLegend(QPainter& p, const QPalette& pal, double width) const {
    const QFontMetricsF fm(font());
    const double rowH = std::ceil(fm.height()) + 8;
    double x = m_margin;
    double y = m_margin;
    const auto active = m_model->activeMethods();
    p.setPen(pal.color(QPalette::Text));
    if (active.empty()) {
        p.drawText(QRectF(x, y, width - 2 * m_margin, rowH), Qt::AlignVCenter | Qt::AlignLeft,
                   tr("No method is switched on — press 1–9 or use the method buttons."));
    }
    for (int m : active) {
        const auto& sm = m_model->methods()[static_cast<size_t>(m)];
        const double sw = fm.height() * 0.8;
        QColor fill = sm.colour;
        fill.setAlphaF(static_cast<float>(kMaxFillAlpha));
        p.setPen(Qt::NoPen);
        p.setBrush(fill);
        p.drawRoundedRect(QRectF(x, y + (rowH - sw) / 2, sw, sw), 2, 2);
        x += sw + 5;
        const QString label = methodLabel(sm.id);
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRectF(x, y, fm.horizontalAdvance(label) + 2, rowH), Qt::AlignVCenter | Qt::AlignLeft, label);
        x += fm.horizontalAdvance(label) + 14;
    }
    if (active.size() > 1) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        const QString mix = tr("mixed: hue = which methods, strength = their mean intensity (eq. 10)");
        p.drawText(QRectF(x, y, std::max(0.0, width - m_margin - x), rowH), Qt::AlignVCenter | Qt::AlignLeft,
                   fm.elidedText(mix, Qt::ElideRight, std::max(0.0, width - m_margin - x)));
    }
    // Row 2: the intensity ramp at the right, the mode on the left.
    y += rowH;
    const double rampW = 120, labelW = fm.horizontalAdvance(tr("high")) + 4;
    const double rampX = width - m_margin - rampW - labelW;
    const double lowW = fm.horizontalAdvance(tr("low")) + 6;
    if (!active.empty() && rampX - lowW > width / 2) {
        std::vector<double> ones(active.size(), 1.0);
        const auto colours = m_model->activeColours();
        const QColor full = blendIntensities(ones, colours);
        QLinearGradient g(rampX, 0, rampX + rampW, 0);
        QColor zero = full;
        zero.setAlpha(0);
        g.setColorAt(0, zero);
        g.setColorAt(1, full);
        const QRectF ramp(rampX, y + rowH * 0.25, rampW, rowH * 0.5);
        p.setPen(QPen(pal.color(QPalette::Mid), 1));
        p.setBrush(g);
        p.drawRoundedRect(ramp, 2, 2);
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(QRectF(rampX - lowW, y, lowW - 4, rowH), Qt::AlignVCenter | Qt::AlignRight, tr("low"));
        p.drawText(QRectF(rampX + rampW + 4, y, labelW, rowH), Qt::AlignVCenter | Qt::AlignLeft, tr("high"));
    }
    const double modeW = (!active.empty() ? rampX - (fm.horizontalAdvance(tr("low")) + 6) - 12 : width - m_margin) -
                         m_margin;
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(m_margin, y, std::max(0.0, modeW), rowH), Qt::AlignVCenter | Qt::AlignLeft,
               fm.elidedText(modeDescription(), Qt::ElideRight, std::max(0.0, modeW)));
    p.setPen(QPen(pal.color(QPalette::Midlight), 1));
    const double lineY = legendHeight() - 3;
    p.drawLine(QPointF(m_margin, lineY), QPointF(width - m_margin, lineY));
}

void TokenView::paintContent(QPainter& p, double top, double bottom, const QPalette& pal) const {
    const double width = m_layout.params().width + 2 * m_margin;
    p.setFont(font());
    if (top < legendHeight()) paintLegend(p, pal, width);

    QFont headingFont = font();
    headingFont.setBold(true);
    p.setFont(headingFont);
    p.setPen(pal.color(QPalette::PlaceholderText));
    const int64_t n = m_model->promptLength(), t = m_model->outputLength();
    p.drawText(m_layout.promptHeading(), Qt::AlignLeft | Qt::AlignVCenter,
               tr("Prompt · %n token(s)", nullptr, static_cast<int>(n)));
    p.drawText(m_layout.outputHeading(), Qt::AlignLeft | Qt::AlignVCenter,
               tr("Output · %n token(s)", nullptr, static_cast<int>(t)));
    p.setFont(font());

    paintBands(p, top, bottom);
    const auto& boxes = m_layout.boxes();
    const auto [firstLine, endLine] = m_layout.linesBetween(top - 4, bottom + 4);
    const auto& lines = m_layout.lines();
    QColor border = pal.color(QPalette::Text);
    border.setAlphaF(0.16f);
    const double pad = m_layout.params().padding;
    const QFontMetricsF fm(font());
    for (size_t l = firstLine; l < endLine; ++l) {
        for (size_t b = lines[l].first; b < lines[l].end; ++b) {
            const TokenBox& box = boxes[b];
            const auto k = static_cast<size_t>(box.index);
            if (box.rect.width() <= 0) continue; // folded into its segment's chip
            const bool chip = isChip(box.index);
            QColor fill = chip ? m_chipFills[static_cast<size_t>(segmentOf(box.index))] : m_colouring.fills[k];
            QColor textColour = chip ? m_chipTextColours[static_cast<size_t>(segmentOf(box.index))] : m_textColours[k];
            QPen outline(border, 1);
            if (m_categoryMode != CategoryMode::Off) {
                if (!tokenShown(box.index)) continue;
                if (!tokenEmphasised(box.index)) {
                    // Faded: a quarter of the fill, the text half-transparent.
                    fill.setAlphaF(fill.alphaF() * 0.25f);
                    textColour = pal.color(QPalette::Text);
                    textColour.setAlphaF(0.35f);
                } else if (m_categoryMode == CategoryMode::Highlight) {
                    outline = QPen(pal.color(QPalette::Text), 1.5);
                }
                if (m_categoryMode == CategoryMode::Comparison && k < m_categories.size())
                    outline = QPen(categoryColour(m_categories[k]), 2.5);
            }
            if (m_model->isTemplateToken(box.index)) { // the chat template's own: dimmed
                fill.setAlphaF(fill.alphaF() * 0.5f);
                textColour = pal.color(QPalette::Text);
                textColour.setAlphaF(0.42f);
                outline = QPen(border, 1, Qt::DotLine);
            }
            p.setPen(outline);
            p.setBrush(fill.alpha() > 0 ? QBrush(fill) : QBrush(Qt::NoBrush));
            p.drawRoundedRect(box.rect.adjusted(0.5, 0.5, -0.5, -0.5), kRadius, kRadius);
            if (k < m_turnTints.size() && m_turnTints[k].isValid())
                p.fillRect(QRectF(box.rect.left() + 2, box.rect.bottom() - 3.5, box.rect.width() - 4, 3), m_turnTints[k]);
            p.setPen(textColour);
            if (chip) {
                // The segment's text, elided to the chip; a dashed outline says it opens.
                p.drawText(box.rect.adjusted(pad, 0, -pad, 0), Qt::AlignVCenter | Qt::AlignLeft,
                           fm.elidedText(box.text, Qt::ElideRight, box.rect.width() - 2 * pad));
                QColor edge = pal.color(QPalette::Text);
                edge.setAlphaF(0.45f);
                p.setPen(QPen(edge, 1, Qt::DashLine));
                p.setBrush(Qt::NoBrush);
                p.drawRoundedRect(box.rect.adjusted(0.5, 0.5, -0.5, -0.5), kRadius, kRadius);
                continue;
            }
            const QStaticText& st = staticText(k);
            const QSizeF ts = st.size();
            const QPointF at(box.rect.left() + pad, box.rect.top() + (box.rect.height() - ts.height()) / 2);
            if (ts.width() + 2 * pad > box.rect.width() + 0.5) {
                p.save();
                p.setClipRect(box.rect);
                p.drawText(box.rect.adjusted(pad, 0, -pad, 0), Qt::AlignVCenter | Qt::AlignLeft,
                           fm.elidedText(st.text(), Qt::ElideRight, box.rect.width() - 2 * pad));
                p.restore();
            } else {
                p.drawStaticText(at, st);
            }
        }
    }

    const QColor accent = pal.color(QPalette::Highlight);
    // The window around the focus: underlined (at a segment granularity whole
    // segments: a folded one's chip, an open one's tokens).
    if (m_colouring.focus >= 0) {
        p.setPen(QPen(accent, 2, Qt::SolidLine, Qt::FlatCap));
        for (int64_t k = m_colouring.windowFirst; k <= m_colouring.windowLast; ++k) {
            if (isFoldedAway(k)) continue;
            const QRectF r = m_layout.box(k);
            if (r.bottom() < top || r.top() > bottom) continue;
            p.drawLine(QPointF(r.left() + 1, r.bottom() + 2), QPointF(r.right() - 1, r.bottom() + 2));
        }
    }
    p.setBrush(Qt::NoBrush);
    // The heatmap's hovered row: dashed.
    if (m_selection->cellRow() >= 0) {
        p.setPen(QPen(pal.color(QPalette::Text), 1.5, Qt::DashLine));
        p.drawRoundedRect(m_layout.box(m_selection->cellRow()).adjusted(-1, -1, 1, 1), kRadius, kRadius);
    }
    if (const int64_t pin = m_selection->pinned(); pin >= 0) {
        p.setPen(QPen(accent, 2.5));
        p.drawRoundedRect(m_layout.box(pin).adjusted(-1.5, -1.5, 1.5, 1.5), kRadius + 1, kRadius + 1);
    }
    if (const int64_t hov = m_selection->hovered(); hov >= 0 && hov != m_selection->pinned()) {
        p.setPen(QPen(pal.color(QPalette::Text), 2));
        p.drawRoundedRect(m_layout.box(hov).adjusted(-1.5, -1.5, 1.5, 1.5), kRadius + 1, kRadius + 1);
    }
    // Split-view marks (over hover and pin: the linked outline must show): unmatched dashed, changed thick, linked solid.
    for (size_t k = 0; k < m_marks.size() && k < boxes.size(); ++k) {
        const unsigned char mk = m_marks[k];
        if (mk == 0) continue;
        const QRectF r = m_layout.box(static_cast<int64_t>(k));
        if (r.isNull() || r.bottom() < top - 4 || r.top() > bottom + 4) continue;
        if (mk & MarkUnmatched) {
            p.setPen(QPen(markColour(MarkUnmatched), 1.5, Qt::DashLine));
            p.drawRoundedRect(r.adjusted(-1, -1, 1, 1), kRadius, kRadius);
            p.drawLine(QPointF(r.left() + 2, r.center().y()), QPointF(r.right() - 2, r.center().y()));
        }
        if (mk & MarkChanged) {
            p.setPen(QPen(markColour(MarkChanged), 3));
            p.drawRoundedRect(r.adjusted(-2.5, -2.5, 2.5, 2.5), kRadius + 2, kRadius + 2);
        }
        if (mk & MarkLinked) {
            p.setPen(QPen(markColour(MarkLinked), 2.5));
            p.drawRoundedRect(r.adjusted(-1.5, -1.5, 1.5, 1.5), kRadius + 1, kRadius + 1);
        }
    }
}

QFont TokenView::figureTitleFont() const {
    QFont titleFont = font();
    titleFont.setBold(true);
    titleFont.setPointSizeF(font().pointSizeF() * 1.25);
    return titleFont;
}

QSizeF TokenView::figureSize(const QString& title) const {
    ensureColouring();
    const QFontMetricsF tfm(figureTitleFont());
    const double titleH = title.isEmpty() ? 0 : std::ceil(tfm.height()) + 2 * m_margin;
    return {std::max(640.0, static_cast<double>(viewport()->width())), titleH + m_layout.height() + m_margin};
}

void TokenView::paintFigure(QPainter& p, const QString& title) const {
    ensureColouring();
    const QFont titleFont = figureTitleFont();
    const QFontMetricsF tfm(titleFont);
    const double titleH = title.isEmpty() ? 0 : std::ceil(tfm.height()) + 2 * m_margin;
    const double width = figureSize(title).width();
    const QPalette& pal = palette();
    p.fillRect(QRectF(QPointF(0, 0), figureSize(title)), pal.color(QPalette::Base));
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    if (!title.isEmpty()) {
        p.setFont(titleFont);
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRectF(m_margin, m_margin, width - 2 * m_margin, tfm.height()), Qt::AlignLeft | Qt::AlignVCenter,
                   tfm.elidedText(title, Qt::ElideRight, width - 2 * m_margin));
        p.setFont(font());
    }
    p.translate(0, titleH);
    // The layout is the one on screen (same width, same wrapping) when the
    // view is at least 640 pixels wide.
    paintContent(p, 0, m_layout.height() + m_margin, pal);
    p.translate(0, -titleH);
}

QImage TokenView::render(double scale, const QString& title) const {
    return figureImage(figureSize(title), scale, palette().color(QPalette::Base),
                       [&](QPainter& p) { paintFigure(p, title); });
}

} // namespace tokenlens::gui
