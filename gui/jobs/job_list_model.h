#pragma once
// The jobs of the results store and of the running queue as a table model
// (one row a job, newest first): status, prompt, models, methods, progress,
// ETA, when and how long. Rows of this session follow the queue's signals;
// jobs of earlier sessions come from the store. A job that has just finished
// is highlighted for a moment (a fading background) so the eye follows it
// from the running table to the finished one. JobFilterModel splits the rows
// into those two tables and filters them by text and status.

#include "jobs/job_types.h"

#include <QAbstractTableModel>
#include <QElapsedTimer>
#include <QSortFilterProxyModel>
#include <QTimer>

#include <map>
#include <vector>

namespace tokenlens::jobs {
class JobQueue;
}

namespace tokenlens::gui {

class JobBackend;

class JobListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Status, Prompt, Models, Methods, Progress, Eta, Created, Duration, ColumnCount };
    enum Role {
        IdRole = Qt::UserRole + 1, // QString job id
        StatusRole,                // int (jobs::JobStatus)
        FinalRole,                 // bool
        ProgressRole,              // int 0..1000
        SortRole,                  // a value that sorts the column sensibly
        ParentRole,                // QString parent job id ("" when none)
    };

    // `backend` may be null (then the model stays empty).
    explicit JobListModel(JobBackend* backend, QObject* parent = nullptr);
    // On a local queue (through a LocalBackend of its own).
    explicit JobListModel(jobs::JobQueue* queue, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Re-reads every job from the backend (the store and the queue, or the server).
    void reload();
    // Re-reads one job (adds, updates or removes its row).
    void refreshJob(const QString& id);
    int rowOf(const QString& id) const;
    QString jobId(int row) const;
    const jobs::JobRecord* record(int row) const;
    // Milliseconds a finished job stays highlighted.
    static constexpr int kHighlightMs = 1500;

private:
    struct Row {
        jobs::JobRecord job; // without results
        int permille = 0;
        double eta = -1;
    };
    Row snapshot(const jobs::JobRecord& r) const;
    void setProgress(const QString& id, int permille, double eta);
    void tickHighlights();
    QString statusText(const Row& row) const;

    JobBackend* m_backend;
    std::vector<Row> m_rows; // newest first
    std::map<QString, QElapsedTimer> m_highlight;
    QTimer m_fade;
};

class JobFilterModel : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit JobFilterModel(bool finished, QObject* parent = nullptr);
    // Case-insensitive text matched against id, prompt, models and methods.
    void setSearch(const QString& text);
    // -1: every status; else only jobs with this jobs::JobStatus.
    void setStatusFilter(int status);

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override;

private:
    bool m_finished;
    QString m_search;
    int m_status = -1;
};

} // namespace tokenlens::gui
