#pragma once
// One event stream's connection (Beast's websocket_session): the upgrade's
// handshake, then a write queue of events, bounded in messages and bytes; a
// subscriber too slow for its events is disconnected. Clients send nothing
// the server reads.

#include "server_impl.h"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>

namespace tokenlens::server {

struct ApiServer::Impl::WsSession : std::enable_shared_from_this<WsSession> {
    Impl* impl;
    beast::websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer readBuffer;
    http::request<http::string_body> req;
    std::deque<std::shared_ptr<const std::string>> out;
    size_t queuedBytes = 0;
    bool accepted = false, writing = false, closed = false;
    std::shared_ptr<http::response<http::string_body>> rejection;

    WsSession(tcp::socket&& socket, Impl* i) : impl(i), ws(std::move(socket)) { ++impl->connections; }
    ~WsSession() { --impl->connections; }

    // On the session's strand.
    void accept(http::request<http::string_body> r);
    void reject(Reply r, unsigned version); // an HTTP answer instead of the upgrade (unknown job, overload)
    void enqueue(const std::shared_ptr<const std::string>& msg);
    void drop();

    // From any thread.
    void send(std::shared_ptr<const std::string> msg);

private:
    void read();
    void flush();
};

} // namespace tokenlens::server
