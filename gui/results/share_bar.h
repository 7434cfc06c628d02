#pragma once
// A bar of two parts on [0, 1]: the typed text's share (solid) and the
// reply's share (light), with the total as text (a timeline chip's bar).

#include <QColor>
#include <QWidget>

namespace tokenlens::gui {

class ShareBar : public QWidget {
public:
    explicit ShareBar(QWidget* parent);
    void setData(double input, double reply, const QColor& colour, const QString& text);

protected:
    void paintEvent(QPaintEvent*) override;

private:
    double m_input = 0, m_reply = 0;
    QColor m_colour;
    QString m_text;
};

} // namespace tokenlens::gui
