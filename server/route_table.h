#pragma once
// The route table without sockets or threads: a parsed request in, what it
// asks for out — an answer now (400, 401, 404, 405, 426) or an EndpointCall
// that the server carries out (on the session's strand, on the Qt thread,
// or as a WebSocket upgrade: routes.cpp). Also what a request Beast could
// not read is answered with, and the response a Reply becomes. Neither Qt
// nor LibTorch, so tests/fuzz/fuzz_http_request drives it with raw bytes.

#include "reply.h"
#include "request_parsing.h"

#include <boost/beast/http.hpp>

#include <functional>
#include <optional>
#include <string>
#include <variant>

namespace tokenlens::server {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

enum class Endpoint {
    Health, Models, Methods, ListJobs, SubmitJob, ImportJob, RerunJob, DeleteJob, JobStatus, JobResults, Events
};

// A request the route table accepted, with what its endpoint needs.
struct EndpointCall {
    Endpoint endpoint = Endpoint::Health;
    std::string id;                 // the job of a route with "{id}" (a valid job id); Events: may be empty
    int64_t offset = 0, limit = 50; // ListJobs
    bool partial = false;           // JobResults
    std::optional<Job> job;         // SubmitJob: read and checked
    nlohmann::json body;            // ImportJob: the parsed body
};

// How the body of POST /api/jobs becomes a Job; the server's also runs the
// engine's method and option checks (specFromRequest).
// The body is read keeping its keys' order: a message's keys reach the template as written.
using SpecReader = std::function<std::variant<Job, SpecError>(const nlohmann::ordered_json&)>;

struct RouteContext {
    std::string token; // empty: no authentication
    SpecReader readSpec;
};

// Authentication, then the first route whose pattern matches the path.
std::variant<Reply, EndpointCall> routeRequest(const Request& req, const RouteContext& ctx);

// The answer to a request Beast could not read: 413 and 431 for the limits,
// 400 for a malformed request line or header; nullopt: close the connection
// without one (end of stream, timeout, reset, other parse errors).
std::optional<Reply> readFailure(const boost::system::error_code& ec, size_t headerLimit, size_t bodyLimit);

// The response a Reply becomes: JSON, not cached, the server's name, the
// Reply's headers; kept alive only if `keepAlive` and the Reply allows.
Response makeResponse(Reply r, unsigned version, bool keepAlive);

} // namespace tokenlens::server
