#include "results/result_exporter.h"

#include "result/result_json.h"
#include "results/dashboard.h"
#include "results/heatmap_view.h"
#include "results/selection_model.h"
#include "results/token_view.h"
#include "viewmodel/csv.h"

#include <QFileInfo>
#include <QImage>
#include <QSaveFile>

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
    nlohmann::json j = toJson(model.job());
    nlohmann::json methods = nlohmann::json::array();
    for (int m : model.activeMethods()) methods.push_back(model.methods()[static_cast<size_t>(m)].id);
    const char* scopes[] = {"matrix", "column_minmax", "column_l1"};
    j["view"] = {{"model", model.currentModel() >= 0 ? model.models()[static_cast<size_t>(model.currentModel())]
                                                       : std::string()},
                 {"methods", methods},
                 {"window", model.window()},
                 {"scope", scopes[static_cast<int>(model.scope())]},
                 {"pinned", m_dashboard.selection()->pinned()}};
    const std::string text = j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return writeBytes(path, QByteArray::fromStdString(text));
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
    return writeBytes(path, QByteArray::fromStdString(tokenlens::gui::matrixCsv(a, rows, cols, corner)));
}

QString ResultExporter::suggestedFileName(const QString& source, ExportKind kind) {
    QString base = QFileInfo(source).completeBaseName();
    if (base.isEmpty()) base = QStringLiteral("tokenlens");
    switch (kind) {
    case ExportKind::TokenViewPng: return base + QStringLiteral("-tokens.png");
    case ExportKind::HeatmapPng: return base + QStringLiteral("-heatmap.png");
    case ExportKind::ResultJson: return base + QStringLiteral("-result.json");
    case ExportKind::MatrixCsv: return base + QStringLiteral("-matrix.csv");
    }
    return base;
}

} // namespace tokenlens::gui
