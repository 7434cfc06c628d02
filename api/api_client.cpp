#include "api/api_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <cctype>
#include <thread>

namespace tokenlens::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Runs the io_context until `done` or the deadline.
bool runUntil(net::io_context& ioc, const bool& done, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    ioc.restart();
    while (!done) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= end) return false;
        if (ioc.run_one_for(end - now) == 0 && ioc.stopped() && !done) ioc.restart();
    }
    return true;
}

beast::error_code connectStream(net::io_context& ioc, beast::tcp_stream& stream, const Endpoint& ep,
                                std::chrono::milliseconds timeout) {
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto results = resolver.resolve(ep.host, std::to_string(ep.port), ec);
    if (ec) return ec;
    bool done = false;
    stream.expires_after(timeout);
    stream.async_connect(results, [&](beast::error_code e, const tcp::endpoint&) {
        ec = e;
        done = true;
    });
    if (!runUntil(ioc, done, timeout + std::chrono::seconds(1))) return beast::error::timeout;
    return ec;
}

} // namespace

std::string HttpResponse::header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? std::string{} : it->second;
}

nlohmann::json HttpResponse::json() const {
    auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    return j.is_discarded() ? nlohmann::json() : j;
}

std::string HttpResponse::message() const {
    if (!error.empty()) return error;
    const auto j = json();
    if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
    return "HTTP " + std::to_string(status);
}

struct ApiClient::Impl {
    net::io_context ioc;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
};

ApiClient::ApiClient(Endpoint endpoint, std::chrono::milliseconds timeout)
    : m_endpoint(std::move(endpoint)), m_timeout(timeout), m_impl(std::make_unique<Impl>()) {}

ApiClient::~ApiClient() {
    if (m_impl->stream) {
        beast::error_code ec;
        m_impl->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    }
}

HttpResponse ApiClient::request(const std::string& method, const std::string& target, const std::string& body,
                                const std::vector<std::pair<std::string, std::string>>& headers) {
    Impl& im = *m_impl;
    HttpResponse out;
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool reused = im.stream.has_value();
        if (!im.stream) {
            im.stream.emplace(im.ioc);
            im.buffer.clear();
            if (auto ec = connectStream(im.ioc, *im.stream, m_endpoint, m_timeout)) {
                im.stream.reset();
                out.error = "cannot connect to " + m_endpoint.host + ":" + std::to_string(m_endpoint.port) + ": " + ec.message();
                return out;
            }
        }
        http::request<http::string_body> req{http::string_to_verb(method), target, 11};
        if (req.method() == http::verb::unknown) req.method_string(method);
        req.set(http::field::host, m_endpoint.host);
        req.set(http::field::user_agent, "tokenlens-client");
        if (!m_endpoint.token.empty()) req.set(http::field::authorization, "Bearer " + m_endpoint.token);
        if (!body.empty()) req.set(http::field::content_type, "application/json");
        for (const auto& [k, v] : headers) req.set(k, v);
        req.body() = body;
        req.keep_alive(true);
        req.prepare_payload();

        beast::error_code ec;
        bool done = false;
        im.stream->expires_after(m_timeout);
        http::async_write(*im.stream, req, [&](beast::error_code e, size_t) {
            ec = e;
            done = true;
        });
        runUntil(im.ioc, done, m_timeout + std::chrono::seconds(1));
        http::response_parser<http::string_body> parser;
        parser.body_limit(size_t{1} << 30);
        if (!ec && done) {
            done = false;
            im.stream->expires_after(m_timeout);
            http::async_read(*im.stream, im.buffer, parser, [&](beast::error_code e, size_t) {
                ec = e;
                done = true;
            });
            runUntil(im.ioc, done, m_timeout + std::chrono::seconds(1));
        }
        if (!done) ec = beast::error::timeout;
        if (ec) {
            im.stream.reset();
            // A kept-alive connection the server closed meanwhile: once more on a new one.
            if (reused && attempt == 0 && ec != beast::error::timeout) continue;
            out.error = method + " " + target + ": " + ec.message();
            return out;
        }
        auto res = parser.release();
        out.status = static_cast<int>(res.result_int());
        out.body = std::move(res.body());
        for (const auto& f : res) out.headers[lower(std::string(f.name_string()))] = std::string(f.value());
        if (!res.keep_alive()) {
            beast::error_code ignored;
            im.stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
            im.stream.reset();
        }
        return out;
    }
    return out;
}

namespace {

Error httpError(const HttpResponse& r) {
    return makeError(r.status == 404 ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
                     r.ok() ? "HTTP " + std::to_string(r.status) + ": " + r.message() : r.message());
}

} // namespace

Result<std::string> ApiClient::submit(const nlohmann::json& job) {
    auto r = post("/api/jobs", job);
    if (r.status != 201) return httpError(r);
    const auto j = r.json();
    if (!j.is_object() || !j.contains("job_id") || !j["job_id"].is_string()) {
        return makeError(ErrorCode::Corrupt, "POST /api/jobs: the answer has no job_id");
    }
    return j["job_id"].get<std::string>();
}

Result<nlohmann::json> ApiClient::status(const std::string& jobId) {
    auto r = get("/api/jobs/" + jobId + "/status");
    if (r.status != 200) return httpError(r);
    return r.json();
}

Result<nlohmann::json> ApiClient::results(const std::string& jobId, bool partial) {
    auto r = get("/api/jobs/" + jobId + "/results" + (partial ? "?partial=1" : ""));
    if (r.status != 200) return httpError(r);
    return r.json();
}

Result<nlohmann::json> ApiClient::models() {
    auto r = get("/api/models");
    if (r.status != 200) return httpError(r);
    return r.json();
}

Result<nlohmann::json> ApiClient::methods() {
    auto r = get("/api/methods");
    if (r.status != 200) return httpError(r);
    return r.json();
}

Result<nlohmann::json> ApiClient::waitFinished(const std::string& jobId, std::chrono::milliseconds timeout,
                                               std::chrono::milliseconds interval) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto s = status(jobId);
        if (!s) return s;
        const std::string st = s->value("status", "");
        if (st != "queued" && st != "running") return s;
        if (std::chrono::steady_clock::now() > end) {
            return makeError(ErrorCode::Cancelled, "job " + jobId + " is still " + st + " after the timeout");
        }
        std::this_thread::sleep_for(interval);
    }
}

// -------------------------------------------------------------- EventStream

struct EventStream::Impl {
    net::io_context ioc;
    std::optional<websocket::stream<beast::tcp_stream>> ws;
    beast::flat_buffer buffer;
    bool reading = false, readDone = false;
    beast::error_code readError;
};

EventStream::EventStream(Endpoint endpoint, std::chrono::milliseconds timeout)
    : m_endpoint(std::move(endpoint)), m_timeout(timeout), m_impl(std::make_unique<Impl>()) {}

EventStream::~EventStream() {
    if (m_impl->ws) {
        beast::error_code ec;
        beast::get_lowest_layer(*m_impl->ws).socket().close(ec);
    }
}

Status EventStream::open(const std::string& target) {
    Impl& im = *m_impl;
    m_httpStatus = 0;
    im.ws.emplace(im.ioc);
    auto& lowest = beast::get_lowest_layer(*im.ws);
    if (auto ec = connectStream(im.ioc, lowest, m_endpoint, m_timeout)) {
        im.ws.reset();
        return makeError(ErrorCode::Unreadable, "cannot connect to " + m_endpoint.host + ":" +
                                                    std::to_string(m_endpoint.port) + ": " + ec.message());
    }
    const std::string token = m_endpoint.token;
    im.ws->set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
        req.set(http::field::user_agent, "tokenlens-client");
        if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    }));
    websocket::response_type res;
    beast::error_code ec;
    bool done = false;
    lowest.expires_after(m_timeout);
    im.ws->async_handshake(res, m_endpoint.host, target, [&](beast::error_code e) {
        ec = e;
        done = true;
    });
    if (!runUntil(im.ioc, done, m_timeout + std::chrono::seconds(1))) ec = beast::error::timeout;
    m_httpStatus = static_cast<int>(res.result_int());
    if (ec) {
        im.ws.reset();
        std::string msg = "WebSocket " + target + ": ";
        if (m_httpStatus && m_httpStatus != 101) {
            msg += "HTTP " + std::to_string(m_httpStatus);
            auto j = nlohmann::json::parse(res.body(), nullptr, false);
            if (j.is_object() && j.contains("error") && j["error"].is_string()) msg += ": " + j["error"].get<std::string>();
        } else {
            msg += ec.message();
        }
        return makeError(m_httpStatus == 404 ? ErrorCode::NotFound : ErrorCode::InvalidArgument, msg);
    }
    lowest.expires_never();
    im.ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    im.ws->read_message_max(size_t{1} << 30);
    m_closed = false;
    return {};
}

std::optional<nlohmann::json> EventStream::next(std::chrono::milliseconds timeout) {
    Impl& im = *m_impl;
    if (m_closed || !im.ws) return std::nullopt;
    if (!im.reading) {
        im.reading = true;
        im.readDone = false;
        im.ws->async_read(im.buffer, [&im](beast::error_code e, size_t) {
            im.readError = e;
            im.readDone = true;
        });
    }
    if (!runUntil(im.ioc, im.readDone, timeout)) return std::nullopt; // the read stays pending for the next call
    im.reading = false;
    if (im.readError) {
        m_closed = true;
        return std::nullopt;
    }
    const std::string text = beast::buffers_to_string(im.buffer.data());
    im.buffer.consume(im.buffer.size());
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return nlohmann::json{{"type", "unparsable"}, {"text", text}};
    return j;
}

void EventStream::close() {
    Impl& im = *m_impl;
    if (!im.ws) return;
    if (!m_closed) {
        bool done = false;
        im.ws->async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
        runUntil(im.ioc, done, std::chrono::milliseconds(1000));
    }
    beast::error_code ec;
    beast::get_lowest_layer(*im.ws).socket().close(ec);
    im.ws.reset();
    im.reading = false;
    m_closed = true;
}

} // namespace tokenlens::api
