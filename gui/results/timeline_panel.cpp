#include "results/timeline_panel.h"

#include "analysis/temporal.h"
#include "jobs/backend/job_backend.h"
#include "results/selection_model.h"
#include "results/share_bar.h"
#include "results/temporal_strip.h"
#include "results/turn_chip.h"
#include "results/token_view.h"
#include "viewmodel/palette.h"
#include "viewmodel/result_model.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollArea>
#include <QScrollBar>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <functional>

namespace tokenlens::gui {

namespace an = tokenlens::analysis;

namespace {

QString percent(double v) {
    return std::isfinite(v) ? QStringLiteral("%1 %").arg(100.0 * v, 0, 'f', v < 0.095 && v > 0 ? 1 : 0)
                            : QStringLiteral("–");
}

} // namespace

TimelinePanel::TimelinePanel(const ResultModel* model, SelectionModel* selection, TokenView* tokenView, QWidget* parent)
    : QWidget(parent), m_model(model), m_selection(selection), m_tokenView(tokenView) {
    auto* root = new QHBoxLayout(this);
    root->setContentsMargins(0, 0, 0, 0);
    root->setSpacing(8);

    auto* controls = new QWidget(this);
    controls->setFixedWidth(210);
    auto* cl = new QVBoxLayout(controls);
    cl->setContentsMargins(0, 0, 0, 0);
    cl->setSpacing(3);
    m_title = new QLabel(controls);
    m_title->setTextFormat(Qt::RichText);
    cl->addWidget(m_title);
    auto* wrow = new QHBoxLayout;
    auto* wlabel = new QLabel(tr("&Weights α:"), controls);
    m_weighting = new QComboBox(controls);
    m_weighting->addItem(tr("Uniform"), static_cast<int>(TurnWeighting::Uniform));
    m_weighting->addItem(tr("Recency"), static_cast<int>(TurnWeighting::Recency));
    m_weighting->addItem(tr("Custom"), static_cast<int>(TurnWeighting::Custom));
    m_weighting->setToolTip(tr("Temporal aggregation (eq. 11): uniform α_t = 1/k; recency α_t ∝ 0.5^((k−t)/h), a "
                               "turn h turns older weighs half as much; custom: type α_t in each turn (normalised "
                               "to sum 1)."));
    wlabel->setBuddy(m_weighting);
    wrow->addWidget(wlabel);
    wrow->addWidget(m_weighting, 1);
    cl->addLayout(wrow);
    auto* hrow = new QHBoxLayout;
    auto* hlabel = new QLabel(tr("&Half-life:"), controls);
    m_halfLife = new QDoubleSpinBox(controls);
    m_halfLife->setRange(0.1, 100.0);
    m_halfLife->setDecimals(1);
    m_halfLife->setSingleStep(0.5);
    m_halfLife->setValue(1.0);
    m_halfLife->setSuffix(tr(" turns"));
    m_halfLife->setKeyboardTracking(false);
    m_halfLife->setToolTip(tr("Recency weighting: a turn this many turns older than the last weighs half as much"));
    hlabel->setBuddy(m_halfLife);
    hrow->addWidget(hlabel);
    hrow->addWidget(m_halfLife, 1);
    cl->addLayout(hrow);
    m_note = new QLabel(controls);
    m_note->setWordWrap(true);
    m_note->setTextFormat(Qt::PlainText);
    QFont small = m_note->font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    m_note->setFont(small);
    cl->addWidget(m_note);
    cl->addStretch(1);
    root->addWidget(controls);

    auto* right = new QVBoxLayout;
    right->setSpacing(3);
    m_chipScroll = new QScrollArea(this);
    m_chipScroll->setFrameShape(QFrame::NoFrame);
    m_chipScroll->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_chipScroll->setWidgetResizable(true);
    m_chipHost = new QWidget(m_chipScroll);
    m_chipLayout = new QHBoxLayout(m_chipHost);
    m_chipLayout->setContentsMargins(0, 0, 0, 0);
    m_chipLayout->setSpacing(6);
    m_chipLayout->addStretch(1);
    m_chipScroll->setWidget(m_chipHost);
    right->addWidget(m_chipScroll);
    m_strip = new TemporalStrip(this);
    right->addWidget(m_strip);
    root->addLayout(right, 1);

    connect(m_weighting, &QComboBox::currentIndexChanged, this, [this] {
        m_halfLife->setEnabled(weighting() == TurnWeighting::Recency);
        recomputeTemporal();
        updateChips();
    });
    connect(m_halfLife, &QDoubleSpinBox::valueChanged, this, [this] {
        recomputeTemporal();
        updateChips();
    });
    connect(m_selection, &SelectionModel::pinChanged, this, [this] {
        if (m_current < 0) return;
        recomputeShares();
        updateChips();
    });
    m_halfLife->setEnabled(false);
    setVisible(false);
}

TimelinePanel::~TimelinePanel() = default;

void TimelinePanel::setBackend(JobBackend* backend) {
    if (m_backend) disconnect(m_backend, nullptr, this, nullptr);
    m_backend = backend;
    m_records.clear();
    m_results.clear();
    if (JobBackend* queue = backend) {
        auto changed = [this](const QString& id) {
            const std::string s = id.toStdString();
            m_records.erase(s);
            m_results.erase(s);
            scheduleRebuild();
        };
        connect(queue, &JobBackend::jobAvailable, this, changed);
        connect(queue, &JobBackend::jobRemoved, this, changed);
        connect(queue, &JobBackend::jobStatusAvailable, this,
                [changed](const QString& id, jobs::JobStatus) { changed(id); });
        connect(queue, &JobBackend::pairResultAvailable, this,
                [changed](const QString& id, int, const QString&) { changed(id); });
        connect(queue, &JobBackend::jobsResynced, this, [this] {
            m_records.clear();
            m_results.clear();
            scheduleRebuild();
        });
    }
    scheduleRebuild();
}

void TimelinePanel::scheduleRebuild() {
    m_dirty = true;
    if (m_rebuildPending) return;
    m_rebuildPending = true;
    QTimer::singleShot(0, this, [this] {
        m_rebuildPending = false;
        refresh();
    });
}

QWidget* TimelinePanel::chip(int turn) const {
    return turn >= 0 && static_cast<size_t>(turn) < m_chips.size() ? m_chips[static_cast<size_t>(turn)] : nullptr;
}

QDoubleSpinBox* TimelinePanel::weightBox(int turn) const {
    return turn >= 0 && static_cast<size_t>(turn) < m_chips.size() ? m_chips[static_cast<size_t>(turn)]->weight : nullptr;
}

void TimelinePanel::selectTurn(int turn) {
    if (turn < 0 || static_cast<size_t>(turn) >= m_chain.size() || turn == m_current) return;
    emit turnSelected(QString::fromStdString(m_chain[static_cast<size_t>(turn)]));
}

TurnWeighting TimelinePanel::weighting() const { return static_cast<TurnWeighting>(m_weighting->currentData().toInt()); }

void TimelinePanel::setWeighting(TurnWeighting w) { m_weighting->setCurrentIndex(m_weighting->findData(static_cast<int>(w))); }

QString TimelinePanel::note() const { return m_note->text(); }

std::shared_ptr<const jobs::JobRecord> TimelinePanel::turnRecord(int turn) {
    if (!m_backend || turn < 0 || static_cast<size_t>(turn) >= m_chain.size()) return nullptr;
    const std::string& id = m_chain[static_cast<size_t>(turn)];
    if (auto it = m_records.find(id); it != m_records.end()) return it->second;
    auto rec = m_backend->job(id);
    if (!rec) return nullptr;
    // A remote backend fetches a turn's results on demand (pairResultAvailable
    // then rebuilds); the local one has them.
    m_backend->wantResults(id);
    auto shared = std::make_shared<const jobs::JobRecord>(std::move(*rec));
    m_records[id] = shared;
    return shared;
}

std::shared_ptr<const JobResult> TimelinePanel::turnResult(int turn) {
    if (turn < 0 || static_cast<size_t>(turn) >= m_chain.size()) return nullptr;
    const std::string& id = m_chain[static_cast<size_t>(turn)];
    if (auto it = m_results.find(id); it != m_results.end()) return it->second;
    const auto rec = turnRecord(turn);
    if (!rec) return nullptr;
    auto shared = std::make_shared<const JobResult>(jobs::toJobResult(*rec));
    m_results[id] = shared;
    return shared;
}

void TimelinePanel::refresh() {
    const std::string id = m_backend && m_model->hasJob() ? m_model->job().jobId : std::string();
    if (id.empty()) {
        if (!m_chain.empty() || isVisible()) {
            m_chain.clear();
            m_current = -1;
            m_shownJob.clear();
            rebuildChips();
            m_tokenView->setTurnTints({});
            setVisible(false);
        }
        return;
    }
    if (m_dirty || id != m_shownJob) rebuildChain();
    recompute();
}

void TimelinePanel::rebuildChain() {
    m_dirty = false;
    m_shownJob = m_model->job().jobId;
    const std::vector<std::string> before = m_chain;
    m_chain = conversationChain(*m_backend, m_shownJob);
    const auto it = std::find(m_chain.begin(), m_chain.end(), m_shownJob);
    m_current = it == m_chain.end() ? -1 : static_cast<int>(it - m_chain.begin());
    // The shown result must be the queue's job (a file may carry any job id).
    const auto rec = m_current >= 0 ? turnRecord(m_current) : nullptr;
    // A chat chain is matched by its messages (the shown text is the rendered
    // template, the record's prompt the joined turns).
    const bool chat = rec && rec->spec.messages.is_array() && !m_model->segments().empty();
    if (m_chain.size() < 2 || !rec || (!chat && rec->prompt != m_model->job().input.text)) {
        m_chain.clear();
        m_current = -1;
    }
    if (m_chain != before || m_chips.size() != m_chain.size()) rebuildChips();
    setVisible(!m_chain.empty());
    if (m_chain.empty()) m_tokenView->setTurnTints({});
}

void TimelinePanel::rebuildChips() {
    for (TurnChip* c : m_chips) delete c;
    m_chips.clear();
    for (size_t t = 0; t < m_chain.size(); ++t) {
        auto* c = new TurnChip(static_cast<int>(t), m_chipHost);
        c->onClick = [this, t] { selectTurn(static_cast<int>(t)); };
        connect(c->weight, &QDoubleSpinBox::valueChanged, this, [this] {
            if (weighting() != TurnWeighting::Custom) return;
            recomputeTemporal();
            updateChips();
        });
        m_chipLayout->insertWidget(static_cast<int>(t), c);
        m_chips.push_back(c);
    }
    if (!m_chips.empty()) m_chipScroll->setFixedHeight(m_chips.front()->sizeHint().height() + 4 +
                                                       m_chipScroll->horizontalScrollBar()->sizeHint().height());
}

void TimelinePanel::recompute() {
    if (m_current < 0) return;
    const auto rec = turnRecord(m_current);
    const int64_t n = m_model->promptLength();
    const auto& ctx = m_model->contextTokens();
    const std::vector<std::string> prompt(ctx.begin(), ctx.begin() + std::min<int64_t>(n, static_cast<int64_t>(ctx.size())));
    if (rec && rec->spec.messages.is_array() && !m_model->segments().empty()) {
        // A chat: turns from the messages each job of the chain sent.
        std::vector<int> counts;
        for (int t = 0; t <= m_current; ++t) { // the shown job and the turns before it
            const auto r = turnRecord(t);
            counts.push_back(r && r->spec.messages.is_array() ? static_cast<int>(r->spec.messages.size()) : 0);
        }
        m_tokenTurns = gui::tokenTurnsFromMessages(m_model->segments(), counts, prompt.size());
    } else {
        m_tokenTurns = gui::tokenTurns(rec ? rec->prompt : m_model->job().input.text, prompt,
                                       rec ? rec->turns : std::vector<jobs::Turn>{});
    }
    std::vector<QColor> tints(static_cast<size_t>(m_model->contextLength()));
    for (size_t k = 0; k < m_tokenTurns.turn.size() && k < tints.size(); ++k)
        tints[k] = turnQColour(m_tokenTurns.turn[k], m_tokenTurns.reply[k] ? 120 : 255);
    m_tokenView->setTurnTints(std::move(tints));
    recomputeShares();
    recomputeTemporal();
    updateChips();
}

void TimelinePanel::recomputeShares() {
    const int64_t n = m_model->promptLength();
    const int64_t k = m_selection->pinned();
    m_column = k >= n && k < m_model->contextLength() ? k - n : -1;
    QString what;
    const AttributionMatrix a = m_model->displayedMatrix(&what);
    m_shares = turnShares(a, n, m_tokenTurns, m_column);
    if (a.empty()) {
        m_shareNote = tr("Switch a method on to see what each turn contributes.");
    } else if (m_column >= 0) {
        m_shareNote = tr("Bars: what %1 “%2” draws from each turn (%3).")
                          .arg(tokenSymbol(k, n), displayToken(m_model->contextTokens()[static_cast<size_t>(k)]), what);
    } else {
        m_shareNote = tr("Bars: what the whole result draws from each turn (%1); pin an output token for its own.")
                          .arg(what);
    }
}

void TimelinePanel::recomputeTemporal() {
    m_alphas.clear();
    m_temporal.clear();
    m_temporalShare.clear();
    m_temporalNote.clear();
    m_temporalShort.clear();
    if (m_current < 0) {
        m_strip->setData({}, {}, {});
        return;
    }
    const int64_t k = m_current + 1;
    switch (weighting()) {
    case TurnWeighting::Uniform: m_alphas = an::uniformWeights(k); break;
    case TurnWeighting::Recency: m_alphas = an::recencyWeights(k, m_halfLife->value()); break;
    case TurnWeighting::Custom: {
        std::vector<double> typed;
        for (int64_t t = 0; t < k; ++t) typed.push_back(m_chips[static_cast<size_t>(t)]->weight->value());
        auto w = an::customWeights(typed, k);
        if (!w) {
            m_temporalNote = m_temporalShort = tr("Weights: %1.").arg(QString::fromStdString(w.error().message));
            m_strip->setData({}, {}, {});
            return;
        }
        m_alphas = std::move(*w);
        break;
    }
    }
    // Each turn's displayed matrix: the shown model, the active methods.
    const int model = m_model->currentModel();
    const std::string modelName = model >= 0 ? m_model->models()[static_cast<size_t>(model)] : std::string();
    std::vector<std::string> methodIds, labels;
    for (int m : m_model->activeMethods()) {
        methodIds.push_back(m_model->methods()[static_cast<size_t>(m)].id);
        labels.push_back(methodLabel(methodIds.back()).toStdString());
    }
    if (methodIds.empty()) {
        m_temporalNote = m_temporalShort = tr("Switch a method on for the temporal importance.");
        m_strip->setData({}, {}, {});
        return;
    }
    std::vector<AttributionMatrix> mats;
    std::vector<int64_t> lengths;
    QStringList notes;
    const int64_t nk = m_model->promptLength();
    for (int64_t t = 0; t < k; ++t) {
        if (t == m_current) {
            mats.push_back(m_model->displayedMatrix());
            lengths.push_back(mats.back().empty() ? 0 : nk);
            continue;
        }
        const auto job = turnResult(static_cast<int>(t));
        StatisticsRequest rq;
        rq.job = job;
        rq.scope = m_model->scope();
        rq.methodLabels = labels;
        if (job)
            for (const std::string& id : methodIds)
                for (size_t i = 0; i < job->results.size(); ++i) {
                    const MethodResult& r = job->results[i];
                    if (r.model == modelName && r.method == id && r.status == RunStatus::Completed &&
                        r.raw.rows > 0 && r.raw.data.size() == static_cast<size_t>(r.raw.rows * r.raw.cols)) {
                        rq.results.push_back(i);
                        break;
                    }
                }
        if (rq.results.size() != methodIds.size()) {
            notes << tr("turn %1 has no result of these methods on %2: it counts 0")
                         .arg(t + 1)
                         .arg(QString::fromStdString(modelName));
            mats.emplace_back();
            lengths.push_back(0);
            continue;
        }
        const MethodResult& first = job->results[rq.results[0]];
        rq.n = static_cast<int64_t>(first.input.ids.size());
        rq.t = static_cast<int64_t>(first.output.ids.size());
        mats.push_back(displayedMatrix(rq));
        const int64_t nt = std::min(rq.n, nk);
        lengths.push_back(nt);
        // Turn t's prompt should be the first n_t tokens of the shown prompt.
        for (int64_t r = 0; r < nt; ++r)
            if (first.input.ids[static_cast<size_t>(r)] != m_model->tokenId(r)) {
                notes << tr("turn %1's tokens differ from the shown prompt's from x%2 on (the joined text was split "
                            "differently); its rows are matched by position")
                             .arg(t + 1)
                             .arg(r);
                break;
            }
    }
    auto T = an::temporalImportance(mats, lengths, m_alphas);
    if (!T) {
        m_temporalNote = m_temporalShort = tr("Temporal importance: %1.").arg(QString::fromStdString(T.error().message));
        m_strip->setData({}, {}, {});
        return;
    }
    m_temporal = std::move(*T);
    m_temporalShare.assign(static_cast<size_t>(k), 0.0);
    double total = 0;
    for (size_t r = 0; r < m_temporal.size() && r < m_tokenTurns.turn.size(); ++r) {
        const int t = m_tokenTurns.turn[r];
        const double v = std::fabs(m_temporal[r]);
        if (t >= 0 && t < k) m_temporalShare[static_cast<size_t>(t)] += v;
        total += v;
    }
    for (double& s : m_temporalShare) s = total > 0 ? s / total : NAN;
    std::vector<QColor> colours;
    std::vector<QString> tokenLabels;
    for (size_t r = 0; r < m_temporal.size(); ++r) {
        const bool known = r < m_tokenTurns.turn.size();
        colours.push_back(known ? turnQColour(m_tokenTurns.turn[r], m_tokenTurns.reply[r] ? 130 : 255) : QColor(Qt::gray));
        tokenLabels.push_back(r < m_model->contextTokens().size() ? displayToken(m_model->contextTokens()[r]) : QString());
    }
    m_strip->setData(m_temporal, std::move(colours), std::move(tokenLabels));
    m_temporalNote = notes.isEmpty() ? QString() : notes.join(QStringLiteral("; ")) + QLatin1Char('.');
    m_temporalShort = notes.isEmpty() ? QString() : tr("⚠ %n note(s) on the turns' rows (hover here)", nullptr,
                                                       static_cast<int>(notes.size()));
}

void TimelinePanel::updateChips() {
    if (m_current < 0) return;
    const auto current = turnRecord(m_current);
    m_title->setText(tr("<b>Conversation</b> · turn %1 of %2").arg(m_current + 1).arg(m_chain.size()));
    const bool custom = weighting() == TurnWeighting::Custom;
    for (size_t t = 0; t < m_chips.size(); ++t) {
        TurnChip* c = m_chips[t];
        const auto rec = turnRecord(static_cast<int>(t));
        const bool analysed = static_cast<int>(t) <= m_current;
        const QString status = rec ? QString::fromLatin1(jobs::statusName(rec->status)) : tr("unknown");
        c->setCurrent(static_cast<int>(t) == m_current);
        c->title->setText(tr("<span style='color:%1'>■</span> <b>Turn %2</b> · %3%4")
                              .arg(turnQColour(static_cast<int>(t)).name())
                              .arg(t + 1)
                              .arg(status, static_cast<int>(t) == m_current ? tr(" · shown") : QString()));
        const QString typed = rec ? QString::fromStdString(rec->spec.input).simplified() : QString();
        c->excerpt->setText(c->excerpt->fontMetrics().elidedText(QStringLiteral("“%1”").arg(typed), Qt::ElideRight,
                                                                 TurnChip::kWidth - 20));
        // The tooltip: what was typed and what the model replied (from the shown prompt).
        QString reply;
        if (current && analysed)
            for (const auto& seg : current->turns)
                if (seg.job == m_chain[t] && seg.role == "output" && seg.begin >= 0 &&
                    seg.end <= static_cast<int64_t>(current->prompt.size()))
                    reply = QString::fromStdString(current->prompt.substr(static_cast<size_t>(seg.begin),
                                                                          static_cast<size_t>(seg.end - seg.begin)));
        QString tip = tr("<b>Turn %1</b> (job %2, %3)<br>Typed: “%4”")
                          .arg(t + 1)
                          .arg(QString::fromStdString(m_chain[t]), status, typed.toHtmlEscaped());
        if (!reply.isEmpty()) tip += tr("<br>Reply: “%1”").arg(reply.simplified().toHtmlEscaped());
        tip += static_cast<int>(t) == m_current ? tr("<br>This is the job shown.") : tr("<br>Click to open this turn's result.");
        c->setToolTip(tip);
        c->weight->setVisible(analysed);
        c->temporal->setVisible(analysed);
        if (!analysed) {
            c->bar->setData(0, 0, turnQColour(static_cast<int>(t)), tr("later"));
            c->bar->setToolTip(tr("A later turn: open it to see what it draws from this one"));
            continue;
        }
        const double total = m_shares.total;
        const double in = total > 0 && t < m_shares.input.size() ? m_shares.input[t] / total : NAN;
        const double re = total > 0 && t < m_shares.reply.size() ? m_shares.reply[t] / total : NAN;
        c->bar->setData(in, re, turnQColour(static_cast<int>(t)),
                        percent(t < m_shares.share.size() ? m_shares.share[t] : NAN));
        c->bar->setToolTip(tr("Attribution the shown generation draws from turn %1: %2 from the typed text (solid), "
                              "%3 from the reply (light)")
                               .arg(t + 1)
                               .arg(percent(in), percent(re)));
        c->weight->setEnabled(custom);
        if (!custom && t < m_alphas.size()) {
            const QSignalBlocker block(c->weight);
            c->weight->setValue(m_alphas[t]);
        }
        c->weight->setToolTip(custom ? tr("Type α_%1 (the weights are normalised to sum 1%2)")
                                           .arg(t + 1)
                                           .arg(t < m_alphas.size() ? tr("; in use: %1").arg(m_alphas[t], 0, 'f', 3)
                                                                    : QString())
                                     : tr("α_%1 of the chosen weighting (choose Custom to type it)").arg(t + 1));
        c->temporal->setText(tr("T %1").arg(t < m_temporalShare.size() ? percent(m_temporalShare[t]) : QStringLiteral("–")));
        c->temporal->setToolTip(tr("Share of the temporal importance Σ_t α_t · I^t (eq. 11) on turn %1's tokens").arg(t + 1));
    }
    m_note->setText(m_temporalShort.isEmpty() ? m_shareNote : m_shareNote + QLatin1Char('\n') + m_temporalShort);
    m_note->setToolTip(m_temporalNote.isEmpty() ? m_shareNote : m_shareNote + QLatin1Char('\n') + m_temporalNote);
}

} // namespace tokenlens::gui