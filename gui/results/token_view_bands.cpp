// The token view's role bands for chat results: one band per message behind
// its tokens, in its role's colour, with the role written in a gutter left of
// the band's first line (TokenView's band section; role_bands.h).
#include "results/token_view.h"

#include <QFontMetricsF>
#include <QPainter>
#include <QScrollBar>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

namespace {

constexpr double kBandPad = 3; // around the band's token boxes
constexpr double kBarWidth = 3; // the band's left edge in the role's colour

QString roleLabel(const RoleBand& b) { return QString::fromStdString(b.role); }

} // namespace

void TokenView::updateBands() {
    m_bands = gui::roleBands(m_model->segments(), m_model->contextTokens(), m_model->promptLength());
    m_gutter = 0;
    if (m_bands.empty()) return;
    QFont bold = font();
    bold.setBold(true);
    const QFontMetricsF fm(bold);
    double widest = fm.horizontalAdvance(QStringLiteral("assistant"));
    for (const auto& b : m_bands) widest = std::max(widest, fm.horizontalAdvance(roleLabel(b)));
    m_gutter = std::ceil(widest) + 2 * kBandPad + kBarWidth + 10;
}

QRectF TokenView::bandContentRect(size_t i) const {
    if (i >= m_bands.size()) return {};
    const RoleBand& b = m_bands[i];
    const QRectF first = m_layout.box(b.first), last = m_layout.box(b.end - 1);
    if (first.isNull() || last.isNull()) return {};
    const double left = m_margin, right = m_margin + m_gutter + m_layout.params().width;
    return QRectF(QPointF(left, first.top() - kBandPad), QPointF(right, last.bottom() + kBandPad));
}

QRectF TokenView::bandRect(size_t i) const {
    const QRectF r = bandContentRect(i);
    return r.isNull() ? r : r.translated(0, -verticalScrollBar()->value());
}

QRectF TokenView::bandLabelRect(size_t i) const {
    const QRectF r = bandRect(i);
    if (r.isNull()) return r;
    return QRectF(r.left() + kBarWidth + kBandPad, r.top() + kBandPad, m_gutter - kBarWidth - 2 * kBandPad,
                  m_layout.params().lineHeight);
}

void TokenView::paintBands(QPainter& p, double top, double bottom) const {
    if (m_bands.empty()) return;
    QFont bold = font();
    bold.setBold(true);
    p.save();
    p.setFont(bold);
    for (size_t i = 0; i < m_bands.size(); ++i) {
        const QRectF r = bandContentRect(i);
        if (r.isNull() || r.bottom() < top || r.top() > bottom) continue;
        const QColor colour = roleColour(m_bands[i].role);
        QColor tint = colour;
        tint.setAlphaF(0.13f);
        p.setPen(Qt::NoPen);
        p.setBrush(tint);
        p.drawRoundedRect(r, 4, 4);
        p.setBrush(colour);
        p.drawRect(QRectF(r.left(), r.top(), kBarWidth, r.height()));
        // The label in the role's colour, darkened for contrast on light themes.
        const bool dark = palette().color(QPalette::Base).lightnessF() < 0.5;
        p.setPen(dark ? colour.lighter(130) : colour.darker(160));
        const QRectF label(r.left() + kBarWidth + kBandPad, r.top() + kBandPad, m_gutter - kBarWidth - 2 * kBandPad,
                           m_layout.params().lineHeight);
        p.drawText(label, Qt::AlignLeft | Qt::AlignVCenter, roleLabel(m_bands[i]));
    }
    p.restore();
}

} // namespace tokenlens::gui
