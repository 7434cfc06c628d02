#include "results/offscreen_export.h"

#include "results/dashboard.h"
#include "results/result_exporter.h"

#include <QApplication>

namespace tokenlens::gui {

std::unique_ptr<QApplication> makeOffscreenApplication() {
    if (QCoreApplication::instance()) return nullptr;
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    static int argc = 1;
    static char name[] = "tokenlens-cli";
    static char* argv[] = {name, nullptr};
    return std::make_unique<QApplication>(argc, argv);
}

QString exportOffscreen(const JobResult& job, ExportKind kind, const QString& path, const QString& model,
                        const QStringList& methods) {
    if (!qobject_cast<QApplication*>(QCoreApplication::instance())) {
        return QStringLiteral("figures need a QApplication (makeOffscreenApplication)");
    }
    Dashboard dashboard;
    dashboard.resize(1200, 900);
    dashboard.setJob(job, path);
    const ResultModel& rm = dashboard.model();
    if (!model.isEmpty()) {
        int index = -1;
        for (size_t k = 0; k < rm.models().size(); ++k) {
            if (QString::fromStdString(rm.models()[k]) == model) index = static_cast<int>(k);
        }
        if (index < 0) return QStringLiteral("the result has no model '%1'").arg(model);
        dashboard.setCurrentModel(index);
    }
    if (!methods.isEmpty()) {
        for (const auto& m : rm.methods()) {
            dashboard.setMethodActive(m.id, methods.contains(QString::fromStdString(m.id)));
        }
        if (rm.activeMethods().empty()) {
            return QStringLiteral("the result has none of the methods %1").arg(methods.join(QStringLiteral(", ")));
        }
    }
    dashboard.show();
    QCoreApplication::processEvents();
    return ResultExporter(dashboard).write(kind, path, 2.0);
}

} // namespace tokenlens::gui
