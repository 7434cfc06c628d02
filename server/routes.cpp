// The checks every request passes before the route table (shutdown, the
// connection limit), then what each endpoint does (route_table.h says which):
// health, models and methods answer on the session's strand; those that need
// the queue hand a computation to the Qt thread (toQt), whose Reply is
// posted back to the session; an event stream takes the connection over.

#include "http_session.h"

#include <tokenlens/version.h>

namespace tokenlens::server {

namespace {

using Impl = ApiServer::Impl;

// Computes the reply on the Qt thread; 503 when too many calls wait.
template <class F>
void toQt(Impl& impl, const std::shared_ptr<Impl::HttpSession>& s, unsigned version, bool keep, F compute) {
    const bool queued = impl.onQt([s, compute, version, keep]() mutable {
        Reply r;
        try {
            r = compute();
        } catch (const std::exception& e) {
            r = Reply::error(500, std::string("internal error: ") + e.what());
        }
        s->post(std::move(r), version, keep);
    });
    if (!queued) s->reply(impl.retryLater(503, "the server is busy"), version, keep);
}

Reply health(const Impl& impl) {
    const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - impl.started).count();
    return Reply::ofJson(200, {{"status", "ok"},
                               {"version", TOKENLENS_VERSION},
                               {"jobs_pending", impl.pendingJobs.load()},
                               {"jobs_running", impl.runningJobs.load()},
                               {"connections", impl.connections.load()},
                               {"uptime_seconds", uptime}});
}

} // namespace

void ApiServer::Impl::handle(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req) {
    const unsigned version = req.version();
    const bool keep = req.keep_alive();
    if (shutting.load()) {
        s->reply(retryLater(503, "the server is shutting down"), version, false);
        return;
    }
    if (s->overloaded) {
        Reply r = retryLater(503, "too many connections");
        r.close = true;
        s->reply(std::move(r), version, false);
        return;
    }
    try {
        auto routed = routeRequest(req, routing);
        if (auto* r = std::get_if<Reply>(&routed)) {
            s->reply(std::move(*r), version, keep);
            return;
        }
        execute(s, std::move(req), std::get<EndpointCall>(std::move(routed)));
    } catch (const std::exception& e) {
        if (!s->released) s->reply(Reply::error(500, std::string("internal error: ") + e.what()), version, false);
    }
}

void ApiServer::Impl::execute(const std::shared_ptr<HttpSession>& s, http::request<http::string_body>&& req,
                              EndpointCall call) {
    const unsigned version = req.version();
    const bool keep = req.keep_alive();
    ApiServer* srv = server;
    auto later = [&](auto compute) { toQt(*this, s, version, keep, std::move(compute)); };
    const std::string id = call.id;
    switch (call.endpoint) {
    case Endpoint::Health:
        return s->reply(health(*this), version, keep);
    case Endpoint::Models:
        return s->reply(Reply{200, modelsBody, {}, false}, version, keep);
    case Endpoint::Methods:
        return s->reply(Reply{200, methodsBody, {}, false}, version, keep);
    case Endpoint::ListJobs:
        return later([srv, offset = call.offset, limit = call.limit] { return srv->listJobs(offset, limit); });
    case Endpoint::SubmitJob:
        return later([srv, job = std::move(*call.job)] { return srv->submitJob(job); });
    case Endpoint::ImportJob:
        return later([srv, body = std::move(call.body)] { return srv->importJob(body); });
    case Endpoint::RerunJob:
        return later([srv, id] { return srv->rerunJob(id); });
    case Endpoint::DeleteJob:
        return later([srv, id] { return srv->deleteJob(id); });
    case Endpoint::JobStatus:
        return later([srv, id] { return srv->jobStatus(id); });
    case Endpoint::JobResults:
        return later([srv, id, partial = call.partial] { return srv->jobResults(id, partial); });
    case Endpoint::Events:
        return upgrade(s, std::move(req), id);
    }
}

} // namespace tokenlens::server
