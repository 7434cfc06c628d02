#pragma once
// The server's private side, shared by its parts (the layout of Beast's
// example/advanced/server and websocket/server/chat-multi):
//   listener.cpp          Impl: the io_context, the accept loop
//   http_session.cpp      one HTTP connection: read, limits, write
//   route_table.cpp       auth and the route table, without sockets or threads
//   routes.cpp            what each endpoint does (strand, Qt thread, upgrade)
//   request_parsing.cpp   targets, query parameters, request bodies, catalogue JSON
//   websocket_session.cpp an event stream's connection and its write queue
//   event_hub.cpp         the subscribers of the event streams
//   api_server.cpp        ApiServer's lifecycle and its events (Qt thread)
//   job_replies.cpp       what the routes that need the queue answer (Qt thread)
// Threads and ordering: api_server.h.

#include "api_server.h"
#include "reply.h"
#include "route_table.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>

#include <QMetaObject>

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace tokenlens::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct ApiServer::Impl {
    struct HttpSession; // http_session.h
    struct WsSession;   // websocket_session.h
    struct Hub;         // event_hub.h

    ApiServer* server;
    ServerOptions opts;
    std::unique_ptr<net::io_context> ioc;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::unique_ptr<net::steady_timer> acceptRetry;
    std::unique_ptr<net::signal_set> signalSet;
    std::shared_ptr<Hub> hub;
    std::vector<std::thread> threads;
    std::atomic<bool> shutting{false};
    std::atomic<int> connections{0}, pendingCalls{0}, pendingJobs{0}, runningJobs{0}, subscribers{0};
    std::string modelsBody, methodsBody;
    uint16_t port = 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    Impl(ApiServer* s, ServerOptions o);
    ~Impl();

    // listener.cpp: binds and listens (nothing bound on failure), then accepts.
    beast::error_code listen(const net::ip::address& addr, uint16_t port);
    void accept();
    // routes.cpp: the checks every request passes, the route table
    // (route_table.h, reading with `routing`), then the endpoint's work.
    RouteContext routing;
    void handle(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req);
    void execute(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req, EndpointCall call);
    // websocket_session.cpp: hands the connection to an event stream.
    void upgrade(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req, const std::string& job);

    // Work for the Qt thread, posted from the Asio threads and run in order by
    // ApiServer::runQtCalls. Handed over under a std::mutex, the one wake-up
    // posted by name (no closure crosses Qt's event queue): Qt's own queue is
    // synchronised inside the uninstrumented Qt library, so ThreadSanitizer
    // would not see a closure built on an Asio thread and run (then freed) on
    // the Qt thread as ordered; this mutex it sees. The job queue hands its
    // outcomes over the same way (core/jobs/queue_worker.cpp).
    std::mutex qtCallsMutex;
    std::deque<std::function<void()>> qtCalls; // under qtCallsMutex
    void postToQt(std::function<void()> call) {
        std::lock_guard lock(qtCallsMutex);
        const bool wake = qtCalls.empty();
        qtCalls.push_back(std::move(call));
        if (wake) QMetaObject::invokeMethod(server, "runQtCalls", Qt::QueuedConnection);
    }

    // Runs `f` on the Qt thread; false (nothing queued) when too many calls wait.
    template <class F>
    bool onQt(F f) {
        if (pendingCalls.fetch_add(1) >= opts.maxPendingCalls) {
            --pendingCalls;
            return false;
        }
        postToQt([this, f = std::move(f)]() mutable {
            --pendingCalls;
            f();
        });
        return true;
    }

    Reply retryLater(unsigned status, const std::string& message) const {
        Reply r = Reply::error(status, message);
        r.header("Retry-After", std::to_string(opts.retryAfterSeconds));
        return r;
    }
};

} // namespace tokenlens::server
