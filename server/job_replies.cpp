// What the routes that need the queue answer, computed on the Qt thread
// (the queue and its store live there): submit, list, status, results,
// delete, re-run and import; and a job's status as the API shows it.

#include "server_impl.h"

#include "api/wire.h"
#include "result/result_json.h"

namespace tokenlens::server {

using nlohmann::json;
using jobs::JobStatus;

namespace {

// 201 Created for a new job: its links, and Location its status.
ApiServer::Reply created(const std::string& job, bool withEvents) {
    json links = {{"job_id", job},
                  {"status_url", "/api/jobs/" + job + "/status"},
                  {"results_url", "/api/jobs/" + job + "/results"}};
    if (withEvents) links["events_url"] = "/api/ws/jobs/" + job;
    ApiServer::Reply r = ApiServer::Reply::ofJson(201, links);
    r.header("Location", "/api/jobs/" + job + "/status");
    return r;
}

// What a status and a list entry both say of a job.
template <class View>
void describe(View& v, const jobs::JobRecord& rec, JobStatus status, std::vector<std::string> models) {
    v.jobId = rec.id;
    v.status = status;
    v.createdAt = rec.createdAt;
    v.finishedAt = rec.finishedAt;
    v.models = std::move(models);
    v.methods = rec.spec.methods;
    v.input = rec.spec.input;
    v.parentJob = rec.spec.parentJob;
}

} // namespace

std::vector<std::string> ApiServer::modelIds(const Job& spec) const {
    std::vector<std::string> out;
    for (int i = 0; i < static_cast<int>(spec.models.size()); ++i) {
        auto id = m_catalog.idForPath(spec.models[static_cast<size_t>(i)]);
        out.push_back(id ? *id : modelName(spec, i)); // never a server path
    }
    return out;
}

std::optional<jobs::JobRecord> ApiServer::findJob(const std::string& id, bool withResults) {
    if (m_live.count(id) || !m_queue.store()) return m_queue.job(id);
    auto loaded = m_queue.store()->loadJob(id, withResults);
    if (!loaded || !*loaded) return std::nullopt;
    return std::move(**loaded);
}

json ApiServer::statusJson(const jobs::JobRecord& rec) {
    const bool live = m_live.count(rec.id) > 0;
    api::StatusView v;
    describe(v, rec, rec.status, modelIds(rec.spec));
    v.error = rec.error;
    const int permille = live ? m_queue.progress(rec.id) : (jobs::isFinal(rec.status) ? 1000 : 0);
    v.progress = permille / 1000.0;
    const double eta = live ? m_queue.etaSeconds(rec.id) : -1;
    if (jobs::isFinal(rec.status)) v.etaSeconds = 0.0;
    else if (eta >= 0) v.etaSeconds = eta;
    v.startedAt = rec.startedAt;
    v.priority = rec.spec.priority;
    v.prompt = rec.prompt;
    v.turns = rec.turns;
    for (const auto& p : rec.pairs) {
        api::PairView pv;
        pv.modelIndex = p.modelIndex;
        if (p.modelIndex >= 0 && p.modelIndex < static_cast<int>(v.models.size())) {
            pv.model = v.models[static_cast<size_t>(p.modelIndex)];
        }
        pv.method = p.method;
        pv.status = p.status;
        pv.progress = live ? m_queue.pairProgress(rec.id, p.modelIndex, p.method) : -1;
        if (pv.progress < 0) pv.progress = jobs::isFinal(p.status) ? 1.0 : 0.0;
        pv.error = p.error;
        pv.seconds = p.seconds;
        pv.fromCache = p.fromCache;
        pv.fromStore = p.fromStore;
        pv.peakRssBytes = p.peakRssBytes;
        v.pairs.push_back(std::move(pv));
    }
    return api::toJson(v);
}

ApiServer::Reply ApiServer::submitJob(const Job& spec) {
    if (m_impl->shutting.load()) return m_impl->retryLater(503, "the server is shutting down");
    if (m_pending >= m_options.maxQueued) {
        return m_impl->retryLater(429, "the server already has " + std::to_string(m_pending) +
                                           " jobs waiting or running (at most " + std::to_string(m_options.maxQueued) + ")");
    }
    auto id = m_queue.submit(spec);
    if (!id) return Reply::error(400, id.error().message, spec.parentJob ? "parent_job" : "");
    return created(id.value(), true);
}

ApiServer::Reply ApiServer::rerunJob(const std::string& id) {
    if (m_impl->shutting.load()) return m_impl->retryLater(503, "the server is shutting down");
    auto rec = findJob(id, false);
    if (!rec) return Reply::error(404, "there is no job " + id);
    // Only the catalogue's models run here: an imported job may name folders
    // of another machine, which the server never opens.
    for (size_t i = 0; i < rec->spec.models.size(); ++i) {
        if (!m_catalog.idForPath(rec->spec.models[i])) {
            return Reply::error(409, "job " + id + " uses model '" + modelName(rec->spec, static_cast<int>(i)) +
                                         "', which is not in this server's catalogue (GET /api/models)");
        }
    }
    auto r = m_queue.rerun(id);
    if (!r) return Reply::error(409, r.error().message);
    return Reply::ofJson(202, {{"job_id", id}, {"requeued", r.value()}, {"status_url", "/api/jobs/" + id + "/status"}});
}

ApiServer::Reply ApiServer::importJob(const json& body) {
    if (m_impl->shutting.load()) return m_impl->retryLater(503, "the server is shutting down");
    // Read with the one job parser; then model folders of the file that name
    // a catalogue model (by id or folder name) become that model's folder,
    // the others keep their name only (never a path of this server).
    auto parsed = jobs::importJson(body, "the request body");
    if (!parsed) return Reply::error(400, parsed.error().message);
    jobs::JobRecord rec = std::move(parsed.value());
    for (int i = 0; i < static_cast<int>(rec.spec.models.size()); ++i) {
        const std::string name = modelName(rec.spec, i);
        const CatalogEntry* e = m_catalog.find(name);
        rec.spec.models[static_cast<size_t>(i)] = e ? e->path.string() : name;
    }
    const json j = jobs::exportJson(rec);
    auto id = m_queue.importJob(j, "the request body");
    if (!id) return Reply::error(400, id.error().message);
    return created(id.value(), false);
}

ApiServer::Reply ApiServer::listJobs(int64_t offset, int64_t limit) {
    std::vector<jobs::JobRecord> all;
    if (m_queue.store()) {
        auto listed = m_queue.store()->listJobs(false);
        if (!listed) return Reply::error(500, "the results store cannot be read: " + listed.error().message);
        all = std::move(listed.value());
    } else {
        for (const auto& id : m_queue.jobIds()) {
            if (auto rec = m_queue.job(id)) all.push_back(std::move(*rec));
        }
    }
    json list = json::array();
    const int64_t total = static_cast<int64_t>(all.size());
    // Newest first.
    for (int64_t i = total - 1 - offset, n = 0; i >= 0 && n < limit; --i, ++n) {
        const auto& rec = all[static_cast<size_t>(i)];
        auto live = m_live.find(rec.id);
        const JobStatus st = live != m_live.end() ? live->second : rec.status;
        api::ListEntry e;
        describe(e, rec, st, modelIds(rec.spec));
        list.push_back(api::toJson(e));
    }
    return Reply::ofJson(200, {{"total", total}, {"offset", offset}, {"limit", limit}, {"jobs", std::move(list)}});
}

ApiServer::Reply ApiServer::jobStatus(const std::string& id) {
    auto rec = findJob(id, false);
    if (!rec) return Reply::error(404, "there is no job " + id);
    return Reply::ofJson(200, statusJson(*rec));
}

ApiServer::Reply ApiServer::jobResults(const std::string& id, bool partial) {
    auto rec = findJob(id, true);
    if (!rec) return Reply::error(404, "there is no job " + id);
    if (!jobs::isFinal(rec->status) && !partial) {
        Reply r = Reply::ofJson(409, {{"error", "job " + id + " is " + jobs::statusName(rec->status) +
                                                    "; its results are ready when it finishes (or ask with ?partial=1)"},
                                      {"status", jobs::statusName(rec->status)}});
        r.header("Retry-After", std::to_string(m_options.retryAfterSeconds));
        return r;
    }
    return Reply{200, dump(toJson(jobs::toJobResult(*rec))), {}, false};
}

ApiServer::Reply ApiServer::deleteJob(const std::string& id) {
    auto rec = findJob(id, false);
    if (!rec) return Reply::error(404, "there is no job " + id);
    if (!jobs::isFinal(rec->status)) {
        if (!m_live.count(id) || !m_queue.cancelJob(id)) {
            return Reply::error(409, "job " + id + " is " + jobs::statusName(rec->status) + " in another process");
        }
        auto now = m_queue.job(id);
        const JobStatus st = now ? now->status : JobStatus::Cancelled;
        return Reply::ofJson(202, {{"job_id", id}, {"cancelled", true}, {"status", jobs::statusName(st)}});
    }
    auto removed = m_queue.remove(id);
    if (!removed) return Reply::error(500, "job " + id + " could not be deleted: " + removed.error().message);
    return Reply::ofJson(200, {{"job_id", id}, {"deleted", true}});
}

} // namespace tokenlens::server
