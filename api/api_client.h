#pragma once
// A small synchronous client of the job API (HTTP and WebSocket, Boost.Beast),
// used by the tests and meant for a remote backend of the GUI: no Qt, each
// call blocks the calling thread up to its timeout, so call it off the GUI
// thread. One ApiClient keeps one keep-alive connection (reconnecting when
// the server closed it); it is not thread-safe: use one per thread.

#include "util/result.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tokenlens::api {

struct Endpoint {
    std::string host = "127.0.0.1";
    uint16_t port = 8765;
    std::string token; // sent as "Authorization: Bearer <token>" when not empty
};

struct HttpResponse {
    int status = 0;    // 0: no response (see `error`)
    std::string error; // transport problem (refused, timeout, closed)
    std::string body;
    std::map<std::string, std::string> headers; // names in lower case

    bool ok() const { return error.empty() && status > 0; }
    std::string header(const std::string& lowerName) const;
    // The body as JSON (null when it is not JSON).
    nlohmann::json json() const;
    // The server's "error" message, else the transport error.
    std::string message() const;
};

class ApiClient {
public:
    explicit ApiClient(Endpoint endpoint, std::chrono::milliseconds timeout = std::chrono::seconds(30));
    ~ApiClient();
    ApiClient(const ApiClient&) = delete;
    ApiClient& operator=(const ApiClient&) = delete;

    HttpResponse request(const std::string& method, const std::string& target, const std::string& body = {},
                         const std::vector<std::pair<std::string, std::string>>& headers = {});
    HttpResponse get(const std::string& target) { return request("GET", target); }
    HttpResponse post(const std::string& target, const nlohmann::json& body) { return request("POST", target, body.dump()); }
    HttpResponse del(const std::string& target) { return request("DELETE", target); }

    // The API's calls; errors carry the server's message.
    Result<std::string> submit(const nlohmann::json& job);
    Result<nlohmann::json> status(const std::string& jobId);
    Result<nlohmann::json> results(const std::string& jobId, bool partial = false);
    Result<nlohmann::json> models();
    Result<nlohmann::json> methods();
    // Polls the status until the job is final or `timeout`; the last status.
    Result<nlohmann::json> waitFinished(const std::string& jobId, std::chrono::milliseconds timeout,
                                        std::chrono::milliseconds interval = std::chrono::milliseconds(50));

    const Endpoint& endpoint() const { return m_endpoint; }

private:
    struct Impl;
    Endpoint m_endpoint;
    std::chrono::milliseconds m_timeout;
    std::unique_ptr<Impl> m_impl;
};

// One WebSocket event stream (/api/ws/jobs or /api/ws/jobs/{id}).
class EventStream {
public:
    explicit EventStream(Endpoint endpoint, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~EventStream();
    EventStream(const EventStream&) = delete;
    EventStream& operator=(const EventStream&) = delete;

    // Connects and upgrades; a refused upgrade fails with the HTTP status in
    // httpStatus() (401 wrong token, 404 unknown job, 503 shutting down).
    Status open(const std::string& target);
    int httpStatus() const { return m_httpStatus; }
    // The next event; nullopt on timeout or when the stream ended (closed()).
    std::optional<nlohmann::json> next(std::chrono::milliseconds timeout);
    bool closed() const { return m_closed; }
    void close();

private:
    struct Impl;
    Endpoint m_endpoint;
    std::chrono::milliseconds m_timeout;
    std::unique_ptr<Impl> m_impl;
    int m_httpStatus = 0;
    bool m_closed = true;
};

} // namespace tokenlens::api
