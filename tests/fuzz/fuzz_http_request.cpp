// libFuzzer target: the server's request path without sockets. Raw bytes go
// through Beast's request parser with the server's kind of limits, then the
// route table (server/route_table.h: authentication, targets, query
// parameters, job bodies read against a catalogue) to a Reply, and the Reply
// becomes the response the server would write. Pipelined requests are read
// one after another while the connection is kept alive, as a session does.
// The first input byte chooses whether the server has a bearer token.
//
// What must hold: every answer is a well-formed response whose body is JSON
// (errors carry "error"); every call the route table accepts names a valid
// job id where its route has one, and a submitted job names only
// catalogue models.

#include "../server/routes/route_test_catalog.h"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

using namespace tokenlens;
using namespace tokenlens::server;
namespace http = boost::beast::http;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// What the server would answer for an accepted call, without its queue.
Reply answer(const EndpointCall& call) {
    const bool needsId = call.endpoint == Endpoint::RerunJob || call.endpoint == Endpoint::DeleteJob ||
                         call.endpoint == Endpoint::JobStatus || call.endpoint == Endpoint::JobResults;
    if (needsId || !call.id.empty()) check(validJobId(call.id));
    if (call.endpoint == Endpoint::ListJobs) {
        check(call.offset >= 0 && call.offset <= 1'000'000'000 && call.limit >= 1 && call.limit <= 500);
    }
    if (call.endpoint == Endpoint::SubmitJob) {
        check(call.job.has_value() && !call.job->models.empty() && !call.job->methods.empty());
        for (const std::string& m : call.job->models) check(m == "/models/tiny-gpt2");
    }
    if (call.endpoint == Endpoint::ImportJob) check(!call.body.is_discarded());
    return Reply::ofJson(200, {{"endpoint", static_cast<int>(call.endpoint)}, {"id", call.id}});
}

void checkResponse(Response res) {
    check(res.result_int() >= 100 && res.result_int() <= 599);
    const auto body = nlohmann::json::parse(res.body(), nullptr, false);
    check(!body.is_discarded());
    if (res.result_int() >= 400) check(body.is_object() && body.contains("error"));
    std::ostringstream out; // the bytes a session would write
    out << res;
    check(out.str().size() >= res.body().size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const RouteContext ctx = testing::twoModelContext(data[0] & 1 ? "s3cret-token" : "");
    constexpr size_t headerLimit = 4096, bodyLimit = 64 << 10;
    boost::asio::const_buffer input(data + 1, size - 1);
    for (int request = 0; request < 4; ++request) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(headerLimit);
        parser.body_limit(bodyLimit);
        parser.eager(true);
        boost::beast::error_code ec;
        while (!parser.is_done()) {
            const size_t used = parser.put(input, ec);
            input += used;
            if (ec == http::error::need_more) {
                ec = {};
                if (used > 0) continue;
                parser.put_eof(ec); // the client closed: nothing more comes
                break;
            }
            if (ec || used == 0) break;
        }
        if (ec || !parser.is_done()) {
            if (!ec) return 0;
            if (auto r = readFailure(ec, headerLimit, bodyLimit)) checkResponse(makeResponse(std::move(*r), 11, false));
            return 0;
        }
        Request req = parser.release();
        const bool keep = req.keep_alive();
        auto routed = routeRequest(req, ctx);
        Reply reply = std::holds_alternative<Reply>(routed) ? std::get<Reply>(std::move(routed))
                                                            : answer(std::get<EndpointCall>(routed));
        if (ctx.token.empty()) check(reply.status != 401);
        checkResponse(makeResponse(std::move(reply), req.version(), keep));
        if (!keep || input.size() == 0) break;
    }
    return 0;
}
