#pragma once
// What the main window does with jobs, through its JobBackend: submit a job
// and follow it on the dashboard (staged results, progress and ETA in the
// status bar, the follow-up box), batches, conversation follow-ups, re-runs
// with another target function, counterfactual edits (compared in the split
// view when done), the demo job, the latest job and imports.

#include "results/counterfactual.h"

#include "jobs/job_types.h"

#include <QObject>

#include <map>

class QLabel;
class QProgressBar;

namespace tokenlens::jobs {
struct BatchSubmission;
}

namespace tokenlens::gui {

class Dashboard;
class JobBackend;
class MainWindow;
class MessageBanner;

class JobActions : public QObject {
    Q_OBJECT
public:
    // `status` and `progress` are the status bar's job widgets (not owned).
    JobActions(MainWindow* window, QLabel* status, QProgressBar* progress);

    JobBackend* backend() const { return m_backend; }
    // Follows `backend`'s signals from now on (the previous one's are dropped).
    void setBackend(JobBackend* backend);

    // Submits a job and follows it on the dashboard; the id ("" while a
    // server has not answered), or a message.
    Result<std::string> submitJob(const Job& spec);
    // Shows a job on the dashboard, following it while it runs; false with a
    // message in the banner when it cannot.
    bool openJob(const QString& id);
    const QString& shownJob() const { return m_shownJob; }
    // The dashboard no longer shows a job (a file, or another backend's).
    void forgetShownJob();
    bool runDemoJob();
    bool openLatestJob();
    void importJobDialog();
    bool importJobFile(const QString& path);
    void submitBatch(const QString& jsonl, const QString& path, const Job& defaults);
    void followUp(const QString& text, int modelIndex);
    void rerunShown(const QString& targetFn, const QString& reduction);
    // A counterfactual edit of the shown job: the edited prompt as a new job
    // (same models, methods, options; the original output forced); when it
    // finishes the dashboard compares the two in the split view.
    void runCounterfactual(const CounterfactualEdit& edit);

signals:
    // The shown job's results were put on the dashboard again.
    void shownJobRefreshed();

private:
    Dashboard* dashboard() const;
    MessageBanner* banner() const;
    void refreshShownJob();
    void jobProgress(const QString& id, int permille, double eta);
    void jobFinished(const QString& id);
    void batchSubmitted(const QString& path, const jobs::BatchSubmission& sub);

    MainWindow* m_window;
    QLabel* m_jobStatus;
    QProgressBar* m_jobProgress;
    JobBackend* m_backend = nullptr;
    QString m_shownJob;
    QString m_demoJob;
    bool m_demoPending = false;
    bool m_refreshPending = false;
    struct PendingCounterfactual {
        QString original;
        CounterfactualEdit edit;
    };
    std::map<QString, PendingCounterfactual> m_counterfactuals; // by edited job id
};

} // namespace tokenlens::gui
