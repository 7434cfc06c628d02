#pragma once
// Exports of what a dashboard shows: the token view and the heatmap as PNG
// (at a scale, with the title), the result JSON (the contract's, plus how it
// was being viewed) and the displayed matrix as CSV. Each returns an empty
// string on success, else a message naming the file.

#include <QCoreApplication>
#include <QString>

namespace tokenlens::gui {

class Dashboard;
enum class ExportKind;

class ResultExporter {
    Q_DECLARE_TR_FUNCTIONS(ResultExporter)
public:
    explicit ResultExporter(const Dashboard& dashboard) : m_dashboard(dashboard) {}

    QString tokenViewPng(const QString& path, double scale) const;
    QString heatmapPng(const QString& path, double scale) const;
    QString resultJson(const QString& path) const;
    QString matrixCsv(const QString& path) const;
    // "<source's base name>-tokens.png", "-heatmap.png", "-result.json", "-matrix.csv".
    static QString suggestedFileName(const QString& source, ExportKind kind);

private:
    const Dashboard& m_dashboard;
};

} // namespace tokenlens::gui
