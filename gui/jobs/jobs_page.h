#pragma once
// The job overview: running and queued jobs above, finished ones below, both
// views of one JobListModel with progress bars, ETA, search and a status
// filter, sortable by every column. Open shows a job's result on the
// dashboard; Cancel, Re-run (what did not complete), Delete and Export work
// on the selected jobs. A finished job moves from the upper table to the
// lower one with a short fading highlight.

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace tokenlens::gui {

class JobBackend;

class JobFilterModel;
class JobListModel;

class JobsPage : public QWidget {
    Q_OBJECT
public:
    explicit JobsPage(JobBackend* backend, QWidget* parent = nullptr);

    JobListModel* model() const { return m_model; }
    QTableView* runningView() const { return m_running; }
    QTableView* finishedView() const { return m_finished; }
    JobFilterModel* runningFilter() const { return m_runningFilter; }
    JobFilterModel* finishedFilter() const { return m_finishedFilter; }
    QLineEdit* searchBox() const { return m_search; }

    // The selected job ids of both tables (the focused table's first).
    QStringList selectedJobs() const;
    void selectJob(const QString& id);

    // Actions on jobs (also behind the buttons); messages go to statusMessage.
    void cancelJobs(const QStringList& ids);
    void rerunJobs(const QStringList& ids);
    // Asks for confirmation unless `confirm` is false.
    void deleteJobs(const QStringList& ids, bool confirm = true);
    void exportJob(const QString& id);

signals:
    void openRequested(const QString& jobId);
    void statusMessage(const QString& message, int timeoutMs);

private:
    QTableView* makeView(JobFilterModel* filter);
    void updateButtons();

    JobBackend* m_backend;
    JobListModel* m_model;
    JobFilterModel* m_runningFilter;
    JobFilterModel* m_finishedFilter;
    QTableView* m_running;
    QTableView* m_finished;
    QLineEdit* m_search;
    QComboBox* m_statusBox;
    QLabel* m_runningLabel;
    QLabel* m_finishedLabel;
    QPushButton *m_open, *m_cancel, *m_rerun, *m_delete, *m_export;
};

} // namespace tokenlens::gui
