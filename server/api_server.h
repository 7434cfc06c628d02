#pragma once
// The job API over HTTP and WebSocket (Boost.Beast on Boost.Asio).
//
// Threads. The JobQueue (and its store) live on the Qt thread that created
// the ApiServer; Asio runs on its own thread(s). An HTTP session reads and
// checks a request on its Asio strand (limits, auth, routing, JSON and
// option validation: the catalog and the method registry are immutable),
// answers what needs no queue there (health, models, methods), and hands
// the rest to the Qt thread with a queued QMetaObject::invokeMethod. The
// reply goes back with asio::post to the session's strand.
//
// Events. Every queue signal becomes one JSON event, numbered on the Qt
// thread (`seq` over all jobs, `job_seq` per job), and is posted to the
// event hub's strand, which hands it to each subscriber's strand: posts are
// FIFO, so every subscriber sees the events in the order they were
// numbered. A subscriber registers from the Qt thread right after its
// snapshot was taken, so it misses nothing after it and sees nothing twice.
// A subscriber whose write queue exceeds the limit is disconnected.
//
// See docs/api.md for the endpoints, limits and error format, and
// server_impl.h for the parts (listener, sessions, hub, route table).

#include "catalog/model_catalog.h"
#include "request_parsing.h"

#include "jobs/job_queue.h"
#include "util/result.h"

#include <QObject>

#include <chrono>
#include <map>
#include <optional>
#include <cstdint>
#include <memory>
#include <string>

namespace tokenlens::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 8765; // 0: any free port (see ApiServer::port())
    std::string token;    // empty: no authentication (refused on a non-loopback address)
    int maxQueued = 64;   // jobs waiting or running; more answer 429
    size_t bodyLimit = size_t{1} << 20;
    size_t headerLimit = size_t{16} << 10;
    std::chrono::milliseconds readTimeout{15000};  // a request (headers and body) must arrive within this
    std::chrono::milliseconds writeTimeout{30000}; // a response must be taken within this
    size_t wsQueueBytes = size_t{16} << 20;        // per WebSocket connection
    size_t wsQueueMessages = 4096;
    size_t wsInlineResultBytes = size_t{1} << 20; // larger staged results are announced, not inlined
    int maxConnections = 512;
    int maxPendingCalls = 2048; // requests waiting for the Qt thread; more answer 503
    int ioThreads = 1;
    int retryAfterSeconds = 2;
};

struct Reply; // reply.h

// isLoopbackHost and constantTimeEquals: request_parsing.h.

class ApiServer : public QObject {
    Q_OBJECT
public:
    // `queue` (and its store) must outlive the server and live on this thread.
    ApiServer(jobs::JobQueue& queue, ModelCatalog catalog, ServerOptions options, QObject* parent = nullptr);
    ~ApiServer() override;

    // Binds and starts the Asio threads. Fails on a bad address, a busy
    // port, or a non-loopback address without a token.
    Status start();
    uint16_t port() const;
    const ServerOptions& options() const { return m_options; }

    // Catches SIGINT and SIGTERM (on the Asio side) and emits
    // shutdownRequested on this thread. Call before start().
    void handleSignals();
    // From now on new requests answer 503 (health too); thread-safe.
    void beginShutdown();
    bool shuttingDown() const;
    // Closes the listener and every connection and joins the Asio threads.
    void stop();

    // Jobs waiting or running that this server knows of.
    int pendingJobs() const { return m_pending; }

signals:
    void shutdownRequested(int signalNumber);

public:
    struct Impl;
    using Reply = server::Reply;

private:
    friend struct Impl;
    // Qt thread: runs the calls the Asio threads posted (Impl::postToQt),
    // which invokes it by name.
    Q_INVOKABLE void runQtCalls();
    // Qt thread: what the routes that need the queue answer.
    Reply submitJob(const Job& spec);
    Reply listJobs(int64_t offset, int64_t limit);
    Reply jobStatus(const std::string& id);
    Reply jobResults(const std::string& id, bool partial);
    Reply deleteJob(const std::string& id);
    Reply rerunJob(const std::string& id);
    Reply importJob(const nlohmann::json& body);

    void publish(const std::string& jobId, const std::string& type, nlohmann::json fields);
    std::string snapshotForJob(const std::string& jobId, bool& found);
    std::string snapshotForAll();
    nlohmann::json statusJson(const jobs::JobRecord& rec);
    std::vector<std::string> modelIds(const Job& spec) const; // catalogue ids, never server paths
    std::optional<jobs::JobRecord> findJob(const std::string& id, bool withResults);

    jobs::JobQueue& m_queue;
    ModelCatalog m_catalog;
    ServerOptions m_options;
    std::unique_ptr<Impl> m_impl;
    std::map<std::string, jobs::JobStatus> m_live; // this session's jobs and their status
    std::map<std::string, uint64_t> m_jobSeq;      // last job_seq per job
    uint64_t m_seq = 0;
    int m_pending = 0;
};

} // namespace tokenlens::server
