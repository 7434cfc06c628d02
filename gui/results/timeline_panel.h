#pragma once
// The conversation timeline (docs/gui.md, "Conversation timeline"): shown
// above the dashboard's views when the shown job is part of a chain of
// follow-up jobs. One chip per turn (its text, its status); clicking a chip
// asks to open that turn's job (turnSelected). For the shown job:
//   - historical context: the prompt tokens are tinted by turn in the token
//     view, and each chip's bar is the share of attribution mass the current
//     generation draws from that turn's tokens (the pinned output token's
//     column, or the whole result), split into the typed text and the reply;
//   - temporal aggregation (seed eq. 11, analysis/temporal.h): weights α_t
//     uniform, recency-decayed with a half-life, or typed per turn, and
//     T(r) = Σ_t α_t · I^t(r) per prompt token (the strip under the chips)
//     and summed per turn (each chip's "T" figure).
// The matrices are the dashboard's displayed ones (the raw matrix of one
// active method, eq. 10 of several) of the shown model, in every turn.

#include "analysis/normalization.h"
#include "jobs/job_types.h"
#include "viewmodel/conversation.h"

#include <QWidget>

#include <map>
#include <memory>
#include <string>
#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QScrollArea;
class QHBoxLayout;

namespace tokenlens::gui {

class JobBackend;
class ResultModel;
class SelectionModel;
class TokenView;
class TemporalStrip;
class TurnChip;

enum class TurnWeighting { Uniform = 0, Recency = 1, Custom = 2 };

class TimelinePanel : public QWidget {
    Q_OBJECT
public:
    TimelinePanel(const ResultModel* model, SelectionModel* selection, TokenView* tokenView, QWidget* parent = nullptr);
    ~TimelinePanel() override;

    // The backend whose jobs are followed, local or remote (not owned; null:
    // the panel stays hidden).
    void setBackend(JobBackend* backend);
    // The shown result, model or methods changed.
    void refresh();

    // The chain of the shown job (empty: not a conversation, the panel is hidden).
    const std::vector<std::string>& chain() const { return m_chain; }
    int turnCount() const { return static_cast<int>(m_chain.size()); }
    // Index in chain() of the shown job (-1 when hidden).
    int currentTurn() const { return m_current; }
    QWidget* chip(int turn) const;
    // Asks to open the job of chip `turn` (as a click does).
    void selectTurn(int turn);

    // Analysis of the shown job over its turns 0..currentTurn().
    const TokenTurns& tokenTurns() const { return m_tokenTurns; }
    const TurnShares& shares() const { return m_shares; }
    int64_t sharesColumn() const { return m_column; } // output column, -1: whole result
    TurnWeighting weighting() const;
    void setWeighting(TurnWeighting w);
    QComboBox* weightingBox() const { return m_weighting; }
    QDoubleSpinBox* halfLifeBox() const { return m_halfLife; }
    // The weight editor of chip `turn` (editable with Custom weighting).
    QDoubleSpinBox* weightBox(int turn) const;
    // α_1..α_k in use (normalised; empty when the custom weights are invalid).
    const std::vector<double>& alphas() const { return m_alphas; }
    // T(r) per prompt row of the shown job, and Σ_{r in turn t} |T(r)| / Σ_r |T(r)|.
    const std::vector<double>& temporal() const { return m_temporal; }
    const std::vector<double>& temporalTurnShare() const { return m_temporalShare; }
    // What the bars show and what went wrong (plain text; the details of
    // notes on the turns' rows are in the tooltip).
    QString note() const;

signals:
    void turnSelected(const QString& jobId);

private:
    void rebuildChain();
    void rebuildChips();
    void recompute();
    void recomputeShares();
    void recomputeTemporal();
    void updateChips();
    void scheduleRebuild();
    // The job result of a chain member (cached until the queue reports it changed).
    std::shared_ptr<const JobResult> turnResult(int turn);
    std::shared_ptr<const jobs::JobRecord> turnRecord(int turn);

    const ResultModel* m_model;
    SelectionModel* m_selection;
    TokenView* m_tokenView;
    JobBackend* m_backend = nullptr;

    QLabel* m_title;
    QComboBox* m_weighting;
    QDoubleSpinBox* m_halfLife;
    QLabel* m_note;
    QScrollArea* m_chipScroll;
    QWidget* m_chipHost;
    QHBoxLayout* m_chipLayout;
    std::vector<TurnChip*> m_chips;
    TemporalStrip* m_strip;

    std::string m_shownJob; // the result's job id the chain was built for
    bool m_dirty = true, m_rebuildPending = false;
    std::vector<std::string> m_chain;
    int m_current = -1;
    std::map<std::string, std::shared_ptr<const jobs::JobRecord>> m_records;
    std::map<std::string, std::shared_ptr<const JobResult>> m_results;

    TokenTurns m_tokenTurns;
    TurnShares m_shares;
    int64_t m_column = -1;
    std::vector<double> m_alphas, m_temporal, m_temporalShare;
    QString m_shareNote, m_temporalNote, m_temporalShort;
};

} // namespace tokenlens::gui
