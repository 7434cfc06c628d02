#include "shell/backend_switcher.h"

#include "jobs/backend/local_backend.h"
#include "jobs/backend/remote_backend.h"
#include "shell/job_actions.h"
#include "shell/mainwindow.h"
#include "shell/message_banner.h"
#include "shell/settings_dialog.h"

#include <QStatusBar>

namespace tokenlens::gui {

BackendSwitcher::BackendSwitcher(MainWindow* window, JobActions* jobs)
    : QObject(window), m_window(window), m_jobs(jobs) {}

void BackendSwitcher::setJobQueue(jobs::JobQueue* queue) {
    m_queue = queue;
    m_local = new LocalBackend(queue, m_window);
    m_window->setBackend(m_local);
}

RemoteBackend* BackendSwitcher::useRemoteBackend(const api::Endpoint& endpoint) {
    auto* remote = new RemoteBackend(endpoint, m_window);
    m_window->setBackend(remote);
    if (m_remote) m_remote->deleteLater();
    m_remote = remote;
    m_jobs->forgetShownJob();
    m_window->statusBar()->showMessage(tr("Jobs now run on %1").arg(remote->description()), 6000);
    return remote;
}

void BackendSwitcher::useLocalBackend() {
    if (!m_local) return;
    if (m_jobs->backend() != m_local) {
        m_window->setBackend(m_local);
        m_jobs->forgetShownJob();
        m_window->statusBar()->showMessage(tr("Jobs now run on this computer"), 6000);
    }
    if (m_remote) m_remote->deleteLater();
    m_remote = nullptr;
}

void BackendSwitcher::applyBackendSettings() {
    const BackendSettings b = BackendSettings::load();
    if (!b.remote) {
        useLocalBackend();
        return;
    }
    auto ep = parseServerUrl(b.url, b.token);
    if (!ep) {
        m_window->banner()->showMessage(MessageBanner::Kind::Error,
                                        tr("The server in Settings cannot be used (%1); jobs run on this computer.")
                                            .arg(QString::fromStdString(ep.error().message)));
        useLocalBackend();
        return;
    }
    useRemoteBackend(*ep);
}

void BackendSwitcher::settingsDialog() {
    SettingsDialog dialog(BackendSettings::load(), m_window);
    if (dialog.exec() != QDialog::Accepted) return;
    const BackendSettings chosen = dialog.settings();
    const BackendSettings before = BackendSettings::load();
    chosen.save();
    const bool same = chosen == before && (chosen.remote ? m_remote != nullptr : m_jobs->backend() == m_local);
    if (!same) applyBackendSettings();
}

void BackendSwitcher::watch(JobBackend* backend) {
    if (m_watched) disconnect(m_watched, nullptr, this, nullptr);
    m_watched = backend;
    connect(backend, &JobBackend::connectionChanged, this, &BackendSwitcher::connectionChanged);
}

void BackendSwitcher::connectionChanged() {
    using C = JobBackend::Connection;
    auto* remote = qobject_cast<RemoteBackend*>(m_watched);
    if (!remote) return;
    if (remote->connection() == C::WrongToken) {
        m_window->banner()->showMessage(MessageBanner::Kind::Error,
                                        tr("The server at %1 refused the token (HTTP 401 Unauthorized). Set the token "
                                           "the server was started with (its --token-file) in File → Settings….")
                                            .arg(endpointText(remote->endpoint())));
        m_wrongTokenShown = true;
    } else if (remote->connection() == C::Connected && m_wrongTokenShown) {
        m_wrongTokenShown = false;
        m_window->banner()->dismiss();
    }
}

} // namespace tokenlens::gui
