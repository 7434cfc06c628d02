#pragma once
// The dashboard's side column (scrollable): the hovered or pinned token's
// details, statistics, the method comparison, warnings, faithfulness and the
// box that continues the conversation.

#include <QScrollArea>

class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace tokenlens::gui {

class DetailsPanel;
class FaithfulnessPanel;
class MethodComparisonPanel;
class ResultModel;
class SelectionModel;
class StatisticsPanel;
class WarningsPanel;

class SidePanels : public QScrollArea {
    Q_OBJECT
public:
    SidePanels(const ResultModel* model, SelectionModel* selection, QWidget* parent = nullptr);

    DetailsPanel* details() const { return m_details; }
    StatisticsPanel* statistics() const { return m_stats; }
    MethodComparisonPanel* comparison() const { return m_comparison; }
    WarningsPanel* warnings() const { return m_warnings; }
    FaithfulnessPanel* faithfulness() const { return m_faithfulness; }
    QLineEdit* followUpEdit() const { return m_followUpEdit; }
    // The follow-up box: enabled for a finished job of the queue.
    void setFollowUpAvailable(bool on, const QString& hint);

signals:
    // The next conversation turn, continuing model `modelIndex`'s output.
    void followUpRequested(const QString& text, int modelIndex);

private:
    const ResultModel* m_model;
    DetailsPanel* m_details;
    StatisticsPanel* m_stats;
    MethodComparisonPanel* m_comparison;
    QGroupBox* m_warningsBox;
    WarningsPanel* m_warnings;
    FaithfulnessPanel* m_faithfulness;
    QLabel* m_followUpHint;
    QLineEdit* m_followUpEdit;
    QPushButton* m_followUpButton;
};

} // namespace tokenlens::gui
