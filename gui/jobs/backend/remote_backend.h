#pragma once
// The jobs run on a `tokenlens-cli serve` server (docs/api.md): HTTP calls on
// a worker thread (one ApiClient, requests in order), and the server's event
// stream (/api/ws/jobs) on a thread of its own, turned into JobBackend's
// signals on the GUI thread. The backend caches what the GUI shows: every
// job's record (from GET /api/jobs and /status, kept current by the events)
// and, for the jobs the dashboard shows (wantResults), their pair results
// (GET /api/jobs/{id}/results?partial=1, fetched again as `result` events
// announce new ones).
//
// Connection. The event stream is the connection: Connected while it is
// open; when it fails or drops the backend retries with a growing delay
// (Reconnecting after a loss, Unreachable when it never connected) and, once
// back, re-reads the job list (jobsResynced) so nothing that happened
// meanwhile is missed. A 401 (wrong or missing token) is WrongToken and not
// retried until reconnectNow().
//
// Re-running a job's unfinished pairs and importing a job file go through
// the API's endpoints; adding model folders is not offered (the server's
// catalogue decides).
//
// Files: remote_backend.cpp (the address, calls, lookups, the record cache
// and the operations), remote_events.cpp (the threads, the connection and
// the events); the event stream's thread is EventStreamThread.

#include "jobs/backend/event_stream_thread.h"
#include "jobs/backend/job_backend.h"
#include "viewmodel/model_entries.h"

#include "api/api_client.h"

#include <QElapsedTimer>

#include <map>
#include <memory>
#include <thread>

class QThread;

namespace tokenlens::gui {

// "http://host:port", "host:port" or "host" (port 8765), with the token.
// https is refused (the server speaks plain HTTP; use an SSH tunnel or a
// TLS-terminating proxy in front of it).
Result<api::Endpoint> parseServerUrl(const QString& url, const QString& token);
QString endpointText(const api::Endpoint& ep);

class RemoteBackend : public JobBackend {
    Q_OBJECT
public:
    explicit RemoteBackend(api::Endpoint endpoint, QObject* parent = nullptr);
    ~RemoteBackend() override;

    const api::Endpoint& endpoint() const { return m_endpoint; }
    // Delay before the first retry and the most it grows to (doubling).
    void setRetryDelays(int firstMs, int maxMs);
    // Opens the event stream now (after a wrong token, or to skip a wait).
    void reconnectNow();
    // What the connection indicator says ("connected", the server's refusal, ...).
    QString connectionMessage() const { return m_connMessage; }
    // Milliseconds until the next connection attempt; -1 when none is planned.
    int retryInMs() const;

    // The server's models as the New job page lists them (path = the id).
    // Blocks up to the timeout: call it off the GUI thread.
    static Result<std::vector<ModelEntry>> fetchModels(const api::Endpoint& ep);
    // GET /api/health and an authenticated GET /api/jobs; blocks (worker
    // thread only): "" when both answer, else what is wrong.
    static QString testConnection(const api::Endpoint& ep);

    // Every completed pair of the job has its result here.
    bool hasResults(const std::string& id) const;

    bool isRemote() const override { return true; }
    QString description() const override;
    Connection connection() const override { return m_conn; }
    bool supports(Feature f) const override;
    QString unsupportedReason(Feature f) const override;

    void submit(const Job& spec, Submitted done) override;
    void followUp(const std::string& parentId, const std::string& text, int followModel, Submitted done) override;
    void submitBatch(const std::string& jsonl, const Job& defaults, const std::string& source,
                     BatchSubmitted done) override;
    bool cancelJob(const std::string& id) override;
    Result<bool> rerun(const std::string& id) override;
    Result<bool> remove(const std::string& id) override;
    Result<nlohmann::json> exportJob(const std::string& id) override;
    void importJob(const nlohmann::json& j, const std::string& source, Submitted done) override;

    std::optional<jobs::JobRecord> job(const std::string& id) const override;
    std::vector<jobs::JobRecord> listJobs() const override;
    std::vector<std::string> followUps(const std::string& id) const override;
    int progress(const std::string& id) const override;
    double etaSeconds(const std::string& id) const override;
    void wantResults(const std::string& id) override;

private:
    struct Cached {
        jobs::JobRecord rec;
        int permille = 0;
        double eta = -1;
        bool detailed = false; // pairs from /status (else guessed from the list)
        bool wanted = false;   // the dashboard shows it: keep its results current
        bool fetching = false, fetchAgain = false;
    };

    using Work = std::function<api::HttpResponse(api::ApiClient&)>;
    using Answer = std::function<void(const api::HttpResponse&)>;
    void call(Work work, Answer answer);
    QString httpMessage(const api::HttpResponse& r) const;

    void startEvents();
    void stopEvents();
    void onEvent(const nlohmann::json& ev);
    void onConnection(Connection c, const QString& message, int retryMs);
    void resync();
    void fetchStatus(const std::string& id);
    void applyStatus(const nlohmann::json& st);
    void fetchResults(const std::string& id);
    void applyResults(const std::string& id, const nlohmann::json& j);
    void submitNext(std::shared_ptr<struct BatchRun> run);

    api::Endpoint m_endpoint;
    std::map<std::string, Cached> m_jobs;
    int64_t m_nextSeq = 1;

    QThread* m_thread;
    QObject* m_worker;
    std::shared_ptr<std::unique_ptr<api::ApiClient>> m_client; // used on m_thread only

    EventStreamThread m_events;
    int m_firstRetryMs = 500, m_maxRetryMs = 8000;

    Connection m_conn = Connection::Connecting;
    QString m_connMessage;
    QElapsedTimer m_retryClock;
    int m_retryMs = -1;
};

} // namespace tokenlens::gui
