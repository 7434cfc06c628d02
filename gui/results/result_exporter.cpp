#include "results/result_exporter.h"

#include "result/html_page.h"
#include "result/inseq_file.h"
#include "result/result_json.h"
#include "result/result_sidecar.h"
#include "result/tables.h"
#include "results/dashboard.h"
#include "results/heatmap_view.h"
#include "results/selection_model.h"
#include "results/token_view.h"
#include "result/csv.h"

#include <QBuffer>
#include <QFileInfo>
#include <QImage>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>

#include <cmath>

namespace tokenlens::gui {

namespace {

QString writeBytes(const QString& path, const QByteArray& bytes) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return ResultExporter::tr("Cannot write “%1”: %2").arg(path, f.errorString());
    if (f.write(bytes) != bytes.size() || !f.commit()) {
        return ResultExporter::tr("Cannot write “%1”: %2").arg(path, f.errorString());
    }
    return {};
}

QString savePng(QImage img, const QString& path, double scale) {
    // Physical size as on screen at 96 dpi: scale the resolution with the pixels.
    const int dpm = static_cast<int>(std::lround(96.0 / 0.0254 * scale));
    img.setDotsPerMeterX(dpm);
    img.setDotsPerMeterY(dpm);
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return ResultExporter::tr("Cannot write “%1”: %2").arg(path, f.errorString());
    if (!img.save(&f, "PNG") || !f.commit()) return ResultExporter::tr("Cannot write the PNG “%1”.").arg(path);
    return {};
}

std::string asciiLabel(int64_t k, int64_t n, const std::string& token) {
    const QString label = QStringLiteral("%1%2 ").arg(k < n ? QLatin1Char('x') : QLatin1Char('y')).arg(k < n ? k : k - n);
    return label.toStdString() + token;
}

} // namespace

QString ResultExporter::tokenViewPng(const QString& path, double scale) const {
    const ResultModel& model = m_dashboard.model();
    if (!model.hasJob()) return tr("Nothing to export: open a result first.");
    return savePng(m_dashboard.tokenView()->render(scale, m_dashboard.title()), path, scale);
}

QString ResultExporter::heatmapPng(const QString& path, double scale) const {
    const ResultModel& model = m_dashboard.model();
    if (!model.hasJob()) return tr("Nothing to export: open a result first.");
    return savePng(m_dashboard.heatmapView()->render(scale, m_dashboard.title()), path, scale);
}

QString ResultExporter::resultJson(const QString& path) const {
    const ResultModel& model = m_dashboard.model();
    if (!model.hasJob()) return tr("Nothing to export: open a result first.");
    // The contract's JSON, plus (allowed extra key) how it was being viewed.
    nlohmann::json j = toJson(model.job(), kInlineMaxCells);
    nlohmann::json methods = nlohmann::json::array();
    for (int m : model.activeMethods()) methods.push_back(model.methods()[static_cast<size_t>(m)].id);
    const char* scopes[] = {"matrix", "column_minmax", "column_l1"};
    j["view"] = {{"model", model.currentModel() >= 0 ? model.models()[static_cast<size_t>(model.currentModel())]
                                                       : std::string()},
                 {"methods", methods},
                 {"window", model.window()},
                 {"scope", scopes[static_cast<int>(model.scope())]},
                 {"pinned", m_dashboard.selection()->pinned()}};
    // Large matrices go to a sidecar beside the file (result_sidecar.h).
    if (auto st = writeResultFiles(path.toStdString(), std::move(j), model.job()); !st) {
        return QString::fromStdString(st.error().message);
    }
    return {};
}

QString ResultExporter::matrixCsv(const QString& path) const {
    const ResultModel& model = m_dashboard.model();
    if (!model.hasJob()) return tr("Nothing to export: open a result first.");
    QString what;
    const AttributionMatrix a = model.displayedMatrix(&what);
    if (a.empty()) return tr("Nothing to export: switch a method on.");
    const int64_t n = model.promptLength();
    const auto& tokens = model.contextTokens();
    std::vector<std::string> rows, cols;
    for (int64_t k = 0; k < model.contextLength(); ++k) rows.push_back(asciiLabel(k, n, tokens[static_cast<size_t>(k)]));
    for (int64_t j = 0; j < model.outputLength(); ++j) cols.push_back(asciiLabel(n + j, n, tokens[static_cast<size_t>(n + j)]));
    const std::string corner = (model.currentModel() >= 0 ? model.models()[static_cast<size_t>(model.currentModel())] : "") +
                               ": " + what.toStdString() + " (rows: context, columns: output)";
    return writeBytes(path, QByteArray::fromStdString(tokenlens::matrixCsv(a, rows, cols, corner)));
}

QString ResultExporter::vectorFigure(const QString& path, bool heatmap, bool svg) const {
    const ResultModel& model = m_dashboard.model();
    if (!model.hasJob()) return tr("Nothing to export: open a result first.");
    const QString title = m_dashboard.title();
    const TokenView* tokens = m_dashboard.tokenView();
    const HeatmapView* map = m_dashboard.heatmapView();
    const QSizeF size = heatmap ? map->figureSize(title) : tokens->figureSize(title);
    auto paint = [&](QPainter& p) {
        if (heatmap) map->paintFigure(p, title);
        else tokens->paintFigure(p, title);
    };
    if (svg) {
        // Written to memory first so that a failed write leaves no half file.
        QByteArray bytes;
        QBuffer buffer(&bytes);
        QSvgGenerator gen;
        gen.setOutputDevice(&buffer);
        gen.setSize(size.toSize());
        gen.setViewBox(QRectF(QPointF(0, 0), size));
        gen.setResolution(96);
        gen.setTitle(title);
        gen.setDescription(tr("Written by TokenLens"));
        QPainter p;
        if (!p.begin(&gen)) return tr("Cannot draw the SVG “%1”.").arg(path);
        paint(p);
        p.end();
        return writeBytes(path, bytes);
    }
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QPdfWriter pdf(&buffer);
    pdf.setTitle(title);
    pdf.setCreator(QStringLiteral("TokenLens"));
    pdf.setResolution(96);
    // One page the figure's size (96 pixels to the inch, 72 points).
    pdf.setPageSize(QPageSize(QSizeF(size.width() * 0.75, size.height() * 0.75), QPageSize::Point));
    pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
    QPainter p;
    if (!p.begin(&pdf)) return tr("Cannot draw the PDF “%1”.").arg(path);
    paint(p);
    p.end();
    buffer.close();
    return writeBytes(path, bytes);
}

QString ResultExporter::inseqFile(const QString& path) const {
    const ResultModel& model = m_dashboard.model();
    if (!model.hasJob()) return tr("Nothing to export: open a result first.");
    if (model.currentModel() < 0 || model.activeMethods().empty()) return tr("Nothing to export: switch a method on.");
    const std::string& name = model.models()[static_cast<size_t>(model.currentModel())];
    const std::string& method = model.methods()[static_cast<size_t>(model.activeMethods().front())].id;
    const auto& results = model.job().results;
    for (size_t k = 0; k < results.size(); ++k) {
        if (results[k].model != name || results[k].method != method) continue;
        auto text = writeInseq(model.job(), k);
        if (!text) return QString::fromStdString(text.error().message);
        return writeBytes(path, QByteArray::fromStdString(text.value()));
    }
    return tr("Nothing to export: %1 has no %2 result.").arg(QString::fromStdString(name), QString::fromStdString(method));
}

QString ResultExporter::htmlPage(const QString& path) const {
    const ResultModel& model = m_dashboard.model();
    if (!model.hasJob()) return tr("Nothing to export: open a result first.");
    return writeBytes(path, QByteArray::fromStdString(writeHtmlPage(model.job(), m_dashboard.title().toStdString())));
}

QString ResultExporter::importanceTable(const QString& path, bool latex) const {
    const ResultModel& model = m_dashboard.model();
    if (!model.hasJob()) return tr("Nothing to export: open a result first.");
    const std::string text = latex ? importanceLatex(model.job()) : importanceMarkdown(model.job());
    return writeBytes(path, QByteArray::fromStdString(text));
}

QString ResultExporter::write(ExportKind kind, const QString& path, double scale) const {
    switch (kind) {
    case ExportKind::TokenViewPng: return tokenViewPng(path, scale);
    case ExportKind::HeatmapPng: return heatmapPng(path, scale);
    case ExportKind::ResultJson: return resultJson(path);
    case ExportKind::MatrixCsv: return matrixCsv(path);
    case ExportKind::TokenViewSvg: return vectorFigure(path, false, true);
    case ExportKind::TokenViewPdf: return vectorFigure(path, false, false);
    case ExportKind::HeatmapSvg: return vectorFigure(path, true, true);
    case ExportKind::HeatmapPdf: return vectorFigure(path, true, false);
    case ExportKind::InseqJson: return inseqFile(path);
    case ExportKind::HtmlPage: return htmlPage(path);
    case ExportKind::ImportanceMarkdown: return importanceTable(path, false);
    case ExportKind::ImportanceLatex: return importanceTable(path, true);
    }
    return tr("Unknown export.");
}

QString ResultExporter::fileFilter(ExportKind kind) {
    switch (kind) {
    case ExportKind::TokenViewPng:
    case ExportKind::HeatmapPng: return tr("PNG images (*.png)");
    case ExportKind::ResultJson: return tr("TokenLens results (*.json)");
    case ExportKind::MatrixCsv: return tr("CSV tables (*.csv)");
    case ExportKind::TokenViewSvg:
    case ExportKind::HeatmapSvg: return tr("SVG images (*.svg)");
    case ExportKind::TokenViewPdf:
    case ExportKind::HeatmapPdf: return tr("PDF documents (*.pdf)");
    case ExportKind::InseqJson: return tr("Inseq attributions (*.json)");
    case ExportKind::HtmlPage: return tr("HTML pages (*.html)");
    case ExportKind::ImportanceMarkdown: return tr("Markdown (*.md)");
    case ExportKind::ImportanceLatex: return tr("LaTeX (*.tex)");
    }
    return {};
}

QString ResultExporter::suggestedFileName(const QString& source, ExportKind kind) {
    QString base = QFileInfo(source).completeBaseName();
    if (base.isEmpty()) base = QStringLiteral("tokenlens");
    switch (kind) {
    case ExportKind::TokenViewPng: return base + QStringLiteral("-tokens.png");
    case ExportKind::HeatmapPng: return base + QStringLiteral("-heatmap.png");
    case ExportKind::ResultJson: return base + QStringLiteral("-result.json");
    case ExportKind::MatrixCsv: return base + QStringLiteral("-matrix.csv");
    case ExportKind::TokenViewSvg: return base + QStringLiteral("-tokens.svg");
    case ExportKind::TokenViewPdf: return base + QStringLiteral("-tokens.pdf");
    case ExportKind::HeatmapSvg: return base + QStringLiteral("-heatmap.svg");
    case ExportKind::HeatmapPdf: return base + QStringLiteral("-heatmap.pdf");
    case ExportKind::InseqJson: return base + QStringLiteral("-inseq.json");
    case ExportKind::HtmlPage: return base + QStringLiteral(".html");
    case ExportKind::ImportanceMarkdown: return base + QStringLiteral("-importance.md");
    case ExportKind::ImportanceLatex: return base + QStringLiteral("-importance.tex");
    }
    return base;
}

} // namespace tokenlens::gui
