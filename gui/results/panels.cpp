#include "results/panels.h"

#include "results/selection_model.h"
#include "viewmodel/palette.h"

#include <QFontMetricsF>
#include <QApplication>
#include <QPainter>
#include <QPointer>
#include <QThreadPool>
#include <QTextDocument>
#include <QVBoxLayout>

#include <algorithm>
#include <span>
#include <cmath>

namespace tokenlens::gui {

namespace {

QString num(double v, int precision = 4) {
    if (std::isnan(v)) return QStringLiteral("—");
    const double a = std::abs(v);
    if (a != 0 && (a < 1e-3 || a >= 1e5)) return QString::number(v, 'e', precision - 1);
    return QString::number(v, 'f', precision);
}

QString esc(const QString& s) { return s.toHtmlEscaped(); }

QLabel* makeLabel(QWidget* parent) {
    auto* l = new QLabel(parent);
    l->setWordWrap(true);
    l->setTextFormat(Qt::RichText);
    l->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return l;
}

} // namespace

// ---------------------------------------------------------------- details

DetailsPanel::DetailsPanel(const ResultModel* model, SelectionModel* selection, QWidget* parent)
    : QWidget(parent), m_model(model), m_selection(selection) {
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    setToolTip(tr("I (eq. 6): the token's raw importance, the sum of its attributions (over the outputs for a prompt "
                  "token, over the prompt for an output token).\nRank: its place among the prompt (or output) tokens, "
                  "1 = most important.\n→ token: its raw window value (eq. 4/5) towards the pinned or hovered token."));
    connect(selection, &SelectionModel::changed, this, &DetailsPanel::refresh);
    refresh();
}

QString DetailsPanel::text() const {
    QStringList out;
    for (const auto& l : m_lines) out << l.cells.join(QLatin1Char('\t'));
    return out.join(QLatin1Char('\n'));
}

QSize DetailsPanel::sizeHint() const {
    const QFontMetrics fm(font());
    int h = 0;
    for (const auto& l : m_lines) h += (l.kind == Line::Title ? fm.height() * 5 / 4 : fm.height()) + 3;
    return {240, std::max(h, fm.height() * 2)};
}

void DetailsPanel::refresh() {
    m_lines.clear();
    const int64_t k = m_selection->described();
    auto add = [&](Line::Kind kind, QStringList cells, QColor swatch = QColor()) {
        m_lines.push_back(Line{kind, std::move(cells), swatch});
    };
    if (!m_model->hasJob() || k < 0 || k >= m_model->contextLength()) {
        add(Line::Note, {tr("Hover a token or a heatmap cell to see")});
        add(Line::Note, {tr("its scores; click to pin it.")});
    } else {
        const int64_t n = m_model->promptLength();
        const int64_t focus = m_selection->focus() == k ? m_selection->pinned() : m_selection->focus();
        const TokenDetails d = m_model->details(k, focus == k ? -1 : focus);
        add(Line::Title, {QStringLiteral("“%1”").arg(displayToken(d.text))});
        add(Line::Pair, {tr("Position"), d.output ? tr("%1 · output %2 · row %3").arg(tokenSymbol(k, n)).arg(d.position).arg(k)
                                                 : tr("%1 · prompt token %2").arg(tokenSymbol(k, n)).arg(d.position)});
        add(Line::Pair, {tr("Token id"), QString::number(d.id)});
        if (d.output) {
            add(Line::Pair, {tr("Step probability"), num(d.stepProbability)});
            add(Line::Pair, {tr("Step entropy"), std::isnan(d.stepEntropy) ? num(d.stepEntropy)
                                                                           : tr("%1 nats").arg(num(d.stepEntropy, 3))});
        }
        if (!d.scores.empty()) {
            const bool toFocus = std::any_of(d.scores.begin(), d.scores.end(),
                                             [](const MethodScore& sc) { return !std::isnan(sc.toFocus); });
            QStringList header{tr("Method"), tr("I (eq. 6)"), tr("rank")};
            if (toFocus) header << tr("→ %1").arg(tokenSymbol(focus, n));
            add(Line::Header, header);
            for (const auto& sc : d.scores) {
                const auto& sm = m_model->methods()[static_cast<size_t>(sc.method)];
                QStringList cells{methodLabel(sm.id), num(sc.importance),
                                  sc.rank > 0 ? QStringLiteral("%1/%2").arg(sc.rank).arg(sc.rankOf) : QStringLiteral("—")};
                if (toFocus) cells << num(sc.toFocus);
                add(Line::Method, cells, sm.colour);
            }
        }
        // A token of a segment (a chip stands for its first token): the
        // segment's own importance, whose min–max over the segments colours
        // its chip (the segment scale, docs/gui.md "Segments").
        if (const int g = m_model->promptSegmentOf(k); g >= 0) {
            const auto& seg = m_model->promptSegments()[static_cast<size_t>(g)];
            if (seg.tokenEnd - seg.tokenStart > 1) {
                add(Line::Header, {tr("Segment %1–%2").arg(tokenSymbol(seg.tokenStart, n), tokenSymbol(seg.tokenEnd - 1, n)),
                                   tr("I (eq. 6)"), tr("rank")});
                for (int m : m_model->activeMethods()) {
                    const auto imp = m_model->segmentImportance(m);
                    const auto ranks = analysis::rank(std::span<const double>(imp));
                    const auto of = std::count_if(imp.begin(), imp.end(), [](double v) { return std::isfinite(v); });
                    const auto& sm = m_model->methods()[static_cast<size_t>(m)];
                    const auto gi = static_cast<size_t>(g);
                    add(Line::Method,
                        {methodLabel(sm.id), num(imp[gi]),
                         ranks[gi] > 0 ? QStringLiteral("%1/%2").arg(ranks[gi]).arg(of) : QStringLiteral("—")},
                        sm.colour);
                }
            }
        }
        if (const int64_t r = m_selection->cellRow(), c = m_selection->cellCol(); r >= 0 && c >= 0) {
            add(Line::Header, {tr("Cell A[%1, %2]: %3 → %4").arg(r).arg(c).arg(tokenSymbol(r, n), tokenSymbol(n + c, n))});
            for (int m : m_model->activeMethods()) {
                const float v = m_model->methodResult(m).raw.at(r, c);
                const auto& sm = m_model->methods()[static_cast<size_t>(m)];
                add(Line::Method, {methodLabel(sm.id), std::isnan(v) ? tr("no value (future)") : num(v)}, sm.colour);
            }
            // A segment row stands for its first token: the cell it colours is the segment's sum.
            if (const int g = m_model->promptSegmentOf(r); g >= 0) {
                const auto& seg = m_model->promptSegments()[static_cast<size_t>(g)];
                if (seg.tokenEnd - seg.tokenStart > 1) {
                    add(Line::Header, {tr("Segment %1–%2 → %3, summed")
                                           .arg(tokenSymbol(seg.tokenStart, n), tokenSymbol(seg.tokenEnd - 1, n),
                                                tokenSymbol(n + c, n))});
                    for (int m : m_model->activeMethods()) {
                        const auto& raw = m_model->methodResult(m).raw;
                        double sum = 0;
                        bool any = false;
                        for (int64_t i = seg.tokenStart; i < seg.tokenEnd; ++i) {
                            if (const float v = raw.at(i, c); std::isfinite(v)) {
                                sum += v;
                                any = true;
                            }
                        }
                        const auto& sm = m_model->methods()[static_cast<size_t>(m)];
                        add(Line::Method, {methodLabel(sm.id), any ? num(sum) : tr("no value")}, sm.colour);
                    }
                }
            }
        }
    }
    if (static_cast<int>(m_lines.size()) != m_lineCount) {
        m_lineCount = static_cast<int>(m_lines.size());
        updateGeometry();
    }
    update();
}

void DetailsPanel::paintEvent(QPaintEvent*) {
    QPainter p(this);
    QFont bold = font();
    bold.setBold(true);
    const QPalette& pal = palette();
    const QFontMetrics fm(font());
    const int lineH = fm.height() + 3;
    const int w = width();
    // Columns of the method table: name, then right-aligned numbers.
    const int numW = std::max(fm.horizontalAdvance(QStringLiteral("-0.000e-00 ")),
                              QFontMetrics(bold).horizontalAdvance(tr("I (eq. 6)") + QStringLiteral("  ")));
    const int rankW = fm.horizontalAdvance(QStringLiteral("8888/8888 "));
    int y = 0;
    for (const auto& l : m_lines) {
        switch (l.kind) {
        case Line::Title: {
            QFont big = bold;
            big.setPointSizeF(font().pointSizeF() * 1.2);
            p.setFont(big);
            p.setPen(pal.color(QPalette::Text));
            const QFontMetrics bfm(big);
            p.drawText(QRect(0, y, w, bfm.height()), Qt::AlignLeft | Qt::AlignVCenter,
                       bfm.elidedText(l.cells.value(0), Qt::ElideRight, w));
            y += fm.height() * 5 / 4 + 3;
            p.setFont(font());
            continue;
        }
        case Line::Note:
            p.setPen(pal.color(QPalette::PlaceholderText));
            p.drawText(QRect(0, y, w, lineH), Qt::AlignLeft | Qt::AlignVCenter, l.cells.value(0));
            break;
        case Line::Pair: {
            const int keyW = std::min(w / 2, fm.horizontalAdvance(tr("Step probability")) + 12);
            p.setPen(pal.color(QPalette::PlaceholderText));
            p.drawText(QRect(0, y, keyW, lineH), Qt::AlignLeft | Qt::AlignVCenter, l.cells.value(0));
            p.setPen(pal.color(QPalette::Text));
            p.drawText(QRect(keyW, y, w - keyW, lineH), Qt::AlignLeft | Qt::AlignVCenter,
                       fm.elidedText(l.cells.value(1), Qt::ElideRight, w - keyW));
            break;
        }
        case Line::Header:
        case Line::Method: {
            p.setFont(l.kind == Line::Header ? bold : font());
            p.setPen(pal.color(QPalette::Text));
            int x = 0;
            if (l.kind == Line::Method) {
                const int sw = fm.height() * 2 / 3;
                p.fillRect(QRect(0, y + (lineH - sw) / 2, sw, sw), l.swatch);
                x = sw + 5;
            }
            if (l.cells.size() == 1) {
                p.drawText(QRect(x, y, w - x, lineH), Qt::AlignLeft | Qt::AlignVCenter,
                           fm.elidedText(l.cells[0], Qt::ElideRight, w - x));
            } else {
                // name | value | rank | →focus, numbers right-aligned from the right edge.
                const int extra = static_cast<int>(l.cells.size()) - 2; // columns after the value
                int right = w;
                std::vector<QRect> rects(static_cast<size_t>(l.cells.size()));
                for (int c = static_cast<int>(l.cells.size()) - 1; c >= 1; --c) {
                    const int cw = (c == 2 && extra >= 1) ? rankW : numW;
                    rects[static_cast<size_t>(c)] = QRect(right - cw, y, cw, lineH);
                    right -= cw;
                }
                p.drawText(QRect(x, y, std::max(0, right - x), lineH), Qt::AlignLeft | Qt::AlignVCenter,
                           fm.elidedText(l.cells[0], Qt::ElideRight, std::max(0, right - x)));
                for (int c = 1; c < l.cells.size(); ++c) {
                    p.drawText(rects[static_cast<size_t>(c)], Qt::AlignRight | Qt::AlignVCenter, l.cells[c]);
                }
            }
            p.setFont(font());
            break;
        }
        }
        y += lineH;
    }
}

// ------------------------------------------------------------------ charts

TopTokensChart::TopTokensChart(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

QSize TopTokensChart::sizeHint() const {
    const QFontMetricsF fm(font());
    return {220, static_cast<int>(std::ceil((fm.height() + 4) * static_cast<double>(std::max<size_t>(1, m_labels.size()))))};
}

void TopTokensChart::setData(const std::vector<QString>& labels, const std::vector<double>& values,
                             const QColor& colour) {
    m_labels = labels;
    m_values = values;
    m_colour = colour;
    updateGeometry();
    update();
}

void TopTokensChart::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const QFontMetricsF fm(font());
    const double rowH = fm.height() + 4;
    const QPalette& pal = palette();
    if (m_labels.empty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignLeft | Qt::AlignVCenter, tr("No values."));
        return;
    }
    double maxAbs = 0;
    for (double v : m_values) maxAbs = std::max(maxAbs, std::abs(v));
    const double labelW = std::min(width() * 0.42, 130.0);
    const double valueW = fm.horizontalAdvance(QStringLiteral("-0.0000e-00"));
    const double barX = labelW + 6, barW = std::max(10.0, width() - barX - valueW - 6);
    QColor fill = m_colour;
    fill.setAlphaF(0.75f);
    for (size_t i = 0; i < m_labels.size(); ++i) {
        const double y = static_cast<double>(i) * rowH;
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRectF(0, y, labelW, rowH), Qt::AlignRight | Qt::AlignVCenter,
                   fm.elidedText(m_labels[i], Qt::ElideRight, labelW));
        const double frac = maxAbs > 0 ? std::abs(m_values[i]) / maxAbs : 0;
        p.fillRect(QRectF(barX, y + 3, std::max(1.0, barW * frac), rowH - 6), fill);
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(QRectF(barX + barW + 4, y, valueW, rowH), Qt::AlignLeft | Qt::AlignVCenter, num(m_values[i], 3));
    }
}

HistogramChart::HistogramChart(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

void HistogramChart::setHistogram(const analysis::Histogram& h, const QColor& colour, bool segments) {
    m_hist = h;
    m_colour = colour;
    m_segments = segments;
    update();
}

void HistogramChart::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const QPalette& pal = palette();
    const QFontMetricsF fm(font());
    const double axisH = fm.height() + 2;
    const QRectF plot(2, 2, width() - 4, height() - axisH - 4);
    p.setPen(QPen(pal.color(QPalette::Mid), 1));
    p.drawLine(plot.bottomLeft(), plot.bottomRight());
    if (m_hist.counts.empty() || std::isnan(m_hist.min)) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(plot, Qt::AlignCenter, tr("No values."));
        return;
    }
    const int64_t maxCount = *std::max_element(m_hist.counts.begin(), m_hist.counts.end());
    const double bw = plot.width() / static_cast<double>(m_hist.counts.size());
    QColor fill = m_colour;
    fill.setAlphaF(0.75f);
    for (size_t b = 0; b < m_hist.counts.size(); ++b) {
        const double h = maxCount > 0 ? plot.height() * static_cast<double>(m_hist.counts[b]) / static_cast<double>(maxCount) : 0;
        p.fillRect(QRectF(plot.left() + static_cast<double>(b) * bw + 1, plot.bottom() - h, bw - 2, h), fill);
    }
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width() / 2, axisH), Qt::AlignLeft | Qt::AlignVCenter,
               num(m_hist.min, 3));
    p.drawText(QRectF(plot.center().x(), plot.bottom() + 2, plot.width() / 2, axisH), Qt::AlignRight | Qt::AlignVCenter,
               num(m_hist.max, 3));
    int64_t total = 0;
    for (int64_t c : m_hist.counts) total += c;
    p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), axisH), Qt::AlignHCenter | Qt::AlignVCenter,
               m_segments ? tr("%n segment(s)", nullptr, static_cast<int>(total))
                          : tr("%n token(s)", nullptr, static_cast<int>(total)));
}

// -------------------------------------------------------------- statistics

StatisticsPanel::StatisticsPanel(const ResultModel* model, SelectionModel* selection, QWidget* parent)
    : QWidget(parent), m_model(model), m_selection(selection) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    lay->setSpacing(4);
    m_basis = makeLabel(this);
    m_top = new TopTokensChart(this);
    m_hist = new HistogramChart(this);
    m_summary = makeLabel(this);
    m_hist->setToolTip(tr("How the values above are distributed over all tokens (equal-width bins from the "
                          "smallest to the largest value; the tallest bar is the most common range)."));
    m_summary->setToolTip(tr("Gini: 0 = spread evenly, near 1 = one token holds everything.\n"
                             "Entropy (normalised): 1 = uniform, 0 = one token."));
    lay->addWidget(m_basis);
    lay->addWidget(m_top);
    lay->addWidget(m_hist);
    lay->addWidget(m_summary);
    // Statistics follow the pinned token (not every hover: they are a summary).
    connect(selection, &SelectionModel::pinChanged, this, &StatisticsPanel::refresh);
    refresh();
}

void StatisticsPanel::refresh() {
    const quint64 serial = ++m_serial;
    if (!m_model->hasJob() || m_model->contextLength() == 0) {
        m_computing = false;
        m_stats = Statistics{};
        m_basis->setText(QString());
        m_top->setData({}, {}, QColor());
        m_hist->setHistogram({}, QColor());
        m_summary->setText(QString());
        emit updated();
        return;
    }
    StatisticsRequest rq = m_model->statisticsRequest(m_selection->pinned(), 8);
    // Below ~2 million cells the statistics take a few milliseconds.
    if (rq.cells() < 2'000'000) {
        apply(computeStatistics(rq));
        return;
    }
    m_computing = true;
    m_basis->setText(QStringLiteral("<i>%1</i>").arg(esc(tr("Computing statistics…"))));
    QPointer<StatisticsPanel> self(this);
    QThreadPool::globalInstance()->start([self, rq = std::move(rq), serial] {
        auto stats = std::make_shared<Statistics>(computeStatistics(rq));
        QMetaObject::invokeMethod(
            qApp,
            [self, stats, serial] {
                if (self && self->m_serial == serial) self->apply(*stats);
            },
            Qt::QueuedConnection);
    });
}

void StatisticsPanel::apply(const Statistics& stats) {
    m_computing = false;
    m_stats = stats;
    m_basis->setText(QStringLiteral("<b>%1</b>").arg(esc(m_stats.basis)));
    std::vector<QString> labels;
    const int64_t n = m_model->promptLength();
    for (size_t i = 0; i < m_stats.top.size(); ++i) {
        const int64_t k = m_stats.top[i], end = i < m_stats.topEnd.size() ? m_stats.topEnd[i] : k + 1;
        if (end > k + 1) { // a segment: its range and its own text
            QString text = m_model->segmentSourceText(k);
            if (text.isEmpty()) text = displayToken(m_model->contextTokens()[static_cast<size_t>(k)]) + QStringLiteral("…");
            labels.push_back(QStringLiteral("%1–%2 %3").arg(tokenSymbol(k, n), tokenSymbol(end - 1, n), text));
            continue;
        }
        labels.push_back(QStringLiteral("%1 %2").arg(tokenSymbol(k, n), displayToken(m_model->contextTokens()[static_cast<size_t>(k)])));
    }
    const auto colours = m_model->activeColours();
    std::vector<double> ones(colours.size(), 1.0);
    QColor colour = colours.empty() ? palette().color(QPalette::Mid) : blendIntensities(ones, colours);
    colour.setAlpha(255);
    m_top->setData(labels, m_stats.topValues, colour);
    m_hist->setHistogram(m_stats.histogram, colour, m_stats.segments);
    m_summary->setText(tr("Concentration: Gini %1 · entropy %2").arg(num(m_stats.gini, 2), num(m_stats.entropy, 2)));
    emit updated();
}

// ---------------------------------------------------------------- warnings

QString adviceFor(const std::string& method, const std::string& warning) {
    const QString w = QString::fromStdString(warning);
    if (w.contains(QStringLiteral("truncated"))) {
        return QObject::tr("The dropped tokens have no scores. Shorten the prompt, or use a model with a longer "
                           "context, and run the job again.");
    }
    if (w.contains(QStringLiteral("converged"))) {
        return QObject::tr("Rankings are usually still right, but the scores do not add up to the change in the "
                           "output. Re-run integrated gradients with more steps before relying on the numbers.");
    }
    (void)method;
    return {};
}

WarningsPanel::WarningsPanel(const ResultModel* model, QWidget* parent) : QWidget(parent), m_model(model) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    m_label = makeLabel(this);
    lay->addWidget(m_label);
    refresh();
}

QString WarningsPanel::text() const {
    QTextDocument doc;
    doc.setHtml(m_label->text());
    return doc.toPlainText();
}

void WarningsPanel::refresh() {
    QString html;
    int count = 0;
    if (m_model->hasJob()) {
        const auto& job = m_model->job();
        const std::string& model = m_model->currentModel() >= 0
                                       ? m_model->models()[static_cast<size_t>(m_model->currentModel())]
                                       : std::string();
        auto item = [&](const QString& title, const QString& body, const QString& advice) {
            ++count;
            html += QStringLiteral("<p style=\"margin-top:0;margin-bottom:6px\">⚠ <b>%1</b> %2").arg(esc(title), esc(body));
            if (!advice.isEmpty()) html += QStringLiteral("<br><i>%1</i>").arg(esc(advice));
            html += QStringLiteral("</p>");
        };
        for (const auto& r : job.results) {
            if (r.model != model || r.status != RunStatus::Completed) continue;
            for (const auto& w : r.warnings) {
                QString body = QString::fromStdString(w);
                // "integrated gradients has not converged…" under the title
                // "Integrated gradients:" reads "has not converged…".
                const QString label = methodLabel(r.method);
                if (body.startsWith(label, Qt::CaseInsensitive)) body = body.mid(label.size()).trimmed();
                if (!body.isEmpty()) body[0] = body[0].toUpper();
                item(methodLabel(r.method) + QStringLiteral(":"), body, adviceFor(r.method, w));
            }
        }
        for (const auto& h : m_model->hiddenResults()) {
            const auto& r = job.results[h.resultIndex];
            const QString what = r.status == RunStatus::Completed ? tr("is not shown") : tr("did not complete");
            item(tr("%1 %2:").arg(methodLabel(r.method), what), QString::fromStdString(h.reason),
                 r.status == RunStatus::Cancelled ? tr("It was cancelled; run the job again to get it.")
                                                  : tr("Run this method again; if it fails again, the message above "
                                                       "says why."));
        }
    }
    if (count == 0) {
        html = QStringLiteral("<span style=\"color:%1\">%2</span>")
                   .arg(palette().color(QPalette::PlaceholderText).name(),
                        esc(m_model->hasJob() ? tr("No warnings for this model.") : QString()));
    }
    m_label->setText(html);
    if (count != m_count) {
        m_count = count;
        emit countChanged(count);
    }
}

} // namespace tokenlens::gui
