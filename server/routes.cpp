// The checks every request passes (shutdown, connection limit, bearer token)
// and the route table: one small handler per endpoint. Handlers run on the
// session's strand; those that need the queue hand a computation to the Qt
// thread (toQt), whose Reply is posted back to the session.

#include "http_session.h"
#include "request_parsing.h"

#include <tokenlens/version.h>

#include <boost/beast/websocket/rfc6455.hpp>

namespace tokenlens::server {

using nlohmann::json;

// One request on its way through the route table.
struct ApiServer::Impl::Call {
    Impl& impl;
    const std::shared_ptr<HttpSession>& session;
    http::request<http::string_body>& req;
    const Target& target;
    const unsigned version;
    const bool keep;
    std::string id; // the job id of a route with "{id}"

    void answer(Reply r) const { session->reply(std::move(r), version, keep); }
    void notFound() const { answer(Reply::error(404, "no such resource: " + target.path)); }
    void notAllowed(const std::string& allow) const {
        Reply r = Reply::error(405, std::string(req.method_string()) + " is not allowed on " + target.path +
                                        " (allowed: " + allow + ")");
        r.header("Allow", allow);
        answer(std::move(r));
    }
    // Computes the reply on the Qt thread; 503 when too many calls wait.
    template <class F>
    void toQt(F compute) const {
        const bool queued = impl.onQt([s = session, compute, version = version, keep = keep]() mutable {
            Reply r;
            try {
                r = compute();
            } catch (const std::exception& e) {
                r = Reply::error(500, std::string("internal error: ") + e.what());
            }
            s->post(std::move(r), version, keep);
        });
        if (!queued) answer(impl.retryLater(503, "the server is busy"));
    }

    void health() const {
        const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - impl.started).count();
        answer(Reply::ofJson(200, {{"status", "ok"},
                                   {"version", TOKENLENS_VERSION},
                                   {"jobs_pending", impl.pendingJobs.load()},
                                   {"jobs_running", impl.runningJobs.load()},
                                   {"connections", impl.connections.load()},
                                   {"uptime_seconds", uptime}}));
    }
    void models() const { answer(Reply{200, impl.modelsBody, {}, false}); }
    void methods() const { answer(Reply{200, impl.methodsBody, {}, false}); }

    void listJobs() const {
        int64_t offset = 0, limit = 50;
        std::string error;
        const auto& query = target.query;
        if (!queryInt(query, "offset", 0, 1'000'000'000, offset, error) ||
            !queryInt(query, "limit", 1, 500, limit, error)) {
            answer(Reply::error(400, error,
                                query.count("offset") && error.find("offset") != std::string::npos ? "offset" : "limit"));
            return;
        }
        toQt([srv = impl.server, offset, limit] { return srv->listJobs(offset, limit); });
    }
    void submitJob() const {
        nlohmann::ordered_json body; // ordered: the messages keep their keys' order
        try {
            body = nlohmann::ordered_json::parse(req.body());
        } catch (const json::exception& e) { // parse errors, and numbers beyond double
            answer(Reply::error(400, std::string("the request body is not valid JSON: ") + e.what()));
            return;
        }
        auto spec = specFromRequest(body, impl.server->m_catalog);
        if (auto* e = std::get_if<SpecError>(&spec)) {
            answer(Reply::error(400, e->message, e->field));
            return;
        }
        toQt([srv = impl.server, spec = std::get<Job>(std::move(spec))] { return srv->submitJob(spec); });
    }
    void importJob() const {
        json body = json::parse(req.body(), nullptr, false);
        if (body.is_discarded()) {
            answer(Reply::error(400, "the request body is not valid JSON (an exported job or result JSON)"));
            return;
        }
        toQt([srv = impl.server, body = std::move(body)] { return srv->importJob(body); });
    }
    void rerunJob() const { toQt([srv = impl.server, id = id] { return srv->rerunJob(id); }); }
    void deleteJob() const { toQt([srv = impl.server, id = id] { return srv->deleteJob(id); }); }
    void jobStatus() const { toQt([srv = impl.server, id = id] { return srv->jobStatus(id); }); }
    void jobResults() const {
        const auto p = target.query.find("partial");
        const bool partial = p != target.query.end() && (p->second == "1" || p->second == "true");
        toQt([srv = impl.server, id = id, partial] { return srv->jobResults(id, partial); });
    }
    void events() const {
        if (!beast::websocket::is_upgrade(req)) {
            Reply r = Reply::error(426, target.path + " is a WebSocket endpoint");
            r.header("Upgrade", "websocket");
            answer(std::move(r));
            return;
        }
        impl.upgrade(session, std::move(req), id);
    }
};

namespace {

using Call = ApiServer::Impl::Call;

struct Route {
    std::vector<std::string_view> pattern; // the segments after /api; "{id}" stands for a job id
    std::vector<std::pair<http::verb, void (Call::*)() const>> methods;
};

// The first route whose pattern matches a path answers it: by the handler of
// the request's verb, or 405 with the verbs it has.
const std::vector<Route>& routes() {
    using http::verb;
    static const std::vector<Route> table = {
        {{"health"}, {{verb::get, &Call::health}}},
        {{"models"}, {{verb::get, &Call::models}}},
        {{"methods"}, {{verb::get, &Call::methods}}},
        {{"jobs"}, {{verb::get, &Call::listJobs}, {verb::post, &Call::submitJob}}},
        {{"jobs", "import"}, {{verb::post, &Call::importJob}}},
        {{"jobs", "{id}", "rerun"}, {{verb::post, &Call::rerunJob}}},
        {{"jobs", "{id}"}, {{verb::delete_, &Call::deleteJob}}},
        {{"jobs", "{id}", "status"}, {{verb::get, &Call::jobStatus}}},
        {{"jobs", "{id}", "results"}, {{verb::get, &Call::jobResults}}},
        {{"ws", "jobs"}, {{verb::get, &Call::events}}},
        {{"ws", "jobs", "{id}"}, {{verb::get, &Call::events}}},
    };
    return table;
}

// `segments` starts with "api"; `id` receives the "{id}" segment.
bool matches(const Route& r, const std::vector<std::string>& segments, std::string& id) {
    if (segments.size() != r.pattern.size() + 1) return false;
    std::string found;
    for (size_t i = 0; i < r.pattern.size(); ++i) {
        const std::string& s = segments[i + 1];
        if (r.pattern[i] == "{id}") {
            if (!validJobId(s)) return false;
            found = s;
        } else if (s != r.pattern[i]) {
            return false;
        }
    }
    id = std::move(found);
    return true;
}

} // namespace

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
        if (!bearerMatches(auth, opts.token)) {
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
    const std::string raw(req.target());
    if (raw.empty() || raw[0] != '/') {
        s->reply(Reply::error(400, "the request target must be a path"), req.version(), req.keep_alive());
        return;
    }
    const Target target = parseTarget(raw);
    Call call{*this, s, req, target, req.version(), req.keep_alive(), {}};
    if (target.segments.size() < 2 || target.segments[0] != "api") return call.notFound();
    for (const Route& r : routes()) {
        if (!matches(r, target.segments, call.id)) continue;
        std::string allow;
        for (const auto& [verb, handler] : r.methods) {
            if (verb == req.method()) return (call.*handler)();
            allow += (allow.empty() ? "" : ", ") + std::string(http::to_string(verb));
        }
        return call.notAllowed(allow);
    }
    call.notFound();
}

} // namespace tokenlens::server
