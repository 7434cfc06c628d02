#pragma once
// The timeline panel's own widgets: a turn's chip (number, status, text,
// weight box, the share bar of what the shown generation draws from the turn)
// and the strip of the temporal aggregation T(r). Only timeline_panel.cpp
// uses them.

#include "viewmodel/palette.h"

#include <QColor>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFrame>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>
#include <functional>
#include <vector>

namespace tokenlens::gui {

// A turn's colour (palette.h's turnColour) as a QColor.
inline QColor turnQColour(int turn, int alpha = 255) {
    const Rgb c = turnColour(turn);
    return QColor(c.r, c.g, c.b, alpha);
}

inline constexpr int kChipWidth = 230;

// A bar of two parts on [0, 1]: the typed text's share (solid) and the
// reply's share (light), with the total as text.
class ShareBar : public QWidget {
public:
    explicit ShareBar(QWidget* parent) : QWidget(parent) { setFixedHeight(16); }
    void setData(double input, double reply, const QColor& colour, const QString& text) {
        m_input = input;
        m_reply = reply;
        m_colour = colour;
        m_text = text;
        update();
    }

protected:
    void paintEvent(QPaintEvent*) override {
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

private:
    double m_input = 0, m_reply = 0;
    QColor m_colour;
    QString m_text;
};

// One turn: title and status, the typed text, the attribution bar, α_t and
// the turn's share of T.
class TurnChip : public QFrame {
public:
    TurnChip(int turn, QWidget* parent) : QFrame(parent), m_turn(turn) {
        setFixedWidth(kChipWidth);
        setFocusPolicy(Qt::StrongFocus);
        setCursor(Qt::PointingHandCursor);
        auto* lay = new QVBoxLayout(this);
        lay->setContentsMargins(10, 5, 6, 5);
        lay->setSpacing(2);
        title = new QLabel(this);
        title->setTextFormat(Qt::RichText);
        excerpt = new QLabel(this);
        bar = new ShareBar(this);
        auto* row = new QHBoxLayout;
        row->setSpacing(4);
        auto* alphaLabel = new QLabel(QStringLiteral("α"), this);
        weight = new QDoubleSpinBox(this);
        weight->setDecimals(3);
        weight->setRange(0.0, 1000.0);
        weight->setSingleStep(0.1);
        weight->setKeyboardTracking(false);
        weight->setAccessibleName(QObject::tr("Weight of turn %1").arg(turn + 1));
        temporal = new QLabel(this);
        row->addWidget(alphaLabel);
        row->addWidget(weight);
        row->addStretch(1);
        row->addWidget(temporal);
        lay->addWidget(title);
        lay->addWidget(excerpt);
        lay->addWidget(bar);
        lay->addLayout(row);
    }
    void setCurrent(bool on) {
        m_isCurrent = on;
        update();
    }
    std::function<void()> onClick;
    QLabel* title;
    QLabel* excerpt;
    ShareBar* bar;
    QDoubleSpinBox* weight;
    QLabel* temporal;

protected:
    void mousePressEvent(QMouseEvent* e) override {
        if (e->button() == Qt::LeftButton && onClick) onClick();
        QFrame::mousePressEvent(e);
    }
    void keyPressEvent(QKeyEvent* e) override {
        if ((e->key() == Qt::Key_Return || e->key() == Qt::Key_Enter || e->key() == Qt::Key_Space) && onClick) {
            onClick();
            return;
        }
        QFrame::keyPressEvent(e);
    }
    void paintEvent(QPaintEvent* e) override {
        QPainter p(this);
        p.setRenderHint(QPainter::Antialiasing);
        const QPalette& pal = palette();
        QColor fill = pal.color(QPalette::Base);
        if (m_isCurrent) fill = blendOver(turnQColour(m_turn, 38), fill);
        p.setBrush(fill);
        p.setPen(QPen(m_isCurrent ? turnQColour(m_turn) : pal.color(QPalette::Mid), m_isCurrent ? 2.0 : 1.0));
        p.drawRoundedRect(QRectF(rect()).adjusted(1, 1, -1, -1), 6, 6);
        p.setPen(Qt::NoPen);
        p.setBrush(turnQColour(m_turn));
        p.drawRoundedRect(QRectF(3, 5, 4, height() - 10), 2, 2);
        if (hasFocus()) {
            p.setPen(QPen(pal.color(QPalette::Highlight), 1, Qt::DotLine));
            p.setBrush(Qt::NoBrush);
            p.drawRoundedRect(QRectF(rect()).adjusted(3, 3, -3, -3), 5, 5);
        }
        QFrame::paintEvent(e);
    }

private:
    static QColor blendOver(const QColor& top, const QColor& bottom) {
        const double a = top.alphaF();
        return QColor::fromRgbF(static_cast<float>(top.redF() * a + bottom.redF() * (1 - a)),
                                static_cast<float>(top.greenF() * a + bottom.greenF() * (1 - a)),
                                static_cast<float>(top.blueF() * a + bottom.blueF() * (1 - a)));
    }
    int m_turn;
    bool m_isCurrent = false;
};

// T(r) per prompt token: one bar per token, in its turn's colour.
class TemporalStrip : public QWidget {
public:
    explicit TemporalStrip(QWidget* parent) : QWidget(parent) {
        setFixedHeight(34);
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
        setToolTip(QObject::tr("Temporal importance T(r) = Σ_t α_t · I^t(r) of each prompt token (eq. 11), in its "
                               "turn's colour; the replies' tokens lighter"));
    }
    void setData(std::vector<double> values, std::vector<QColor> colours, std::vector<QString> labels) {
        m_values = std::move(values);
        m_colours = std::move(colours);
        m_labels = std::move(labels);
        update();
    }

protected:
    bool event(QEvent* e) override {
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
    void paintEvent(QPaintEvent*) override {
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

private:
    std::vector<double> m_values;
    std::vector<QColor> m_colours;
    std::vector<QString> m_labels;
};

} // namespace tokenlens::gui
