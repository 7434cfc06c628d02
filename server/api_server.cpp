// ApiServer's lifecycle (start, signals, shutdown, stop) and its Qt-thread
// side of the events: every queue signal becomes one numbered JSON event
// posted to the hub; the snapshots a new subscriber starts from.

#include "event_hub.h"
#include "request_parsing.h"

#include "result/result_json.h"

#include <boost/asio/post.hpp>

#include <QCoreApplication>

#include <algorithm>
#include <csignal>

namespace tokenlens::server {

using nlohmann::json;
using jobs::JobStatus;

ApiServer::ApiServer(jobs::JobQueue& queue, ModelCatalog catalog, ServerOptions options, QObject* parent)
    : QObject(parent), m_queue(queue), m_catalog(std::move(catalog)), m_options(std::move(options)),
      m_impl(std::make_unique<Impl>(this, m_options)) {
    m_impl->modelsBody = dump(modelsJson(m_catalog));
    m_impl->methodsBody = dump(methodsJson());
    m_impl->routing = RouteContext{m_options.token, [this](const nlohmann::ordered_json& j) { return specFromRequest(j, m_catalog); }};
    using jobs::JobQueue;
    connect(&m_queue, &JobQueue::jobAvailable, this, [this](const QString& q) {
        const std::string id = q.toStdString();
        if (!m_live.count(id)) m_live[id] = JobStatus::Queued;
        publish(id, "job", json::object());
    });
    connect(&m_queue, &JobQueue::jobStatusAvailable, this, [this](const QString& q, JobStatus st) {
        const std::string id = q.toStdString();
        m_live[id] = st;
        json fields = {{"status", jobs::statusName(st)}};
        if (jobs::isFinal(st)) {
            if (auto rec = m_queue.job(id); rec && rec->error) fields["error"] = *rec->error;
        }
        publish(id, "status", std::move(fields));
    });
    connect(&m_queue, &JobQueue::pairStatusAvailable, this,
            [this](const QString& q, int mi, const QString& method, JobStatus st) {
                const std::string id = q.toStdString();
                publish(id, "pair_status", {{"model_index", mi}, {"method", method.toStdString()}, {"status", jobs::statusName(st)}});
            });
    connect(&m_queue, &JobQueue::pairFailed, this, [this](const QString& q, int mi, const QString& method, const QString& msg) {
        publish(q.toStdString(), "pair_failed",
                {{"model_index", mi}, {"method", method.toStdString()}, {"error", msg.toStdString()}});
    });
    connect(&m_queue, &JobQueue::pairResultAvailable, this, [this](const QString& q, int mi, const QString& method) {
        const std::string id = q.toStdString();
        json fields = {{"model_index", mi}, {"method", method.toStdString()},
                       {"results_url", "/api/jobs/" + id + "/results?partial=1"}};
        if (m_impl->subscribers.load() > 0) {
            if (auto r = m_queue.pairResult(id, mi, method.toStdString())) {
                json rj = toJson(*r);
                if (dump(rj).size() <= m_options.wsInlineResultBytes) fields["result"] = std::move(rj);
                else fields["result_inlined"] = false;
            }
        }
        publish(id, "result", std::move(fields));
    });
    connect(&m_queue, &JobQueue::progressAvailable, this, [this](const QString& q, int permille, double eta) {
        publish(q.toStdString(), "progress",
                {{"progress", permille / 1000.0}, {"eta_seconds", eta >= 0 ? json(eta) : json(nullptr)}});
    });
    connect(&m_queue, &JobQueue::jobRemoved, this, [this](const QString& q) {
        const std::string id = q.toStdString();
        m_live.erase(id);
        publish(id, "removed", json::object());
    });
}

ApiServer::~ApiServer() {
    stop();
    // Queued calls still hold sessions bound to the io_context: gone first
    // (the Asio threads are joined: nothing posts any more).
    QCoreApplication::removePostedEvents(this);
    m_impl->qtCalls.clear();
    m_impl.reset();
}

void ApiServer::runQtCalls() {
    std::deque<std::function<void()>> calls;
    {
        std::lock_guard lock(m_impl->qtCallsMutex);
        calls.swap(m_impl->qtCalls);
    }
    for (auto& call : calls) call();
}

Status ApiServer::start() {
    if (m_options.token.empty() && !isLoopbackHost(m_options.host)) {
        return makeError(ErrorCode::InvalidArgument,
                         "refusing to listen on " + m_options.host +
                             " without a token: anyone who can reach it could run jobs (give --token-file, or bind "
                             "127.0.0.1)");
    }
    boost::system::error_code ec;
    const auto addr = net::ip::make_address(m_options.host == "localhost" ? "127.0.0.1" : m_options.host, ec);
    if (ec) return makeError(ErrorCode::InvalidArgument, "--host " + m_options.host + ": not an IP address");
    Impl& im = *m_impl;
    if (auto failed = im.listen(addr, m_options.port)) {
        return makeError(ErrorCode::Unreadable, "cannot listen on " + m_options.host + ":" +
                                                    std::to_string(m_options.port) + ": " + failed.message());
    }
    im.work.emplace(im.ioc->get_executor());
    im.accept();
    const int n = std::clamp(m_options.ioThreads, 1, 16);
    for (int i = 0; i < n; ++i) {
        im.threads.emplace_back([ioc = im.ioc.get()] {
            // A handler that throws loses its connection, not the server.
            for (;;) {
                try {
                    ioc->run();
                    return;
                } catch (const std::exception&) {
                }
            }
        });
    }
    return {};
}

uint16_t ApiServer::port() const { return m_impl->port; }

void ApiServer::handleSignals() {
    Impl& im = *m_impl;
    im.signalSet = std::make_unique<net::signal_set>(*im.ioc, SIGINT, SIGTERM);
    struct Waiter {
        Impl* impl;
        void operator()(const beast::error_code& ec, int sig) const {
            if (ec) return;
            impl->shutting.store(true);
            impl->postToQt([s = impl->server, sig] { emit s->shutdownRequested(sig); });
            impl->signalSet->async_wait(*this); // a second signal changes nothing
        }
    };
    im.signalSet->async_wait(Waiter{&im});
}

void ApiServer::beginShutdown() {
    Impl& im = *m_impl;
    if (im.shutting.exchange(true) && !im.acceptor) return;
    if (im.acceptor) {
        // No new connections; open ones get 503 with Retry-After.
        net::post(im.acceptor->get_executor(), [a = im.acceptor.get()] {
            beast::error_code ec;
            a->close(ec);
        });
    }
}

bool ApiServer::shuttingDown() const { return m_impl->shutting.load(); }

void ApiServer::stop() {
    Impl& im = *m_impl;
    if (im.threads.empty()) return;
    beginShutdown();
    im.work.reset();
    im.ioc->stop();
    for (auto& t : im.threads) t.join();
    im.threads.clear();
}

void ApiServer::publish(const std::string& jobId, const std::string& type, json fields) {
    fields["type"] = type;
    fields["seq"] = ++m_seq;
    fields["job_seq"] = ++m_jobSeq[jobId];
    fields["job_id"] = jobId;
    int pending = 0, running = 0;
    for (const auto& [id, st] : m_live) {
        pending += jobs::isFinal(st) ? 0 : 1;
        running += st == JobStatus::Running ? 1 : 0;
    }
    m_pending = pending;
    m_impl->pendingJobs.store(pending);
    m_impl->runningJobs.store(running);
    auto msg = std::make_shared<const std::string>(dump(fields));
    net::post(m_impl->hub->strand, [h = m_impl->hub, jobId, msg] { h->publish(jobId, msg); });
}

std::string ApiServer::snapshotForJob(const std::string& jobId, bool& found) {
    auto rec = findJob(jobId, false);
    found = rec.has_value();
    if (!rec) return {};
    auto it = m_jobSeq.find(jobId);
    return dump({{"type", "snapshot"},
                 {"seq", m_seq},
                 {"job_seq", it == m_jobSeq.end() ? 0 : it->second},
                 {"job_id", jobId},
                 {"status", statusJson(*rec)}});
}

std::string ApiServer::snapshotForAll() {
    json jobsJson = json::array();
    for (const auto& [id, st] : m_live) {
        auto it = m_jobSeq.find(id);
        jobsJson.push_back({{"job_id", id}, {"status", jobs::statusName(st)}, {"job_seq", it == m_jobSeq.end() ? 0 : it->second}});
    }
    return dump({{"type", "snapshot"}, {"seq", m_seq}, {"jobs", std::move(jobsJson)}});
}

} // namespace tokenlens::server
