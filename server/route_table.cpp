#include "route_table.h"

#include <tokenlens/version.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace tokenlens::server {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

using Outcome = std::variant<Reply, EndpointCall>;

// One request on its way through the route table.
struct Call {
    const Request& req;
    const Target& target;
    const RouteContext& ctx;
    std::string id; // the job id of a route with "{id}"

    EndpointCall call(Endpoint e) const {
        EndpointCall c;
        c.endpoint = e;
        c.id = id;
        return c;
    }

    Outcome health() const { return call(Endpoint::Health); }
    Outcome models() const { return call(Endpoint::Models); }
    Outcome methods() const { return call(Endpoint::Methods); }
    Outcome listJobs() const {
        EndpointCall c = call(Endpoint::ListJobs);
        std::string error;
        const auto& query = target.query;
        if (!queryInt(query, "offset", 0, 1'000'000'000, c.offset, error)) return Reply::error(400, error, "offset");
        if (!queryInt(query, "limit", 1, 500, c.limit, error)) return Reply::error(400, error, "limit");
        return c;
    }
    Outcome submitJob() const {
        nlohmann::ordered_json body; // ordered: the messages keep their keys' order
        try {
            body = nlohmann::ordered_json::parse(req.body());
        } catch (const json::exception& e) { // parse errors, and numbers beyond double
            return Reply::error(400, std::string("the request body is not valid JSON: ") + e.what());
        }
        auto spec = ctx.readSpec(body);
        if (auto* e = std::get_if<SpecError>(&spec)) return Reply::error(400, e->message, e->field);
        EndpointCall c = call(Endpoint::SubmitJob);
        c.job = std::get<Job>(std::move(spec));
        return c;
    }
    Outcome importJob() const {
        EndpointCall c = call(Endpoint::ImportJob);
        c.body = json::parse(req.body(), nullptr, false);
        if (c.body.is_discarded()) {
            return Reply::error(400, "the request body is not valid JSON (an exported job or result JSON)");
        }
        return c;
    }
    Outcome rerunJob() const { return call(Endpoint::RerunJob); }
    Outcome deleteJob() const { return call(Endpoint::DeleteJob); }
    Outcome jobStatus() const { return call(Endpoint::JobStatus); }
    Outcome jobResults() const {
        EndpointCall c = call(Endpoint::JobResults);
        const auto p = target.query.find("partial");
        c.partial = p != target.query.end() && (p->second == "1" || p->second == "true");
        return c;
    }
    Outcome events() const {
        if (!boost::beast::websocket::is_upgrade(req)) {
            Reply r = Reply::error(426, target.path + " is a WebSocket endpoint");
            r.header("Upgrade", "websocket");
            return r;
        }
        return call(Endpoint::Events);
    }
};

struct Route {
    std::vector<std::string_view> pattern; // the segments after /api; "{id}" stands for a job id
    std::vector<std::pair<http::verb, Outcome (Call::*)() const>> methods;
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

std::variant<Reply, EndpointCall> routeRequest(const Request& req, const RouteContext& ctx) {
    if (!ctx.token.empty()) {
        const auto auth = req[http::field::authorization];
        if (!bearerMatches(auth, ctx.token)) {
            Reply r = Reply::error(401, auth.empty() ? "this server needs 'Authorization: Bearer <token>'"
                                                     : "the bearer token is wrong");
            r.header("WWW-Authenticate", "Bearer");
            return r;
        }
    }
    const std::string raw(req.target());
    if (raw.empty() || raw[0] != '/') return Reply::error(400, "the request target must be a path");
    const Target target = parseTarget(raw);
    Call call{req, target, ctx, {}};
    const Reply notFound = Reply::error(404, "no such resource: " + target.path);
    if (target.segments.size() < 2 || target.segments[0] != "api") return notFound;
    for (const Route& r : routes()) {
        if (!matches(r, target.segments, call.id)) continue;
        std::string allow;
        for (const auto& [verb, handler] : r.methods) {
            if (verb == req.method()) return (call.*handler)();
            allow += (allow.empty() ? "" : ", ") + std::string(http::to_string(verb));
        }
        Reply no = Reply::error(405, std::string(req.method_string()) + " is not allowed on " + target.path +
                                         " (allowed: " + allow + ")");
        no.header("Allow", allow);
        return no;
    }
    return notFound;
}

std::optional<Reply> readFailure(const boost::system::error_code& ec, size_t headerLimit, size_t bodyLimit) {
    namespace net = boost::asio;
    if (ec == http::error::body_limit) {
        return Reply::error(413, "the request body exceeds " + std::to_string(bodyLimit) + " bytes");
    }
    if (ec == http::error::header_limit) {
        return Reply::error(431, "the request headers exceed " + std::to_string(headerLimit) + " bytes");
    }
    if (ec == http::error::end_of_stream || ec == boost::beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset || ec == net::error::eof) {
        return std::nullopt;
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        return Reply::error(400, "malformed HTTP request: " + ec.message());
    }
    return std::nullopt;
}

Response makeResponse(Reply r, unsigned version, bool keepAlive) {
    Response res(static_cast<http::status>(r.status), version);
    res.set(http::field::server, std::string("TokenLens/") + TOKENLENS_VERSION);
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    for (auto& [k, v] : r.headers) res.set(k, v);
    res.keep_alive(keepAlive && !r.close);
    res.body() = std::move(r.body);
    res.prepare_payload();
    return res;
}

} // namespace tokenlens::server
