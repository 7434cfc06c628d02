#include "model_catalog.h"

#include "io/model_folder.h"
#include "viewmodel/file_loader.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

#include <filesystem>
#include <set>
#include <system_error>

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

QString demoModelsDir() {
    const QString env = qEnvironmentVariable("TOKENLENS_DEMO_MODELS");
    if (!env.isEmpty()) return QDir(env).exists() ? QDir(env).absolutePath() : QString();
    QStringList candidates;
    if (QCoreApplication::instance()) {
        const QString exe = QCoreApplication::applicationDirPath();
        candidates << exe + QStringLiteral("/../share/tokenlens/models");
    }
#ifdef TOKENLENS_SOURCE_DIR
    candidates << QStringLiteral(TOKENLENS_SOURCE_DIR "/resources/models");
#endif
    for (const QString& c : candidates) {
        if (QFileInfo(c + QStringLiteral("/demo-llama/config.json")).exists() ||
            QFileInfo(c + QStringLiteral("/demo-gpt2/config.json")).exists()) {
            return QDir(c).canonicalPath();
        }
    }
    return {};
}

ModelEntry describeModel(const QString& path, const QString& source, const QString& name) {
    ModelEntry e;
    e.path = QDir(path).absolutePath();
    e.source = source;
    e.name = name.isEmpty() ? QFileInfo(e.path).fileName() : name;
    auto info = inspectModelFolder(fs::path(e.path.toStdString()));
    if (!info) {
        e.error = QString::fromStdString(info.error().message);
        return e;
    }
    e.architecture = QString::fromStdString(info->config.architecture.empty() ? info->config.modelType
                                                                               : info->config.architecture);
    e.dtype = QString::fromLatin1(dtypeName(info->storedDType));
    e.parameters = info->parameterCount;
    e.maxPositions = info->config.maxPositions;
    for (const auto& f : info->weightFiles) {
        std::error_code ec;
        const auto size = fs::file_size(info->path / f, ec);
        if (!ec) e.bytes += static_cast<qint64>(size);
    }
    if (!QFileInfo(e.path + QStringLiteral("/tokenizer.json")).isFile()) {
        e.error = QStringLiteral("%1: no tokenizer.json in the folder").arg(e.path);
    }
    return e;
}

std::vector<ModelEntry> discoverModels(const QStringList& addedFolders, bool includeHfCache) {
    std::vector<ModelEntry> out;
    std::set<QString> seen;
    auto add = [&](const ModelLocation& loc, const QString& source) {
        const QString path = QString::fromStdString(loc.path.string());
        const QString key = QFileInfo(path).canonicalFilePath();
        if (!seen.insert(key.isEmpty() ? path : key).second) return;
        out.push_back(describeModel(path, source, QString::fromStdString(loc.id)));
    };
    if (const QString demo = demoModelsDir(); !demo.isEmpty()) {
        for (const auto& loc : discoverFolders({fs::path(demo.toStdString())})) add(loc, QStringLiteral("demo"));
    }
    for (const QString& f : addedFolders) {
        const auto found = discoverFolders({fs::path(f.toStdString())});
        if (found.empty()) {
            // Say why an added folder shows nothing rather than dropping it.
            ModelEntry e;
            e.path = f;
            e.name = QFileInfo(f).fileName();
            e.source = QStringLiteral("folder");
            e.error = QFileInfo(f).isDir()
                          ? QStringLiteral("%1: no config.json with safetensors weights here or one level below").arg(f)
                          : QStringLiteral("%1: no such directory").arg(f);
            if (seen.insert(f).second) out.push_back(e);
        }
        for (const auto& loc : found) add(loc, QStringLiteral("folder"));
    }
    if (includeHfCache) {
        for (const auto& loc : discoverHfCache(huggingFaceHubDir())) add(loc, QStringLiteral("hf-cache"));
    }
    return out;
}

QString samplePrompt() {
    return QStringLiteral("anna has a red ball . tom has a blue cup . tom has a");
}

jobs::JobSpec demoJobSpec(const std::vector<ModelEntry>& models) {
    jobs::JobSpec spec;
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
