// JobQueue: its lifecycle, scheduling, the outcomes workers hand back,
// progress and the queries. What users ask of it (submit, cancel, re-run,
// remove, import) is in job_queue_actions.cpp; the workers' side in
// queue_worker.cpp.

#include "jobs/queue_state.h"

#include <QThread>

#include <algorithm>

namespace tokenlens::jobs {

namespace {

// Hands tasks to pool threads so that ThreadSanitizer sees the hand-off: Qt's
// own QMutex (futex based) is invisible to it. start() runs under this
// mutex and each pool thread takes it before reading anything.
std::mutex g_handoff;

} // namespace

JobQueue::JobQueue(JobStore* store, QueueOptions options, QObject* parent)
    : QObject(parent), m_store(store), m_options(std::move(options)) {
    const int cores = std::max(1, QThread::idealThreadCount());
    m_workers = m_options.workers > 0 ? std::clamp(m_options.workers, 1, 2) : (cores >= 2 ? 2 : 1);
    // ATen's (and OpenBLAS's) intra-op threads: about cores / workers, so
    // that the workers together use as many threads as there are cores. More
    // would oversubscribe the cores, and the spinning waits of libgomp and
    // OpenBLAS then waste them (on a loaded 2-core machine that made
    // integrated gradients 10-50x slower). at::set_num_threads is applied by
    // each pool thread before its first pair (OpenMP's setting is per
    // thread), OpenBLAS's here (it is process-wide).
    const int intra = m_options.intraOpThreads > 0 ? m_options.intraOpThreads : std::max(1, cores / m_workers);

    m_models = m_options.models ? m_options.models : std::make_shared<ModelCache>(int64_t{4} << 30);
    m_core = std::make_shared<Core>(m_models, std::max<int64_t>(1, m_options.sequenceCacheEntries),
                                    m_options.resultCacheBytes,
                                    m_store && m_options.reuseStoredResults ? storedResultsOf(m_store->path()) : nullptr);
    m_core->intraOpThreads = intra;
    setBlasThreads(intra);
    m_core->target = this;
    m_pool.setMaxThreadCount(m_workers);
    m_pool.setExpiryTimeout(-1); // keep the threads (and their ATen thread state)
    m_tick.setInterval(std::max(10, m_options.progressIntervalMs));
    connect(&m_tick, &QTimer::timeout, this, &JobQueue::onTick);
}

JobQueue::~JobQueue() {
    m_shuttingDown = true;
    m_tick.stop();
    for (auto& [id, a] : m_jobs) {
        for (auto& r : a->runs) {
            if (r.cancel) r.cancel->store(true);
        }
    }
    {
        std::lock_guard lock(m_core->m);
        m_core->target = nullptr;
        m_core->inbox.clear(); // tasks not yet picked up never start
    }
    m_pool.waitForDone();
    // Pairs that finished before they saw the flag keep their results; the
    // rest are interrupted (and can be re-run after a restart).
    drainOutcomes();
    m_signals.clear();
    for (auto& [id, a] : m_jobs) {
        if (isFinal(a->record.status)) continue;
        std::vector<const PairRecord*> changed;
        for (auto& p : a->record.pairs) {
            if (isFinal(p.status)) continue;
            p.status = JobStatus::Interrupted;
            p.error = "interrupted: the job queue was closed before the pair finished";
            changed.push_back(&p);
        }
        a->record.status = JobStatus::Interrupted;
        a->record.error = "interrupted: the job queue was closed before the job finished";
        if (m_store) (void)m_store->saveProgress(a->record, changed, false);
    }
}

ResultCache& JobQueue::resultCache() { return *m_core->results; }
SequenceCache& JobQueue::sequenceCache() { return *m_core->sequences; }

JobQueue::Active* JobQueue::active(const std::string& id) {
    auto it = m_jobs.find(id);
    return it == m_jobs.end() ? nullptr : it->second.get();
}

const JobQueue::Active* JobQueue::active(const std::string& id) const {
    auto it = m_jobs.find(id);
    return it == m_jobs.end() ? nullptr : it->second.get();
}

void JobQueue::flushSignals() {
    while (!m_signals.empty()) {
        auto pending = std::move(m_signals);
        m_signals.clear();
        for (auto& emitSignal : pending) emitSignal();
    }
}

void JobQueue::later(std::function<void()> emitSignal) {
    if (!m_shuttingDown) m_signals.push_back(std::move(emitSignal));
}

void JobQueue::save(const JobRecord& job, const std::vector<const PairRecord*>& pairs, bool results) {
    if (!m_store) return;
    if (auto st = m_store->saveProgress(job, pairs, results); !st) {
        later([this, msg = qs(st.error().message)] { emit storeFailed(msg); });
    }
}

void JobQueue::schedule() {
    if (m_shuttingDown) return;
    while (m_running < m_workers) {
        Active* best = nullptr;
        size_t bestIndex = 0;
        for (auto& [id, a] : m_jobs) {
            if (isFinal(a->record.status)) continue;
            const auto& pairs = a->record.pairs;
            size_t i = 0;
            while (i < pairs.size() && pairs[i].status != JobStatus::Queued) ++i;
            if (i == pairs.size()) continue;
            const bool better = !best || a->record.spec.priority > best->record.spec.priority ||
                                (a->record.spec.priority == best->record.spec.priority &&
                                 a->record.seq < best->record.seq);
            if (better) {
                best = a.get();
                bestIndex = i;
            }
        }
        if (!best) break;
        startPair(*best, bestIndex);
    }
    if (m_running > 0 && !m_tick.isActive()) m_tick.start();
}

void JobQueue::startPair(Active& a, size_t index) {
    JobRecord& rec = a.record;
    PairRecord& p = rec.pairs[index];
    Run& r = a.runs[index];
    if (!a.ctx) {
        auto ctx = std::make_shared<JobContext>();
        ctx->job = rec.spec;
        ctx->job.input = rec.prompt;
        ctx->dirs = rec.spec.models;
        for (size_t i = 0; i < ctx->dirs.size(); ++i) ctx->modelSlots.push_back(std::make_unique<ModelSlot>());
        a.ctx = std::move(ctx);
    }
    r.attempt = m_nextAttempt++;
    r.running = true;
    r.userCancelled = false;
    r.cancel = std::make_shared<std::atomic<bool>>(false);
    r.progress = std::make_shared<PairProgress>();
    p.status = JobStatus::Running;
    p.startedAt = isoNow();
    p.finishedAt.clear();
    p.error.reset();
    const QString q = qs(rec.id);
    if (rec.status == JobStatus::Queued) {
        rec.status = JobStatus::Running;
        if (rec.startedAt.empty()) rec.startedAt = isoNow();
        save(rec, {}, false); // the job row records this process as its owner
        later([this, q] { emit jobStatusAvailable(q, JobStatus::Running); });
    }
    if (!a.clockStarted) {
        a.clockStarted = true;
        a.started = Clock::now();
    }
    ++m_running;
    PairTask task;
    task.jobId = rec.id;
    task.modelIndex = p.modelIndex;
    task.method = p.method;
    task.attempt = r.attempt;
    task.modelName = modelName(rec.spec, p.modelIndex);
    task.ctx = a.ctx;
    task.cancel = r.cancel;
    task.progress = r.progress;
    {
        std::lock_guard lock(m_core->m);
        m_core->inbox.push_back(std::move(task));
    }
    {
        std::lock_guard handoff(g_handoff);
        Core* core = m_core.get(); // outlives the pool: the destructor waits for it
        m_pool.start([core] {
            { std::lock_guard seen(g_handoff); }
            core->runOne();
        });
    }
    later([this, q, mi = p.modelIndex, m = qs(p.method)] { emit pairStatusAvailable(q, mi, m, JobStatus::Running); });
}

void JobQueue::drainOutcomes() {
    std::vector<Outcome> outcomes;
    {
        std::lock_guard lock(m_core->m);
        outcomes.swap(m_core->outbox);
    }
    for (auto& o : outcomes) applyOutcome(o);
    schedule();
    flushSignals();
}

void JobQueue::applyOutcome(Outcome& o) {
    --m_running;
    Active* a = active(o.jobId);
    if (!a) return; // deleted meanwhile
    JobRecord& rec = a->record;
    size_t index = rec.pairs.size();
    for (size_t i = 0; i < rec.pairs.size(); ++i) {
        if (rec.pairs[i].modelIndex == o.modelIndex && rec.pairs[i].method == o.method) index = i;
    }
    if (index == rec.pairs.size()) return;
    Run& r = a->runs[index];
    if (r.attempt != o.attempt || !r.running) return; // a stale attempt (cancelled, then re-run)
    r.running = false;
    if (o.work > 0) r.work = o.work;
    PairRecord& p = rec.pairs[index];
    p.finishedAt = isoNow();
    p.seconds = o.seconds;
    p.cacheKey = o.cacheKey;
    p.fromCache = o.fromCache;
    p.fromStore = o.fromStore;
    p.peakRssBytes = o.peakRssBytes;
    if (r.userCancelled || a->cancelRequested) {
        // Asked to stop: whatever it produced meanwhile is dropped.
        p.status = JobStatus::Cancelled;
        p.error = "cancelled";
        p.result.reset();
        p.fromCache = false;
        p.fromStore = false;
    } else {
        p.status = o.status;
        if (o.status == JobStatus::Cancelled && m_shuttingDown) p.status = JobStatus::Interrupted;
        p.error = o.error;
        p.result = o.result;
    }
    save(rec, {&p}, true);
    const QString q = qs(rec.id), m = qs(p.method);
    const int mi = p.modelIndex;
    const JobStatus st = p.status;
    const QString err = qs(p.error.value_or(""));
    later([this, q, mi, m, st, err] {
        emit pairStatusAvailable(q, mi, m, st);
        if (st == JobStatus::Completed) emit pairResultAvailable(q, mi, m);
        if (st == JobStatus::Failed) emit pairFailed(q, mi, m, err);
    });
    updateProgress(*a, false);
    maybeFinish(*a);
}

void JobQueue::finishPairLocally(Active& a, size_t index, JobStatus status, const std::string& error) {
    PairRecord& p = a.record.pairs[index];
    p.status = status;
    p.error = error;
    p.finishedAt = isoNow();
    p.result.reset();
    save(a.record, {&p}, false);
    later([this, q = qs(a.record.id), mi = p.modelIndex, m = qs(p.method), status] {
        emit pairStatusAvailable(q, mi, m, status);
    });
}

void JobQueue::maybeFinish(Active& a) {
    JobRecord& rec = a.record;
    if (isFinal(rec.status)) return;
    for (const auto& p : rec.pairs) {
        if (!isFinal(p.status)) return;
    }
    rec.status = a.cancelRequested ? JobStatus::Cancelled : summarize(rec.pairs);
    rec.finishedAt = isoNow();
    rec.error.reset();
    if (rec.status == JobStatus::Failed) {
        std::string first;
        for (const auto& p : rec.pairs) {
            if (p.error) {
                first = *p.error;
                break;
            }
        }
        rec.error = "every pair failed" + (first.empty() ? std::string{} : "; the first: " + first);
    }
    a.ctx.reset(); // releases the job's hold on its models
    save(rec, {}, false);
    updateProgress(a, true);
    const QString q = qs(rec.id);
    const JobStatus st = rec.status;
    const QString err = qs(rec.error.value_or(""));
    later([this, q, st, err] {
        emit jobStatusAvailable(q, st);
        if (st == JobStatus::Completed) emit jobResultAvailable(q);
        if (st == JobStatus::Failed) emit jobFailed(q, err);
    });
    trimFinished();
}

int64_t JobQueue::pairWeight(const Active& a, size_t index) const {
    const Run& r = a.runs[index];
    if (r.work > 0) return r.work;
    if (r.progress && r.progress->total.load() > 0) return r.progress->total.load();
    return std::max<int64_t>(1, r.approxWork);
}

void JobQueue::updateProgress(Active& a, bool force) {
    int64_t total = 0, done = 0;
    for (size_t i = 0; i < a.runs.size(); ++i) {
        const int64_t w = pairWeight(a, i);
        total += w;
        const auto& p = a.record.pairs[i];
        const Run& r = a.runs[i];
        if (isFinal(p.status)) done += w;
        else if (r.running && r.progress) done += std::clamp<int64_t>(r.progress->done.load(), 0, w);
    }
    const bool final = isFinal(a.record.status);
    int permille = total > 0 ? static_cast<int>(1000 * done / total) : 0;
    permille = final ? 1000 : std::clamp(permille, a.permille, 999);
    double eta = -1;
    if (final) {
        eta = 0;
    } else if (a.clockStarted && done > 0) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - a.started).count();
        eta = elapsed * static_cast<double>(total - done) / static_cast<double>(done);
    }
    if (permille == a.permille && !force) return;
    a.permille = permille;
    a.eta = eta;
    later([this, q = qs(a.record.id), permille, eta] { emit progressAvailable(q, permille, eta); });
}

void JobQueue::onTick() {
    for (auto& [id, a] : m_jobs) {
        if (a->record.status == JobStatus::Running) updateProgress(*a, false);
    }
    if (m_running == 0) m_tick.stop();
    flushSignals();
}

std::optional<JobRecord> JobQueue::job(const std::string& id) const {
    if (const Active* a = active(id)) return a->record;
    if (!m_store) return std::nullopt;
    auto loaded = m_store->loadJob(id, true);
    if (!loaded || !*loaded) return std::nullopt;
    return std::move(**loaded);
}

std::shared_ptr<const MethodResult> JobQueue::pairResult(const std::string& id, int modelIndex,
                                                         const std::string& method) const {
    if (const Active* a = active(id)) {
        const PairRecord* p = a->record.pair(modelIndex, method);
        return p ? p->result : nullptr;
    }
    auto j = job(id);
    if (!j) return nullptr;
    const PairRecord* p = j->pair(modelIndex, method);
    return p ? p->result : nullptr;
}

std::vector<std::string> JobQueue::jobIds() const { return m_order; }

int JobQueue::progress(const std::string& id) const {
    if (const Active* a = active(id)) return a->permille;
    auto j = job(id);
    return j && isFinal(j->status) ? 1000 : 0;
}

double JobQueue::etaSeconds(const std::string& id) const {
    if (const Active* a = active(id)) return a->eta;
    return -1;
}

double JobQueue::pairProgress(const std::string& id, int modelIndex, const std::string& method) const {
    const Active* a = active(id);
    if (!a) return -1;
    for (size_t i = 0; i < a->record.pairs.size(); ++i) {
        const PairRecord& p = a->record.pairs[i];
        if (p.modelIndex != modelIndex || p.method != method) continue;
        if (isFinal(p.status)) return 1;
        const Run& r = a->runs[i];
        if (p.status != JobStatus::Running || !r.progress) return 0;
        const int64_t total = r.progress->total.load(), done = r.progress->done.load();
        return total > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 0.999) : 0;
    }
    return -1;
}

bool JobQueue::idle() const {
    if (m_running > 0) return false;
    for (const auto& [id, a] : m_jobs) {
        if (!isFinal(a->record.status)) return false;
    }
    return true;
}

void JobQueue::trimFinished() {
    if (!m_store || m_options.keepFinishedJobs < 0) return;
    int finished = 0;
    for (const auto& [id, a] : m_jobs) finished += isFinal(a->record.status) ? 1 : 0;
    for (const auto& id : m_order) {
        if (finished <= m_options.keepFinishedJobs) break;
        auto it = m_jobs.find(id);
        if (it == m_jobs.end() || !isFinal(it->second->record.status)) continue;
        // Its old attempts may still be stopping; they find no job and are dropped.
        m_jobs.erase(it);
        --finished;
    }
}

} // namespace tokenlens::jobs
