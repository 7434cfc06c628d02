#pragma once
// How faithful each shown method is on this result: the faithfulness stage's
// means (ERASER AOPC comprehensiveness and sufficiency, deletion and
// insertion AUC, Kendall τ against leave-one-out) per method of the current
// model, and the same figures of one output token when an output token is
// pinned or hovered. Read from the result's "faithfulness" block; when a
// result has none, the panel says how to compute it.

#include <QWidget>

class QLabel;

namespace tokenlens::gui {

class ResultModel;
class SelectionModel;

class FaithfulnessPanel : public QWidget {
    Q_OBJECT
public:
    FaithfulnessPanel(const ResultModel* model, const SelectionModel* selection, QWidget* parent = nullptr);
    // Re-reads the result (a new job, model or methods).
    void refresh();
    // Methods of the current model that carry faithfulness figures.
    int methodsWithFigures() const { return m_count; }
    QString text() const;

private:
    void focusChanged();
    const ResultModel* m_model;
    const SelectionModel* m_selection;
    QLabel* m_label;
    int m_count = 0;
    int64_t m_column = -2; // output column shown (-1: means only)
};

} // namespace tokenlens::gui
