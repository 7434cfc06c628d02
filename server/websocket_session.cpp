#include "websocket_session.h"

#include "event_hub.h"
#include "http_session.h"

#include <tokenlens/version.h>

#include <boost/asio/post.hpp>

namespace tokenlens::server {

namespace websocket = beast::websocket;
using WsSession = ApiServer::Impl::WsSession;

void WsSession::accept(http::request<http::string_body> r) {
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

void WsSession::reject(Reply r, unsigned version) {
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

void WsSession::read() {
    ws.async_read(readBuffer, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) {
            self->drop();
            return;
        }
        self->readBuffer.consume(self->readBuffer.size()); // clients have nothing to say
        self->read();
    });
}

void WsSession::enqueue(const std::shared_ptr<const std::string>& msg) {
    if (closed) return;
    if (out.size() + 1 > impl->opts.wsQueueMessages || queuedBytes + msg->size() > impl->opts.wsQueueBytes) {
        drop(); // a consumer too slow for the events: disconnected, not buffered without bound
        return;
    }
    out.push_back(msg);
    queuedBytes += msg->size();
    flush();
}

void WsSession::flush() {
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

void WsSession::drop() {
    closed = true;
    out.clear();
    queuedBytes = 0;
    beast::error_code ec;
    beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws).socket().close(ec);
}

void WsSession::send(std::shared_ptr<const std::string> msg) {
    net::post(ws.get_executor(), [self = shared_from_this(), msg = std::move(msg)] { self->enqueue(msg); });
}

// The HTTP session gives up its socket; the Qt thread takes the snapshot and
// registers the subscriber, so that it sees every event after the snapshot.
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

} // namespace tokenlens::server
