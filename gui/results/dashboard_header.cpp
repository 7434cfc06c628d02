// The dashboard's header rows (model, methods, context window, scope,
// categories, target function and reduction with the re-run button, the
// export scale): Dashboard::buildHeader, apart from the rest of the class.
#include "results/dashboard.h"

#include "attribution/method.h"
#include "results/category_controls.h"
#include "results/split_view.h"
#include "results/token_view.h"
#include "viewmodel/palette.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPainter>
#include <QPixmap>
#include <QPushButton>
#include <QSlider>
#include <QToolButton>
#include <QVBoxLayout>

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

} // namespace

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
    // Narrow enough that the row (with a chat's Template tokens switch) fits a 1,400-pixel window.
    m_windowSlider->setMinimumWidth(90);
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
    m_templateBox = new QCheckBox(tr("Te&mplate tokens"), header);
    m_templateBox->setToolTip(tr("A chat: count the chat template's own tokens (role markers, BOS, separators; "
                                 "dimmed) in the colours, statistics and heatmap. Off, they are left out, as the "
                                 "result's token importance leaves them out."));
    connect(m_templateBox, &QCheckBox::toggled, this, [this](bool on) {
        if (!m_syncing) setIncludeTemplate(on);
    });
    m_templateBox->hide();
    row2->addWidget(m_templateBox);
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
    exportButton->setToolTip(tr("Save what is on screen: the token view or the heatmap as PNG, SVG or PDF (with "
                                "title and legend), the result JSON, the matrix as CSV, an Inseq file, an HTML "
                                "page, the token importance table."));
    exportButton->setPopupMode(QToolButton::InstantPopup);
    exportButton->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto* menu = new QMenu(exportButton);
    const std::pair<QString, ExportKind> items[] = {
        {tr("Token View as PNG…\tCtrl+E"), ExportKind::TokenViewPng},
        {tr("Heatmap as PNG…\tCtrl+Shift+E"), ExportKind::HeatmapPng},
        {tr("Result JSON…\tCtrl+Shift+S"), ExportKind::ResultJson},
        {tr("Matrix as CSV…\tCtrl+Shift+C"), ExportKind::MatrixCsv},
        {QString(), ExportKind::MatrixCsv},
        {tr("Token View as SVG…"), ExportKind::TokenViewSvg},
        {tr("Token View as PDF…"), ExportKind::TokenViewPdf},
        {tr("Heatmap as SVG…"), ExportKind::HeatmapSvg},
        {tr("Heatmap as PDF…"), ExportKind::HeatmapPdf},
        {QString(), ExportKind::MatrixCsv},
        {tr("HTML Page…"), ExportKind::HtmlPage},
        {tr("Inseq File…"), ExportKind::InseqJson},
        {tr("Importance Table as Markdown…"), ExportKind::ImportanceMarkdown},
        {tr("Importance Table as LaTeX…"), ExportKind::ImportanceLatex},
    };
    for (const auto& [text, kind] : items) {
        if (text.isEmpty()) {
            menu->addSeparator();
            continue;
        }
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

} // namespace tokenlens::gui
