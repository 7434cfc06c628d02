#include "results/dashboard.h"

#include "attribution/method.h"
#include "results/category_controls.h"
#include "results/comparison_panel.h"
#include "results/faithfulness_panel.h"
#include "results/heatmap_view.h"
#include "results/panels.h"
#include "results/result_exporter.h"
#include "results/selection_model.h"
#include "results/side_panels.h"
#include "results/split_view.h"
#include "results/timeline_panel.h"
#include "results/token_view.h"
#include "viewmodel/palette.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

namespace tokenlens::gui {

namespace an = tokenlens::analysis;

Dashboard::Dashboard(QWidget* parent) : QWidget(parent) {
    m_selection = new SelectionModel(this);
    m_tokenView = new TokenView(&m_model, m_selection, this);
    m_heatmap = new HeatmapView(&m_model, m_selection, this);
    m_tokenView->setEditable(true);
    m_tokenEditor = new TokenEditor(&m_model, m_tokenView);
    connect(m_tokenEditor, &TokenEditor::edited, this, &Dashboard::counterfactualRequested);
    connect(m_tokenEditor, &TokenEditor::message, this, [this](const QString& m) { emit statusMessage(m, 6000); });
    m_split = new SplitView(this);
    connect(m_split, &SplitView::viewStateChanged, this, [this] { emit splitChanged(isSplit(), m_split->differenceMode()); });

    auto* root = new QVBoxLayout(this);
    root->setContentsMargins(6, 6, 6, 6);
    root->setSpacing(6);
    root->addWidget(buildHeader());
    m_timeline = new TimelinePanel(&m_model, m_selection, m_tokenView, this);
    root->addWidget(m_timeline);
    connect(this, &Dashboard::viewStateChanged, m_timeline, &TimelinePanel::refresh);

    m_viewSplitter = new QSplitter(Qt::Vertical, this);
    m_viewSplitter->addWidget(m_tokenView);
    auto* heatBox = new QWidget(this);
    auto* heatLay = new QVBoxLayout(heatBox);
    heatLay->setContentsMargins(0, 0, 0, 0);
    heatLay->setSpacing(2);
    auto* heatBar = new QHBoxLayout;
    auto* heatTitle = new QLabel(tr("<b>Attribution matrix</b> — rows: context (prompt, then output), columns: output"),
                                 heatBox);
    heatTitle->setTextFormat(Qt::RichText);
    heatBar->addWidget(heatTitle, 1);
    auto addZoom = [&](const QString& text, const QString& tip, auto slot) {
        auto* b = new QToolButton(heatBox);
        b->setText(text);
        b->setToolTip(tip);
        b->setAutoRaise(true);
        connect(b, &QToolButton::clicked, m_heatmap, slot);
        heatBar->addWidget(b);
    };
    addZoom(QStringLiteral("−"), tr("Zoom out (−)"), &HeatmapView::zoomOut);
    addZoom(QStringLiteral("+"), tr("Zoom in (+)"), &HeatmapView::zoomIn);
    addZoom(tr("Fit"), tr("Show the whole matrix (0)"), &HeatmapView::fitAll);
    addZoom(tr("1:1"), tr("Readable cells"), &HeatmapView::resetZoom);
    heatLay->addLayout(heatBar);
    heatLay->addWidget(m_heatmap, 1);
    m_viewSplitter->addWidget(heatBox);
    m_viewSplitter->setStretchFactor(0, 1);
    m_viewSplitter->setStretchFactor(1, 1);
    m_viewSplitter->setChildrenCollapsible(false);

    m_mainSplitter = new QSplitter(Qt::Horizontal, this);
    m_viewStack = new QStackedWidget(this);
    m_viewStack->addWidget(m_viewSplitter);
    m_viewStack->addWidget(m_split);
    m_mainSplitter->addWidget(m_viewStack);
    m_side = new SidePanels(&m_model, m_selection, this);
    m_details = m_side->details();
    m_stats = m_side->statistics();
    m_comparison = m_side->comparison();
    m_warnings = m_side->warnings();
    m_faithfulness = m_side->faithfulness();
    connect(m_side, &SidePanels::followUpRequested, this, &Dashboard::followUpRequested);
    m_mainSplitter->addWidget(m_side);
    m_mainSplitter->setStretchFactor(0, 1);
    m_mainSplitter->setStretchFactor(1, 0);
    m_mainSplitter->setChildrenCollapsible(false);
    root->addWidget(m_mainSplitter, 1);

    {
        // The user's categories (a bad entry in the settings is left out).
        QSettings settings;
        QStringList problems;
        auto user = loadUserCategories(settings, &problems);
        if (!user.empty()) setUserCategories(std::move(user));
        for (const QString& p : problems) qWarning("user categories in the settings: %s", qPrintable(p));
    }
    syncControls();
}

// ------------------------------------------------------------------- state

void Dashboard::setJob(JobResult job, const QString& source) { showJob(std::move(job), source, false); }

void Dashboard::updateJob(JobResult job, const QString& source) {
    showJob(std::move(job), source, hasJob() && source == m_source);
}

std::vector<std::string> Dashboard::activeMethodIds() const {
    std::vector<std::string> ids;
    for (int m : m_model.activeMethods()) ids.push_back(m_model.methods()[static_cast<size_t>(m)].id);
    return ids;
}

void Dashboard::showJob(JobResult job, const QString& source, bool keepView) {
    // A staged result of the job on screen: keep what the user chose (model,
    // methods unless still the defaults, window, pinned token).
    std::string modelName;
    if (keepView && m_model.currentModel() >= 0) modelName = m_model.models()[static_cast<size_t>(m_model.currentModel())];
    const std::vector<std::string> wasActive = keepView ? activeMethodIds() : std::vector<std::string>{};
    const bool userMethods = keepView && wasActive != m_defaultActive;
    const int64_t window = m_model.window();
    const int64_t pinned = m_selection->pinned();
    m_source = source;
    m_selection->clear();
    m_model.setJob(std::move(job));
    if (keepView) {
        const auto& models = m_model.models();
        for (size_t i = 0; i < models.size(); ++i) {
            if (models[i] == modelName) m_model.setCurrentModel(static_cast<int>(i));
        }
    }
    m_defaultActive = activeMethodIds();
    if (userMethods) {
        for (size_t m = 0; m < m_model.methods().size(); ++m) {
            const auto& id = m_model.methods()[m].id;
            m_model.setActive(static_cast<int>(m),
                              std::find(wasActive.begin(), wasActive.end(), id) != wasActive.end());
        }
        if (m_model.activeMethods().empty() && !m_model.methods().empty()) m_model.setActive(0, true);
    }
    if (keepView && window > 0) m_model.setWindow(window);
    m_storedTarget.clear();
    m_storedReduction.clear();
    for (const auto& r : m_model.job().results) {
        if (m_storedTarget.isEmpty() && !r.targetFn.empty()) m_storedTarget = QString::fromStdString(r.targetFn);
        if (m_storedReduction.isEmpty() && !r.reduction.empty()) m_storedReduction = QString::fromStdString(r.reduction);
    }
    syncControls();
    m_tokenView->tokensChanged();
    m_heatmap->tokensChanged();
    m_details->refresh();
    scheduleStatistics();
    m_warnings->refresh();
    m_faithfulness->refresh();
    m_comparison->refresh();
    updateCategoryView();
    if (keepView && pinned >= 0 && pinned < m_model.contextLength()) m_selection->setPinned(pinned);
    syncSplit(keepView);
    emit viewStateChanged();
}

void Dashboard::syncSplit(bool keepPanes) {
    if (!isSplit()) return;
    // A counterfactual comparison stays while its edited job is on screen.
    if (m_split->isCounterfactual() && m_model.job().jobId == m_counterfactualJob && !m_counterfactualJob.empty()) return;
    m_counterfactualJob.clear();
    int a = 0, b = 1;
    if (keepPanes && m_split->hasResults() && m_split->sameJob()) {
        a = m_split->paneModel(0).currentModel();
        b = m_split->paneModel(1).currentModel();
    } else if (m_model.models().size() < 2) {
        b = 0;
    }
    m_split->setActiveMethods(activeMethodIds());
    m_split->setWindow(m_model.window());
    m_split->setScope(m_model.scope());
    m_split->setJob(m_model.job(), m_source, a, b);
}

void Dashboard::setSplit(bool on) {
    if (on == isSplit()) return;
    m_viewStack->setCurrentIndex(on ? 1 : 0);
    if (m_splitButton->isChecked() != on) {
        const QSignalBlocker block(m_splitButton);
        m_splitButton->setChecked(on);
    }
    if (on) syncSplit(false);
    emit splitChanged(on, m_split->differenceMode());
}

bool Dashboard::isSplit() const { return m_viewStack->currentIndex() == 1; }

void Dashboard::setDifferenceMode(bool on) {
    if (on) setSplit(true);
    m_split->setDifferenceMode(on);
}

void Dashboard::showCounterfactual(const JobResult& original, const JobResult& edited, const CounterfactualEdit& edit) {
    m_split->setActiveMethods(activeMethodIds());
    m_split->setWindow(m_model.window());
    m_split->setScope(m_model.scope());
    m_split->setCounterfactual(original, edited, edit);
    m_counterfactualJob = edited.jobId;
    m_viewStack->setCurrentIndex(1);
    if (!m_splitButton->isChecked()) {
        const QSignalBlocker block(m_splitButton);
        m_splitButton->setChecked(true);
    }
    emit splitChanged(true, m_split->differenceMode());
}

void Dashboard::updateCategoryView() {
    const auto mode = static_cast<CategoryMode>(m_categoryModeBox->currentData().toInt());
    m_categoryBox->setEnabled(mode == CategoryMode::Highlight || mode == CategoryMode::Isolation);
    std::vector<int> categories;
    std::vector<uint64_t> membership;
    if (mode != CategoryMode::Off && m_model.hasJob()) {
        const an::TokenCategories tc = contextCategories(m_model, m_userCategories);
        for (size_t k = 0; k < tc.builtin.size(); ++k) {
            const int c = static_cast<int>(tc.builtin[k]);
            categories.push_back(c);
            uint64_t bits = uint64_t{1} << c;
            for (size_t u = 0; u < tc.user.size() && an::kBuiltinCategories + u < 64; ++u)
                if (k < tc.user[u].size() && tc.user[u][k]) bits |= uint64_t{1} << (an::kBuiltinCategories + u);
            membership.push_back(bits);
        }
    }
    QString legend;
    if (mode == CategoryMode::Comparison)
        for (int c = 0; c < an::kBuiltinCategories; ++c)
            legend += QStringLiteral("<span style='color:%1'>▢</span> %2&nbsp;&nbsp;")
                          .arg(categoryColour(c).name(), QString::fromLatin1(an::categoryName(static_cast<an::Category>(c))));
    m_categoryLegend->setText(legend);
    m_tokenView->setCategoryView(mode, std::move(categories), std::move(membership), m_categoryBox->selectedMask());
}

void Dashboard::setUserCategories(std::vector<an::UserCategory> categories) {
    m_userCategories = std::move(categories);
    QStringList names;
    for (const auto& c : m_userCategories) names << QString::fromStdString(c.name);
    m_categoryBox->setUserCategories(names);
    m_comparison->setUserCategories(m_userCategories);
    updateCategoryView();
}

void Dashboard::editCategories() {
    CategoryEditor editor(m_userCategories, this);
    if (editor.exec() != QDialog::Accepted) return;
    QSettings settings;
    saveUserCategories(settings, editor.categories());
    setUserCategories(editor.categories());
}

void Dashboard::scheduleStatistics() {
    if (m_statsPending) return;
    m_statsPending = true;
    QTimer::singleShot(0, this, [this] {
        m_statsPending = false;
        m_stats->refresh();
        m_comparison->refresh();
    });
}

void Dashboard::syncControls() {
    m_syncing = true;
    m_modelBox->clear();
    for (const auto& m : m_model.models()) m_modelBox->addItem(QString::fromStdString(m));
    m_modelBox->setCurrentIndex(m_model.currentModel());
    m_modelBox->setEnabled(m_model.models().size() > 1);
    // Only the result's methods get a button (the registry holds more than a
    // header row fits), numbered in registry order: key k toggles the k-th.
    const auto& all = allMethods();
    int key = 0;
    for (size_t i = 0; i < all.size(); ++i) {
        const std::string id = all[i]->id();
        const int m = m_model.methodIndex(id);
        auto* b = m_methodButtons[i];
        b->setEnabled(m >= 0);
        b->setVisible(m >= 0);
        b->setChecked(m >= 0 && m_model.isActive(m));
        if (m < 0) continue;
        ++key;
        const QString keyText = key <= 9 ? QString::number(key) : QString();
        b->setText(keyText.isEmpty() ? methodLabel(id) : QStringLiteral("%1 %2").arg(keyText, methodLabel(id)));
        b->setToolTip(keyText.isEmpty()
                          ? tr("<b>%1</b><br>%2").arg(methodLabel(id), methodDescription(id).toHtmlEscaped())
                          : tr("<b>%1</b> (key %2)<br>%3").arg(methodLabel(id), keyText, methodDescription(id).toHtmlEscaped()));
    }
    const auto maxC = static_cast<int>(m_model.maxWindow());
    m_windowSlider->setEnabled(maxC >= 1);
    m_windowSlider->setRange(std::min(1, std::max(maxC, 0)), std::max(maxC, 0));
    m_windowSlider->setValue(static_cast<int>(m_model.window()));
    m_scopeBox->setCurrentIndex(m_scopeBox->findData(static_cast<int>(m_model.scope())));
    m_templateBox->setVisible(!m_model.segments().empty());
    m_templateBox->setChecked(m_model.includeTemplate());
    const bool hasTarget = !m_storedTarget.isEmpty();
    m_targetBox->setEnabled(hasTarget);
    m_reductionBox->setEnabled(!m_storedReduction.isEmpty());
    if (hasTarget) m_targetBox->setCurrentText(m_storedTarget);
    if (!m_storedReduction.isEmpty()) m_reductionBox->setCurrentText(m_storedReduction);
    m_storedLabel->setText(hasTarget ? tr("(stored: %1, %2)").arg(m_storedTarget, m_storedReduction)
                                     : (m_model.hasJob() ? tr("(no gradient method in this result)") : QString()));
    if (m_model.hasJob()) {
        const QFileInfo fi(m_source);
        m_sourceLabel->setText(tr("%1 · %2").arg(fi.fileName().isEmpty() ? m_source : fi.fileName(),
                                                 QString::fromStdString(m_model.job().createdAt)));
        m_sourceLabel->setToolTip(m_source);
    } else {
        m_sourceLabel->clear();
    }
    m_syncing = false;
    updateWindowLabel();
    updateRerun();
}

void Dashboard::updateWindowLabel() {
    const int64_t maxC = m_model.maxWindow();
    const bool segments = m_model.windowInSegments(); // c counts prompt segments
    m_windowLabel->setText(
        maxC >= 1 ? (segments ? tr("c = %1 of %2 seg.") : tr("c = %1 of %2")).arg(m_model.window()).arg(maxC)
                  : tr("c: —"));
    m_windowSlider->setToolTip(
        maxC < 1 ? (segments ? tr("No window: it needs at least 2 prompt segments and 2 output tokens.")
                             : tr("No window: it needs at least 2 prompt and 2 output tokens."))
                 : segments ? tr("c: how many neighbouring segments on each side a hovered segment's window averages "
                                 "over (eq. 4), and how many output tokens an output token's (eq. 5); "
                                 "1 ≤ c ≤ ⌊min(segments, t)/2⌋.")
                            : tr("c: how many neighbours on each side a hovered token's window averages over "
                                 "(eq. 4 and 5); 1 ≤ c ≤ ⌊min(n, t)/2⌋."));
}

void Dashboard::updateRerun() {
    const bool changed = !m_storedTarget.isEmpty() && (m_targetBox->currentText() != m_storedTarget ||
                                                       m_reductionBox->currentText() != m_storedReduction);
    m_rerunButton->setEnabled(m_model.hasJob() && changed);
}

void Dashboard::coloursChanged() {
    if (isSplit()) {
        m_split->setActiveMethods(activeMethodIds());
        m_split->setScope(m_model.scope());
    }
    m_tokenView->coloursChanged();
    m_heatmap->coloursChanged();
    m_details->refresh();
    scheduleStatistics();
    emit viewStateChanged();
}

void Dashboard::setCurrentModel(int model) {
    if (model == m_model.currentModel()) return;
    m_selection->clear();
    m_model.setCurrentModel(model);
    syncControls();
    m_tokenView->tokensChanged();
    m_heatmap->tokensChanged();
    m_warnings->refresh();
    m_faithfulness->refresh();
    m_comparison->refresh();
    updateCategoryView();
    coloursChanged();
}

void Dashboard::setWindow(int c) {
    const int64_t before = m_model.window();
    m_model.setWindow(c);
    if (m_model.window() == before && m_windowSlider->value() == before) {
        updateWindowLabel();
        return;
    }
    if (!m_syncing && m_windowSlider->value() != m_model.window()) {
        m_syncing = true;
        m_windowSlider->setValue(static_cast<int>(m_model.window()));
        m_syncing = false;
    }
    updateWindowLabel();
    if (isSplit()) m_split->setWindow(m_model.window());
    m_tokenView->coloursChanged();
    m_details->refresh();
    scheduleStatistics();
    emit viewStateChanged();
}

void Dashboard::setScope(an::NormScope scope) {
    if (scope == m_model.scope()) return;
    m_model.setScope(scope);
    m_syncing = true;
    m_scopeBox->setCurrentIndex(m_scopeBox->findData(static_cast<int>(scope)));
    m_syncing = false;
    coloursChanged();
}

void Dashboard::setIncludeTemplate(bool on) {
    if (on == m_model.includeTemplate()) return;
    m_model.setIncludeTemplate(on);
    m_syncing = true;
    m_templateBox->setChecked(on);
    m_syncing = false;
    coloursChanged();
}

void Dashboard::setMethodActive(const std::string& id, bool on) {
    const int m = m_model.methodIndex(id);
    if (m < 0 || m_model.isActive(m) == on) return;
    m_model.setActive(m, on);
    if (auto* b = methodButton(id); b && b->isChecked() != on) {
        m_syncing = true;
        b->setChecked(on);
        m_syncing = false;
    }
    coloursChanged();
}

bool Dashboard::toggleMethodAt(int order) {
    if (order < 0) return false;
    int seen = 0;
    for (const auto* method : allMethods()) {
        const int m = m_model.methodIndex(method->id());
        if (m < 0) continue;
        if (seen++ == order) {
            setMethodActive(method->id(), !m_model.isActive(m));
            return true;
        }
    }
    return false;
}

QToolButton* Dashboard::methodButton(const std::string& id) const {
    const int order = methodOrder(id);
    return order >= 0 && static_cast<size_t>(order) < m_methodButtons.size() ? m_methodButtons[static_cast<size_t>(order)]
                                                                             : nullptr;
}

double Dashboard::exportScale() const { return m_scaleBox->currentData().toDouble(); }

void Dashboard::setExportScale(double scale) {
    const int i = m_scaleBox->findData(static_cast<int>(std::lround(scale)));
    if (i >= 0) m_scaleBox->setCurrentIndex(i);
}

QString Dashboard::title() const {
    if (!m_model.hasJob()) return QStringLiteral("TokenLens");
    QStringList methods;
    for (int m : m_model.activeMethods()) methods << methodLabel(m_model.methods()[static_cast<size_t>(m)].id);
    QString prompt = QString::fromStdString(m_model.job().input.text).simplified();
    if (prompt.size() > 60) prompt = prompt.left(57) + QStringLiteral("…");
    const QString model = m_model.currentModel() >= 0
                              ? QString::fromStdString(m_model.models()[static_cast<size_t>(m_model.currentModel())])
                              : QString();
    return QStringLiteral("%1 · %2 · “%3”").arg(model, methods.isEmpty() ? tr("no method") : methods.join(QStringLiteral(" + ")), prompt);
}

QString Dashboard::exportTokenViewPng(const QString& path, double scale) {
    return ResultExporter(*this).tokenViewPng(path, scale);
}

QString Dashboard::exportHeatmapPng(const QString& path, double scale) {
    return ResultExporter(*this).heatmapPng(path, scale);
}

QString Dashboard::exportResultJson(const QString& path) { return ResultExporter(*this).resultJson(path); }

QString Dashboard::exportMatrixCsv(const QString& path) { return ResultExporter(*this).matrixCsv(path); }

void Dashboard::exportInteractive(ExportKind kind) {
    if (!m_model.hasJob()) {
        emit statusMessage(tr("Nothing to export: open a result first."), 4000);
        return;
    }
    QSettings settings;
    const QString dir = settings.value(QStringLiteral("export/dir"),
                                       QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation))
                            .toString();
    const QString filter = ResultExporter::fileFilter(kind);
    const QString path = QFileDialog::getSaveFileName(this, tr("Export"), dir + QLatin1Char('/') + ResultExporter::suggestedFileName(m_source, kind),
                                                      filter);
    if (path.isEmpty()) return;
    settings.setValue(QStringLiteral("export/dir"), QFileInfo(path).absolutePath());
    const QString error = ResultExporter(*this).write(kind, path, exportScale());
    emit statusMessage(error.isEmpty() ? tr("Exported %1").arg(QDir::toNativeSeparators(path)) : error,
                       error.isEmpty() ? 5000 : 0);
}

// ---------------------------------------------------------------- settings

void Dashboard::saveSettings(QSettings& s) const {
    s.setValue(QStringLiteral("dashboard/window"), static_cast<int>(m_model.window()));
    s.setValue(QStringLiteral("dashboard/scope"), static_cast<int>(m_model.scope()));
    s.setValue(QStringLiteral("dashboard/exportScale"), exportScale());
    s.setValue(QStringLiteral("dashboard/viewSplitter"), m_viewSplitter->saveState());
    s.setValue(QStringLiteral("dashboard/mainSplitter"), m_mainSplitter->saveState());
}

void Dashboard::restoreSettings(QSettings& s) {
    m_viewSplitter->restoreState(s.value(QStringLiteral("dashboard/viewSplitter")).toByteArray());
    m_mainSplitter->restoreState(s.value(QStringLiteral("dashboard/mainSplitter")).toByteArray());
    setExportScale(s.value(QStringLiteral("dashboard/exportScale"), 2.0).toDouble());
    const int scope = s.value(QStringLiteral("dashboard/scope"), 0).toInt();
    if (scope >= 0 && scope <= 2) setScope(static_cast<an::NormScope>(scope));
    // The window applies to the next result (clamped to what it admits).
    m_model.setWindow(s.value(QStringLiteral("dashboard/window"), 1).toInt());
    syncControls();
}

void Dashboard::setFollowUpAvailable(bool on, const QString& hint) { m_side->setFollowUpAvailable(on, hint); }

QLineEdit* Dashboard::followUpEdit() const { return m_side->followUpEdit(); }

} // namespace tokenlens::gui
