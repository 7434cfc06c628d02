#include "event_hub.h"

#include "websocket_session.h"

namespace tokenlens::server {

void ApiServer::Impl::Hub::publish(const std::string& job, const std::shared_ptr<const std::string>& msg) {
    for (auto it = subs.begin(); it != subs.end();) {
        auto s = it->session.lock();
        if (!s) {
            it = subs.erase(it);
            --*count;
            continue;
        }
        if (it->job.empty() || it->job == job) s->send(msg);
        ++it;
    }
}

} // namespace tokenlens::server
