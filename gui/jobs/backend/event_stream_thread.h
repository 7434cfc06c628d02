#pragma once
// The thread that follows a job API server's event stream (/api/ws/jobs):
// it connects, hands every event on, and when the stream fails or drops
// retries with a delay that doubles from `firstMs` up to `maxMs`; a 401 is
// not retried until kick(). The handlers run on this thread: the caller
// posts what they carry to its own.

#include "jobs/backend/job_backend.h"

#include "api/api_client.h"

#include <QString>

#include <functional>
#include <memory>
#include <thread>

namespace tokenlens::gui {

class EventStreamThread {
public:
    struct Handlers {
        // The connection changed; `retryMs` until the next attempt, -1 for none.
        std::function<void(JobBackend::Connection, const QString& message, int retryMs)> connection;
        std::function<void(nlohmann::json event)> event;
    };

    EventStreamThread() = default;
    EventStreamThread(const EventStreamThread&) = delete;
    EventStreamThread& operator=(const EventStreamThread&) = delete;
    // Stops and joins (see release() for not waiting).
    ~EventStreamThread();

    void start(api::Endpoint endpoint, int firstMs, int maxMs, Handlers handlers);
    // Tells the thread to stop and waits for it.
    void stop();
    // Tells the thread to stop and hands it over without waiting (it ends
    // within the stream's timeout).
    std::thread release();
    // Reconnects now (after a wrong token, or to skip a wait).
    void kick();

private:
    struct Shared;
    void signalStop();

    std::shared_ptr<Shared> m_shared;
    std::thread m_thread;
};

} // namespace tokenlens::gui
