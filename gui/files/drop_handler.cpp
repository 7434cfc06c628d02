#include "files/drop_handler.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QMainWindow>
#include <QMimeData>
#include <QStatusBar>

namespace tokenlens::gui {

namespace {

QStringList localFiles(const QMimeData* mime) {
    QStringList files;
    if (!mime || !mime->hasUrls()) return files;
    for (const QUrl& url : mime->urls()) {
        if (url.isLocalFile()) files << url.toLocalFile();
    }
    return files;
}

} // namespace

DropHandler::DropHandler(QMainWindow* window) : QObject(window), m_window(window) {
    window->setAcceptDrops(true);
    window->installEventFilter(this);
}

bool DropHandler::eventFilter(QObject* watched, QEvent* event) {
    if (watched != m_window) return false;
    switch (event->type()) {
    case QEvent::DragEnter:
    case QEvent::DragMove: {
        auto* e = static_cast<QDragMoveEvent*>(event); // QDragEnterEvent is a QDragMoveEvent
        if (!localFiles(e->mimeData()).isEmpty()) e->acceptProposedAction();
        return true;
    }
    case QEvent::Drop: {
        auto* e = static_cast<QDropEvent*>(event);
        const QStringList files = localFiles(e->mimeData());
        if (files.isEmpty()) return true;
        e->acceptProposedAction();
        emit openRequested(files.first());
        if (files.size() > 1) {
            m_window->statusBar()->showMessage(tr("%1 files dropped: opening the first, “%2”.")
                                                   .arg(files.size())
                                                   .arg(QFileInfo(files.first()).fileName()),
                                               6000);
        }
        return true;
    }
    default: return false;
    }
}

} // namespace tokenlens::gui
