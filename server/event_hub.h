#pragma once
// The subscribers of the event streams (Beast's chat-multi shared_state):
// the Qt thread posts each numbered event to the hub's strand, which hands
// it to every subscriber of its job (or of all jobs) in that order.

#include "server_impl.h"

#include <boost/asio/strand.hpp>

namespace tokenlens::server {

struct ApiServer::Impl::Hub {
    explicit Hub(net::io_context& ioc) : strand(net::make_strand(ioc)) {}
    net::strand<net::io_context::executor_type> strand;
    struct Sub {
        std::weak_ptr<WsSession> session;
        std::string job; // empty: every job
    };
    std::vector<Sub> subs;          // touched only on `strand`
    std::atomic<int>* count = nullptr; // the server's subscriber count

    // On `strand`: sends `msg` to the subscribers of `job`, forgetting closed ones.
    void publish(const std::string& job, const std::shared_ptr<const std::string>& msg);
};

} // namespace tokenlens::server
