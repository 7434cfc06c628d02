#pragma once
// One HTTP connection (Beast's http_session): reads a request within the
// header, body and time limits, hands it to Impl::handle, writes the reply
// and reads the next one while the connection is kept alive. An upgrade to
// a WebSocket releases the socket to a WsSession.

#include "server_impl.h"

#include <boost/beast/core.hpp>

namespace tokenlens::server {

struct ApiServer::Impl::HttpSession : std::enable_shared_from_this<HttpSession> {
    Impl* impl;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::string_body>> parser;
    std::shared_ptr<Response> res;
    bool overloaded = false;
    bool released = false; // the socket went to a WebSocket session

    HttpSession(tcp::socket&& socket, Impl* i) : impl(i), stream(std::move(socket)) {
        overloaded = impl->connections.fetch_add(1) >= impl->opts.maxConnections;
    }
    ~HttpSession() { --impl->connections; }

    void run();
    // On the strand. `version` and `keepAlive` from the request.
    void reply(Reply r, unsigned version, bool keepAlive);
    // From any thread (the Qt thread's answers).
    void post(Reply r, unsigned version, bool keepAlive);

private:
    void read();
    void onRead(beast::error_code ec);
    void close();
};

} // namespace tokenlens::server
