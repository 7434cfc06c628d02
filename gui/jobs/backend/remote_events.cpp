// RemoteBackend's threads and events: the event stream's thread
// (EventStreamThread) and the connection state, and the events and resyncs
// that keep the record cache current.
#include "jobs/backend/remote_backend.h"

#include "api/wire.h"
#include "jobs/backend/remote_values.h"

#include <QCoreApplication>
#include <QPointer>
#include <QThread>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace tokenlens::gui {

using nlohmann::json;
using jobs::JobStatus;
using api::optionalStringOf;
using api::statusOf;
using api::stringOf;
using remote::etaOf;
using remote::nowIso;
using remote::num;
using remote::permilleOf;

RemoteBackend::~RemoteBackend() {
    // Both threads are told to stop, but not waited for here: a request in
    // progress ends only within the client's timeout (15 s) and an event
    // stream within its own (3 s), and switching backends must not freeze the
    // window. A reaper thread joins and frees them; what they still answer is
    // dropped (their posts hold a QPointer to this backend).
    std::thread events = m_events.release();
    m_thread->quit();
    std::thread reaper([thread = m_thread, worker = m_worker, events = std::move(events)]() mutable {
        if (events.joinable()) events.join();
        thread->wait();
        delete worker; // its thread has finished
        delete thread;
    });
    // Joined at exit at the latest, before the process's statics go away.
    static struct Reapers {
        std::mutex m;
        std::vector<std::thread> threads;
        ~Reapers() {
            for (auto& t : threads) {
                if (t.joinable()) t.join();
            }
        }
    } reapers;
    std::lock_guard<std::mutex> lock(reapers.m);
    reapers.threads.push_back(std::move(reaper));
}

void RemoteBackend::startEvents() {
    // The event thread's news is handled on the GUI thread, while this
    // backend lives.
    QPointer<RemoteBackend> self(this);
    auto post = [self](std::function<void(RemoteBackend&)> f) {
        QMetaObject::invokeMethod(
            qApp, [self, f = std::move(f)] {
                if (self) f(*self);
            },
            Qt::QueuedConnection);
    };
    EventStreamThread::Handlers handlers;
    handlers.connection = [post](Connection c, const QString& message, int retryMs) {
        post([c, message, retryMs](RemoteBackend& b) { b.onConnection(c, message, retryMs); });
    };
    handlers.event = [post](json ev) { post([e = std::move(ev)](RemoteBackend& b) { b.onEvent(e); }); };
    m_events.start(m_endpoint, m_firstRetryMs, m_maxRetryMs, std::move(handlers));
}

void RemoteBackend::stopEvents() { m_events.stop(); }

void RemoteBackend::reconnectNow() { m_events.kick(); }

void RemoteBackend::setRetryDelays(int firstMs, int maxMs) {
    stopEvents();
    m_firstRetryMs = std::max(50, firstMs);
    m_maxRetryMs = std::max(m_firstRetryMs, maxMs);
    startEvents();
}

int RemoteBackend::retryInMs() const {
    if (m_retryMs < 0) return -1;
    return std::max<int>(0, m_retryMs - static_cast<int>(m_retryClock.elapsed()));
}

void RemoteBackend::onConnection(Connection c, const QString& message, int retryMs) {
    const bool back = c == Connection::Connected && m_conn != Connection::Connected;
    m_conn = c;
    m_connMessage = message;
    m_retryMs = retryMs;
    m_retryClock.start();
    emit connectionChanged();
    if (back) resync();
}

// ----------------------------------------------------------------- events

void RemoteBackend::onEvent(const json& ev) {
    if (!ev.is_object()) return;
    const std::string type = stringOf(ev, "type");
    const std::string id = stringOf(ev, "job_id");
    if (type == "snapshot" || id.empty()) return; // resync() reads the whole list on connecting
    const QString qid = QString::fromStdString(id);
    auto it = m_jobs.find(id);
    if (type == "removed") {
        if (it != m_jobs.end()) {
            m_jobs.erase(it);
            emit jobRemoved(qid);
        }
        return;
    }
    if (it == m_jobs.end()) {
        // Submitted elsewhere (another client, a script): read it.
        fetchStatus(id);
        return;
    }
    Cached& c = it->second;
    jobs::JobRecord& r = c.rec;
    if (type == "job") {
        fetchStatus(id);
    } else if (type == "status") {
        const JobStatus s = statusOf(ev, "status", r.status);
        r.error = optionalStringOf(ev, "error");
        if (s != r.status) {
            r.status = s;
            if (jobs::isFinal(s)) {
                c.permille = 1000;
                c.eta = -1;
                if (r.finishedAt.empty()) r.finishedAt = nowIso();
            } else if (s == JobStatus::Running && r.startedAt.empty()) {
                r.startedAt = nowIso();
            }
            emit jobStatusAvailable(qid, s);
            if (jobs::isFinal(s)) {
                bool any = false;
                for (const auto& p : r.pairs) any = any || p.status == JobStatus::Completed;
                if (any) emit jobResultAvailable(qid);
                if (s == JobStatus::Failed) emit jobFailed(qid, QString::fromStdString(r.error.value_or("")));
                fetchStatus(id); // final timings, from_cache, errors
            }
        }
    } else if (type == "pair_status" || type == "pair_failed") {
        const int model = num<int>(ev, "model_index", 0);
        const std::string method = stringOf(ev, "method");
        jobs::PairRecord* p = r.pair(model, method);
        if (!p) return;
        const JobStatus s = type == "pair_failed" ? JobStatus::Failed : statusOf(ev, "status", p->status);
        if (type == "pair_failed") p->error = optionalStringOf(ev, "error");
        if (p->status != s) {
            p->status = s;
            emit pairStatusAvailable(qid, model, QString::fromStdString(method), s);
        }
        if (type == "pair_failed") emit pairFailed(qid, model, QString::fromStdString(method), QString::fromStdString(p->error.value_or("")));
        if (s == JobStatus::Completed && c.wanted) fetchResults(id);
    } else if (type == "result") {
        if (c.wanted) fetchResults(id);
    } else if (type == "progress") {
        if (jobs::isFinal(r.status)) return; // a late one: the job has finished
        c.permille = permilleOf(ev);
        c.eta = etaOf(ev);
        emit progressAvailable(qid, c.permille, c.eta);
    }
}

void RemoteBackend::resync() {
    call([](api::ApiClient& c) { return c.get("/api/jobs?offset=0&limit=500"); },
         [this](const api::HttpResponse& r) {
             if (r.status != 200) {
                 if (r.ok()) emit operationFailed(tr("The job list could not be read: %1").arg(httpMessage(r)));
                 return;
             }
             const json j = r.json();
             const json list = j.is_object() ? j.value("jobs", json::array()) : json::array();
             if (!list.is_array()) return;
             const bool complete = j.is_object() && num<int64_t>(j, "total", INT64_MAX) <= static_cast<int64_t>(list.size());
             std::set<std::string> seen;
             std::vector<std::string> detail;
             const int64_t n = static_cast<int64_t>(list.size());
             int64_t index = 0;
             for (const auto& e : list) {
                 const std::string id = e.is_object() ? stringOf(e, "job_id") : std::string();
                 ++index;
                 if (id.empty()) continue;
                 seen.insert(id);
                 auto [it, fresh] = m_jobs.try_emplace(id);
                 Cached& c = it->second;
                 jobs::JobRecord& rec = c.rec;
                 const JobStatus before = rec.status;
                 rec.id = id;
                 rec.seq = n - index + 1; // the list is newest first
                 const api::ListEntry entry = api::listEntryFromJson(e);
                 rec.status = statusOf(e, "status", rec.status);
                 rec.createdAt = entry.createdAt;
                 rec.finishedAt = entry.finishedAt;
                 if (fresh || !c.detailed) {
                     rec.spec = api::jobOf(entry);
                     rec.prompt = rec.spec.input;
                     // Until /status says: every pair as the job (the table's counts).
                     rec.pairs = jobs::expandPairs(rec.spec);
                     for (auto& p : rec.pairs) p.status = jobs::isFinal(rec.status) ? rec.status : JobStatus::Queued;
                 }
                 if (!fresh && before != rec.status) {
                     emit jobStatusAvailable(QString::fromStdString(id), rec.status);
                 }
                 if (!jobs::isFinal(rec.status) || c.wanted || (index <= 100 && !c.detailed) ||
                     (!fresh && before != rec.status)) {
                     detail.push_back(id);
                 }
             }
             m_nextSeq = std::max<int64_t>(m_nextSeq, n + 1);
             if (complete) {
                 for (auto it = m_jobs.begin(); it != m_jobs.end();) {
                     if (seen.count(it->first)) {
                         ++it;
                         continue;
                     }
                     const QString gone = QString::fromStdString(it->first);
                     it = m_jobs.erase(it);
                     emit jobRemoved(gone);
                 }
             }
             emit jobsResynced();
             for (const auto& id : detail) fetchStatus(id);
         });
}

} // namespace tokenlens::gui
