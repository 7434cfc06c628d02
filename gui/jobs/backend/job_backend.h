#pragma once
// JobBackend: what the GUI asks of the jobs, wherever they run. The pages
// (New job, Jobs, dashboard) talk only to this interface; LocalBackend runs
// the jobs in this process (a JobQueue and the results store), and
// RemoteBackend runs them on a `tokenlens-cli serve` server over the job API
// (HTTP and WebSocket, docs/api.md).
//
// Every function and signal is on the GUI thread and none blocks on the
// network: lookups (job, listJobs, progress) answer from what the backend
// knows now (the remote one's cache, kept fresh by the server's events), and
// the operations that need the server answer through a callback or a later
// signal. The signals are JobQueue's, with the same meaning.

#include "jobs/job_queue.h"

#include <QObject>
#include <QString>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens::gui {

class JobBackend : public QObject {
    Q_OBJECT
public:
    // What not every backend offers.
    enum class Feature { Rerun, Import, Export, AddModelFolder };
    // How the backend reaches its jobs (always Connected for the local one).
    enum class Connection { Connecting, Connected, Reconnecting, WrongToken, Unreachable };

    using Submitted = std::function<void(Result<std::string>)>;
    using BatchSubmitted = std::function<void(jobs::BatchSubmission)>;

    explicit JobBackend(QObject* parent = nullptr) : QObject(parent) {}

    virtual bool isRemote() const = 0;
    // "this computer" or the server's address, for messages.
    virtual QString description() const = 0;
    virtual bool supports(Feature f) const = 0;
    // Why a feature is not offered (a tooltip), empty when it is.
    virtual QString unsupportedReason(Feature f) const = 0;
    virtual Connection connection() const { return Connection::Connected; }

    // Queues a job; `done` gets the id or the message (at once for the local
    // backend, once the server answered for the remote one). The job is known
    // to job() by the time `done` runs.
    virtual void submit(const Job& spec, Submitted done) = 0;
    virtual void followUp(const std::string& parentId, const std::string& text, int followModel, Submitted done) = 0;
    virtual void submitBatch(const std::string& jsonl, const Job& defaults, const std::string& source,
                             BatchSubmitted done) = 0;
    // true when a cancel was started (the remote backend reports a refusal
    // with operationFailed).
    virtual bool cancelJob(const std::string& id) = 0;
    // Re-queues what did not complete; the remote backend answers true at
    // once and reports a refusal with operationFailed.
    virtual Result<bool> rerun(const std::string& id) = 0;
    // Deletes a job; the remote backend answers ok at once and emits
    // jobRemoved (or operationFailed) when the server did.
    virtual Result<bool> remove(const std::string& id) = 0;
    virtual Result<nlohmann::json> exportJob(const std::string& id) = 0;
    // Adds an exported job (or any result JSON) as a new job; `done` gets its
    // id or the message (at once locally, once the server answered remotely).
    virtual void importJob(const nlohmann::json& j, const std::string& source, Submitted done) = 0;

    // A snapshot of the job, with the pair results known so far.
    virtual std::optional<jobs::JobRecord> job(const std::string& id) const = 0;
    // Every job known (the store's and this session's), without results,
    // in no particular order.
    virtual std::vector<jobs::JobRecord> listJobs() const = 0;
    // The ids of the jobs whose parent_job is `id` (a conversation's next
    // turns), in no particular order.
    virtual std::vector<std::string> followUps(const std::string& id) const = 0;
    // 0..1000, and the estimated seconds left (-1 when unknown).
    virtual int progress(const std::string& id) const = 0;
    virtual double etaSeconds(const std::string& id) const = 0;
    // The dashboard is about to show this job: fetch what its results need
    // (the remote backend then emits pairResultAvailable as they arrive).
    virtual void wantResults(const std::string& id) { (void)id; }

signals:
    void jobAvailable(const QString& jobId);
    void jobStatusAvailable(const QString& jobId, tokenlens::jobs::JobStatus status);
    void pairStatusAvailable(const QString& jobId, int modelIndex, const QString& method,
                             tokenlens::jobs::JobStatus status);
    void pairResultAvailable(const QString& jobId, int modelIndex, const QString& method);
    void pairFailed(const QString& jobId, int modelIndex, const QString& method, const QString& message);
    void progressAvailable(const QString& jobId, int permille, double etaSeconds);
    void jobResultAvailable(const QString& jobId);
    void jobFailed(const QString& jobId, const QString& message);
    void jobRemoved(const QString& jobId);
    void storeFailed(const QString& message);
    // The job list changed wholesale (after a reconnection): reload it.
    void jobsResynced();
    // An operation answered later failed (cancel, delete on the server).
    void operationFailed(const QString& message);
    void connectionChanged();
};

} // namespace tokenlens::gui
