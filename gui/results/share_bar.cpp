#include "results/share_bar.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

ShareBar::ShareBar(QWidget* parent) : QWidget(parent) { setFixedHeight(16); }

void ShareBar::setData(double input, double reply, const QColor& colour, const QString& text) {
    m_input = input;
    m_reply = reply;
    m_colour = colour;
    m_text = text;
    update();
}

void ShareBar::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const QPalette& pal = palette();
    const QRect r = rect().adjusted(0, 1, 0, -1);
    p.fillRect(r, pal.color(QPalette::AlternateBase));
    const int textW = fontMetrics().horizontalAdvance(QStringLiteral("100 %")) + 6;
    const int w = std::max(10, r.width() - textW);
    auto clamp01 = [](double v) { return std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0; };
    const int wi = static_cast<int>(std::lround(clamp01(m_input) * w));
    const int wr = static_cast<int>(std::lround(clamp01(m_reply) * w));
    p.fillRect(QRect(r.left(), r.top(), wi, r.height()), m_colour);
    QColor light = m_colour;
    light.setAlpha(110);
    p.fillRect(QRect(r.left() + wi, r.top(), wr, r.height()), light);
    p.setPen(pal.color(QPalette::WindowText));
    p.drawText(QRect(r.left() + w + 2, r.top(), textW - 2, r.height()), Qt::AlignVCenter | Qt::AlignRight, m_text);
}

} // namespace tokenlens::gui
