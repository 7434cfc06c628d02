#include "files/file_actions.h"

#include "files/recent_files.h"
#include "shell/message_banner.h"

#include <QApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMainWindow>
#include <QPointer>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QThreadPool>
#include <QTimer>

#include <memory>

namespace tokenlens::gui {

FileActions::FileActions(QMainWindow* window, MessageBanner* banner, QProgressBar* progress)
    : QObject(window), m_window(window), m_banner(banner), m_progress(progress), m_progressTimer(new QTimer(this)),
      m_recent(new RecentFiles(this)) {
    m_progressTimer->setSingleShot(true);
    m_progressTimer->setInterval(500); // a bar only for what takes longer than half a second
    connect(m_progressTimer, &QTimer::timeout, this, [this] {
        if (m_pendingLoads > 0) m_progress->show();
    });
    connect(m_recent, &RecentFiles::openRequested, this, &FileActions::openFile);
}

void FileActions::openDialog() {
    QSettings s;
    const QString dir = s.value(QStringLiteral("open/dir"), QDir::homePath()).toString();
    const QString path = QFileDialog::getOpenFileName(m_window, tr("Open Result"), dir,
                                                      tr("TokenLens results (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    s.setValue(QStringLiteral("open/dir"), QFileInfo(path).absolutePath());
    openFile(path);
}

void FileActions::openFile(const QString& path) {
    const quint64 serial = ++m_loadSerial;
    ++m_pendingLoads;
    m_progressTimer->start();
    m_window->statusBar()->showMessage(tr("Opening %1…").arg(QFileInfo(path).fileName()));
    QPointer<FileActions> self(this);
    QThreadPool::globalInstance()->start([self, path, serial] {
        auto loaded = std::make_shared<LoadedFile>(loadFile(path));
        QMetaObject::invokeMethod(
            qApp,
            [self, path, serial, loaded] {
                if (self) self->finishLoad(path, *loaded, serial);
            },
            Qt::QueuedConnection);
    });
}

void FileActions::finishLoad(const QString& path, const LoadedFile& loaded, quint64 serial) {
    if (--m_pendingLoads == 0) {
        m_progressTimer->stop();
        m_progress->hide();
    }
    if (serial != m_loadSerial && loaded.ok()) {
        // A later open superseded this one.
        emit handled(path, false, tr("Superseded by a later file."));
        return;
    }
    if (!loaded.ok()) {
        m_banner->showMessage(MessageBanner::Kind::Error, loaded.message);
        m_window->statusBar()->showMessage(tr("Could not open %1").arg(QFileInfo(path).fileName()), 8000);
        emit handled(path, false, loaded.message);
        return;
    }
    emit opened(path, loaded);
}

} // namespace tokenlens::gui
