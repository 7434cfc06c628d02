#pragma once
// The figures of a result without a window (tokenlens-cli export --format
// svg|pdf): a dashboard is made offscreen, set to the model and methods
// asked for, and its token view or heatmap is exported through the
// ResultExporter, so the figure is the one the app would write.

#include "result/job_result.h"

#include <QString>
#include <QStringList>

#include <memory>

class QApplication;

namespace tokenlens::gui {

enum class ExportKind;

// A QApplication for the offscreen platform (unless one exists already).
std::unique_ptr<QApplication> makeOffscreenApplication();

// `model`: a model name of the result (empty: the first); `methods`: the
// method ids switched on (empty: all of that model). Returns an empty string
// on success, else the problem.
QString exportOffscreen(const JobResult& job, ExportKind kind, const QString& path, const QString& model,
                        const QStringList& methods);

} // namespace tokenlens::gui
