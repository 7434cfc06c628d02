#include "results/turn_chip.h"

#include "results/share_bar.h"

#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QVBoxLayout>

namespace tokenlens::gui {

namespace {

QColor blendOver(const QColor& top, const QColor& bottom) {
    const double a = top.alphaF();
    return QColor::fromRgbF(static_cast<float>(top.redF() * a + bottom.redF() * (1 - a)),
                            static_cast<float>(top.greenF() * a + bottom.greenF() * (1 - a)),
                            static_cast<float>(top.blueF() * a + bottom.blueF() * (1 - a)));
}

} // namespace

TurnChip::TurnChip(int turn, QWidget* parent) : QFrame(parent), m_turn(turn) {
    setFixedWidth(kWidth);
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

void TurnChip::setCurrent(bool on) {
    m_isCurrent = on;
    update();
}

void TurnChip::mousePressEvent(QMouseEvent* e) {
    if (e->button() == Qt::LeftButton && onClick) onClick();
    QFrame::mousePressEvent(e);
}

void TurnChip::keyPressEvent(QKeyEvent* e) {
    if ((e->key() == Qt::Key_Return || e->key() == Qt::Key_Enter || e->key() == Qt::Key_Space) && onClick) {
        onClick();
        return;
    }
    QFrame::keyPressEvent(e);
}

void TurnChip::paintEvent(QPaintEvent* e) {
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

} // namespace tokenlens::gui
