#pragma once
// The panels beside the views: details of the hovered/pinned token, token
// statistics (top tokens, histogram), the result's warnings with what to do.

#include "viewmodel/result_model.h"

#include <QLabel>
#include <QWidget>

namespace tokenlens::gui {

class SelectionModel;

// Hovered (else pinned) token: text, id, position, per active method the raw
// importance and its rank, the value towards the focus token; step
// probability and entropy for output tokens; the hovered heatmap cell.
class DetailsPanel : public QWidget {
    Q_OBJECT
public:
    DetailsPanel(const ResultModel* model, SelectionModel* selection, QWidget* parent = nullptr);
    void refresh();
    QString text() const; // plain text of what is shown (tests, export)

private:
    const ResultModel* m_model;
    SelectionModel* m_selection;
    QLabel* m_label;
};

// Horizontal bars: one row per top token.
class TopTokensChart : public QWidget {
    Q_OBJECT
public:
    explicit TopTokensChart(QWidget* parent = nullptr);
    void setData(const std::vector<QString>& labels, const std::vector<double>& values, const QColor& colour);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override { return sizeHint(); }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::vector<QString> m_labels;
    std::vector<double> m_values;
    QColor m_colour;
};

class HistogramChart : public QWidget {
    Q_OBJECT
public:
    explicit HistogramChart(QWidget* parent = nullptr);
    void setHistogram(const analysis::Histogram& h, const QColor& colour);
    QSize sizeHint() const override { return {220, 90}; }
    QSize minimumSizeHint() const override { return {120, 70}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    analysis::Histogram m_hist;
    QColor m_colour;
};

class StatisticsPanel : public QWidget {
    Q_OBJECT
public:
    StatisticsPanel(const ResultModel* model, SelectionModel* selection, QWidget* parent = nullptr);
    void refresh();
    const Statistics& statistics() const { return m_stats; }

private:
    const ResultModel* m_model;
    SelectionModel* m_selection;
    QLabel* m_basis;
    TopTokensChart* m_top;
    HistogramChart* m_hist;
    QLabel* m_summary;
    Statistics m_stats;
    int64_t m_shownFocus = -2;
};

// The result's warnings (and methods that could not be shown), each with
// what to do about it.
class WarningsPanel : public QWidget {
    Q_OBJECT
public:
    WarningsPanel(const ResultModel* model, QWidget* parent = nullptr);
    void refresh();
    int count() const { return m_count; }
    QString text() const;

signals:
    void countChanged(int count);

private:
    const ResultModel* m_model;
    QLabel* m_label;
    int m_count = 0;
};

// What to do about an engine warning (empty when the warning says it itself).
QString adviceFor(const std::string& method, const std::string& warning);

} // namespace tokenlens::gui
