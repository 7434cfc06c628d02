#pragma once
// Where the main window's jobs run: this computer's JobQueue (LocalBackend)
// or a `tokenlens-cli serve` server (RemoteBackend, owned here), as chosen in
// the Settings dialog or by the caller; and the banner when a server refuses
// the token.

#include <QObject>

namespace tokenlens::jobs {
class JobQueue;
}
namespace tokenlens::api {
struct Endpoint;
}

namespace tokenlens::gui {

class JobActions;
class JobBackend;
class LocalBackend;
class MainWindow;
class RemoteBackend;

class BackendSwitcher : public QObject {
    Q_OBJECT
public:
    BackendSwitcher(MainWindow* window, JobActions* jobs);

    // This computer's queue (not owned; must outlive the window).
    void setJobQueue(jobs::JobQueue* queue);
    jobs::JobQueue* jobQueue() const { return m_queue; }
    RemoteBackend* useRemoteBackend(const api::Endpoint& endpoint);
    void useLocalBackend();
    // Applies the Settings dialog's choice (BackendSettings in QSettings).
    void applyBackendSettings();
    void settingsDialog();
    // Follows the connection of the backend now in use.
    void watch(JobBackend* backend);

private:
    void connectionChanged();

    MainWindow* m_window;
    JobActions* m_jobs;
    jobs::JobQueue* m_queue = nullptr;
    JobBackend* m_watched = nullptr;
    LocalBackend* m_local = nullptr;
    RemoteBackend* m_remote = nullptr; // owned; the current backend or null
    bool m_wrongTokenShown = false;
};

} // namespace tokenlens::gui
