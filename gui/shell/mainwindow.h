#pragma once
// The main window: a message banner over three pages (New job, Jobs,
// Dashboard). With a job backend attached (setJobQueue for this computer's
// queue, useRemoteBackend for a job API server) the New job page
// submits jobs, the Jobs page lists them, and the dashboard follows the job
// it shows: staged results appear as each (model, method) pair finishes, a
// progress bar with the ETA runs in the status bar, and the follow-up box
// continues the conversation. Files open from the menu, the recent files
// list, the command line or drag-and-drop, always on a worker thread; a bad
// file leaves the current result untouched and says why in the banner.
//
// The window holds the pages and the status bar and wires the parts:
// MenuBuilder (menus and keys), JobActions (jobs through the backend),
// BackendSwitcher (local or remote), FileActions and DropHandler (files).

#include "shell/theme.h"

#include "jobs/job_types.h"

#include <QMainWindow>

class QAction;
class QLabel;
class QTabWidget;

namespace tokenlens::jobs {
class JobQueue;
}
namespace tokenlens::api {
struct Endpoint;
}

namespace tokenlens::gui {

class BackendSwitcher;
class ConnectionIndicator;
class Dashboard;
class FileActions;
class JobActions;
class JobBackend;
class JobsPage;
class MenuBuilder;
class MessageBanner;
class NewJobPage;
class RemoteBackend;
struct LoadedFile;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum class Page { NewJob = 0, Jobs = 1, Dashboard = 2 };

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    tokenlens::gui::Dashboard* dashboard() const { return m_dashboard; }
    MessageBanner* banner() const { return m_banner; }
    // Replaces the page's widget (the window takes ownership).
    void setPage(Page page, QWidget* widget);
    void showPage(Page page);
    Page currentPage() const;

    // Opens a file on a worker thread; fileHandled() reports the outcome.
    void openFile(const QString& path);
    bool isLoading() const;

    // Attaches the job queue (not owned; must outlive the window) and puts
    // the New job and Jobs pages in.
    void setJobQueue(jobs::JobQueue* queue);
    jobs::JobQueue* jobQueue() const;
    // Where jobs run: the local queue's backend (setJobQueue) or a server's
    // (useRemoteBackend). The pages, the dashboard and the Job menu work
    // through it; switching rebuilds the New job and Jobs pages.
    JobBackend* backend() const;
    void setBackend(JobBackend* backend);
    // Runs the jobs on a `tokenlens-cli serve` server (the window owns the
    // backend); back to this computer's queue with useLocalBackend().
    RemoteBackend* useRemoteBackend(const api::Endpoint& endpoint);
    void useLocalBackend();
    // Applies the Settings dialog's choice (BackendSettings in QSettings).
    void applyBackendSettings();
    void settingsDialog();
    ConnectionIndicator* connectionIndicator() const { return m_connection; }
    NewJobPage* newJobPage() const { return m_newJob; }
    JobsPage* jobsPage() const { return m_jobsPage; }
    // Submits a job and follows it on the dashboard; the id, or a message.
    Result<std::string> submitJob(const Job& spec);
    // Shows a job of the queue or the store on the dashboard (following it
    // while it runs); false with a message in the banner when it cannot.
    bool openJob(const QString& id);
    // The job the dashboard shows ("" for a file or nothing).
    const QString& shownJob() const;
    // First start: the bundled demo models on the sample prompt. false when
    // no demo model is installed.
    bool runDemoJob();
    // The most recent job that completed, opened; false when there is none.
    bool openLatestJob();
    // Adds an exported job (or a result JSON) to the queue's jobs and shows it.
    bool importJobFile(const QString& path);

    QStringList recentFiles() const;
    void setTheme(Theme theme);
    Theme theme() const { return m_theme; }

    // The action of a main shortcut, by object name ("open", "exportTokens",
    // "method1".."method9", "clearSelection", ...), for tests.
    QAction* action(const QString& name) const;

signals:
    // After openFile/drop: ok with a summary, or the message shown.
    void fileHandled(const QString& path, bool ok, const QString& message);
    // A .txt/.md prompt or a .jsonl batch was dropped or opened (for the job
    // creation page).
    void promptTextOpened(const QString& text, const QString& path);
    void batchOpened(const QString& text, const QString& path);
    // The dashboard asked to compute the shown result again.
    void rerunRequested(const QString& targetFn, const QString& reduction);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void showLoadedFile(const QString& path, const LoadedFile& loaded);
    void updateHoverStatus();
    void updateActions();
    void saveSettings() const;

    MessageBanner* m_banner;
    QTabWidget* m_tabs;
    tokenlens::gui::Dashboard* m_dashboard;
    QLabel* m_hoverStatus;
    Theme m_theme = Theme::System;
    ConnectionIndicator* m_connection = nullptr;
    NewJobPage* m_newJob = nullptr;
    JobsPage* m_jobsPage = nullptr;
    FileActions* m_files = nullptr;
    JobActions* m_jobs = nullptr;
    BackendSwitcher* m_backends = nullptr;
    MenuBuilder* m_menus = nullptr;
};

} // namespace tokenlens::gui
