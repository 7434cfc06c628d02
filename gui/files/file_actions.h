#pragma once
// Opening files in the window: the Open dialog, loading on a worker thread
// (a progress bar after half a second), a later open superseding an earlier
// one, failures said in the banner and the status bar, and the recent files.
// A file that loaded is handed on with opened(); what it becomes (a result on
// the dashboard, a prompt or batch on the New job page) is the window's.

#include "files/file_loader.h"

#include <QObject>

class QMainWindow;
class QProgressBar;
class QTimer;

namespace tokenlens::gui {

class MessageBanner;
class RecentFiles;

class FileActions : public QObject {
    Q_OBJECT
public:
    // `progress` is the status bar's busy indicator (not owned).
    FileActions(QMainWindow* window, MessageBanner* banner, QProgressBar* progress);

    void openDialog();
    // Opens a file on a worker thread; opened() or handled() reports it.
    void openFile(const QString& path);
    bool isLoading() const { return m_pendingLoads > 0; }
    RecentFiles* recent() const { return m_recent; }

signals:
    // A file was read and checked (the newest one asked for).
    void opened(const QString& path, const tokenlens::gui::LoadedFile& loaded);
    // A file that could not be opened, or was superseded by a later one.
    void handled(const QString& path, bool ok, const QString& message);

private:
    void finishLoad(const QString& path, const LoadedFile& loaded, quint64 serial);

    QMainWindow* m_window;
    MessageBanner* m_banner;
    QProgressBar* m_progress;
    QTimer* m_progressTimer;
    RecentFiles* m_recent;
    int m_pendingLoads = 0;
    quint64 m_loadSerial = 0;
};

} // namespace tokenlens::gui
