#include "comparison_panel.h"

#include "analysis/alignment.h"
#include "analysis/statistics.h"
#include "analysis/token_importance.h"
#include "results/selection_model.h"
#include "viewmodel/palette.h"
#include "viewmodel/result_model.h"

#include <QLabel>
#include <QPainter>
#include <QVBoxLayout>

#include <algorithm>

namespace tokenlens::gui {

namespace {

QString num(double v, int digits = 2) {
    return std::isfinite(v) ? QString::number(v, 'f', digits) : QStringLiteral("–");
}

constexpr int kRowHeight = 18;
constexpr int kLabelWidth = 150;

} // namespace

analysis::TokenCategories contextCategories(const ResultModel& model,
                                            const std::vector<analysis::UserCategory>& userCategories) {
    analysis::TokenCategories out;
    if (!model.hasJob() || model.methods().empty()) return out;
    const MethodResult& r = model.methodResult(0);
    const int64_t n = model.promptLength(), t = model.outputLength();
    const auto& tokens = model.contextTokens();
    auto part = [&](const std::string& text, int64_t from, int64_t count) {
        std::vector<std::string> toks(tokens.begin() + from, tokens.begin() + from + count);
        const auto spans = analysis::locateTokens(text, toks);
        auto c = analysis::categorize(text, spans, {}, userCategories);
        if (!c.ok()) c = analysis::categorize(text, spans);
        if (!c.ok()) c = analysis::TokenCategories{std::vector<analysis::Category>(static_cast<size_t>(count),
                                                                                    analysis::Category::Special),
                                                   {}, {}, std::vector<int64_t>(static_cast<size_t>(count), -1)};
        return std::move(*c);
    };
    out = part(r.input.text, 0, n);
    const auto o = part(r.output.text, n, t);
    out.builtin.insert(out.builtin.end(), o.builtin.begin(), o.builtin.end());
    out.word.insert(out.word.end(), o.word.begin(), o.word.end());
    for (size_t u = 0; u < out.user.size(); ++u) {
        if (u < o.user.size()) out.user[u].insert(out.user[u].end(), o.user[u].begin(), o.user[u].end());
        out.user[u].resize(out.builtin.size(), false);
    }
    return out;
}

ComparisonChart::ComparisonChart(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void ComparisonChart::setRows(std::vector<Row> rows) {
    m_rows = std::move(rows);
    updateGeometry();
    update();
}

QSize ComparisonChart::sizeHint() const {
    return {280, static_cast<int>(m_rows.size()) * kRowHeight + 4};
}

void ComparisonChart::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const QPalette& pal = palette();
    const QFontMetrics fm(font());
    const int labelWidth = std::min(kLabelWidth, width() / 2);
    const int x0 = labelWidth + 4, w = std::max(10, width() - x0 - 2);
    for (size_t i = 0; i < m_rows.size(); ++i) {
        const Row& r = m_rows[i];
        const int y = static_cast<int>(i) * kRowHeight + 2;
        p.setPen(pal.color(QPalette::WindowText));
        p.drawText(QRect(0, y, labelWidth, kRowHeight), Qt::AlignVCenter | Qt::AlignLeft,
                   fm.elidedText(r.label, Qt::ElideRight, labelWidth));
        p.fillRect(QRect(x0, y + 2, w, kRowHeight - 4), pal.color(QPalette::AlternateBase));
        const double lo = r.signedScale ? -1.0 : 0.0;
        auto xOf = [&](double v) { return x0 + static_cast<int>((std::clamp(v, lo, 1.0) - lo) / (1.0 - lo) * w); };
        const int zero = xOf(0.0);
        const int half = (kRowHeight - 4) / 2;
        QColor second = r.colour;
        second.setAlpha(120);
        for (int k = 0; k < 2; ++k) {
            const double v = k == 0 ? r.first : r.second;
            if (!std::isfinite(v)) continue;
            const int xv = xOf(v);
            p.fillRect(QRect(std::min(zero, xv), y + 2 + k * half, std::max(1, std::abs(xv - zero)), half),
                       k == 0 ? r.colour : second);
        }
        if (r.signedScale) {
            p.setPen(pal.color(QPalette::Mid));
            p.drawLine(zero, y + 1, zero, y + kRowHeight - 2);
        }
    }
}

MethodComparisonPanel::MethodComparisonPanel(const ResultModel* model, const SelectionModel* selection,
                                             QWidget* parent)
    : QWidget(parent), m_model(model), m_selection(selection) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    m_title = new QLabel(this);
    m_title->setWordWrap(true);
    lay->addWidget(m_title);
    m_chart = new ComparisonChart(this);
    m_chart->setToolTip(tr("Pairs: Spearman ρ (upper bar) and Kendall τ_b (lower bar) on [−1, 1]. "
                           "Methods: Gini (upper) and normalised entropy (lower) on [0, 1]."));
    lay->addWidget(m_chart);
    m_table = new QLabel(this);
    m_table->setTextFormat(Qt::RichText);
    m_table->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_table->setWordWrap(true);
    lay->addWidget(m_table);
    m_categoryLabel = new QLabel(this);
    m_categoryLabel->setTextFormat(Qt::RichText);
    m_categoryLabel->setWordWrap(true);
    m_categoryLabel->setToolTip(tr("Share of each method's |attribution| over the prompt tokens per linguistic "
                                   "category (a word's sub-tokens share its category)"));
    lay->addWidget(m_categoryLabel);
    connect(m_selection, &SelectionModel::pinChanged, this, &MethodComparisonPanel::pinChanged);
    refresh();
}

void MethodComparisonPanel::setUserCategories(std::vector<analysis::UserCategory> categories) {
    m_userCategories = std::move(categories);
    refresh();
}

void MethodComparisonPanel::pinChanged() {
    const int64_t k = m_selection->pinned();
    // A pin past the last token (SelectionModel does not clamp) counts as none.
    const int64_t column =
        m_model->hasJob() && k >= m_model->promptLength() && k < m_model->contextLength() ? k - m_model->promptLength() : -1;
    if (column != m_column) refresh();
}

std::vector<double> MethodComparisonPanel::values(int method) const {
    if (!m_segments) return tokenValues(method);
    // The matrix summed into segments, as the statistics panel ranks them.
    const AttributionMatrix& s = m_model->segmentRaw(method);
    const auto segs = static_cast<int64_t>(m_model->promptSegments().size());
    if (m_column < 0) return analysis::tokenImportance(s, segs).input;
    std::vector<double> v(static_cast<size_t>(segs), NAN);
    if (m_column >= s.cols) return v;
    for (int64_t g = 0; g < segs; ++g) v[static_cast<size_t>(g)] = s.at(g, m_column);
    return v;
}

std::vector<double> MethodComparisonPanel::tokenValues(int method) const {
    const AttributionMatrix& a = m_model->methodResult(method).raw;
    const int64_t n = std::min(m_model->promptLength(), a.rows);
    if (m_column < 0) return analysis::tokenImportance(a, n).input;
    std::vector<double> v(static_cast<size_t>(std::max<int64_t>(n, 0)), NAN);
    if (m_column >= a.cols) return v;
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = a.at(i, m_column);
    return v;
}

QString MethodComparisonPanel::text() const {
    return m_title->text() + QLatin1Char('\n') + m_table->text() + QLatin1Char('\n') + m_categoryLabel->text();
}

void MethodComparisonPanel::refresh() {
    m_agreements.clear();
    m_concentrations.clear();
    const int64_t k = m_selection->pinned();
    m_column =
        m_model->hasJob() && k >= m_model->promptLength() && k < m_model->contextLength() ? k - m_model->promptLength() : -1;
    m_segments = m_model->hasJob() && !m_model->promptSegments().empty();
    if (!m_model->hasJob()) {
        m_title->clear();
        m_table->clear();
        m_categoryLabel->clear();
        m_chart->setRows({});
        return;
    }
    m_categories = contextCategories(*m_model, m_userCategories);
    analysis::TokenCategories promptCategories = m_categories;
    const auto n = static_cast<size_t>(m_model->promptLength());
    promptCategories.builtin.resize(std::min(n, promptCategories.builtin.size()));
    promptCategories.word.resize(promptCategories.builtin.size());
    for (auto& flags : promptCategories.user) flags.resize(promptCategories.builtin.size(), false);

    const std::vector<int> active = m_model->activeMethods();
    std::vector<std::vector<double>> vals;
    for (int m : active) vals.push_back(values(m));
    for (size_t i = 0; i < active.size(); ++i) {
        MethodConcentration c;
        c.method = active[i];
        c.gini = analysis::gini(vals[i]);
        c.entropy = analysis::normalizedEntropy(vals[i]);
        const std::vector<double> perToken = m_segments ? tokenValues(active[i]) : vals[i];
        if (perToken.size() == promptCategories.builtin.size()) {
            auto mass = analysis::categoryMass(promptCategories, perToken);
            if (mass.ok()) c.categories = std::move(*mass);
        }
        m_concentrations.push_back(std::move(c));
        for (size_t j = i + 1; j < active.size(); ++j)
            m_agreements.push_back({active[i], active[j], analysis::spearman(vals[i], vals[j]),
                                    analysis::kendallTauB(vals[i], vals[j])});
    }

    const size_t compared = m_segments ? m_model->promptSegments().size() : n;
    const QString over = m_segments ? tr("%1 prompt segments (each method's tokens summed per segment)").arg(compared)
                                    : tr("%1 prompt tokens").arg(compared);
    m_title->setText(m_column < 0
                         ? tr("Whole result: token importance (eq. 6) of the %1").arg(over)
                         : tr("Output token %1 “%2”: its column over the %3")
                               .arg(tokenSymbol(k, m_model->promptLength()),
                                    displayToken(m_model->contextTokens()[static_cast<size_t>(k)]), over));
    auto label = [&](int m) { return methodLabel(m_model->methods()[static_cast<size_t>(m)].id); };
    std::vector<ComparisonChart::Row> rows;
    QString html = QStringLiteral("<table cellspacing=0 cellpadding=1>");
    if (active.size() < 2) {
        html += tr("<tr><td colspan=3><i>Activate two methods to compare their rankings.</i></td></tr>");
    } else {
        html += (m_segments ? tr("<tr><th align=left>Agreement over segments</th>")
                            : tr("<tr><th align=left>Agreement</th>")) +
                tr("<th align=right>&nbsp;ρ</th><th align=right>&nbsp;τ_b</th></tr>");
        for (const auto& a : m_agreements) {
            const QString name = label(a.a) + QStringLiteral(" · ") + label(a.b);
            html += QStringLiteral("<tr><td>%1</td><td align=right>&nbsp;%2</td><td align=right>&nbsp;%3</td></tr>")
                        .arg(name.toHtmlEscaped(), num(a.spearman), num(a.kendall));
            QColor mix = blendIntensities(std::vector<double>{1.0, 1.0},
                                          std::vector<QColor>{m_model->methods()[static_cast<size_t>(a.a)].colour,
                                                              m_model->methods()[static_cast<size_t>(a.b)].colour});
            mix.setAlpha(255);
            rows.push_back({name, a.spearman, a.kendall, true, mix});
        }
    }
    html += (m_segments ? tr("<tr><th align=left>Concentration over segments</th>")
                        : tr("<tr><th align=left>Concentration</th>")) +
            tr("<th align=right>&nbsp;Gini</th><th align=right>&nbsp;H</th></tr>");
    for (const auto& c : m_concentrations) {
        html += QStringLiteral("<tr><td>%1</td><td align=right>&nbsp;%2</td><td align=right>&nbsp;%3</td></tr>")
                    .arg(label(c.method).toHtmlEscaped(), num(c.gini), num(c.entropy));
        rows.push_back({label(c.method), c.gini, c.entropy, false,
                        m_model->methods()[static_cast<size_t>(c.method)].colour});
    }
    html += QStringLiteral("</table>");
    m_table->setText(html);
    m_chart->setRows(std::move(rows));

    // Categories are per token (and word): with segments the shares stay per
    // prompt token, from the values before summing.
    QString cat = m_segments ? tr("<b>Mass per category</b> (prompt tokens, not segments)")
                             : tr("<b>Mass per category</b> (prompt tokens)");
    for (const auto& c : m_concentrations) {
        QStringList parts;
        for (size_t q = 0; q < c.categories.names.size(); ++q)
            if (c.categories.tokens[q] > 0 && std::isfinite(c.categories.share[q]))
                parts << QStringLiteral("%1 %2 %").arg(QString::fromStdString(c.categories.names[q]).toHtmlEscaped(),
                                                       QString::number(100.0 * c.categories.share[q], 'f', 0));
        cat += QStringLiteral("<br><span style='color:%1'>■</span> %2: %3")
                   .arg(m_model->methods()[static_cast<size_t>(c.method)].colour.name(), label(c.method).toHtmlEscaped(),
                        parts.join(QStringLiteral(" · ")));
    }
    m_categoryLabel->setText(cat);
}

} // namespace tokenlens::gui
