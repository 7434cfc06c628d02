// The listener (Beast's listener): the io_context, the acceptor and its
// accept loop; every connection starts as an HttpSession on its own strand.

#include "event_hub.h"
#include "http_session.h"
#include "websocket_session.h"

namespace tokenlens::server {

ApiServer::Impl::Impl(ApiServer* s, ServerOptions o)
    : server(s), opts(std::move(o)), ioc(std::make_unique<net::io_context>()) {
    hub = std::make_shared<Hub>(*ioc);
    hub->count = &subscribers;
}

ApiServer::Impl::~Impl() {
    // Everything bound to the io_context goes before it; its pending
    // handlers (and the sessions they hold) are destroyed with it.
    acceptor.reset();
    acceptRetry.reset();
    signalSet.reset();
    hub.reset();
    ioc.reset();
}

beast::error_code ApiServer::Impl::listen(const net::ip::address& addr, uint16_t requested) {
    beast::error_code ec;
    acceptor = std::make_unique<tcp::acceptor>(net::make_strand(*ioc));
    const tcp::endpoint ep(addr, requested);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        acceptor.reset();
        return ec;
    }
    port = acceptor->local_endpoint().port();
    acceptRetry = std::make_unique<net::steady_timer>(acceptor->get_executor());
    return ec;
}

void ApiServer::Impl::accept() {
    acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
        if (!ec) {
            std::make_shared<HttpSession>(std::move(socket), this)->run();
            accept();
            return;
        }
        // Out of file descriptors and the like: try again shortly rather than spin.
        acceptRetry->expires_after(std::chrono::milliseconds(50));
        acceptRetry->async_wait([this](beast::error_code e) {
            if (!e && acceptor->is_open()) accept();
        });
    });
}

} // namespace tokenlens::server
