#pragma once
// The attribution dashboard: header controls (model, methods, context window,
// normalisation scope, target function and reduction with a re-run request;
// dashboard_header.cpp), the token view above the heatmap, and beside them
// the side panels (side_panels.h: details, statistics, comparison, warnings,
// faithfulness, the follow-up box); exports go through result_exporter.h.
// One ResultModel and one SelectionModel are shared by everything on the page.

#include "analysis/categories.h"
#include "result/job_result.h"
#include "results/category_controls.h"
#include "results/counterfactual.h"
#include "viewmodel/result_model.h"

#include <QWidget>

class QAbstractButton;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSettings;
class QSlider;
class QSplitter;
class QStackedWidget;
class QToolButton;

namespace tokenlens::gui {

class DetailsPanel;
class FaithfulnessPanel;
class MethodComparisonPanel;
class HeatmapView;
class SelectionModel;
class SidePanels;
class SplitView;
class StatisticsPanel;
class TimelinePanel;
class TokenView;
class WarningsPanel;

enum class ExportKind {
    TokenViewPng, HeatmapPng, ResultJson, MatrixCsv,
    TokenViewSvg, TokenViewPdf, HeatmapSvg, HeatmapPdf,
    InseqJson, HtmlPage, ImportanceMarkdown, ImportanceLatex
};

class Dashboard : public QWidget {
    Q_OBJECT
public:
    explicit Dashboard(QWidget* parent = nullptr);

    // Shows a result; `source` names where it came from (file path, job id).
    void setJob(JobResult job, const QString& source);
    // The same job with more results (a staged result arrived): keeps the
    // model, window, pinned token and the methods the user chose.
    void updateJob(JobResult job, const QString& source);
    // The follow-up box: enabled for a finished job of the queue.
    void setFollowUpAvailable(bool on, const QString& hint);
    QLineEdit* followUpEdit() const;
    bool hasJob() const { return m_model.hasJob(); }
    const ResultModel& model() const { return m_model; }
    const QString& source() const { return m_source; }

    SelectionModel* selection() const { return m_selection; }
    TokenView* tokenView() const { return m_tokenView; }
    HeatmapView* heatmapView() const { return m_heatmap; }
    DetailsPanel* detailsPanel() const { return m_details; }
    StatisticsPanel* statisticsPanel() const { return m_stats; }
    WarningsPanel* warningsPanel() const { return m_warnings; }
    FaithfulnessPanel* faithfulnessPanel() const { return m_faithfulness; }
    MethodComparisonPanel* comparisonPanel() const { return m_comparison; }
    // The conversation timeline above the views (shown for a chain of follow-ups).
    TimelinePanel* timelinePanel() const { return m_timeline; }
    QSlider* windowSlider() const { return m_windowSlider; }
    QComboBox* modelBox() const { return m_modelBox; }
    QComboBox* scopeBox() const { return m_scopeBox; }
    // A chat result: whether the template's own tokens count in the
    // aggregations and the colour scale (off by default; shown for chats).
    QCheckBox* templateBox() const { return m_templateBox; }
    // Category view: mode (off, highlight, isolation, comparison) and the
    // categories shown in highlight / isolation (several may be checked;
    // choosing one with setCurrentIndex selects it alone).
    QComboBox* categoryModeBox() const { return m_categoryModeBox; }
    CategorySelector* categoryBox() const { return m_categoryBox; }
    // User categories (word lists, patterns): in the category box, the token
    // view's modes and the mass per category. Loaded from QSettings when the
    // dashboard is made; the editor (Edit… button) saves them there.
    const std::vector<analysis::UserCategory>& userCategories() const { return m_userCategories; }
    void setUserCategories(std::vector<analysis::UserCategory> categories);
    QToolButton* categoryEditButton() const { return m_categoryEdit; }
    void editCategories();
    QLabel* categoryLegend() const { return m_categoryLegend; }
    // The toggle of a registry method ("attention", ...), nullptr if unknown.
    QToolButton* methodButton(const std::string& id) const;

    void setCurrentModel(int model);
    void setWindow(int c);
    void setScope(analysis::NormScope scope);
    void setIncludeTemplate(bool on);
    void setMethodActive(const std::string& id, bool on);
    // Toggles the result's `order`-th method (0-based, registry order; the
    // 1–9 keys); false when the result has fewer methods.
    bool toggleMethodAt(int order);

    double exportScale() const;
    void setExportScale(double scale);
    // "tiny-gpt2 · Attention + Saliency · “The cat sat…”"
    QString title() const;

    // Exports of what is on screen. Empty string on success, else a message.
    QString exportTokenViewPng(const QString& path, double scale);
    QString exportHeatmapPng(const QString& path, double scale);
    QString exportResultJson(const QString& path);
    QString exportMatrixCsv(const QString& path);
    // Asks for a file name, then exports; reports through statusMessage().
    void exportInteractive(ExportKind kind);

    // Model comparison: the view area split into two panes (split_view.h),
    // models 1 and 2 of the result by default; its difference mode.
    SplitView* splitView() const { return m_split; }
    QToolButton* splitButton() const { return m_splitButton; }
    void setSplit(bool on);
    bool isSplit() const;
    void setDifferenceMode(bool on);
    // Counterfactual edits of prompt tokens (double-click a prompt token).
    TokenEditor* tokenEditor() const { return m_tokenEditor; }
    // Opens the split view on an original job and its edited version.
    void showCounterfactual(const JobResult& original, const JobResult& edited, const CounterfactualEdit& edit);

    void saveSettings(QSettings& s) const;
    void restoreSettings(QSettings& s);

signals:
    // The user asked for the stored result again with another target
    // function or reduction (handled by the job queue).
    void rerunRequested(const QString& targetFn, const QString& reduction);
    // The next conversation turn, continuing model `modelIndex`'s output.
    void followUpRequested(const QString& text, int modelIndex);
    // The user edited a prompt token: run the edited prompt (handled by the
    // job queue, which then calls showCounterfactual).
    void counterfactualRequested(const tokenlens::gui::CounterfactualEdit& edit);
    // The split view was switched on or off, or its difference mode.
    void splitChanged(bool split, bool difference);
    void statusMessage(const QString& message, int timeoutMs);
    // Model, methods, window or scope changed.
    void viewStateChanged();

private:
    void showJob(JobResult job, const QString& source, bool keepView);
    std::vector<std::string> activeMethodIds() const;
    QWidget* buildHeader();
    void syncControls();
    void coloursChanged();
    // Statistics are a summary: recomputed once per event-loop pass however
    // many controls changed (they aggregate the whole matrix).
    void scheduleStatistics();
    void updateWindowLabel();
    void updateCategoryView();
    void updateRerun();

    ResultModel m_model;
    QString m_source;
    SelectionModel* m_selection;
    TokenView* m_tokenView;
    HeatmapView* m_heatmap;
    DetailsPanel* m_details;
    StatisticsPanel* m_stats;
    WarningsPanel* m_warnings;
    FaithfulnessPanel* m_faithfulness = nullptr;
    MethodComparisonPanel* m_comparison = nullptr;
    TimelinePanel* m_timeline = nullptr;
    SidePanels* m_side = nullptr;

    QComboBox* m_modelBox;
    std::vector<QToolButton*> m_methodButtons; // registry order
    QSlider* m_windowSlider;
    QLabel* m_windowLabel;
    QComboBox* m_scopeBox;
    QCheckBox* m_templateBox = nullptr;
    QComboBox* m_categoryModeBox = nullptr;
    CategorySelector* m_categoryBox = nullptr;
    QToolButton* m_categoryEdit = nullptr;
    std::vector<analysis::UserCategory> m_userCategories;
    QLabel* m_categoryLegend = nullptr;
    QComboBox* m_targetBox;
    QComboBox* m_reductionBox;
    QPushButton* m_rerunButton;
    QLabel* m_storedLabel;
    QLabel* m_sourceLabel;
    QComboBox* m_scaleBox;
    QSplitter* m_viewSplitter;
    QSplitter* m_mainSplitter;
    bool m_syncing = false;
    bool m_statsPending = false;
    QString m_storedTarget, m_storedReduction;
    std::vector<std::string> m_defaultActive;
    SplitView* m_split = nullptr;
    QToolButton* m_splitButton = nullptr;
    QStackedWidget* m_viewStack = nullptr;
    TokenEditor* m_tokenEditor = nullptr;
    std::string m_counterfactualJob; // the edited job the split view compares, if any
    void syncSplit(bool keepPanes);
};

} // namespace tokenlens::gui
