#pragma once
// The conversation timeline's strip of T(r) (eq. 11) per prompt token: one
// bar per token in its turn's colour, the token and value in a tooltip.

#include <QColor>
#include <QWidget>

#include <vector>

namespace tokenlens::gui {

class TemporalStrip : public QWidget {
public:
    explicit TemporalStrip(QWidget* parent);
    void setData(std::vector<double> values, std::vector<QColor> colours, std::vector<QString> labels);

protected:
    bool event(QEvent* e) override;
    void paintEvent(QPaintEvent*) override;

private:
    std::vector<double> m_values;
    std::vector<QColor> m_colours;
    std::vector<QString> m_labels;
};

} // namespace tokenlens::gui
