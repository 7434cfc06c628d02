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
// Painted directly (it changes on every hover, so no rich-text layout).
class DetailsPanel : public QWidget {
    Q_OBJECT
public:
    DetailsPanel(const ResultModel* model, SelectionModel* selection, QWidget* parent = nullptr);
    void refresh();
    QString text() const; // plain text of what is shown (tests)
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override { return sizeHint(); }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    // One line: cells separated by columns; a swatch colour for method rows.
    struct Line {
        enum Kind { Title, Pair, Header, Method, Note } kind = Pair;
        QStringList cells;
        QColor swatch;
    };
    const ResultModel* m_model;
    SelectionModel* m_selection;
    std::vector<Line> m_lines;
    int m_lineCount = -1;
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
    // segments: the values are prompt segments' (the axis counts segments).
    void setHistogram(const analysis::Histogram& h, const QColor& colour, bool segments = false);
    QSize sizeHint() const override { return {220, 90}; }
    QSize minimumSizeHint() const override { return {120, 70}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    analysis::Histogram m_hist;
    QColor m_colour;
    bool m_segments = false;
};

class StatisticsPanel : public QWidget {
    Q_OBJECT
public:
    StatisticsPanel(const ResultModel* model, SelectionModel* selection, QWidget* parent = nullptr);
    // Synchronous for small results; on a worker thread when the matrices
    // are large (a "computing…" note shows meanwhile).
    void refresh();
    const Statistics& statistics() const { return m_stats; }
    bool isComputing() const { return m_computing; }

signals:
    void updated();

private:
    void apply(const Statistics& stats);
    const ResultModel* m_model;
    SelectionModel* m_selection;
    QLabel* m_basis;
    TopTokensChart* m_top;
    HistogramChart* m_hist;
    QLabel* m_summary;
    Statistics m_stats;
    quint64 m_serial = 0;
    bool m_computing = false;
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
