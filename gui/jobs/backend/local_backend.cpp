#include "jobs/backend/local_backend.h"

#include <set>

namespace tokenlens::gui {

LocalBackend::LocalBackend(jobs::JobQueue* queue, QObject* parent) : JobBackend(parent), m_queue(queue) {
    using Q = jobs::JobQueue;
    connect(queue, &Q::jobAvailable, this, &JobBackend::jobAvailable);
    connect(queue, &Q::jobStatusAvailable, this, &JobBackend::jobStatusAvailable);
    connect(queue, &Q::pairStatusAvailable, this, &JobBackend::pairStatusAvailable);
    connect(queue, &Q::pairResultAvailable, this, &JobBackend::pairResultAvailable);
    connect(queue, &Q::pairFailed, this, &JobBackend::pairFailed);
    connect(queue, &Q::progressAvailable, this, &JobBackend::progressAvailable);
    connect(queue, &Q::jobResultAvailable, this, &JobBackend::jobResultAvailable);
    connect(queue, &Q::jobFailed, this, &JobBackend::jobFailed);
    connect(queue, &Q::jobRemoved, this, &JobBackend::jobRemoved);
    connect(queue, &Q::storeFailed, this, &JobBackend::storeFailed);
}

QString LocalBackend::description() const { return tr("this computer"); }

void LocalBackend::submit(const Job& spec, Submitted done) { done(m_queue->submit(spec)); }

void LocalBackend::followUp(const std::string& parentId, const std::string& text, int followModel, Submitted done) {
    done(m_queue->followUp(parentId, text, followModel));
}

void LocalBackend::submitBatch(const std::string& jsonl, const Job& defaults, const std::string& source,
                               BatchSubmitted done) {
    done(m_queue->submitBatch(jsonl, defaults, source));
}

bool LocalBackend::cancelJob(const std::string& id) { return m_queue->cancelJob(id); }
Result<bool> LocalBackend::rerun(const std::string& id) { return m_queue->rerun(id); }
Result<bool> LocalBackend::remove(const std::string& id) { return m_queue->remove(id); }
Result<nlohmann::json> LocalBackend::exportJob(const std::string& id) { return m_queue->exportJob(id); }
void LocalBackend::importJob(const nlohmann::json& j, const std::string& source, Submitted done) {
    done(m_queue->importJob(j, source));
}

std::optional<jobs::JobRecord> LocalBackend::job(const std::string& id) const { return m_queue->job(id); }

std::vector<std::string> LocalBackend::followUps(const std::string& id) const {
    // The store's (every job the queue ran is in it), else this session's jobs by parent.
    if (jobs::JobStore* store = m_queue->store()) {
        auto stored = store->followUps(id);
        return stored ? stored.value() : std::vector<std::string>{};
    }
    std::vector<std::string> out;
    for (const std::string& j : m_queue->jobIds()) {
        const auto rec = m_queue->job(j);
        if (rec && rec->spec.parentJob && *rec->spec.parentJob == id) out.push_back(j);
    }
    return out;
}

std::vector<jobs::JobRecord> LocalBackend::listJobs() const {
    // This session's jobs come from the queue (fresher); the others from the
    // store's list, which carries no results (a long history opens fast).
    std::vector<jobs::JobRecord> out;
    const std::vector<std::string> session = m_queue->jobIds();
    const std::set<std::string> live(session.begin(), session.end());
    if (m_queue->store()) {
        if (auto list = m_queue->store()->listJobs(false)) {
            for (auto& j : *list) {
                if (!live.count(j.id)) out.push_back(std::move(j));
            }
        }
    }
    for (const auto& id : session) {
        if (auto rec = m_queue->job(id)) {
            for (auto& p : rec->pairs) p.result.reset();
            out.push_back(std::move(*rec));
        }
    }
    return out;
}

int LocalBackend::progress(const std::string& id) const { return m_queue->progress(id); }
double LocalBackend::etaSeconds(const std::string& id) const { return m_queue->etaSeconds(id); }

} // namespace tokenlens::gui
