#include "results/temporal_strip.h"

#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

TemporalStrip::TemporalStrip(QWidget* parent) : QWidget(parent) {
    setFixedHeight(34);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setToolTip(QObject::tr("Temporal importance T(r) = Σ_t α_t · I^t(r) of each prompt token (eq. 11), in its "
                           "turn's colour; the replies' tokens lighter"));
}

void TemporalStrip::setData(std::vector<double> values, std::vector<QColor> colours, std::vector<QString> labels) {
    m_values = std::move(values);
    m_colours = std::move(colours);
    m_labels = std::move(labels);
    update();
}

bool TemporalStrip::event(QEvent* e) {
    if (e->type() == QEvent::ToolTip && !m_values.empty()) {
        auto* he = static_cast<QHelpEvent*>(e);
        const double bw = static_cast<double>(width()) / static_cast<double>(m_values.size());
        const auto r = static_cast<size_t>(std::clamp(he->pos().x() / bw, 0.0, double(m_values.size() - 1)));
        QToolTip::showText(he->globalPos(),
                           QObject::tr("x%1 “%2”: T = %3").arg(r).arg(r < m_labels.size() ? m_labels[r] : QString())
                               .arg(m_values[r], 0, 'g', 4),
                           this);
        return true;
    }
    return QWidget::event(e);
}

void TemporalStrip::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const QPalette& pal = palette();
    p.fillRect(rect(), pal.color(QPalette::AlternateBase));
    double max = 0;
    for (double v : m_values)
        if (std::isfinite(v)) max = std::max(max, std::fabs(v));
    if (m_values.empty() || !(max > 0)) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, QObject::tr("no temporal importance"));
        return;
    }
    const double bw = static_cast<double>(width()) / static_cast<double>(m_values.size());
    const double h = height() - 3;
    for (size_t r = 0; r < m_values.size(); ++r) {
        if (!std::isfinite(m_values[r])) continue;
        const double bh = std::fabs(m_values[r]) / max * h;
        const QRectF bar(r * bw + (bw > 3 ? 0.5 : 0), height() - bh, std::max(1.0, bw - (bw > 3 ? 1.0 : 0)), bh);
        p.fillRect(bar, r < m_colours.size() ? m_colours[r] : pal.color(QPalette::Mid));
    }
}

} // namespace tokenlens::gui
