#include "widgets/dashboard.h"

#include "attribution/method.h"
#include "result/result_json.h"
#include "viewmodel/csv.h"
#include "viewmodel/palette.h"
#include "widgets/category_controls.h"
#include "widgets/faithfulness_panel.h"
#include "widgets/comparison_panel.h"
#include "widgets/heatmap_view.h"
#include "widgets/panels.h"
#include "widgets/selection_model.h"
#include "widgets/split_view.h"
#include "widgets/timeline_panel.h"
#include "widgets/token_view.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPainter>
#include <QPixmap>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
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

namespace {

const char* const kTargetFns[] = {"probability", "log_probability", "logit"};
const char* const kReductions[] = {"l2", "sum", "mean"};

// Filled swatch when the method is on, an outline when it is off.
QIcon swatchIcon(const QColor& c) {
    QIcon icon;
    for (bool on : {false, true}) {
        QPixmap pm(28, 28);
        pm.fill(Qt::transparent);
        QPainter p(&pm);
        p.setRenderHint(QPainter::Antialiasing);
        p.setPen(QPen(c, 3));
        p.setBrush(on ? QBrush(c) : QBrush(Qt::NoBrush));
        p.drawRoundedRect(QRectF(4.5, 4.5, 19, 19), 5, 5);
        p.end();
        icon.addPixmap(pm, QIcon::Normal, on ? QIcon::On : QIcon::Off);
    }
    return icon;
}

QString writeBytes(const QString& path, const QByteArray& bytes) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return QObject::tr("Cannot write “%1”: %2").arg(path, f.errorString());
    if (f.write(bytes) != bytes.size() || !f.commit()) {
        return QObject::tr("Cannot write “%1”: %2").arg(path, f.errorString());
    }
    return {};
}

QString savePng(QImage img, const QString& path, double scale) {
    // Physical size as on screen at 96 dpi: scale the resolution with the pixels.
    const int dpm = static_cast<int>(std::lround(96.0 / 0.0254 * scale));
    img.setDotsPerMeterX(dpm);
    img.setDotsPerMeterY(dpm);
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return QObject::tr("Cannot write “%1”: %2").arg(path, f.errorString());
    if (!img.save(&f, "PNG") || !f.commit()) return QObject::tr("Cannot write the PNG “%1”.").arg(path);
    return {};
}

std::string asciiLabel(int64_t k, int64_t n, const std::string& token) {
    const QString label = QStringLiteral("%1%2 ").arg(k < n ? QLatin1Char('x') : QLatin1Char('y')).arg(k < n ? k : k - n);
    return label.toStdString() + token;
}

} // namespace

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
    m_mainSplitter->addWidget(buildSidePanel());
    m_mainSplitter->setStretchFactor(0, 1);
    m_mainSplitter->setStretchFactor(1, 0);
    m_mainSplitter->setChildrenCollapsible(false);
    root->addWidget(m_mainSplitter, 1);

    connect(m_warnings, &WarningsPanel::countChanged, this, [this](int count) {
        m_warningsBox->setTitle(count > 0 ? tr("Warnings (%1)").arg(count) : tr("Warnings"));
    });
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

// ------------------------------------------------------------------ header

QWidget* Dashboard::buildHeader() {
    auto* header = new QWidget(this);
    auto* rows = new QVBoxLayout(header);
    rows->setContentsMargins(0, 0, 0, 0);
    rows->setSpacing(4);
    auto* row1 = new QHBoxLayout;
    auto* row2 = new QHBoxLayout;
    rows->addLayout(row1);
    rows->addLayout(row2);

    auto* modelLabel = new QLabel(tr("&Model:"), header);
    m_modelBox = new QComboBox(header);
    m_modelBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_modelBox->setToolTip(tr("The result holds attributions of several models: choose the one to show."));
    modelLabel->setBuddy(m_modelBox);
    row1->addWidget(modelLabel);
    row1->addWidget(m_modelBox);
    m_splitButton = new QToolButton(header);
    m_splitButton->setText(tr("Split"));
    m_splitButton->setCheckable(true);
    m_splitButton->setToolTip(tr("Compare two models of this result side by side, hover and selection in step "
                                 "(Ctrl+Shift+V)"));
    connect(m_splitButton, &QToolButton::toggled, this, [this](bool on) {
        if (!m_syncing) setSplit(on);
    });
    row1->addWidget(m_splitButton);
    row1->addSpacing(12);
    row1->addWidget(new QLabel(tr("Methods:"), header));
    const auto& all = allMethods();
    for (size_t i = 0; i < all.size(); ++i) {
        const std::string id = all[i]->id();
        auto* b = new QToolButton(header);
        b->setCheckable(true);
        b->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        b->setIcon(swatchIcon(methodColour(id)));
        b->setText(methodLabel(id));
        b->setAccessibleName(methodLabel(id));
        b->setVisible(false); // shown (and numbered) by syncControls for the methods the result holds
        connect(b, &QToolButton::toggled, this, [this, id](bool on) {
            if (m_syncing) return;
            setMethodActive(id, on);
        });
        m_methodButtons.push_back(b);
        row1->addWidget(b);
    }
    row1->addStretch(1);

    auto* windowLabel = new QLabel(tr("Context &window:"), header);
    m_windowSlider = new QSlider(Qt::Horizontal, header);
    m_windowSlider->setMinimumWidth(140);
    m_windowSlider->setMaximumWidth(240);
    m_windowSlider->setTracking(true);
    m_windowSlider->setPageStep(1);
    m_windowSlider->setToolTip(tr("c: how many neighbours on each side a hovered token's window averages over "
                                  "(eq. 4 and 5); 1 ≤ c ≤ ⌊min(n, t)/2⌋."));
    windowLabel->setBuddy(m_windowSlider);
    m_windowLabel = new QLabel(header);
    m_windowLabel->setMinimumWidth(QFontMetrics(font()).horizontalAdvance(QStringLiteral("c = 888 of 888")));
    connect(m_windowSlider, &QSlider::valueChanged, this, [this](int c) {
        if (m_syncing) return;
        setWindow(c);
    });
    row2->addWidget(windowLabel);
    row2->addWidget(m_windowSlider);
    row2->addWidget(m_windowLabel);
    row2->addSpacing(12);

    auto* scopeLabel = new QLabel(tr("&Scale:"), header);
    m_scopeBox = new QComboBox(header);
    m_scopeBox->addItem(tr("Whole matrix (eq. 7)"), static_cast<int>(an::NormScope::Matrix));
    m_scopeBox->addItem(tr("Per output, min–max"), static_cast<int>(an::NormScope::ColumnMinMax));
    m_scopeBox->addItem(tr("Per output, sum 1 (Inseq)"), static_cast<int>(an::NormScope::ColumnL1));
    m_scopeBox->setToolTip(tr("How raw scores become colour intensities: min–max over the whole prompt block, "
                              "min–max per output token, or each output's column scaled to sum 1."));
    scopeLabel->setBuddy(m_scopeBox);
    connect(m_scopeBox, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (m_syncing || i < 0) return;
        setScope(static_cast<an::NormScope>(m_scopeBox->itemData(i).toInt()));
    });
    row2->addWidget(scopeLabel);
    row2->addWidget(m_scopeBox);
    row2->addSpacing(12);

    // Row 3: linguistic categories (seed §4.5).
    auto* row3 = new QHBoxLayout;
    rows->addLayout(row3);
    auto* categoryLabel = new QLabel(tr("Cate&gories:"), header);
    m_categoryModeBox = new QComboBox(header);
    m_categoryModeBox->addItem(tr("Off"), static_cast<int>(CategoryMode::Off));
    m_categoryModeBox->addItem(tr("Highlight"), static_cast<int>(CategoryMode::Highlight));
    m_categoryModeBox->addItem(tr("Isolation"), static_cast<int>(CategoryMode::Isolation));
    m_categoryModeBox->addItem(tr("Comparison (outlines)"), static_cast<int>(CategoryMode::Comparison));
    m_categoryModeBox->setToolTip(tr("Highlight fades the tokens of other categories, isolation hides them, "
                                     "comparison outlines every token in its category's colour. Categories are "
                                     "given per word: a word's sub-tokens share its category."));
    categoryLabel->setBuddy(m_categoryModeBox);
    m_categoryBox = new CategorySelector(header);
    m_categoryBox->setToolTip(tr("The categories highlighted or isolated: tick several in the list"));
    m_categoryEdit = new QToolButton(header);
    m_categoryEdit->setText(tr("Edit…"));
    m_categoryEdit->setToolTip(tr("Add or remove your own categories: a word list or a regular expression"));
    connect(m_categoryEdit, &QToolButton::clicked, this, &Dashboard::editCategories);
    m_categoryLegend = new QLabel(header);
    m_categoryLegend->setTextFormat(Qt::RichText);
    connect(m_categoryModeBox, &QComboBox::currentIndexChanged, this, [this] { updateCategoryView(); });
    connect(m_categoryBox, &CategorySelector::selectionChanged, this, [this] { updateCategoryView(); });
    row3->addWidget(categoryLabel);
    row3->addWidget(m_categoryModeBox);
    row3->addWidget(m_categoryBox);
    row3->addWidget(m_categoryEdit);
    row3->addWidget(m_categoryLegend);
    row3->addStretch(1);

    m_targetBox = new QComboBox(header);
    m_reductionBox = new QComboBox(header);
    for (const char* t : kTargetFns) m_targetBox->addItem(QString::fromLatin1(t));
    for (const char* r : kReductions) m_reductionBox->addItem(QString::fromLatin1(r));
    m_targetBox->setToolTip(tr("Target function f: the score of the output token the gradients explain. A property "
                               "of the stored result; choose another and press Re-run to compute it."));
    m_reductionBox->setToolTip(tr("How a token's gradient vector becomes one number (eq. 9). A property of the "
                                  "stored result; choose another and press Re-run to compute it."));
    m_rerunButton = new QPushButton(tr("Re-run…"), header);
    m_rerunButton->setToolTip(tr("Run this prompt again with the chosen target function and reduction."));
    m_storedLabel = new QLabel(header);
    connect(m_targetBox, &QComboBox::currentIndexChanged, this, &Dashboard::updateRerun);
    connect(m_reductionBox, &QComboBox::currentIndexChanged, this, &Dashboard::updateRerun);
    connect(m_rerunButton, &QPushButton::clicked, this,
            [this] { emit rerunRequested(m_targetBox->currentText(), m_reductionBox->currentText()); });
    auto* targetLabel = new QLabel(tr("&Target:"), header);
    targetLabel->setBuddy(m_targetBox);
    auto* reductionLabel = new QLabel(tr("&Reduction:"), header);
    reductionLabel->setBuddy(m_reductionBox);
    row2->addWidget(targetLabel);
    row2->addWidget(m_targetBox);
    row2->addWidget(reductionLabel);
    row2->addWidget(m_reductionBox);
    row2->addWidget(m_rerunButton);
    row2->addWidget(m_storedLabel);
    row2->addStretch(1);

    // Exports of what is on screen: a menu, and the scale of PNG images.
    auto* scaleLabel = new QLabel(tr("PNG ×"), header);
    m_scaleBox = new QComboBox(header);
    for (int sc : {1, 2, 3, 4}) m_scaleBox->addItem(QStringLiteral("%1").arg(sc), sc);
    m_scaleBox->setCurrentIndex(1);
    m_scaleBox->setToolTip(tr("Scale of exported PNG images: pixels per screen pixel (2 for slides and print)."));
    scaleLabel->setBuddy(m_scaleBox);
    auto* exportButton = new QToolButton(header);
    exportButton->setText(tr("Export"));
    exportButton->setToolTip(tr("Save what is on screen: the token view or the heatmap as PNG (with title and "
                                "legend), the result JSON, the matrix as CSV."));
    exportButton->setPopupMode(QToolButton::InstantPopup);
    exportButton->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto* menu = new QMenu(exportButton);
    const std::pair<QString, ExportKind> items[] = {
        {tr("Token View as PNG…\tCtrl+E"), ExportKind::TokenViewPng},
        {tr("Heatmap as PNG…\tCtrl+Shift+E"), ExportKind::HeatmapPng},
        {tr("Result JSON…\tCtrl+Shift+S"), ExportKind::ResultJson},
        {tr("Matrix as CSV…\tCtrl+Shift+C"), ExportKind::MatrixCsv},
    };
    for (const auto& [text, kind] : items) {
        connect(menu->addAction(text), &QAction::triggered, this, [this, kind = kind] { exportInteractive(kind); });
    }
    exportButton->setMenu(menu);
    row2->addWidget(scaleLabel);
    row2->addWidget(m_scaleBox);
    row2->addWidget(exportButton);

    m_sourceLabel = new QLabel(header);
    m_sourceLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    row1->addWidget(m_sourceLabel);
    return header;
}

QWidget* Dashboard::buildSidePanel() {
    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* side = new QWidget(scroll);
    auto* lay = new QVBoxLayout(side);
    lay->setContentsMargins(0, 0, 4, 0);

    auto* detailsBox = new QGroupBox(tr("Token"), side);
    auto* dl = new QVBoxLayout(detailsBox);
    m_details = new DetailsPanel(&m_model, m_selection, detailsBox);
    dl->addWidget(m_details);
    lay->addWidget(detailsBox);

    auto* statsBox = new QGroupBox(tr("Statistics"), side);
    auto* sl = new QVBoxLayout(statsBox);
    m_stats = new StatisticsPanel(&m_model, m_selection, statsBox);
    sl->addWidget(m_stats);
    lay->addWidget(statsBox);

    auto* compareBox = new QGroupBox(tr("Method comparison"), side);
    compareBox->setToolTip(tr("Agreement of the active methods' rankings (Spearman, Kendall) and how concentrated "
                              "each method is (Gini, entropy), for the pinned output token or the whole result"));
    auto* cl = new QVBoxLayout(compareBox);
    m_comparison = new MethodComparisonPanel(&m_model, m_selection, compareBox);
    cl->addWidget(m_comparison);
    lay->addWidget(compareBox);

    m_warningsBox = new QGroupBox(tr("Warnings"), side);
    auto* wl = new QVBoxLayout(m_warningsBox);
    m_warnings = new WarningsPanel(&m_model, m_warningsBox);
    wl->addWidget(m_warnings);
    lay->addWidget(m_warningsBox);

    auto* faithBox = new QGroupBox(tr("Faithfulness"), side);
    faithBox->setToolTip(tr("How much the tokens each method ranks first really matter to the model, measured by "
                            "removing them (see docs/faithfulness.md)"));
    auto* fal = new QVBoxLayout(faithBox);
    m_faithfulness = new FaithfulnessPanel(&m_model, m_selection, faithBox);
    fal->addWidget(m_faithfulness);
    lay->addWidget(faithBox);


    auto* followUpBox = new QGroupBox(tr("Continue the conversation"), side);
    auto* fl = new QVBoxLayout(followUpBox);
    m_followUpHint = new QLabel(followUpBox);
    m_followUpHint->setWordWrap(true);
    fl->addWidget(m_followUpHint);
    auto* frow = new QHBoxLayout;
    m_followUpEdit = new QLineEdit(followUpBox);
    m_followUpEdit->setPlaceholderText(tr("Next turn, e.g. “ . anna has a”"));
    m_followUpEdit->setToolTip(tr("The models see this job's prompt, the shown model's output and this text, and "
                                  "the new result shows how each turn feeds the next (Enter sends)"));
    m_followUpButton = new QPushButton(tr("Send"), followUpBox);
    m_followUpButton->setToolTip(m_followUpEdit->toolTip());
    frow->addWidget(m_followUpEdit, 1);
    frow->addWidget(m_followUpButton);
    fl->addLayout(frow);
    lay->addWidget(followUpBox);
    auto send = [this] {
        const QString text = m_followUpEdit->text();
        if (text.trimmed().isEmpty() || !m_followUpButton->isEnabled()) return;
        emit followUpRequested(text, m_model.currentModel());
        m_followUpEdit->clear();
    };
    connect(m_followUpButton, &QPushButton::clicked, this, send);
    connect(m_followUpEdit, &QLineEdit::returnPressed, this, send);
    setFollowUpAvailable(false, tr("Results computed in this window (New job page) can be continued here."));

    lay->addStretch(1);

    scroll->setWidget(side);
    scroll->setMinimumWidth(350);
    return scroll;
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
    m_windowLabel->setText(maxC >= 1 ? tr("c = %1 of %2").arg(m_model.window()).arg(maxC) : tr("c: —"));
    m_windowSlider->setToolTip(maxC >= 1 ? m_windowSlider->toolTip()
                                         : tr("No window: it needs at least 2 prompt and 2 output tokens."));
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

// ----------------------------------------------------------------- exports

QString Dashboard::exportTokenViewPng(const QString& path, double scale) {
    if (!m_model.hasJob()) return tr("Nothing to export: open a result first.");
    return savePng(m_tokenView->render(scale, title()), path, scale);
}

QString Dashboard::exportHeatmapPng(const QString& path, double scale) {
    if (!m_model.hasJob()) return tr("Nothing to export: open a result first.");
    return savePng(m_heatmap->render(scale, title()), path, scale);
}

QString Dashboard::exportResultJson(const QString& path) {
    if (!m_model.hasJob()) return tr("Nothing to export: open a result first.");
    // The contract's JSON, plus (allowed extra key) how it was being viewed.
    nlohmann::json j = toJson(m_model.job());
    nlohmann::json methods = nlohmann::json::array();
    for (int m : m_model.activeMethods()) methods.push_back(m_model.methods()[static_cast<size_t>(m)].id);
    const char* scopes[] = {"matrix", "column_minmax", "column_l1"};
    j["view"] = {{"model", m_model.currentModel() >= 0 ? m_model.models()[static_cast<size_t>(m_model.currentModel())]
                                                       : std::string()},
                 {"methods", methods},
                 {"window", m_model.window()},
                 {"scope", scopes[static_cast<int>(m_model.scope())]},
                 {"pinned", m_selection->pinned()}};
    const std::string text = j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return writeBytes(path, QByteArray::fromStdString(text));
}

QString Dashboard::exportMatrixCsv(const QString& path) {
    if (!m_model.hasJob()) return tr("Nothing to export: open a result first.");
    QString what;
    const AttributionMatrix a = m_model.displayedMatrix(&what);
    if (a.empty()) return tr("Nothing to export: switch a method on.");
    const int64_t n = m_model.promptLength();
    const auto& tokens = m_model.contextTokens();
    std::vector<std::string> rows, cols;
    for (int64_t k = 0; k < m_model.contextLength(); ++k) rows.push_back(asciiLabel(k, n, tokens[static_cast<size_t>(k)]));
    for (int64_t j = 0; j < m_model.outputLength(); ++j) cols.push_back(asciiLabel(n + j, n, tokens[static_cast<size_t>(n + j)]));
    const std::string corner = (m_model.currentModel() >= 0 ? m_model.models()[static_cast<size_t>(m_model.currentModel())] : "") +
                               ": " + what.toStdString() + " (rows: context, columns: output)";
    return writeBytes(path, QByteArray::fromStdString(matrixCsv(a, rows, cols, corner)));
}

QString Dashboard::suggestedFileName(ExportKind kind) const {
    QString base = QFileInfo(m_source).completeBaseName();
    if (base.isEmpty()) base = QStringLiteral("tokenlens");
    switch (kind) {
    case ExportKind::TokenViewPng: return base + QStringLiteral("-tokens.png");
    case ExportKind::HeatmapPng: return base + QStringLiteral("-heatmap.png");
    case ExportKind::ResultJson: return base + QStringLiteral("-result.json");
    case ExportKind::MatrixCsv: return base + QStringLiteral("-matrix.csv");
    }
    return base;
}

void Dashboard::exportInteractive(ExportKind kind) {
    if (!m_model.hasJob()) {
        emit statusMessage(tr("Nothing to export: open a result first."), 4000);
        return;
    }
    QSettings settings;
    const QString dir = settings.value(QStringLiteral("export/dir"),
                                       QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation))
                            .toString();
    QString filter;
    switch (kind) {
    case ExportKind::TokenViewPng:
    case ExportKind::HeatmapPng: filter = tr("PNG images (*.png)"); break;
    case ExportKind::ResultJson: filter = tr("TokenLens results (*.json)"); break;
    case ExportKind::MatrixCsv: filter = tr("CSV tables (*.csv)"); break;
    }
    const QString path = QFileDialog::getSaveFileName(this, tr("Export"), dir + QLatin1Char('/') + suggestedFileName(kind),
                                                      filter);
    if (path.isEmpty()) return;
    settings.setValue(QStringLiteral("export/dir"), QFileInfo(path).absolutePath());
    QString error;
    switch (kind) {
    case ExportKind::TokenViewPng: error = exportTokenViewPng(path, exportScale()); break;
    case ExportKind::HeatmapPng: error = exportHeatmapPng(path, exportScale()); break;
    case ExportKind::ResultJson: error = exportResultJson(path); break;
    case ExportKind::MatrixCsv: error = exportMatrixCsv(path); break;
    }
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

void Dashboard::setFollowUpAvailable(bool on, const QString& hint) {
    m_followUpEdit->setEnabled(on);
    m_followUpButton->setEnabled(on);
    m_followUpHint->setText(hint);
}

} // namespace tokenlens::gui
