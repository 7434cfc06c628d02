#include "model_entries.h"

#include "catalog/model_catalog.h"
#include "files/file_loader.h"

#include <filesystem>

namespace tokenlens::gui {

namespace fs = std::filesystem;

QString humanCount(qint64 n) {
    if (n >= 1'000'000'000) return QStringLiteral("%1 B").arg(static_cast<double>(n) / 1e9, 0, 'f', 1);
    if (n >= 10'000'000) return QStringLiteral("%1 M").arg(static_cast<double>(n) / 1e6, 0, 'f', 0);
    if (n >= 100'000) return QStringLiteral("%1 M").arg(static_cast<double>(n) / 1e6, 0, 'f', 2);
    return QString::number(n);
}

QString ModelEntry::summary() const {
    if (!usable()) return error;
    return QStringLiteral("%1 · %2 parameters · %3 · %4")
        .arg(architecture, humanCount(parameters), dtype, humanBytes(bytes));
}

namespace {

ModelEntry entryOf(const CatalogEntry& c) {
    ModelEntry e;
    e.name = QString::fromStdString(c.id);
    e.path = QString::fromStdString(c.path.string());
    e.source = QString::fromStdString(c.source);
    e.architecture = QString::fromStdString(c.architecture);
    e.dtype = QString::fromStdString(c.dtype);
    e.parameters = c.parameters;
    e.bytes = c.bytes;
    e.maxPositions = c.config ? c.config->maxPositions : 0;
    e.error = QString::fromStdString(c.error);
    for (const auto& t : c.chatTemplates) e.chatTemplates << QString::fromStdString(t);
    return e;
}

} // namespace

QString demoModelsDir() { return QString::fromStdString(bundledDemoModels().string()); }

ModelEntry describeModel(const QString& path, const QString& source, const QString& name) {
    return entryOf(describeModelFolder(fs::path(path.toStdString()), source.toStdString(), name.toStdString()));
}

std::vector<ModelEntry> discoverModels(const QStringList& addedFolders, bool includeHfCache) {
    CatalogOptions options;
    for (const QString& f : addedFolders) options.folders.emplace_back(f.toStdString());
    options.includeHfCache = includeHfCache;
    options.reportEmptyFolders = true;
    std::vector<ModelEntry> out;
    const ModelCatalog catalog = ModelCatalog::discover(options);
    for (const CatalogEntry& c : catalog.entries()) out.push_back(entryOf(c));
    return out;
}

QString samplePrompt() {
    return QStringLiteral("anna has a red ball . tom has a blue cup . tom has a");
}

Job demoJobSpec(const std::vector<ModelEntry>& models) {
    Job spec;
    for (const auto& m : models) {
        if (m.source == u"demo" && m.usable()) spec.models.push_back(m.path.toStdString());
    }
    spec.methods = {"attention", "saliency", "input_x_gradient", "occlusion", "integrated_gradients"};
    spec.input = samplePrompt().toStdString();
    // Integrated gradients from the unk baseline: from the zero embedding the
    // RMSNorm of demo-llama jumps near alpha = 0 and 256 steps still leave a
    // convergence warning; from unk, 128 steps converge on both models.
    spec.options = {{"max_new_tokens", 4},
                    {"faithfulness", true},
                    {"methods", {{"integrated_gradients", {{"steps", 128}, {"baseline", "unk"}}}}}};
    return spec;
}

} // namespace tokenlens::gui
