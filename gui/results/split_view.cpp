#include "results/split_view.h"

#include "results/difference_view.h"
#include "results/heatmap_view.h"
#include "results/selection_model.h"
#include "results/token_view.h"
#include "viewmodel/palette.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QScrollBar>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

namespace an = tokenlens::analysis;

namespace {

std::vector<std::string> promptTokens(const ResultModel& m) {
    const auto& ctx = m.contextTokens();
    return {ctx.begin(), ctx.begin() + m.promptLength()};
}

std::vector<std::string> outputTokens(const ResultModel& m) {
    const auto& ctx = m.contextTokens();
    return {ctx.begin() + m.promptLength(), ctx.end()};
}

// Step probabilities of the current model's output (any method stores them).
std::vector<double> stepProbabilities(const ResultModel& m) {
    for (size_t i = 0; i < m.methods().size(); ++i) {
        const auto& r = m.methodResult(static_cast<int>(i));
        if (static_cast<int64_t>(r.stepProbability.size()) == m.outputLength()) return r.stepProbability;
    }
    return {};
}

QString modelName(const ResultModel& m) {
    return m.currentModel() >= 0 ? QString::fromStdString(m.models()[static_cast<size_t>(m.currentModel())]) : QString();
}

} // namespace

SplitView::SplitView(QWidget* parent) : QWidget(parent) {
    auto* root = new QVBoxLayout(this);
    root->setContentsMargins(0, 0, 0, 0);
    root->setSpacing(4);

    auto* bar = new QHBoxLayout;
    m_differenceButton = new QToolButton(this);
    m_differenceButton->setText(tr("Difference"));
    m_differenceButton->setCheckable(true);
    m_differenceButton->setToolTip(tr("Show A(left) − A(right) on the aligned tokens instead of the two heatmaps "
                                      "(Ctrl+D)"));
    connect(m_differenceButton, &QToolButton::toggled, this, [this](bool on) { setDifferenceMode(on); });
    bar->addWidget(m_differenceButton);
    m_legend = new QLabel(this);
    m_legend->setTextFormat(Qt::RichText);
    m_legend->setText(tr("<span style='color:%1'>▢</span> aligned with the other pane's token&nbsp;&nbsp; "
                         "<span style='color:%2'>┅</span> no counterpart in the other pane&nbsp;&nbsp; "
                         "<span style='color:%3'>▣</span> edited token")
                          .arg(TokenView::markColour(TokenView::MarkLinked).name(),
                               TokenView::markColour(TokenView::MarkUnmatched).name(),
                               TokenView::markColour(TokenView::MarkChanged).name()));
    bar->addWidget(m_legend, 1);
    root->addLayout(bar);

    auto* upper = new QSplitter(Qt::Horizontal, this);
    auto* heatSplit = new QSplitter(Qt::Horizontal, this);
    for (int s = 0; s < 2; ++s) {
        const auto i = static_cast<size_t>(s);
        m_selections[i] = new SelectionModel(this);
        m_tokenViews[i] = new TokenView(&m_models[i], m_selections[i], this);
        m_heatmaps[i] = new HeatmapView(&m_models[i], m_selections[i], this);
        auto* pane = new QWidget(upper);
        auto* pl = new QVBoxLayout(pane);
        pl->setContentsMargins(0, 0, 0, 0);
        pl->setSpacing(2);
        auto* head = new QHBoxLayout;
        m_titles[i] = new QLabel(pane);
        m_titles[i]->setTextFormat(Qt::RichText);
        m_modelBoxes[i] = new QComboBox(pane);
        m_modelBoxes[i]->setSizeAdjustPolicy(QComboBox::AdjustToContents);
        m_modelBoxes[i]->setToolTip(s == 0 ? tr("The model of the left pane") : tr("The model of the right pane"));
        m_modelBoxes[i]->setAccessibleName(s == 0 ? tr("Left model") : tr("Right model"));
        connect(m_modelBoxes[i], &QComboBox::currentIndexChanged, this, [this, s](int m) {
            if (m_syncing || m < 0) return;
            setPaneModel(s, m);
        });
        head->addWidget(m_titles[i]);
        head->addWidget(m_modelBoxes[i]);
        head->addStretch(1);
        pl->addLayout(head);
        pl->addWidget(m_tokenViews[i], 1);
        upper->addWidget(pane);
        heatSplit->addWidget(m_heatmaps[i]);
        connect(m_selections[i], &SelectionModel::changed, this, [this, s] { mirrorSelection(s); });
        connect(m_tokenViews[i]->verticalScrollBar(), &QScrollBar::valueChanged, this, [this, s](int v) {
            if (m_syncing) return;
            m_syncing = true;
            auto* other = m_tokenViews[static_cast<size_t>(1 - s)]->verticalScrollBar();
            other->setValue(std::min(v, other->maximum()));
            m_syncing = false;
        });
        connect(m_heatmaps[i], &HeatmapView::viewChanged, this, [this, s] {
            if (m_syncing) return;
            m_syncing = true;
            m_heatmaps[static_cast<size_t>(1 - s)]->matchView(*m_heatmaps[static_cast<size_t>(s)]);
            m_syncing = false;
        });
    }
    upper->setChildrenCollapsible(false);

    m_probBox = new QWidget(this);
    auto* pbl = new QVBoxLayout(m_probBox);
    pbl->setContentsMargins(0, 0, 0, 0);
    pbl->setSpacing(2);
    m_probLabel = new QLabel(m_probBox);
    m_probLabel->setWordWrap(true);
    m_probTable = new QTableWidget(m_probBox);
    m_probTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_probTable->setSelectionMode(QAbstractItemView::NoSelection);
    m_probTable->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_probTable->setAccessibleName(tr("Output probabilities, original and edited prompt"));
    pbl->addWidget(m_probLabel);
    pbl->addWidget(m_probTable);
    m_probBox->hide();

    m_lower = new QStackedWidget(this);
    m_lower->addWidget(heatSplit);
    m_differenceView = new DifferenceView(this);
    m_lower->addWidget(m_differenceView);
    connect(m_differenceView, &DifferenceView::cellHovered, this, [this](qint64 r, qint64 c) {
        // A difference cell: the first rows of its segment and its columns in both panes.
        int64_t rowA = -1, rowB = -1, colA = -1, colB = -1;
        if (r >= 0 && static_cast<size_t>(r) < m_rows.segments.size()) {
            rowA = m_rows.segments[static_cast<size_t>(r)].rowsA.front();
            rowB = m_rows.segments[static_cast<size_t>(r)].rowsB.front();
        }
        const auto& pairs = m_differenceView->difference().columns;
        if (c >= 0 && static_cast<size_t>(c) < pairs.size()) {
            colA = pairs[static_cast<size_t>(c)].a;
            colB = pairs[static_cast<size_t>(c)].b;
        }
        m_syncing = true;
        m_selections[0]->setCell(rowA, colA);
        m_selections[1]->setCell(rowB, colB);
        m_syncing = false;
    });

    // The token views with the probability table under them (as tall as
    // its rows), then the heatmaps or the difference.
    auto* top = new QWidget(this);
    auto* topLay = new QVBoxLayout(top);
    topLay->setContentsMargins(0, 0, 0, 0);
    topLay->setSpacing(4);
    topLay->addWidget(upper, 1);
    topLay->addWidget(m_probBox, 0);
    auto* vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(top);
    vertical->addWidget(m_lower);
    vertical->setStretchFactor(0, 1);
    vertical->setStretchFactor(1, 1);
    vertical->setChildrenCollapsible(false);
    root->addWidget(vertical, 1);
    updateTitles();
}

// ------------------------------------------------------------------- input

void SplitView::setJob(const JobResult& job, const QString& source, int modelA, int modelB) {
    m_edit.reset();
    m_sameJob = true;
    setResults(job, source, modelA, job, source, modelB);
    m_sameJob = true;
}

void SplitView::setResults(const JobResult& jobA, const QString& nameA, int modelA, const JobResult& jobB,
                           const QString& nameB, int modelB) {
    m_sameJob = false;
    m_names = {nameA, nameB};
    m_models[0].setJob(jobA);
    m_models[1].setJob(jobB);
    const int models[2] = {modelA, modelB};
    for (size_t s = 0; s < 2; ++s) {
        auto& m = m_models[s];
        const int count = static_cast<int>(m.models().size());
        if (count > 0) m.setCurrentModel(std::clamp(models[s], 0, count - 1));
        m_selections[s]->clear();
    }
    rebuild();
}

void SplitView::setCounterfactual(const JobResult& original, const JobResult& edited, const CounterfactualEdit& edit) {
    setResults(original, tr("original"), edit.model, edited,
               tr("edited “%1”").arg(QString::fromStdString(edit.replacement)), edit.model);
    m_edit = edit;
    rebuild();
}

bool SplitView::hasResults() const { return m_models[0].hasJob() && m_models[1].hasJob(); }

void SplitView::setActiveMethods(const std::vector<std::string>& ids) {
    m_active = ids;
    for (auto& model : m_models) {
        bool any = false;
        for (size_t m = 0; m < model.methods().size(); ++m) {
            const bool on = std::find(ids.begin(), ids.end(), model.methods()[m].id) != ids.end();
            model.setActive(static_cast<int>(m), on);
            any = any || on;
        }
        if (!any && !model.methods().empty() && !ids.empty()) model.setActive(0, true);
    }
    for (size_t s = 0; s < 2; ++s) {
        m_tokenViews[s]->coloursChanged();
        m_heatmaps[s]->coloursChanged();
    }
    updateDifference();
}

void SplitView::setWindow(int64_t c) {
    m_window = c;
    for (size_t s = 0; s < 2; ++s) {
        m_models[s].setWindow(c);
        m_tokenViews[s]->coloursChanged();
    }
}

void SplitView::setScope(an::NormScope scope) {
    m_scope = scope;
    for (size_t s = 0; s < 2; ++s) {
        m_models[s].setScope(scope);
        m_tokenViews[s]->coloursChanged();
        m_heatmaps[s]->coloursChanged();
    }
    updateDifference();
}

void SplitView::setPaneModel(int side, int model) {
    if (side < 0 || side > 1) return;
    auto& m = m_models[static_cast<size_t>(side)];
    if (model < 0 || model >= static_cast<int>(m.models().size())) return;
    m_selections[0]->clear();
    m_selections[1]->clear();
    m.setCurrentModel(model);
    rebuild();
}

void SplitView::setDifferenceMode(bool on) {
    m_difference = on;
    if (m_differenceButton->isChecked() != on) {
        const QSignalBlocker block(m_differenceButton);
        m_differenceButton->setChecked(on);
    }
    m_lower->setCurrentIndex(on ? 1 : 0);
    updateDifference();
    emit viewStateChanged();
}

// --------------------------------------------------------------- alignment

void SplitView::rebuild() {
    m_syncing = true;
    for (size_t s = 0; s < 2; ++s) {
        auto& m = m_models[s];
        if (!m_active.empty()) {
            bool any = false;
            for (size_t k = 0; k < m.methods().size(); ++k) {
                const bool on = std::find(m_active.begin(), m_active.end(), m.methods()[k].id) != m_active.end();
                m.setActive(static_cast<int>(k), on);
                any = any || on;
            }
            if (!any && !m.methods().empty()) m.setActive(0, true);
        }
        m.setWindow(m_window);
        m.setScope(m_scope);
        m_modelBoxes[s]->clear();
        for (const auto& name : m.models()) m_modelBoxes[s]->addItem(QString::fromStdString(name));
        m_modelBoxes[s]->setCurrentIndex(m.currentModel());
        m_modelBoxes[s]->setEnabled(m.models().size() > 1);
        m_linked[s].clear();
    }
    realign();
    for (size_t s = 0; s < 2; ++s) {
        m_tokenViews[s]->tokensChanged();
        m_heatmaps[s]->tokensChanged();
    }
    m_syncing = false;
    updateMarks();
    updateDifference();
    updateProbabilities();
    updateTitles();
    emit viewStateChanged();
}

void SplitView::realign() {
    std::array<std::vector<an::Span>, 2> spans;
    for (size_t s = 0; s < 2; ++s) {
        const auto& m = m_models[s];
        spans[s] = m.hasJob() ? an::locateTokens(m.job().input.text, promptTokens(m)) : std::vector<an::Span>{};
        m_changedRows[s].clear();
    }
    if (m_edit) {
        // The edited prompt's spans in the original's coordinates: before the
        // edit unchanged, after it shifted, inside it scaled onto the
        // replaced bytes (so the new word's tokens align with the old word's).
        const int64_t b = m_edit->begin, e = m_edit->end;
        const auto lenB = static_cast<int64_t>(m_edit->replacement.size());
        const int64_t endB = b + lenB, shift = lenB - (e - b);
        for (size_t r = 0; r < spans[0].size(); ++r) {
            const auto& sp = spans[0][r];
            if (!sp.empty() && sp.begin < std::max(e, b + 1) && sp.end > b) m_changedRows[0].push_back(static_cast<int64_t>(r));
        }
        for (size_t r = 0; r < spans[1].size(); ++r) {
            auto& sp = spans[1][r];
            if (!sp.empty() && sp.begin < std::max(endB, b + 1) && sp.end > b) m_changedRows[1].push_back(static_cast<int64_t>(r));
            auto map = [&](int64_t p, bool up) {
                if (p <= b) return p;
                if (p >= endB) return p - shift;
                const int64_t num = (p - b) * (e - b);
                return b + (up ? (num + lenB - 1) / lenB : num / lenB);
            };
            if (sp.empty()) {
                sp.begin = sp.end = map(sp.begin, false);
            } else {
                sp.begin = map(sp.begin, false);
                sp.end = std::max(sp.begin, map(sp.end, true));
            }
        }
    }
    m_rows = an::alignPromptRows(spans[0], spans[1]);
    for (size_t s = 0; s < 2; ++s) m_segmentOf[s].assign(spans[s].size(), -1);
    for (size_t g = 0; g < m_rows.segments.size(); ++g) {
        for (int64_t r : m_rows.segments[g].rowsA) m_segmentOf[0][static_cast<size_t>(r)] = static_cast<int>(g);
        for (int64_t r : m_rows.segments[g].rowsB) m_segmentOf[1][static_cast<size_t>(r)] = static_cast<int>(g);
    }
    m_cols = an::alignOutputs(outputTokens(m_models[0]), outputTokens(m_models[1]));
}

std::vector<int64_t> SplitView::alignedTokens(int side, int64_t k) const {
    if (side < 0 || side > 1 || k < 0) return {};
    const auto& m = m_models[static_cast<size_t>(side)];
    const auto& other = m_models[static_cast<size_t>(1 - side)];
    if (k >= m.contextLength()) return {};
    if (k < m.promptLength()) {
        const auto& seg = m_segmentOf[static_cast<size_t>(side)];
        if (static_cast<size_t>(k) >= seg.size() || seg[static_cast<size_t>(k)] < 0) return {};
        const auto& g = m_rows.segments[static_cast<size_t>(seg[static_cast<size_t>(k)])];
        return side == 0 ? g.rowsB : g.rowsA;
    }
    const int64_t j = k - m.promptLength();
    for (const auto& p : m_cols) {
        const int64_t mine = side == 0 ? p.a : p.b, theirs = side == 0 ? p.b : p.a;
        if (mine == j) return theirs >= 0 ? std::vector<int64_t>{other.promptLength() + theirs} : std::vector<int64_t>{};
    }
    return {};
}

std::vector<int64_t> SplitView::markedTokens(int side, unsigned char mark) const {
    std::vector<int64_t> out;
    const TokenView* marks = side == 0 || side == 1 ? m_tokenViews[static_cast<size_t>(side)] : nullptr;
    if (!marks) return out;
    for (int64_t k = 0; k < m_models[static_cast<size_t>(side)].contextLength(); ++k)
        if (marks->tokenMark(k) & mark) out.push_back(k);
    return out;
}

void SplitView::mirrorSelection(int side) {
    if (m_syncing) return;
    m_syncing = true;
    const auto s = static_cast<size_t>(side), o = static_cast<size_t>(1 - side);
    SelectionModel* from = m_selections[s];
    SelectionModel* to = m_selections[o];
    auto first = [](const std::vector<int64_t>& v) { return v.empty() ? int64_t{-1} : v.front(); };
    to->setHovered(first(alignedTokens(side, from->hovered())));
    to->setPinned(first(alignedTokens(side, from->pinned())));
    int64_t row = -1, col = -1;
    if (from->cellRow() >= 0) {
        row = first(alignedTokens(side, from->cellRow()));
        const auto cols = alignedTokens(side, m_models[s].promptLength() + from->cellCol());
        col = cols.empty() ? -1 : cols.front() - m_models[o].promptLength();
        if (row < 0 || col < 0) row = col = -1;
    }
    to->setCell(row, col);
    m_linked[o] = alignedTokens(side, from->focus());
    m_linked[s].clear();
    // The difference heatmap outlines the focus's segment or column.
    int64_t hiRow = -1, hiCol = -1;
    const int64_t f = from->focus();
    const auto& m = m_models[s];
    if (f >= 0 && f < m.promptLength() && static_cast<size_t>(f) < m_segmentOf[s].size()) hiRow = m_segmentOf[s][static_cast<size_t>(f)];
    if (f >= m.promptLength()) {
        const auto& pairs = m_differenceView->difference().columns;
        for (size_t c = 0; c < pairs.size(); ++c)
            if ((side == 0 ? pairs[c].a : pairs[c].b) == f - m.promptLength()) hiCol = static_cast<int64_t>(c);
    }
    m_differenceView->setHighlight(hiRow, hiCol);
    m_syncing = false;
    updateMarks();
}

void SplitView::updateMarks() {
    for (size_t s = 0; s < 2; ++s) {
        const auto& m = m_models[s];
        std::vector<unsigned char> marks(static_cast<size_t>(m.contextLength()), 0);
        const auto& unmatched = s == 0 ? m_rows.unmatchedA : m_rows.unmatchedB;
        for (int64_t r : unmatched)
            if (r >= 0 && static_cast<size_t>(r) < marks.size()) marks[static_cast<size_t>(r)] |= TokenView::MarkUnmatched;
        for (const auto& p : m_cols) {
            const int64_t mine = s == 0 ? p.a : p.b, theirs = s == 0 ? p.b : p.a;
            const auto k = static_cast<size_t>(m.promptLength() + mine);
            if (mine >= 0 && theirs < 0 && k < marks.size()) marks[k] |= TokenView::MarkUnmatched;
        }
        for (int64_t r : m_changedRows[s])
            if (static_cast<size_t>(r) < marks.size()) marks[static_cast<size_t>(r)] |= TokenView::MarkChanged;
        for (int64_t k : m_linked[s])
            if (k >= 0 && static_cast<size_t>(k) < marks.size()) marks[static_cast<size_t>(k)] |= TokenView::MarkLinked;
        m_tokenViews[s]->setTokenMarks(std::move(marks));
    }
}

// -------------------------------------------------------------- difference

void SplitView::updateDifference() {
    if (!m_difference) return;
    if (!hasResults()) {
        m_differenceView->setDifference({}, {}, {}, m_names[0], m_names[1], scopeLabel(m_scope), tr("No results."));
        return;
    }
    QString whatA, whatB;
    const AttributionMatrix a = m_models[0].displayedMatrix(&whatA);
    const AttributionMatrix b = m_models[1].displayedMatrix(&whatB);
    const QString nameA = m_sameJob ? modelName(m_models[0]) : m_names[0];
    QString nameB = m_sameJob ? modelName(m_models[1]) : m_names[1];
    if (nameB == nameA) nameB += tr(" (right)");
    const QString norm = tr("each pane's prompt block summed per aligned prompt segment, then normalised per model "
                            "with the scale “%1”; left: %2, right: %3")
                             .arg(scopeLabel(m_scope), whatA, whatB);
    if (a.empty() || b.empty()) {
        m_differenceView->setDifference({}, {}, {}, nameA, nameB, norm, tr("Switch a method on in both panes."));
        return;
    }
    auto d = an::alignedDifference(a, b, m_rows, m_cols, m_scope);
    if (!d) {
        m_differenceView->setDifference({}, {}, {}, nameA, nameB, norm,
                                        tr("No difference: %1").arg(QString::fromStdString(d.error().message)));
        return;
    }
    std::vector<QString> rowLabels, colLabels;
    const std::string& text = m_models[0].job().input.text;
    for (const auto& g : m_rows.segments) {
        const auto b0 = static_cast<size_t>(std::clamp<int64_t>(g.span.begin, 0, static_cast<int64_t>(text.size())));
        const auto e0 = static_cast<size_t>(std::clamp<int64_t>(g.span.end, 0, static_cast<int64_t>(text.size())));
        rowLabels.push_back(displayToken(text.substr(b0, e0 - b0)));
    }
    const int64_t nA = m_models[0].promptLength();
    for (const auto& p : d->columns)
        colLabels.push_back(QStringLiteral("%1 %2").arg(tokenSymbol(nA + p.a, nA),
                                                         displayToken(m_models[0].contextTokens()[static_cast<size_t>(nA + p.a)])));
    const QString empty = d->difference.cols == 0 ? tr("The outputs have no token in common: no column to compare.")
                                                  : QString();
    m_differenceView->setDifference(std::move(*d), std::move(rowLabels), std::move(colLabels), nameA, nameB, norm, empty);
}

// ---------------------------------------------------------- probabilities

void SplitView::updateProbabilities() {
    m_changes.clear();
    const auto pA = stepProbabilities(m_models[0]), pB = stepProbabilities(m_models[1]);
    for (const auto& p : m_cols) {
        if (!p.matched()) continue;
        ProbabilityChange c;
        c.a = p.a;
        c.b = p.b;
        if (static_cast<size_t>(p.a) < pA.size()) c.before = pA[static_cast<size_t>(p.a)];
        if (static_cast<size_t>(p.b) < pB.size()) c.after = pB[static_cast<size_t>(p.b)];
        c.delta = c.after - c.before;
        m_changes.push_back(c);
    }
    m_probBox->setVisible(m_edit.has_value());
    if (!m_edit) return;
    const auto& m = m_models[0];
    const int64_t n = m.promptLength(), t = m.outputLength();
    double maxAbs = 0;
    for (const auto& c : m_changes)
        if (std::isfinite(c.delta)) maxAbs = std::max(maxAbs, std::fabs(c.delta));
    m_probLabel->setText(
        tr("Probability of each output token of the original under the original and the edited prompt (the edited job "
           "forces the original output); Δp = edited − original, colour scaled to the largest |Δp| = %1.")
            .arg(maxAbs, 0, 'f', 4));
    m_probTable->clear();
    m_probTable->setRowCount(3);
    m_probTable->setColumnCount(static_cast<int>(t));
    m_probTable->setVerticalHeaderLabels({tr("p original"), tr("p edited"), tr("Δp")});
    const QColor base = palette().color(QPalette::Base);
    for (int64_t j = 0; j < t; ++j) {
        m_probTable->setHorizontalHeaderItem(
            static_cast<int>(j), new QTableWidgetItem(QStringLiteral("%1 %2").arg(tokenSymbol(n + j, n),
                                                                                  displayToken(m.contextTokens()[static_cast<size_t>(n + j)]))));
        const ProbabilityChange* c = nullptr;
        for (const auto& x : m_changes)
            if (x.a == j) c = &x;
        auto cell = [&](int row, const QString& text) {
            auto* item = new QTableWidgetItem(text);
            item->setTextAlignment(Qt::AlignCenter);
            m_probTable->setItem(row, static_cast<int>(j), item);
            return item;
        };
        if (!c) {
            cell(0, QStringLiteral("—"));
            cell(1, QStringLiteral("—"));
            cell(2, tr("unmatched"));
            continue;
        }
        cell(0, QString::number(c->before, 'f', 4));
        cell(1, QString::number(c->after, 'f', 4));
        auto* d = cell(2, QString::asprintf("%+.4f", c->delta));
        if (std::isfinite(c->delta) && maxAbs > 0) {
            const QColor bg = divergingColour(c->delta / maxAbs, base);
            d->setBackground(bg);
            d->setForeground(readableTextOn(bg));
        }
    }
    m_probTable->resizeColumnsToContents();
    m_probTable->resizeRowsToContents();
    int h = m_probTable->horizontalHeader()->height() + 2 * m_probTable->frameWidth() + 4;
    for (int r = 0; r < 3; ++r) h += m_probTable->rowHeight(r);
    h += m_probTable->horizontalScrollBar()->sizeHint().height();
    m_probTable->setFixedHeight(h);
    m_probBox->setMaximumHeight(h + m_probLabel->heightForWidth(std::max(200, m_probBox->width())) + 8);
}

void SplitView::updateTitles() {
    for (size_t s = 0; s < 2; ++s) {
        const QString side = s == 0 ? tr("Left") : tr("Right");
        if (!m_models[s].hasJob()) {
            m_titles[s]->setText(tr("<b>%1</b>: no result").arg(side));
            continue;
        }
        QString what = m_sameJob ? tr("model") : m_names[s].toHtmlEscaped() + QStringLiteral(" ·");
        if (m_edit) {
            what = s == 0 ? tr("original prompt ·")
                          : tr("edited: “%1” → “%2” ·")
                                .arg(QString::fromStdString(m_edit->originalPrompt.substr(
                                         static_cast<size_t>(m_edit->begin), static_cast<size_t>(m_edit->end - m_edit->begin)))
                                         .toHtmlEscaped(),
                                     QString::fromStdString(m_edit->replacement).toHtmlEscaped());
        }
        m_titles[s]->setText(QStringLiteral("<b>%1</b> %2").arg(side, what));
    }
}

} // namespace tokenlens::gui
