#pragma once
// One turn of the conversation timeline: title and status, the typed text,
// the attribution share bar, α_t and the turn's share of T. Clicking it (or
// Enter or Space on it) calls onClick.

#include "viewmodel/conversation.h"

#include <QColor>
#include <QFrame>

#include <functional>

class QDoubleSpinBox;
class QLabel;

namespace tokenlens::gui {

class ShareBar;

// A turn's colour (conversation.h's turnColour) as a QColor.
inline QColor turnQColour(int turn, int alpha = 255) {
    const Rgb c = turnColour(turn);
    return QColor(c.r, c.g, c.b, alpha);
}

class TurnChip : public QFrame {
public:
    static constexpr int kWidth = 230;

    TurnChip(int turn, QWidget* parent);
    void setCurrent(bool on);

    std::function<void()> onClick;
    QLabel* title;
    QLabel* excerpt;
    ShareBar* bar;
    QDoubleSpinBox* weight;
    QLabel* temporal;

protected:
    void mousePressEvent(QMouseEvent* e) override;
    void keyPressEvent(QKeyEvent* e) override;
    void paintEvent(QPaintEvent* e) override;

private:
    int m_turn;
    bool m_isCurrent = false;
};

} // namespace tokenlens::gui
