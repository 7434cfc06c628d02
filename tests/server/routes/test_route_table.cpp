// The server's route table without sockets (server/route_table.h): which
// requests reach an endpoint and with what, and what every other request is
// answered. Path tricks in every id parameter, authentication, query
// parameters, job bodies read against a catalogue, the limits' answers.
// Neither Qt nor LibTorch: runs under the sanitizers in CI.

#include "route_test_catalog.h"

#include <gtest/gtest.h>

namespace tokenlens::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

using testing::twoModelContext;

Request request(http::verb verb, const std::string& target, std::string body = {}) {
    Request req(verb, target, 11);
    req.set(http::field::host, "127.0.0.1");
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
}

std::variant<Reply, EndpointCall> route(const Request& req, const RouteContext& ctx = twoModelContext()) {
    return routeRequest(req, ctx);
}

Reply replyOf(const std::variant<Reply, EndpointCall>& routed) {
    if (!std::holds_alternative<Reply>(routed)) {
        ADD_FAILURE() << "routed to endpoint " << static_cast<int>(std::get<EndpointCall>(routed).endpoint);
        return {};
    }
    return std::get<Reply>(routed);
}

json bodyOf(const Reply& r) { return json::parse(r.body); }

TEST(RouteTable, EveryEndpointIsReachedWithItsJobId) {
    struct Case {
        http::verb verb;
        std::string target;
        Endpoint endpoint;
        std::string id;
    };
    const std::vector<Case> cases = {
        {http::verb::get, "/api/health", Endpoint::Health, ""},
        {http::verb::get, "/api/models/", Endpoint::Models, ""},
        {http::verb::get, "/api/methods", Endpoint::Methods, ""},
        {http::verb::get, "/api/jobs", Endpoint::ListJobs, ""},
        {http::verb::post, "/api/jobs/abc-1_2/rerun", Endpoint::RerunJob, "abc-1_2"},
        {http::verb::delete_, "/api/jobs/abc-1_2", Endpoint::DeleteJob, "abc-1_2"},
        {http::verb::get, "/api/jobs/abc-1_2/status", Endpoint::JobStatus, "abc-1_2"},
        {http::verb::get, "/api/jobs/%61bc/results", Endpoint::JobResults, "abc"},
    };
    for (const auto& c : cases) {
        auto routed = route(request(c.verb, c.target));
        ASSERT_TRUE(std::holds_alternative<EndpointCall>(routed)) << c.target << ": " << replyOf(routed).body;
        const auto& call = std::get<EndpointCall>(routed);
        EXPECT_EQ(call.endpoint, c.endpoint) << c.target;
        EXPECT_EQ(call.id, c.id) << c.target;
    }
}

TEST(RouteTable, PathTricksInEveryIdParameterReachNoEndpoint) {
    const std::vector<std::string> tricks = {
        "..", "%2e%2e", "%2E%2e", "..%2f..%2fetc%2fpasswd", "%2fetc%2fpasswd", "%2Fetc", "a%00b", "%00",
        "a.b", "a%20b", "~root", std::string(65, 'a'), "%252e%252e", "a%5cb", "C:%5cwindows"};
    const std::vector<std::pair<http::verb, std::string>> routes = {
        {http::verb::get, "/api/jobs/{}/status"}, {http::verb::get, "/api/jobs/{}/results"},
        {http::verb::post, "/api/jobs/{}/rerun"}, {http::verb::delete_, "/api/jobs/{}"},
        {http::verb::get, "/api/ws/jobs/{}"}};
    for (const auto& [verb, pattern] : routes) {
        for (const auto& trick : tricks) {
            std::string target = pattern;
            target.replace(target.find("{}"), 2, trick);
            Request req = request(verb, target);
            req.set(http::field::upgrade, "websocket");
            req.set(http::field::connection, "upgrade");
            const Reply r = replyOf(route(req));
            EXPECT_EQ(r.status, 404u) << target;
            EXPECT_TRUE(bodyOf(r).contains("error")) << target;
        }
    }
    // Absolute paths and dot segments around the API's prefix.
    for (const std::string target : {"/etc/passwd", "/api/../etc/passwd", "/api/%2e%2e/jobs", "//api/health", "/api"}) {
        EXPECT_EQ(replyOf(route(request(http::verb::get, target))).status, 404u) << target;
    }
    EXPECT_EQ(replyOf(route(request(http::verb::get, "api/health"))).status, 400u) << "a target must be a path";
}

TEST(RouteTable, AServerWithATokenAnswersEveryOtherRequest401) {
    const RouteContext ctx = twoModelContext("s3cret");
    for (const std::string& auth : {std::string(), std::string("Bearer nope"), std::string("s3cret"),
                                    std::string("Bearer s3cretX"), std::string("Bearer  s3cret"),
                                    std::string("Basic s3cret"), std::string("Bearer "), std::string("bearer s3cret")}) {
        Request req = request(http::verb::get, "/api/health");
        if (!auth.empty()) req.set(http::field::authorization, auth);
        const Reply r = replyOf(route(req, ctx));
        EXPECT_EQ(r.status, 401u) << auth;
        ASSERT_EQ(r.headers.size(), 1u);
        EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"WWW-Authenticate", "Bearer"}));
    }
    // Before the route table: an unknown path is 401 too, so nothing is learnt without the token.
    Request unknown = request(http::verb::get, "/etc/passwd");
    unknown.set(http::field::authorization, "Bearer nope");
    EXPECT_EQ(replyOf(route(unknown, ctx)).status, 401u);
    Request good = request(http::verb::get, "/api/health");
    good.set(http::field::authorization, "Bearer s3cret");
    EXPECT_TRUE(std::holds_alternative<EndpointCall>(route(good, ctx)));
}

TEST(RouteTable, QueryParametersAreCheckedNamingTheField) {
    auto list = std::get<EndpointCall>(route(request(http::verb::get, "/api/jobs?offset=10&limit=5")));
    EXPECT_EQ(list.offset, 10);
    EXPECT_EQ(list.limit, 5);
    for (const auto& [target, field] : std::vector<std::pair<std::string, std::string>>{
             {"/api/jobs?offset=-1", "offset"}, {"/api/jobs?offset=1e3", "offset"},
             {"/api/jobs?offset=99999999999999999999", "offset"}, {"/api/jobs?limit=0", "limit"},
             {"/api/jobs?limit=501", "limit"}, {"/api/jobs?limit=", "limit"}}) {
        const Reply r = replyOf(route(request(http::verb::get, target)));
        EXPECT_EQ(r.status, 400u) << target;
        EXPECT_EQ(bodyOf(r)["field"], field) << target << ": " << r.body;
    }
    EXPECT_TRUE(std::get<EndpointCall>(route(request(http::verb::get, "/api/jobs/a/results?partial=1"))).partial);
    EXPECT_FALSE(std::get<EndpointCall>(route(request(http::verb::get, "/api/jobs/a/results?partial=0"))).partial);
}

TEST(RouteTable, AWrongVerbIs405WithTheAllowedOnes) {
    const Reply r = replyOf(route(request(http::verb::put, "/api/jobs")));
    EXPECT_EQ(r.status, 405u);
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "Allow");
    EXPECT_EQ(r.headers[0].second, "GET, POST");
    EXPECT_EQ(replyOf(route(request(http::verb::get, "/api/jobs/import"))).status, 405u);
}

TEST(RouteTable, JobBodiesAreReadAgainstTheCatalogue) {
    const std::string target = "/api/jobs";
    auto submit = [&](const std::string& body) { return route(request(http::verb::post, target, body)); };
    auto ok = submit(R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x"})");
    ASSERT_TRUE(std::holds_alternative<EndpointCall>(ok)) << replyOf(ok).body;
    EXPECT_EQ(std::get<EndpointCall>(ok).job->models, std::vector<std::string>{"/models/tiny-gpt2"});

    struct Case {
        std::string body, field, says;
    };
    const std::vector<Case> cases = {
        {"{\"models\": [", "", "not valid JSON"},
        {"[1e99999]", "", "not valid JSON"},
        {"[]", "", "JSON object"},
        {R"({"models": ["/etc"], "methods": ["attention"], "input": "x"})", "models[0]", "unknown model '/etc'"},
        {R"({"models": ["../tiny-gpt2"], "methods": ["attention"], "input": "x"})", "models[0]", "unknown model"},
        {R"({"models": ["broken"], "methods": ["attention"], "input": "x"})", "models[0]", "config.json is missing"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "parent_job": "../a"})", "parent_job", "parent_job"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"]})", "input", "input"},
    };
    for (const auto& c : cases) {
        const Reply r = replyOf(submit(c.body));
        EXPECT_EQ(r.status, 400u) << c.body;
        const json b = bodyOf(r);
        EXPECT_NE(b["error"].get<std::string>().find(c.says), std::string::npos) << c.body << ": " << r.body;
        EXPECT_EQ(b.value("field", ""), c.field) << c.body;
    }
    EXPECT_EQ(replyOf(route(request(http::verb::post, "/api/jobs/import", "{oops"))).status, 400u);
}

TEST(RouteTable, AnEventStreamNeedsAnUpgrade) {
    const Reply r = replyOf(route(request(http::verb::get, "/api/ws/jobs")));
    EXPECT_EQ(r.status, 426u);
    Request up = request(http::verb::get, "/api/ws/jobs/abc");
    up.set(http::field::upgrade, "websocket");
    up.set(http::field::connection, "upgrade");
    auto call = std::get<EndpointCall>(route(up));
    EXPECT_EQ(call.endpoint, Endpoint::Events);
    EXPECT_EQ(call.id, "abc");
}

// Bytes through Beast's parser with limits, as a session reads them.
std::optional<Reply> readBytes(const std::string& bytes, size_t headerLimit, size_t bodyLimit) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(headerLimit));
    parser.body_limit(bodyLimit);
    parser.eager(true);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(bytes), ec);
    if (!ec) return Reply{};
    return readFailure(ec, headerLimit, bodyLimit);
}

TEST(RouteTable, LimitsAndMalformedRequestsHaveTheirAnswers) {
    const std::string bigHeader = "GET /api/health HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(8000, 'x') + "\r\n\r\n";
    auto r = readBytes(bigHeader, 4096, 1 << 20);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431u);
    EXPECT_NE(r->body.find("4096"), std::string::npos) << r->body;

    const std::string bigBody = "POST /api/jobs HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n{";
    r = readBytes(bigBody, 4096, 1 << 20);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413u) << "refused from Content-Length, before the body arrives";

    r = readBytes("GET /api/health HTTP/9.9\r\n\r\n", 4096, 1 << 20);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u);
    r = readBytes("GET /api/health HTTP/1.1\r\nBad Header\r\n\r\n", 4096, 1 << 20);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u);

    EXPECT_FALSE(readFailure(http::error::end_of_stream, 1, 1)) << "a closed connection is closed without an answer";
    EXPECT_FALSE(readFailure(boost::beast::error::timeout, 1, 1));
}

TEST(RouteTable, AReplyBecomesAJsonResponseThatClosesWhenAsked) {
    Reply r = Reply::error(503, "busy");
    r.header("Retry-After", "2");
    Response res = makeResponse(r, 11, true);
    EXPECT_EQ(res.result_int(), 503u);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(res[http::field::retry_after], "2");
    EXPECT_EQ(res[http::field::content_length], std::to_string(r.body.size()));
    r.close = true;
    EXPECT_FALSE(makeResponse(r, 11, true).keep_alive());
    EXPECT_FALSE(makeResponse(Reply::ofJson(200, json::object()), 11, false).keep_alive());
}

} // namespace
} // namespace tokenlens::server
