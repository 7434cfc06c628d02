#pragma once
// The server's private side, shared by its parts (the layout of Beast's
// example/advanced/server and websocket/server/chat-multi):
//   listener.cpp          Impl: the io_context, the accept loop
//   http_session.cpp      one HTTP connection: read, limits, write
//   routes.cpp            auth and the route table (one small handler per endpoint)
//   request_parsing.cpp   targets, query parameters, request bodies, catalogue JSON
//   websocket_session.cpp an event stream's connection and its write queue
//   event_hub.cpp         the subscribers of the event streams
//   api_server.cpp        ApiServer's lifecycle and its events (Qt thread)
//   job_replies.cpp       what the routes that need the queue answer (Qt thread)
// Threads and ordering: api_server.h.

#include "api_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>

#include <QMetaObject>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

namespace tokenlens::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

inline std::string dump(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct ApiServer::Reply {
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool close = false;

    static Reply ofJson(unsigned status, const nlohmann::json& j) { return Reply{status, dump(j), {}, false}; }
    static Reply error(unsigned status, const std::string& message, const std::string& field = {}) {
        nlohmann::json j = {{"error", message}};
        if (!field.empty()) j["field"] = field;
        return ofJson(status, j);
    }
    Reply& header(std::string k, std::string v) {
        headers.emplace_back(std::move(k), std::move(v));
        return *this;
    }
};

struct ApiServer::Impl {
    struct HttpSession; // http_session.h
    struct WsSession;   // websocket_session.h
    struct Hub;         // event_hub.h
    struct Call;        // routes.cpp

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
    // routes.cpp: the checks every request passes, then the route table.
    void handle(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req);
    void route(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>& req);
    // websocket_session.cpp: hands the connection to an event stream.
    void upgrade(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req, const std::string& job);

    // Runs `f` on the Qt thread; false (nothing queued) when too many calls wait.
    template <class F>
    bool onQt(F f) {
        if (pendingCalls.fetch_add(1) >= opts.maxPendingCalls) {
            --pendingCalls;
            return false;
        }
        QMetaObject::invokeMethod(
            server,
            [this, f]() mutable {
                --pendingCalls;
                f();
            },
            Qt::QueuedConnection);
        return true;
    }

    Reply retryLater(unsigned status, const std::string& message) const {
        Reply r = Reply::error(status, message);
        r.header("Retry-After", std::to_string(opts.retryAfterSeconds));
        return r;
    }
};

} // namespace tokenlens::server
