#include "results/side_panels.h"

#include "results/comparison_panel.h"
#include "results/faithfulness_panel.h"
#include "results/panels.h"
#include "viewmodel/result_model.h"

#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace tokenlens::gui {

SidePanels::SidePanels(const ResultModel* model, SelectionModel* selection, QWidget* parent)
    : QScrollArea(parent), m_model(model) {
    setWidgetResizable(true);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setFrameShape(QFrame::NoFrame);
    auto* side = new QWidget(this);
    auto* lay = new QVBoxLayout(side);
    lay->setContentsMargins(0, 0, 4, 0);

    // A titled box around one panel.
    auto addBox = [&](const QString& title, const QString& tip, QWidget* panel, QGroupBox* box) {
        if (!tip.isEmpty()) box->setToolTip(tip);
        box->setTitle(title);
        auto* boxLay = new QVBoxLayout(box);
        panel->setParent(box);
        boxLay->addWidget(panel);
        lay->addWidget(box);
    };
    m_details = new DetailsPanel(model, selection);
    addBox(tr("Token"), {}, m_details, new QGroupBox(side));
    m_stats = new StatisticsPanel(model, selection);
    addBox(tr("Statistics"), {}, m_stats, new QGroupBox(side));
    m_comparison = new MethodComparisonPanel(model, selection);
    addBox(tr("Method comparison"),
           tr("Agreement of the active methods' rankings (Spearman, Kendall) and how concentrated "
              "each method is (Gini, entropy), for the pinned output token or the whole result"),
           m_comparison, new QGroupBox(side));
    m_warnings = new WarningsPanel(model);
    m_warningsBox = new QGroupBox(side);
    addBox(tr("Warnings"), {}, m_warnings, m_warningsBox);
    m_faithfulness = new FaithfulnessPanel(model, selection);
    addBox(tr("Faithfulness"),
           tr("How much the tokens each method ranks first really matter to the model, measured by "
              "removing them (see docs/faithfulness.md)"),
           m_faithfulness, new QGroupBox(side));

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
        emit followUpRequested(text, m_model->currentModel());
        m_followUpEdit->clear();
    };
    connect(m_followUpButton, &QPushButton::clicked, this, send);
    connect(m_followUpEdit, &QLineEdit::returnPressed, this, send);
    setFollowUpAvailable(false, tr("Results computed in this window (New job page) can be continued here."));

    lay->addStretch(1);

    setWidget(side);
    setMinimumWidth(350);
    connect(m_warnings, &WarningsPanel::countChanged, this, [this](int count) {
        m_warningsBox->setTitle(count > 0 ? tr("Warnings (%1)").arg(count) : tr("Warnings"));
    });
}

void SidePanels::setFollowUpAvailable(bool on, const QString& hint) {
    // A chat continues as the next user message (the parent's messages and
    // reply rendered again through the template).
    const bool chat = !m_model->segments().empty();
    m_followUpEdit->setPlaceholderText(chat ? tr("Next user message, e.g. “And the sea?”")
                                            : tr("Next turn, e.g. “ . anna has a”"));
    m_followUpEdit->setEnabled(on);
    m_followUpButton->setEnabled(on);
    m_followUpHint->setText(hint);
}

} // namespace tokenlens::gui
