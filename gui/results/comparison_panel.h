#pragma once
// Method comparison (seed §5.1): for the pinned output token — or, with no
// output token pinned, the whole result (each method's token importance,
// eq. 6) — every pair of active methods' agreement (Spearman ρ and Kendall
// τ_b of their prompt-row values) and every active method's concentration
// (Gini coefficient and normalised entropy), with a small chart; and the
// attribution mass per linguistic category (docs/aggregations.md,
// "Linguistic categories") of the same values. Recomputed when the pinned
// token or the view state changes, never on hover.
//
// At a segment granularity (ResultModel::promptSegments: the views fold
// segments and the statistics panel ranks them) the methods are compared
// over the prompt segments instead: each method's raw matrix summed into
// segments (ResultModel::segmentRaw, analysis::sumIntoSegments, cached per
// method), then its token importance or the pinned column over the segment
// rows. The mass per category stays per prompt token (categories belong to
// tokens and words; a segment may mix them).

#include "analysis/categories.h"

#include <QColor>
#include <QWidget>

#include <cmath>
#include <vector>

class QLabel;

namespace tokenlens::gui {

class ResultModel;
class SelectionModel;

struct MethodAgreement {
    int a = -1, b = -1; // indices into ResultModel::methods()
    double spearman = NAN, kendall = NAN;
};
struct MethodConcentration {
    int method = -1;
    double gini = NAN, entropy = NAN;
    analysis::CategoryMass categories; // prompt tokens' mass per category (per token, also with segments)
};

// Draws one row per agreement (two bars from the centre line: ρ and τ_b on
// [−1, 1]) and one per method (Gini and entropy on [0, 1]).
class ComparisonChart : public QWidget {
    Q_OBJECT
public:
    explicit ComparisonChart(QWidget* parent = nullptr);
    struct Row {
        QString label;
        double first = NAN, second = NAN; // ρ, τ  or  Gini, entropy
        bool signedScale = false;         // [−1, 1] around a centre line, else [0, 1]
        QColor colour;
    };
    void setRows(std::vector<Row> rows);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override { return {160, sizeHint().height()}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::vector<Row> m_rows;
};

class MethodComparisonPanel : public QWidget {
    Q_OBJECT
public:
    MethodComparisonPanel(const ResultModel* model, const SelectionModel* selection, QWidget* parent = nullptr);
    // Re-reads the result (a new job, model, methods).
    void refresh();
    // User categories counted in the mass per category (then refreshed).
    void setUserCategories(std::vector<analysis::UserCategory> categories);
    // Output column compared (-1: the whole result).
    int64_t column() const { return m_column; }
    const std::vector<MethodAgreement>& agreements() const { return m_agreements; }
    const std::vector<MethodConcentration>& concentrations() const { return m_concentrations; }
    // Categories of the current model's context tokens (prompt then output).
    const analysis::TokenCategories& tokenCategories() const { return m_categories; }
    // The methods are compared over the prompt segments (the result has them).
    bool comparesSegments() const { return m_segments; }
    // The values compared for method m (prompt rows: column or importance),
    // one per prompt segment when comparesSegments().
    std::vector<double> values(int method) const;
    // The same per prompt token (what the mass per category is computed on).
    std::vector<double> tokenValues(int method) const;
    QString text() const;
    ComparisonChart* chart() const { return m_chart; }

private:
    void pinChanged();
    const ResultModel* m_model;
    const SelectionModel* m_selection;
    QLabel* m_title;
    ComparisonChart* m_chart;
    QLabel* m_table;
    QLabel* m_categoryLabel;
    int64_t m_column = -2;
    bool m_segments = false;
    std::vector<MethodAgreement> m_agreements;
    std::vector<MethodConcentration> m_concentrations;
    analysis::TokenCategories m_categories;
    std::vector<analysis::UserCategory> m_userCategories;
};

// Categories of the context tokens of a result (prompt tokens located in the
// prompt text, output tokens in the output text; tokens that cover no text,
// such as BOS, are special), with the given user categories (invalid ones
// are left out).
analysis::TokenCategories contextCategories(const ResultModel& model,
                                            const std::vector<analysis::UserCategory>& userCategories = {});

} // namespace tokenlens::gui
