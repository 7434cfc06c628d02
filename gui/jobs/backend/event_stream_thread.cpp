#include "jobs/backend/event_stream_thread.h"

#include <QCoreApplication>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace tokenlens::gui {

struct EventStreamThread::Shared {
    std::mutex mutex;
    std::condition_variable wake;
    bool stop = false;
    bool kick = false; // reconnect now
};

namespace {

using Connection = JobBackend::Connection;

QString tr(const char* text) { return QCoreApplication::translate("tokenlens::gui::RemoteBackend", text); }

// Sleeps up to `ms` or until stopped or kicked; false when stopped.
template <class Shared>
bool pause(Shared& sh, int ms) {
    std::unique_lock<std::mutex> lock(sh.mutex);
    sh.wake.wait_for(lock, std::chrono::milliseconds(ms), [&] { return sh.stop || sh.kick; });
    sh.kick = false;
    return !sh.stop;
}

} // namespace

EventStreamThread::~EventStreamThread() { stop(); }

void EventStreamThread::start(api::Endpoint endpoint, int firstMs, int maxMs, Handlers handlers) {
    m_shared = std::make_shared<Shared>();
    auto sh = m_shared;
    const int first = firstMs, most = maxMs;
    m_thread = std::thread([sh, ep = std::move(endpoint), first, most, handlers = std::move(handlers)] {
        bool wasConnected = false;
        int delay = first;
        for (;;) {
            {
                std::lock_guard<std::mutex> lock(sh->mutex);
                if (sh->stop) return;
            }
            api::EventStream stream(ep, std::chrono::seconds(3));
            const Status opened = stream.open("/api/ws/jobs");
            if (!opened) {
                const int http = stream.httpStatus();
                const QString msg = QString::fromStdString(opened.error().message);
                if (http == 401) {
                    handlers.connection(Connection::WrongToken, msg, -1);
                    // Not retried: the token will not change by itself.
                    std::unique_lock<std::mutex> lock(sh->mutex);
                    sh->wake.wait(lock, [&] { return sh->stop || sh->kick; });
                    sh->kick = false;
                    if (sh->stop) return;
                    delay = first;
                    continue;
                }
                const Connection c = wasConnected ? Connection::Reconnecting : Connection::Unreachable;
                handlers.connection(c, msg, delay);
                if (!pause(*sh, delay)) return;
                delay = std::min(most, delay * 2);
                continue;
            }
            wasConnected = true;
            delay = first;
            handlers.connection(Connection::Connected, {}, -1);
            for (;;) {
                {
                    std::lock_guard<std::mutex> lock(sh->mutex);
                    if (sh->stop) {
                        stream.close();
                        return;
                    }
                    if (sh->kick) break;
                }
                auto ev = stream.next(std::chrono::milliseconds(200));
                if (ev) {
                    handlers.event(std::move(*ev));
                } else if (stream.closed()) {
                    break;
                }
            }
            stream.close();
            handlers.connection(Connection::Reconnecting, tr("the connection to the server was lost"), delay);
            if (!pause(*sh, delay)) return;
        }
    });
}

void EventStreamThread::signalStop() {
    if (!m_shared) return;
    {
        std::lock_guard<std::mutex> lock(m_shared->mutex);
        m_shared->stop = true;
    }
    m_shared->wake.notify_all();
}

void EventStreamThread::stop() {
    signalStop();
    if (m_thread.joinable()) m_thread.join();
    m_shared.reset();
}

std::thread EventStreamThread::release() {
    signalStop();
    m_shared.reset();
    return std::move(m_thread);
}

void EventStreamThread::kick() {
    if (!m_shared) return;
    {
        std::lock_guard<std::mutex> lock(m_shared->mutex);
        m_shared->kick = true;
    }
    m_shared->wake.notify_all();
}

} // namespace tokenlens::gui
