#include "http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace tokenlens::server {

using HttpSession = ApiServer::Impl::HttpSession;

void HttpSession::run() {
    net::dispatch(stream.get_executor(), [self = shared_from_this()] { self->read(); });
}

void HttpSession::read() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(impl->opts.headerLimit));
    parser->body_limit(impl->opts.bodyLimit);
    stream.expires_after(impl->opts.readTimeout);
    http::async_read(stream, buffer, *parser,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
}

void HttpSession::onRead(beast::error_code ec) {
    if (ec) {
        if (auto r = readFailure(ec, impl->opts.headerLimit, impl->opts.bodyLimit)) reply(std::move(*r), 11, false);
        else close();
        return;
    }
    impl->handle(shared_from_this(), parser->release());
}

void HttpSession::reply(Reply r, unsigned version, bool keepAlive) {
    res = std::make_shared<Response>(makeResponse(std::move(r), version, keepAlive && !impl->shutting.load()));
    const bool keep = res->keep_alive();
    stream.expires_after(impl->opts.writeTimeout);
    http::async_write(stream, *res, [self = shared_from_this(), keep](beast::error_code ec, size_t) {
        self->res.reset();
        if (ec || !keep) {
            self->close();
            return;
        }
        self->read();
    });
}

void HttpSession::post(Reply r, unsigned version, bool keepAlive) {
    net::post(stream.get_executor(), [self = shared_from_this(), r = std::move(r), version, keepAlive]() mutable {
        self->reply(std::move(r), version, keepAlive);
    });
}

void HttpSession::close() {
    if (released) return;
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
}

} // namespace tokenlens::server
