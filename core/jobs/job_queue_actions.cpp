// What users ask of the JobQueue: submit (single, follow-up, batch), cancel,
// re-run, priority, remove, export and import.

#include "jobs/queue_state.h"

#include "attribution/method.h"

#include <QFile>

#include <algorithm>

namespace tokenlens::jobs {

namespace {

// The work estimate of a pair before its sequence is known (prompt ~4 bytes
// per token); only used to weigh pairs in the job's progress until then.
int64_t approximateWork(const JobRecord& job, const std::string& methodId) {
    const AttributionMethod* m = findMethod(methodId);
    if (!m) return 1;
    Job aj;
    aj.input = job.prompt;
    aj.methods = {methodId};
    aj.options = job.spec.options;
    auto opts = methodOptions(aj, methodId);
    if (!opts) return 1;
    const int64_t n = std::max<int64_t>(2, static_cast<int64_t>(job.prompt.size()) / 4 + 1);
    int64_t t = job.spec.options.value("max_new_tokens", int64_t{8});
    if (job.spec.targetText) t = std::max<int64_t>(1, static_cast<int64_t>(job.spec.targetText->size()) / 4);
    return std::max<int64_t>(1, m->estimateWork(n, t, *opts));
}

} // namespace

Result<std::string> JobQueue::submit(const Job& spec) {
    if (auto st = checkJob(spec); !st) return st.error();
    JobRecord rec;
    do {
        rec.id = newJobId();
    } while (active(rec.id));
    rec.spec = spec;
    rec.prompt = spec.input;
    if (spec.parentJob) {
        auto parent = job(*spec.parentJob);
        if (!parent) return makeError(ErrorCode::NotFound, "follow-up: there is no job " + *spec.parentJob);
        if (!isFinal(parent->status)) {
            return makeError(ErrorCode::InvalidArgument,
                             "follow-up: job " + *spec.parentJob + " has not finished (it is " +
                                 statusName(parent->status) + ")");
        }
        auto f = buildFollowUpPrompt(*parent, rec.id, spec.input, spec.followModel);
        if (!f) return makeError(f.error().code, "follow-up: " + f.error().message);
        rec.prompt = f->prompt;
        rec.turns = f->turns;
        // A chat continues as chat turns: the parent's messages, its reply,
        // then the new user message, rendered again through the template.
        if (parent->spec.messages.is_array() && spec.messages.is_null()) {
            auto messages = followUpMessages(*parent, spec.input, spec.followModel);
            if (!messages) return makeError(messages.error().code, "follow-up: " + messages.error().message);
            rec.spec.messages = std::move(messages.value());
        }
    }
    rec.status = JobStatus::Queued;
    rec.createdAt = isoNow();
    rec.pairs = expandPairs(spec);
    if (m_store) {
        if (auto st = m_store->insertJob(rec); !st) return st.error();
    } else {
        rec.seq = static_cast<int64_t>(m_nextSeq++);
    }
    auto a = std::make_unique<Active>();
    a->record = std::move(rec);
    a->runs.resize(a->record.pairs.size());
    for (size_t i = 0; i < a->runs.size(); ++i) a->runs[i].approxWork = approximateWork(a->record, a->record.pairs[i].method);
    const std::string id = a->record.id;
    m_jobs.emplace(id, std::move(a));
    m_order.push_back(id);
    later([this, q = qs(id)] {
        emit jobAvailable(q);
        emit jobStatusAvailable(q, JobStatus::Queued);
    });
    schedule();
    flushSignals();
    return id;
}

Result<std::string> JobQueue::followUp(const std::string& parentId, const std::string& text, int followModel) {
    auto parent = job(parentId);
    if (!parent) return makeError(ErrorCode::NotFound, "follow-up: there is no job " + parentId);
    Job spec = parent->spec;
    spec.input = text;
    spec.messages = nullptr; // a chat's next turn is built from the parent's (submit)
    spec.parentJob = parentId;
    spec.targetText.reset();
    spec.followModel = followModel;
    return submit(spec);
}

BatchSubmission JobQueue::submitBatch(const std::string& jsonl, const Job& defaults, const std::string& source) {
    BatchSubmission out;
    auto parsed = parseBatch(jsonl, defaults, source);
    out.errors = parsed.errors;
    for (auto& line : parsed.jobs) {
        auto id = submit(line.spec);
        if (id) out.jobIds.push_back(id.value());
        else out.errors.push_back({line.line, source + ":" + std::to_string(line.line) + ": " + id.error().message});
    }
    std::sort(out.errors.begin(), out.errors.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
    return out;
}

Result<BatchSubmission> JobQueue::submitBatchFile(const std::string& path, const Job& defaults) {
    QFile file(qs(path));
    if (!file.open(QIODevice::ReadOnly)) return makeError(ErrorCode::NotFound, path + ": cannot open the batch file");
    const QByteArray bytes = file.readAll();
    return submitBatch(bytes.toStdString(), defaults, path);
}

bool JobQueue::cancelJob(const std::string& id) {
    Active* a = active(id);
    if (!a || isFinal(a->record.status)) return false;
    a->cancelRequested = true;
    for (size_t i = 0; i < a->record.pairs.size(); ++i) {
        auto& p = a->record.pairs[i];
        auto& r = a->runs[i];
        if (p.status == JobStatus::Queued) {
            finishPairLocally(*a, i, JobStatus::Cancelled, "cancelled");
        } else if (p.status == JobStatus::Running && r.cancel) {
            r.userCancelled = true;
            r.cancel->store(true);
        }
    }
    maybeFinish(*a);
    flushSignals();
    return true;
}

bool JobQueue::cancelPair(const std::string& id, int modelIndex, const std::string& method) {
    Active* a = active(id);
    if (!a) return false;
    for (size_t i = 0; i < a->record.pairs.size(); ++i) {
        auto& p = a->record.pairs[i];
        if (p.modelIndex != modelIndex || p.method != method) continue;
        auto& r = a->runs[i];
        if (p.status == JobStatus::Queued) {
            finishPairLocally(*a, i, JobStatus::Cancelled, "cancelled");
            maybeFinish(*a);
        } else if (p.status == JobStatus::Running && r.cancel && !r.userCancelled) {
            r.userCancelled = true;
            r.cancel->store(true);
        } else {
            return false;
        }
        flushSignals();
        return true;
    }
    return false;
}

Result<JobQueue::Active*> JobQueue::activate(const std::string& id) {
    if (Active* a = active(id)) return a;
    if (!m_store) return makeError(ErrorCode::NotFound, "there is no job " + id);
    auto loaded = m_store->loadJob(id, true);
    if (!loaded) return loaded.error();
    if (!*loaded) return makeError(ErrorCode::NotFound, "there is no job " + id + " in " + m_store->path());
    if (!isFinal((*loaded)->status)) {
        return makeError(ErrorCode::InvalidArgument,
                         "job " + id + " is " + statusName((*loaded)->status) + " in another process");
    }
    auto a = std::make_unique<Active>();
    a->record = std::move(**loaded);
    a->runs.resize(a->record.pairs.size());
    for (size_t i = 0; i < a->runs.size(); ++i) a->runs[i].approxWork = approximateWork(a->record, a->record.pairs[i].method);
    a->permille = 1000;
    Active* raw = a.get();
    m_jobs.emplace(id, std::move(a));
    if (std::find(m_order.begin(), m_order.end(), id) == m_order.end()) m_order.push_back(id);
    return raw;
}

int JobQueue::requeue(Active& a, int modelIndex, const std::string& method) {
    int n = 0;
    std::vector<const PairRecord*> changed;
    for (size_t i = 0; i < a.record.pairs.size(); ++i) {
        auto& p = a.record.pairs[i];
        auto& r = a.runs[i];
        if (modelIndex >= 0 && (p.modelIndex != modelIndex || p.method != method)) continue;
        const bool stopping = p.status == JobStatus::Running && r.userCancelled;
        if (!(isFinal(p.status) && p.status != JobStatus::Completed) && !stopping) continue;
        // A new attempt: whatever an old one still reports is stale.
        r.attempt = m_nextAttempt++;
        r.running = false;
        r.userCancelled = false;
        r.cancel.reset();
        r.progress.reset();
        r.work = 0;
        p.status = JobStatus::Queued;
        p.error.reset();
        p.result.reset();
        p.fromCache = false;
        p.fromStore = false;
        p.cacheKey.clear();
        p.seconds = 0;
        p.startedAt.clear();
        p.finishedAt.clear();
        changed.push_back(&p);
        ++n;
    }
    if (n == 0) return 0;
    a.cancelRequested = false;
    JobRecord& rec = a.record;
    if (isFinal(rec.status)) {
        rec.status = JobStatus::Queued;
        rec.finishedAt.clear();
        rec.error.reset();
        a.permille = 0;
        a.eta = -1;
        a.clockStarted = false;
    }
    save(rec, changed, true);
    const QString q = qs(rec.id);
    const JobStatus st = rec.status;
    later([this, q, st] {
        emit jobAvailable(q);
        emit jobStatusAvailable(q, st);
    });
    for (const PairRecord* p : changed) {
        later([this, q, mi = p->modelIndex, m = qs(p->method)] { emit pairStatusAvailable(q, mi, m, JobStatus::Queued); });
    }
    return n;
}

Result<bool> JobQueue::rerun(const std::string& id) {
    auto a = activate(id);
    if (!a) return a.error();
    const int n = requeue(*a.value(), -1, {});
    schedule();
    flushSignals();
    return n > 0;
}

Result<bool> JobQueue::rerunPair(const std::string& id, int modelIndex, const std::string& method) {
    auto a = activate(id);
    if (!a) return a.error();
    const int n = requeue(*a.value(), modelIndex, method);
    schedule();
    flushSignals();
    return n > 0;
}

void JobQueue::setPriority(const std::string& id, int priority) {
    if (Active* a = active(id)) {
        a->record.spec.priority = priority;
        save(a->record, {}, false);
        schedule();
        flushSignals();
    }
}

Result<bool> JobQueue::remove(const std::string& id) {
    bool existed = false;
    if (auto it = m_jobs.find(id); it != m_jobs.end()) {
        for (auto& r : it->second->runs) {
            if (r.cancel) r.cancel->store(true); // its outcome will find no job: dropped
        }
        m_jobs.erase(it);
        existed = true;
    }
    m_order.erase(std::remove(m_order.begin(), m_order.end(), id), m_order.end());
    if (m_store) {
        auto deleted = m_store->deleteJob(id);
        if (!deleted) return deleted.error();
        existed = existed || deleted.value();
    }
    if (existed) later([this, q = qs(id)] { emit jobRemoved(q); });
    flushSignals();
    return existed;
}

Result<nlohmann::json> JobQueue::exportJob(const std::string& id) {
    auto j = job(id);
    if (!j) return makeError(ErrorCode::NotFound, "there is no job " + id);
    return exportJson(*j);
}

Result<std::string> JobQueue::importJob(const nlohmann::json& j, const std::string& source) {
    auto rec = importJson(j, source);
    if (!rec) return rec.error();
    JobRecord& job = rec.value();
    auto taken = [&](const std::string& id) {
        if (id.empty() || active(id)) return true;
        if (!m_store) return false;
        auto stored = m_store->loadJob(id, false);
        return !stored || stored->has_value();
    };
    while (taken(job.id)) job.id = newJobId();
    for (auto& p : job.pairs) {
        if (!isFinal(p.status)) {
            p.status = JobStatus::Interrupted;
            p.error = "interrupted";
        }
    }
    if (!isFinal(job.status)) job.status = JobStatus::Interrupted;
    if (job.createdAt.empty()) job.createdAt = isoNow();
    if (m_store) {
        if (auto st = m_store->insertJob(job); !st) return st.error();
    } else {
        job.seq = static_cast<int64_t>(m_nextSeq++);
    }
    auto a = std::make_unique<Active>();
    a->record = job;
    a->runs.resize(job.pairs.size());
    a->permille = 1000;
    const std::string id = job.id;
    m_jobs.emplace(id, std::move(a));
    m_order.push_back(id);
    later([this, q = qs(id)] { emit jobAvailable(q); });
    trimFinished();
    flushSignals();
    return id;
}

} // namespace tokenlens::jobs
