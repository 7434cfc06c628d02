#pragma once
// The split view (model comparison): two panes side by side, each one
// (result, model) with its own token view and heatmap — two models of one
// job, or an original and a counterfactual job of one model. The panes stay
// in step: methods, window c and scale come from the dashboard and apply to
// both; hover, pin, heatmap cell, token-view scroll and heatmap zoom and pan
// in one pane are mirrored in the other through the alignment of the two
// results (analysis/alignment.h): prompt rows by character spans (a word
// split into different sub-tokens lines up as one segment), output columns
// by position up to the first divergence, then by the longest common
// subsequence of the token texts. Tokens the other pane has no counterpart
// of are marked (dashed, struck through); the tokens aligned with the other
// pane's focus are outlined.
//
// Difference mode replaces the two heatmaps by one: A^{left} − A^{right} on
// the aligned segments and matched columns, each side normalised first
// (analysis::alignedDifference with the dashboard's scale), on a diverging
// scale centred on zero.
//
// A counterfactual comparison also marks the edited tokens and lists, per
// output token, its probability under the original and the edited prompt and
// the change p_edit − p_orig.

#include "analysis/alignment.h"
#include "results/counterfactual.h"
#include "viewmodel/result_model.h"

#include <QWidget>

#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

class QComboBox;
class QLabel;
class QSplitter;
class QStackedWidget;
class QTableWidget;
class QToolButton;

namespace tokenlens::gui {

class DifferenceView;
class HeatmapView;
class SelectionModel;
class TokenView;

class SplitView : public QWidget {
    Q_OBJECT
public:
    explicit SplitView(QWidget* parent = nullptr);

    // Two models of one job (indices into its models, clamped).
    void setJob(const JobResult& job, const QString& source, int modelA, int modelB);
    // Two results (any jobs), model a of the first and model b of the second.
    void setResults(const JobResult& jobA, const QString& nameA, int modelA, const JobResult& jobB,
                    const QString& nameB, int modelB);
    // Original (left) and edited (right) job, the same model on both sides.
    void setCounterfactual(const JobResult& original, const JobResult& edited, const CounterfactualEdit& edit);
    bool hasResults() const;
    bool isCounterfactual() const { return m_edit.has_value(); }
    const std::optional<CounterfactualEdit>& counterfactual() const { return m_edit; }
    // Whether both panes show one job (the pane model boxes choose models).
    bool sameJob() const { return m_sameJob; }

    // Applied to both panes (the dashboard's header controls).
    void setActiveMethods(const std::vector<std::string>& ids);
    void setWindow(int64_t c);
    void setScope(analysis::NormScope scope);
    void setPaneModel(int side, int model);

    void setDifferenceMode(bool on);
    bool differenceMode() const { return m_difference; }

    const ResultModel& paneModel(int side) const { return m_models[static_cast<size_t>(side)]; }
    SelectionModel* paneSelection(int side) const { return m_selections[static_cast<size_t>(side)]; }
    TokenView* paneTokenView(int side) const { return m_tokenViews[static_cast<size_t>(side)]; }
    HeatmapView* paneHeatmap(int side) const { return m_heatmaps[static_cast<size_t>(side)]; }
    QComboBox* paneModelBox(int side) const { return m_modelBoxes[static_cast<size_t>(side)]; }
    QLabel* paneTitle(int side) const { return m_titles[static_cast<size_t>(side)]; }
    DifferenceView* differenceView() const { return m_differenceView; }
    QToolButton* differenceButton() const { return m_differenceButton; }
    QTableWidget* probabilityTable() const { return m_probTable; }

    // The alignment of the two panes' results.
    const analysis::RowAlignment& rowAlignment() const { return m_rows; }
    const std::vector<analysis::ColumnPair>& columnPairs() const { return m_cols; }
    // Context indices of the other pane aligned with context index k of `side`
    // (every row of k's segment; the matched output token); empty when k has
    // no counterpart.
    std::vector<int64_t> alignedTokens(int side, int64_t k) const;
    // Context indices of `side` that are marked unmatched / changed.
    std::vector<int64_t> markedTokens(int side, unsigned char mark) const;

    // Per matched output column: the probabilities of the output token in the
    // left and right result (stored step probabilities) and right − left.
    struct ProbabilityChange {
        int64_t a = -1, b = -1; // output positions
        double before = NAN, after = NAN, delta = NAN;
    };
    const std::vector<ProbabilityChange>& probabilityChanges() const { return m_changes; }

signals:
    void viewStateChanged();

private:
    void rebuild();
    void realign();
    void updateMarks();
    void updateDifference();
    void updateProbabilities();
    void updateTitles();
    void mirrorSelection(int side);
    void modelsChanged();

    std::array<ResultModel, 2> m_models;
    std::array<QString, 2> m_names;
    std::array<SelectionModel*, 2> m_selections{};
    std::array<TokenView*, 2> m_tokenViews{};
    std::array<HeatmapView*, 2> m_heatmaps{};
    std::array<QComboBox*, 2> m_modelBoxes{};
    std::array<QLabel*, 2> m_titles{};
    std::array<std::vector<int64_t>, 2> m_linked; // tokens of each side aligned with the other's focus
    std::array<std::vector<int>, 2> m_segmentOf;  // prompt row → segment (-1: none)
    std::array<std::vector<int64_t>, 2> m_changedRows; // prompt rows a counterfactual edit touched
    QLabel* m_legend = nullptr;
    QToolButton* m_differenceButton = nullptr;
    QStackedWidget* m_lower = nullptr;
    DifferenceView* m_differenceView = nullptr;
    QLabel* m_probLabel = nullptr;
    QTableWidget* m_probTable = nullptr;
    QWidget* m_probBox = nullptr;

    analysis::RowAlignment m_rows;
    std::vector<analysis::ColumnPair> m_cols;
    std::vector<ProbabilityChange> m_changes;
    std::optional<CounterfactualEdit> m_edit;
    std::vector<std::string> m_active; // method ids
    int64_t m_window = 1;
    analysis::NormScope m_scope = analysis::NormScope::Matrix;
    bool m_sameJob = true;
    bool m_difference = false;
    bool m_syncing = false;
};

} // namespace tokenlens::gui
