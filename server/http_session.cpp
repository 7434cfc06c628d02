#include "http_session.h"

#include <tokenlens/version.h>

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
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof) {
        close();
        return;
    }
    if (ec == http::error::body_limit) {
        reply(Reply::error(413, "the request body exceeds " + std::to_string(impl->opts.bodyLimit) + " bytes"), 11,
              false);
        return;
    }
    if (ec == http::error::header_limit) {
        reply(Reply::error(431, "the request headers exceed " + std::to_string(impl->opts.headerLimit) + " bytes"),
              11, false);
        return;
    }
    if (ec) {
        if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
            reply(Reply::error(400, "malformed HTTP request: " + ec.message()), 11, false);
        } else {
            close();
        }
        return;
    }
    impl->handle(shared_from_this(), parser->release());
}

void HttpSession::reply(Reply r, unsigned version, bool keepAlive) {
    res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
    res->set(http::field::server, std::string("TokenLens/") + TOKENLENS_VERSION);
    res->set(http::field::content_type, "application/json");
    res->set(http::field::cache_control, "no-store");
    for (auto& [k, v] : r.headers) res->set(k, v);
    const bool keep = keepAlive && !r.close && !impl->shutting.load();
    res->keep_alive(keep);
    res->body() = std::move(r.body);
    res->prepare_payload();
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
