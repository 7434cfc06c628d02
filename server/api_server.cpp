#include "api_server.h"

#include "attribution/engine.h"
#include "attribution/method.h"
#include "api/wire.h"
#include "run/job_runner.h"
#include "result/result_json.h"

#include <tokenlens/version.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <QCoreApplication>
#include <QMetaObject>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <deque>
#include <set>
#include <thread>

namespace tokenlens::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;
using jobs::JobStatus;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool validJobId(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

std::string percentDecode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                   isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// A non-negative integer query parameter; false (and `error`) when malformed.
bool queryInt(const std::map<std::string, std::string>& q, const std::string& key, int64_t min, int64_t max,
              int64_t& out, std::string& error) {
    auto it = q.find(key);
    if (it == q.end()) return true;
    const std::string& v = it->second;
    if (v.empty() || v.size() > 12 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        error = "query parameter '" + key + "' must be an integer";
        return false;
    }
    const int64_t n = std::stoll(v);
    if (n < min || n > max) {
        error = "query parameter '" + key + "' must be between " + std::to_string(min) + " and " + std::to_string(max);
        return false;
    }
    out = n;
    return true;
}

// The option a validation message names ("option 'steps' must be ..."), for the `field` of a 400.
std::string optionField(const std::string& message) {
    const std::string marker = "option '";
    auto at = message.find(marker);
    if (at == std::string::npos) return "options";
    const auto end = message.find('\'', at + marker.size());
    if (end == std::string::npos) return "options";
    return "options." + message.substr(at + marker.size(), end - at - marker.size());
}

struct SpecError {
    std::string field, message;
};

// The request body of POST /api/jobs as a Job with the catalog's
// folders; every problem names its field. Thread-safe: reads only the
// immutable catalog and method registry.
std::variant<Job, SpecError> specFromRequest(const json& j, const ModelCatalog& catalog) {
    if (!j.is_object()) return SpecError{"", "the request body must be a JSON object"};
    std::vector<const CatalogEntry*> entries;
    JobReading how;
    how.complete = true;
    how.validJobId = validJobId;
    how.resolveModel = [&](const std::string& id) -> Result<std::string> {
        const std::string field = "models[" + std::to_string(entries.size()) + "]";
        const CatalogEntry* e = catalog.find(id);
        if (!e) return makeError(ErrorCode::NotFound, field + ": unknown model '" + id + "' (GET /api/models lists the ids)");
        if (!e->usable()) {
            return makeError(ErrorCode::InvalidArgument, field + ": model '" + id + "' cannot be used: " + e->error);
        }
        entries.push_back(e);
        return e->path.string();
    };
    std::string field;
    auto read = readJob(j, how, &field);
    if (!read) return SpecError{field, read.error().message};
    Job spec = std::move(read.value());
    for (size_t i = 0; i < spec.methods.size(); ++i) {
        if (!findMethod(spec.methods[i])) {
            std::string ids;
            for (const auto* m : allMethods()) ids += (ids.empty() ? "" : ", ") + m->id();
            const std::string f = "methods[" + std::to_string(i) + "]";
            return SpecError{f, f + ": unknown method '" + spec.methods[i] + "' (one of " + ids + ")"};
        }
    }
    // The engine's own checks: job-level options, then each method's options
    // (ranges, choices, layer indices) against each model's configuration.
    if (auto st = checkJob(spec); !st) return SpecError{optionField(st.error().message), st.error().message};
    for (const std::string& m : spec.methods) {
        for (size_t i = 0; i < entries.size(); ++i) {
            auto resolved = methodOptions(spec, m, entries[i]->config ? &*entries[i]->config : nullptr);
            if (!resolved) {
                return SpecError{optionField(resolved.error().message),
                                 resolved.error().message + " (model " + entries[i]->id + ")"};
            }
        }
    }
    return spec;
}

json methodsJson() {
    json out = json::array();
    for (const AttributionMethod* m : allMethods()) {
        json opts = json::array();
        for (const OptionSpec& o : m->options()) {
            json oj = {{"name", o.name}, {"type", o.type}, {"default", o.defaultValue}, {"help", o.help}};
            oj["min"] = o.min ? json(*o.min) : json(nullptr);
            oj["max"] = o.max ? json(*o.max) : json(nullptr);
            if (!o.choices.empty()) oj["choices"] = o.choices;
            opts.push_back(std::move(oj));
        }
        out.push_back({{"id", m->id()}, {"description", m->description()}, {"options", std::move(opts)}});
    }
    return {{"methods", std::move(out)}};
}

json modelsJson(const ModelCatalog& catalog) {
    json out = json::array();
    for (const CatalogEntry& e : catalog.entries()) {
        api::ModelView m;
        m.id = e.id;
        m.source = e.source;
        m.architecture = e.architecture;
        m.dtype = e.dtype;
        m.parameters = e.parameters;
        m.bytes = e.bytes;
        m.maxPositions = e.config ? e.config->maxPositions : 0;
        m.usable = e.usable();
        m.error = e.error;
        out.push_back(api::toJson(m));
    }
    return {{"models", std::move(out)}};
}

} // namespace

bool isLoopbackHost(const std::string& host) {
    if (host == "localhost") return true;
    boost::system::error_code ec;
    const auto addr = net::ip::make_address(host, ec);
    return !ec && addr.is_loopback();
}

bool constantTimeEquals(const std::string& given, const std::string& expected) {
    // Every byte of `expected` is visited whatever `given` is; the length
    // difference is folded into the result instead of returning early.
    unsigned char diff = given.size() == expected.size() ? 0 : 1;
    for (size_t i = 0; i < expected.size(); ++i) {
        const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
    }
    return diff == 0;
}

struct ApiServer::Reply {
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool close = false;

    static Reply ofJson(unsigned status, const json& j) { return Reply{status, dump(j), {}, false}; }
    static Reply error(unsigned status, const std::string& message, const std::string& field = {}) {
        json j = {{"error", message}};
        if (!field.empty()) j["field"] = field;
        return ofJson(status, j);
    }
    Reply& header(std::string k, std::string v) {
        headers.emplace_back(std::move(k), std::move(v));
        return *this;
    }
};

struct ApiServer::Impl {
    struct HttpSession;
    struct WsSession;

    // Subscribers of the event streams; touched only on `strand`.
    struct Hub {
        explicit Hub(net::io_context& ioc) : strand(net::make_strand(ioc)) {}
        net::strand<net::io_context::executor_type> strand;
        struct Sub {
            std::weak_ptr<WsSession> session;
            std::string job; // empty: every job
        };
        std::vector<Sub> subs;
        std::atomic<int>* count = nullptr;
        void publish(const std::string& job, const std::shared_ptr<const std::string>& msg);
    };

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

    Impl(ApiServer* s, ServerOptions o) : server(s), opts(std::move(o)), ioc(std::make_unique<net::io_context>()) {
        hub = std::make_shared<Hub>(*ioc);
        hub->count = &subscribers;
    }
    ~Impl() {
        // Everything bound to the io_context goes before it; its pending
        // handlers (and the sessions they hold) are destroyed with it.
        acceptor.reset();
        acceptRetry.reset();
        signalSet.reset();
        hub.reset();
        ioc.reset();
    }

    void accept();
    void handle(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req);
    void route(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>& req);
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

// ---------------------------------------------------------------- WebSocket

struct ApiServer::Impl::WsSession : std::enable_shared_from_this<WsSession> {
    Impl* impl;
    websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer readBuffer;
    http::request<http::string_body> req;
    std::deque<std::shared_ptr<const std::string>> out;
    size_t queuedBytes = 0;
    bool accepted = false, writing = false, closed = false;
    std::shared_ptr<http::response<http::string_body>> rejection;

    WsSession(tcp::socket&& socket, Impl* i) : impl(i), ws(std::move(socket)) { ++impl->connections; }
    ~WsSession() { --impl->connections; }

    void accept(http::request<http::string_body> r) {
        req = std::move(r);
        beast::get_lowest_layer(ws).expires_never();
        // The kernel's send buffer is sized to the queue limit (at most
        // 256 KiB), else its autotuning would hold megabytes for a stalled
        // client before the queue limit could see anything.
        beast::error_code ignored;
        beast::get_lowest_layer(ws).socket().set_option(
            net::socket_base::send_buffer_size(static_cast<int>(std::min<size_t>(impl->opts.wsQueueBytes, 256 * 1024))),
            ignored);
        ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(http::field::server, std::string("TokenLens/") + TOKENLENS_VERSION);
        }));
        ws.read_message_max(64 * 1024);
        ws.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
            if (ec) {
                self->drop();
                return;
            }
            self->accepted = true;
            self->read();
            self->flush();
        });
    }

    // An HTTP answer instead of the upgrade (unknown job, overload).
    void reject(Reply r, unsigned version) {
        closed = true;
        rejection = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
        rejection->set(http::field::content_type, "application/json");
        for (auto& [k, v] : r.headers) rejection->set(k, v);
        rejection->keep_alive(false);
        rejection->body() = std::move(r.body);
        rejection->prepare_payload();
        beast::get_lowest_layer(ws).expires_after(impl->opts.writeTimeout);
        http::async_write(ws.next_layer(), *rejection, [self = shared_from_this()](beast::error_code, size_t) {
            beast::error_code ec;
            self->ws.next_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
        });
    }

    void read() {
        ws.async_read(readBuffer, [self = shared_from_this()](beast::error_code ec, size_t) {
            if (ec) {
                self->drop();
                return;
            }
            self->readBuffer.consume(self->readBuffer.size()); // clients have nothing to say
            self->read();
        });
    }

    // On the session's strand.
    void enqueue(const std::shared_ptr<const std::string>& msg) {
        if (closed) return;
        if (out.size() + 1 > impl->opts.wsQueueMessages || queuedBytes + msg->size() > impl->opts.wsQueueBytes) {
            drop(); // a consumer too slow for the events: disconnected, not buffered without bound
            return;
        }
        out.push_back(msg);
        queuedBytes += msg->size();
        flush();
    }

    void flush() {
        if (!accepted || writing || closed || out.empty()) return;
        writing = true;
        ws.text(true);
        ws.async_write(net::buffer(*out.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
            self->writing = false;
            if (ec) {
                self->drop();
                return;
            }
            self->queuedBytes -= self->out.front()->size();
            self->out.pop_front();
            self->flush();
        });
    }

    void drop() {
        closed = true;
        out.clear();
        queuedBytes = 0;
        beast::error_code ec;
        beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(ws).socket().close(ec);
    }

    // From any thread.
    void send(std::shared_ptr<const std::string> msg) {
        net::post(ws.get_executor(), [self = shared_from_this(), msg = std::move(msg)] { self->enqueue(msg); });
    }
};

void ApiServer::Impl::Hub::publish(const std::string& job, const std::shared_ptr<const std::string>& msg) {
    for (auto it = subs.begin(); it != subs.end();) {
        auto s = it->session.lock();
        if (!s) {
            it = subs.erase(it);
            --*count;
            continue;
        }
        if (it->job.empty() || it->job == job) s->send(msg);
        ++it;
    }
}

// --------------------------------------------------------------------- HTTP

struct ApiServer::Impl::HttpSession : std::enable_shared_from_this<HttpSession> {
    Impl* impl;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::string_body>> parser;
    std::shared_ptr<http::response<http::string_body>> res;
    bool overloaded = false;
    bool released = false; // the socket went to a WebSocket session

    HttpSession(tcp::socket&& socket, Impl* i) : impl(i), stream(std::move(socket)) {
        overloaded = impl->connections.fetch_add(1) >= impl->opts.maxConnections;
    }
    ~HttpSession() { --impl->connections; }

    void run() {
        net::dispatch(stream.get_executor(), [self = shared_from_this()] { self->read(); });
    }

    void read() {
        parser.emplace();
        parser->header_limit(static_cast<std::uint32_t>(impl->opts.headerLimit));
        parser->body_limit(impl->opts.bodyLimit);
        stream.expires_after(impl->opts.readTimeout);
        http::async_read(stream, buffer, *parser,
                         [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
    }

    void onRead(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
            ec == net::error::connection_reset || ec == net::error::eof) {
            close();
            return;
        }
        if (ec == http::error::body_limit) {
            reply(Reply::error(413, "the request body exceeds " + std::to_string(impl->opts.bodyLimit) + " bytes"), 11,
                  false);
            return;
        }
        if (ec == http::error::header_limit) {
            reply(Reply::error(431, "the request headers exceed " + std::to_string(impl->opts.headerLimit) + " bytes"),
                  11, false);
            return;
        }
        if (ec) {
            if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
                reply(Reply::error(400, "malformed HTTP request: " + ec.message()), 11, false);
            } else {
                close();
            }
            return;
        }
        impl->handle(shared_from_this(), parser->release());
    }

    // On the strand. `version` and `keepAlive` from the request.
    void reply(Reply r, unsigned version, bool keepAlive) {
        res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
        res->set(http::field::server, std::string("TokenLens/") + TOKENLENS_VERSION);
        res->set(http::field::content_type, "application/json");
        res->set(http::field::cache_control, "no-store");
        for (auto& [k, v] : r.headers) res->set(k, v);
        const bool keep = keepAlive && !r.close && !impl->shutting.load();
        res->keep_alive(keep);
        res->body() = std::move(r.body);
        res->prepare_payload();
        stream.expires_after(impl->opts.writeTimeout);
        http::async_write(stream, *res, [self = shared_from_this(), keep](beast::error_code ec, size_t) {
            self->res.reset();
            if (ec || !keep) {
                self->close();
                return;
            }
            self->read();
        });
    }

    // From any thread (the Qt thread's answers).
    void post(Reply r, unsigned version, bool keepAlive) {
        net::post(stream.get_executor(), [self = shared_from_this(), r = std::move(r), version, keepAlive]() mutable {
            self->reply(std::move(r), version, keepAlive);
        });
    }

    void close() {
        if (released) return;
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream.close();
    }
};

void ApiServer::Impl::accept() {
    acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
        if (!ec) {
            std::make_shared<HttpSession>(std::move(socket), this)->run();
            accept();
            return;
        }
        // Out of file descriptors and the like: try again shortly rather than spin.
        acceptRetry->expires_after(std::chrono::milliseconds(50));
        acceptRetry->async_wait([this](beast::error_code e) {
            if (!e && acceptor->is_open()) accept();
        });
    });
}

void ApiServer::Impl::handle(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req) {
    const unsigned version = req.version();
    const bool keep = req.keep_alive();
    if (shutting.load()) {
        s->reply(retryLater(503, "the server is shutting down"), version, false);
        return;
    }
    if (s->overloaded) {
        Reply r = retryLater(503, "too many connections");
        r.close = true;
        s->reply(std::move(r), version, false);
        return;
    }
    if (!opts.token.empty()) {
        const auto auth = req[http::field::authorization];
        const std::string_view prefix = "Bearer ";
        const bool ok = auth.size() > prefix.size() && std::string_view(auth.data(), prefix.size()) == prefix &&
                        constantTimeEquals(std::string(auth.substr(prefix.size())), opts.token);
        if (!ok) {
            Reply r = Reply::error(401, auth.empty() ? "this server needs 'Authorization: Bearer <token>'"
                                                     : "the bearer token is wrong");
            r.header("WWW-Authenticate", "Bearer");
            s->reply(std::move(r), version, keep);
            return;
        }
    }
    try {
        route(s, req);
    } catch (const std::exception& e) {
        if (!s->released) s->reply(Reply::error(500, std::string("internal error: ") + e.what()), version, false);
    }
}

void ApiServer::Impl::route(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>& req) {
    const unsigned version = req.version();
    const bool keep = req.keep_alive();
    auto answer = [&](Reply r) { s->reply(std::move(r), version, keep); };
    const std::string target(req.target());
    if (target.empty() || target[0] != '/') {
        answer(Reply::error(400, "the request target must be a path"));
        return;
    }
    const auto qpos = target.find('?');
    const std::string path = target.substr(0, qpos);
    std::map<std::string, std::string> query;
    if (qpos != std::string::npos) {
        std::string_view rest(target);
        rest.remove_prefix(qpos + 1);
        while (!rest.empty()) {
            const auto amp = rest.find('&');
            const std::string_view item = rest.substr(0, amp);
            const auto eq = item.find('=');
            query[percentDecode(item.substr(0, eq))] = eq == std::string_view::npos ? "" : percentDecode(item.substr(eq + 1));
            if (amp == std::string_view::npos) break;
            rest.remove_prefix(amp + 1);
        }
    }
    std::vector<std::string> seg;
    for (size_t start = 1; start <= path.size();) {
        const size_t slash = std::min(path.find('/', start), path.size());
        seg.push_back(percentDecode(std::string_view(path).substr(start, slash - start)));
        start = slash + 1;
    }
    if (!seg.empty() && seg.back().empty()) seg.pop_back(); // a trailing slash
    const auto verb = req.method();
    auto notAllowed = [&](const std::string& allow) {
        Reply r = Reply::error(405, std::string(req.method_string()) + " is not allowed on " + path + " (allowed: " + allow + ")");
        r.header("Allow", allow);
        answer(std::move(r));
    };
    auto notFound = [&] { answer(Reply::error(404, "no such resource: " + path)); };
    auto toQt = [&](auto compute) {
        const bool queued = onQt([s, compute, version, keep]() mutable {
            Reply r;
            try {
                r = compute();
            } catch (const std::exception& e) {
                r = Reply::error(500, std::string("internal error: ") + e.what());
            }
            s->post(std::move(r), version, keep);
        });
        if (!queued) answer(retryLater(503, "the server is busy"));
    };
    if (seg.size() < 2 || seg[0] != "api") {
        notFound();
        return;
    }
    ApiServer* srv = server;
    const std::string& what = seg[1];
    if (what == "health" && seg.size() == 2) {
        if (verb != http::verb::get) return notAllowed("GET");
        const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        answer(Reply::ofJson(200, {{"status", "ok"},
                                   {"version", TOKENLENS_VERSION},
                                   {"jobs_pending", pendingJobs.load()},
                                   {"jobs_running", runningJobs.load()},
                                   {"connections", connections.load()},
                                   {"uptime_seconds", uptime}}));
        return;
    }
    if (what == "models" && seg.size() == 2) {
        if (verb != http::verb::get) return notAllowed("GET");
        answer(Reply{200, modelsBody, {}, false});
        return;
    }
    if (what == "methods" && seg.size() == 2) {
        if (verb != http::verb::get) return notAllowed("GET");
        answer(Reply{200, methodsBody, {}, false});
        return;
    }
    if (what == "jobs") {
        if (seg.size() == 2) {
            if (verb == http::verb::get) {
                int64_t offset = 0, limit = 50;
                std::string error;
                if (!queryInt(query, "offset", 0, 1'000'000'000, offset, error) ||
                    !queryInt(query, "limit", 1, 500, limit, error)) {
                    answer(Reply::error(400, error, query.count("offset") && error.find("offset") != std::string::npos ? "offset" : "limit"));
                    return;
                }
                toQt([srv, offset, limit] { return srv->listJobs(offset, limit); });
                return;
            }
            if (verb == http::verb::post) {
                json body;
                try {
                    body = json::parse(req.body());
                } catch (const json::exception& e) { // parse errors, and numbers beyond double
                    answer(Reply::error(400, std::string("the request body is not valid JSON: ") + e.what()));
                    return;
                }
                auto spec = specFromRequest(body, srv->m_catalog);
                if (auto* e = std::get_if<SpecError>(&spec)) {
                    answer(Reply::error(400, e->message, e->field));
                    return;
                }
                toQt([srv, spec = std::get<Job>(std::move(spec))] { return srv->submitJob(spec); });
                return;
            }
            return notAllowed("GET, POST");
        }
        if (seg.size() == 3 && seg[2] == "import") {
            if (verb != http::verb::post) return notAllowed("POST");
            json body = json::parse(req.body(), nullptr, false);
            if (body.is_discarded()) {
                answer(Reply::error(400, "the request body is not valid JSON (an exported job or result JSON)"));
                return;
            }
            toQt([srv, body = std::move(body)] { return srv->importJob(body); });
            return;
        }
        const std::string id = seg[2];
        if (!validJobId(id)) return notFound();
        if (seg.size() == 4 && seg[3] == "rerun") {
            if (verb != http::verb::post) return notAllowed("POST");
            toQt([srv, id] { return srv->rerunJob(id); });
            return;
        }
        if (seg.size() == 3) {
            if (verb != http::verb::delete_) return notAllowed("DELETE");
            toQt([srv, id] { return srv->deleteJob(id); });
            return;
        }
        if (seg.size() == 4 && seg[3] == "status") {
            if (verb != http::verb::get) return notAllowed("GET");
            toQt([srv, id] { return srv->jobStatus(id); });
            return;
        }
        if (seg.size() == 4 && seg[3] == "results") {
            if (verb != http::verb::get) return notAllowed("GET");
            const auto p = query.find("partial");
            const bool partial = p != query.end() && (p->second == "1" || p->second == "true");
            toQt([srv, id, partial] { return srv->jobResults(id, partial); });
            return;
        }
        return notFound();
    }
    if (what == "ws" && seg.size() >= 3 && seg.size() <= 4 && seg[2] == "jobs") {
        const std::string job = seg.size() == 4 ? seg[3] : std::string();
        if (seg.size() == 4 && !validJobId(job)) return notFound();
        if (verb != http::verb::get) return notAllowed("GET");
        if (!websocket::is_upgrade(req)) {
            Reply r = Reply::error(426, path + " is a WebSocket endpoint");
            r.header("Upgrade", "websocket");
            answer(std::move(r));
            return;
        }
        upgrade(s, std::move(req), job);
        return;
    }
    notFound();
}

void ApiServer::Impl::upgrade(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req,
                              const std::string& job) {
    s->released = true;
    s->stream.expires_never();
    auto ws = std::make_shared<WsSession>(s->stream.release_socket(), this);
    const unsigned version = req.version();
    auto shared = std::make_shared<http::request<http::string_body>>(std::move(req));
    const bool queued = onQt([this, ws, shared, job, version] {
        bool found = true;
        const std::string snapshot = job.empty() ? server->snapshotForAll() : server->snapshotForJob(job, found);
        if (!found) {
            net::post(ws->ws.get_executor(), [ws, version] {
                ws->reject(Reply::error(404, "there is no job with that id"), version);
            });
            return;
        }
        ++subscribers;
        net::post(ws->ws.get_executor(), [ws, shared] { ws->accept(std::move(*shared)); });
        // Registered in the order of the events numbered on this thread:
        // every event after the snapshot reaches it, none before.
        net::post(hub->strand, [h = hub, ws, job, msg = std::make_shared<const std::string>(snapshot)] {
            h->subs.push_back({ws, job});
            ws->send(msg);
        });
    });
    if (!queued) {
        net::post(ws->ws.get_executor(), [this, ws, version] { ws->reject(retryLater(503, "the server is busy"), version); });
    }
}

// ------------------------------------------------------------------- server

ApiServer::ApiServer(jobs::JobQueue& queue, ModelCatalog catalog, ServerOptions options, QObject* parent)
    : QObject(parent), m_queue(queue), m_catalog(std::move(catalog)), m_options(std::move(options)),
      m_impl(std::make_unique<Impl>(this, m_options)) {
    m_impl->modelsBody = dump(modelsJson(m_catalog));
    m_impl->methodsBody = dump(methodsJson());
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
    // Queued calls still hold sessions bound to the io_context: gone first.
    QCoreApplication::removePostedEvents(this);
    m_impl.reset();
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
    im.acceptor = std::make_unique<tcp::acceptor>(net::make_strand(*im.ioc));
    const tcp::endpoint ep(addr, m_options.port);
    im.acceptor->open(ep.protocol(), ec);
    if (!ec) im.acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) im.acceptor->bind(ep, ec);
    if (!ec) im.acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        im.acceptor.reset();
        return makeError(ErrorCode::Unreadable,
                         "cannot listen on " + m_options.host + ":" + std::to_string(m_options.port) + ": " + ec.message());
    }
    im.port = im.acceptor->local_endpoint().port();
    im.acceptRetry = std::make_unique<net::steady_timer>(im.acceptor->get_executor());
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
            QMetaObject::invokeMethod(
                impl->server, [s = impl->server, sig] { emit s->shutdownRequested(sig); }, Qt::QueuedConnection);
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

// ------------------------------------------------------------ Qt-thread side

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

std::vector<std::string> ApiServer::modelIds(const Job& spec) const {
    std::vector<std::string> out;
    for (int i = 0; i < static_cast<int>(spec.models.size()); ++i) {
        auto id = m_catalog.idForPath(spec.models[static_cast<size_t>(i)]);
        out.push_back(id ? *id : modelName(spec, i)); // never a server path
    }
    return out;
}

std::optional<jobs::JobRecord> ApiServer::findJob(const std::string& id, bool withResults) {
    if (m_live.count(id) || !m_queue.store()) return m_queue.job(id);
    auto loaded = m_queue.store()->loadJob(id, withResults);
    if (!loaded || !*loaded) return std::nullopt;
    return std::move(**loaded);
}

json ApiServer::statusJson(const jobs::JobRecord& rec) {
    const bool live = m_live.count(rec.id) > 0;
    api::StatusView v;
    v.jobId = rec.id;
    v.status = rec.status;
    v.error = rec.error;
    const int permille = live ? m_queue.progress(rec.id) : (jobs::isFinal(rec.status) ? 1000 : 0);
    v.progress = permille / 1000.0;
    const double eta = live ? m_queue.etaSeconds(rec.id) : -1;
    if (jobs::isFinal(rec.status)) v.etaSeconds = 0.0;
    else if (eta >= 0) v.etaSeconds = eta;
    v.createdAt = rec.createdAt;
    v.startedAt = rec.startedAt;
    v.finishedAt = rec.finishedAt;
    v.models = modelIds(rec.spec);
    v.methods = rec.spec.methods;
    v.input = rec.spec.input;
    v.parentJob = rec.spec.parentJob;
    v.priority = rec.spec.priority;
    v.prompt = rec.prompt;
    v.turns = rec.turns;
    for (const auto& p : rec.pairs) {
        api::PairView pv;
        pv.modelIndex = p.modelIndex;
        if (p.modelIndex >= 0 && p.modelIndex < static_cast<int>(v.models.size())) {
            pv.model = v.models[static_cast<size_t>(p.modelIndex)];
        }
        pv.method = p.method;
        pv.status = p.status;
        pv.progress = live ? m_queue.pairProgress(rec.id, p.modelIndex, p.method) : -1;
        if (pv.progress < 0) pv.progress = jobs::isFinal(p.status) ? 1.0 : 0.0;
        pv.error = p.error;
        pv.seconds = p.seconds;
        pv.fromCache = p.fromCache;
        v.pairs.push_back(std::move(pv));
    }
    return api::toJson(v);
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

ApiServer::Reply ApiServer::submitJob(const Job& spec) {
    if (m_impl->shutting.load()) return m_impl->retryLater(503, "the server is shutting down");
    if (m_pending >= m_options.maxQueued) {
        return m_impl->retryLater(429, "the server already has " + std::to_string(m_pending) +
                                           " jobs waiting or running (at most " + std::to_string(m_options.maxQueued) + ")");
    }
    auto id = m_queue.submit(spec);
    if (!id) return Reply::error(400, id.error().message, spec.parentJob ? "parent_job" : "");
    const std::string& job = id.value();
    Reply r = Reply::ofJson(201, {{"job_id", job},
                                  {"status_url", "/api/jobs/" + job + "/status"},
                                  {"results_url", "/api/jobs/" + job + "/results"},
                                  {"events_url", "/api/ws/jobs/" + job}});
    r.header("Location", "/api/jobs/" + job + "/status");
    return r;
}

ApiServer::Reply ApiServer::rerunJob(const std::string& id) {
    if (m_impl->shutting.load()) return m_impl->retryLater(503, "the server is shutting down");
    auto rec = findJob(id, false);
    if (!rec) return Reply::error(404, "there is no job " + id);
    // Only the catalogue's models run here: an imported job may name folders
    // of another machine, which the server never opens.
    for (size_t i = 0; i < rec->spec.models.size(); ++i) {
        if (!m_catalog.idForPath(rec->spec.models[i])) {
            return Reply::error(409, "job " + id + " uses model '" + modelName(rec->spec, static_cast<int>(i)) +
                                         "', which is not in this server's catalogue (GET /api/models)");
        }
    }
    auto r = m_queue.rerun(id);
    if (!r) return Reply::error(409, r.error().message);
    return Reply::ofJson(202, {{"job_id", id}, {"requeued", r.value()}, {"status_url", "/api/jobs/" + id + "/status"}});
}

ApiServer::Reply ApiServer::importJob(const json& body) {
    if (m_impl->shutting.load()) return m_impl->retryLater(503, "the server is shutting down");
    // Model folders of the file that name a catalogue model (by id or folder
    // name) become that model's folder; the others keep their name only.
    json j = body;
    if (j.is_object() && j.contains("tokenlens_job") && j["tokenlens_job"].is_object() &&
        j["tokenlens_job"].contains("spec") && j["tokenlens_job"]["spec"].is_object()) {
        json& models = j["tokenlens_job"]["spec"]["models"];
        if (models.is_array()) {
            for (auto& m : models) {
                if (!m.is_string()) continue;
                Job one;
                one.models = {m.get<std::string>()};
                const std::string name = modelName(one, 0);
                const CatalogEntry* e = m_catalog.find(name);
                m = e ? e->path.string() : name;
            }
        }
    }
    auto id = m_queue.importJob(j, "the request body");
    if (!id) return Reply::error(400, id.error().message);
    const std::string& job = id.value();
    Reply r = Reply::ofJson(201, {{"job_id", job}, {"status_url", "/api/jobs/" + job + "/status"},
                                  {"results_url", "/api/jobs/" + job + "/results"}});
    r.header("Location", "/api/jobs/" + job + "/status");
    return r;
}

ApiServer::Reply ApiServer::listJobs(int64_t offset, int64_t limit) {
    std::vector<jobs::JobRecord> all;
    if (m_queue.store()) {
        auto listed = m_queue.store()->listJobs(false);
        if (!listed) return Reply::error(500, "the results store cannot be read: " + listed.error().message);
        all = std::move(listed.value());
    } else {
        for (const auto& id : m_queue.jobIds()) {
            if (auto rec = m_queue.job(id)) all.push_back(std::move(*rec));
        }
    }
    json list = json::array();
    const int64_t total = static_cast<int64_t>(all.size());
    // Newest first.
    for (int64_t i = total - 1 - offset, n = 0; i >= 0 && n < limit; --i, ++n) {
        const auto& rec = all[static_cast<size_t>(i)];
        auto live = m_live.find(rec.id);
        const JobStatus st = live != m_live.end() ? live->second : rec.status;
        api::ListEntry e;
        e.jobId = rec.id;
        e.status = st;
        e.createdAt = rec.createdAt;
        e.finishedAt = rec.finishedAt;
        e.models = modelIds(rec.spec);
        e.methods = rec.spec.methods;
        e.input = rec.spec.input;
        e.parentJob = rec.spec.parentJob;
        list.push_back(api::toJson(e));
    }
    return Reply::ofJson(200, {{"total", total}, {"offset", offset}, {"limit", limit}, {"jobs", std::move(list)}});
}

ApiServer::Reply ApiServer::jobStatus(const std::string& id) {
    auto rec = findJob(id, false);
    if (!rec) return Reply::error(404, "there is no job " + id);
    return Reply::ofJson(200, statusJson(*rec));
}

ApiServer::Reply ApiServer::jobResults(const std::string& id, bool partial) {
    auto rec = findJob(id, true);
    if (!rec) return Reply::error(404, "there is no job " + id);
    if (!jobs::isFinal(rec->status) && !partial) {
        Reply r = Reply::ofJson(409, {{"error", "job " + id + " is " + jobs::statusName(rec->status) +
                                                    "; its results are ready when it finishes (or ask with ?partial=1)"},
                                      {"status", jobs::statusName(rec->status)}});
        r.header("Retry-After", std::to_string(m_options.retryAfterSeconds));
        return r;
    }
    return Reply{200, dump(toJson(jobs::toJobResult(*rec))), {}, false};
}

ApiServer::Reply ApiServer::deleteJob(const std::string& id) {
    auto rec = findJob(id, false);
    if (!rec) return Reply::error(404, "there is no job " + id);
    if (!jobs::isFinal(rec->status)) {
        if (!m_live.count(id) || !m_queue.cancelJob(id)) {
            return Reply::error(409, "job " + id + " is " + jobs::statusName(rec->status) + " in another process");
        }
        auto now = m_queue.job(id);
        const JobStatus st = now ? now->status : JobStatus::Cancelled;
        return Reply::ofJson(202, {{"job_id", id}, {"cancelled", true}, {"status", jobs::statusName(st)}});
    }
    auto removed = m_queue.remove(id);
    if (!removed) return Reply::error(500, "job " + id + " could not be deleted: " + removed.error().message);
    return Reply::ofJson(200, {{"job_id", id}, {"deleted", true}});
}

} // namespace tokenlens::server
