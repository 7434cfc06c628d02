#pragma once
// Exports of what a dashboard shows: the token view and the heatmap as PNG
// (at a scale, with the title), SVG or PDF (the screen's painting, text kept
// as text), the result JSON (the contract's, plus how it was being viewed),
// the displayed matrix as CSV, the current model and method as an Inseq file,
// the result as a self-contained HTML page, and the token importance table
// in Markdown or LaTeX. Each returns an empty string on success, else a
// message naming the file.

#include <QCoreApplication>
#include <QString>

class QPainter;

namespace tokenlens::gui {

class Dashboard;
enum class ExportKind;

class ResultExporter {
    Q_DECLARE_TR_FUNCTIONS(ResultExporter)
public:
    explicit ResultExporter(const Dashboard& dashboard) : m_dashboard(dashboard) {}

    // Any kind; `scale` is for the PNG images.
    QString write(ExportKind kind, const QString& path, double scale) const;

    QString tokenViewPng(const QString& path, double scale) const;
    QString heatmapPng(const QString& path, double scale) const;
    QString resultJson(const QString& path) const;
    QString matrixCsv(const QString& path) const;
    // The token view or the heatmap (`heatmap`) as SVG (`svg`) or PDF.
    QString vectorFigure(const QString& path, bool heatmap, bool svg) const;
    // The current model's first active method (Inseq holds one per file).
    QString inseqFile(const QString& path) const;
    QString htmlPage(const QString& path) const;
    QString importanceTable(const QString& path, bool latex) const;

    // "<source's base name>-tokens.png", "-heatmap.svg", "-inseq.json", ...
    static QString suggestedFileName(const QString& source, ExportKind kind);
    // The save dialog's filter ("SVG images (*.svg)").
    static QString fileFilter(ExportKind kind);

private:
    const Dashboard& m_dashboard;
};

} // namespace tokenlens::gui
