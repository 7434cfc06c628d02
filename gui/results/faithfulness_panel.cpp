#include "faithfulness_panel.h"

#include "results/selection_model.h"
#include "viewmodel/palette.h"
#include "viewmodel/result_model.h"

#include <QLabel>
#include <QVBoxLayout>

#include <cmath>

namespace tokenlens::gui {

namespace {

QString figure(const nlohmann::json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return QStringLiteral("–");
    const double v = j[key].get<double>();
    return std::isfinite(v) ? QString::number(v, 'f', 3) : QStringLiteral("–");
}

} // namespace

FaithfulnessPanel::FaithfulnessPanel(const ResultModel* model, const SelectionModel* selection, QWidget* parent)
    : QWidget(parent), m_model(model), m_selection(selection) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    m_label = new QLabel(this);
    m_label->setWordWrap(true);
    m_label->setTextFormat(Qt::RichText);
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(m_label);
    connect(m_selection, &SelectionModel::changed, this, &FaithfulnessPanel::focusChanged);
    refresh();
}

void FaithfulnessPanel::focusChanged() {
    const int64_t k = m_selection->focus();
    const int64_t column = m_model->hasJob() && k >= m_model->promptLength() ? k - m_model->promptLength() : -1;
    if (column != m_column) refresh();
}

QString FaithfulnessPanel::text() const { return m_label->text(); }

void FaithfulnessPanel::refresh() {
    m_count = 0;
    const int64_t k = m_selection->focus();
    m_column = m_model->hasJob() && k >= m_model->promptLength() ? k - m_model->promptLength() : -1;
    if (!m_model->hasJob()) {
        m_label->clear();
        return;
    }
    QString rows;
    QString baseline;
    for (size_t m = 0; m < m_model->methods().size(); ++m) {
        const auto& r = m_model->methodResult(static_cast<int>(m));
        const nlohmann::json& f = r.faithfulness;
        if (!f.is_object() || !f.contains("mean")) continue;
        ++m_count;
        if (baseline.isEmpty() && f.contains("baseline") && f["baseline"].is_string()) {
            baseline = QString::fromStdString(f["baseline"].get<std::string>());
        }
        const nlohmann::json* src = &f["mean"];
        if (m_column >= 0 && f.contains("columns") && f["columns"].is_array()) {
            for (const auto& c : f["columns"]) {
                if (c.value("column", int64_t{-1}) == m_column) src = &c;
            }
        }
        rows += QStringLiteral("<tr><td><span style='color:%1'>■</span> %2</td><td align=right>%3</td>"
                               "<td align=right>%4</td><td align=right>%5</td><td align=right>%6</td>"
                               "<td align=right>%7</td></tr>")
                    .arg(m_model->methods()[m].colour.name(), methodLabel(r.method).toHtmlEscaped(),
                         figure(*src, "aopc_comprehensiveness"), figure(*src, "aopc_sufficiency"),
                         figure(*src, "deletion_auc"), figure(*src, "insertion_auc"), figure(*src, "kendall_tau"));
    }
    if (m_count == 0) {
        m_label->setText(tr("Not computed for this result. Tick <i>Faithfulness metrics</i> on the New job page "
                            "(or set <code>\"faithfulness\": true</code> in a job file) to measure how much the "
                            "tokens each method ranks first really matter to the model."));
        return;
    }
    const QString scope =
        m_column >= 0 ? tr("output token %1 (“%2”)")
                            .arg(m_column)
                            .arg(displayToken(m_model->contextTokens()[static_cast<size_t>(m_model->promptLength() + m_column)]).toHtmlEscaped())
                      : tr("mean over the output tokens");
    m_label->setText(
        tr("<table cellspacing=0 cellpadding=2 width='100%'><tr><th align=left>method</th>"
           "<th title='AOPC comprehensiveness: drop of the probability when the top tokens are removed (higher is "
           "more faithful)'>comp ↑</th>"
           "<th title='AOPC sufficiency: drop when only the top tokens are kept (lower is more faithful)'>suff ↓</th>"
           "<th title='Area under the deletion curve (lower is more faithful)'>del ↓</th>"
           "<th title='Area under the insertion curve (higher is more faithful)'>ins ↑</th>"
           "<th title='Kendall τ against leave-one-out'>τ ↑</th></tr>%1</table>"
           "<p style='color:gray'>%2; tokens removed by the %3 embedding.</p>")
            .arg(rows, scope, baseline == u"unk" ? tr("unk token's") : tr("zero")));
}

} // namespace tokenlens::gui
