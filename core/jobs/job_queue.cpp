#include "jobs/job_queue.h"

#include "attribution/method.h"
#include "run/job_runner.h"

#include <ATen/Parallel.h>

#include <QFile>
#include <QThread>

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <new>

namespace tokenlens::jobs {

namespace {

using Clock = std::chrono::steady_clock;

QString qs(const std::string& s) { return QString::fromStdString(s); }

struct PairProgress {
    std::atomic<int64_t> done{0};
    std::atomic<int64_t> total{0};
};

// Per model of a running job: the loaded model and the prepared sequence,
// shared by the job's pairs of that model so each is done once per job.
struct ModelSlot {
    std::mutex m;
    std::condition_variable cv;
    bool loadTried = false;
    std::shared_ptr<const LoadedModel> model;
    std::string key;
    std::string loadError;
    bool preparing = false;
    bool prepared = false;
    std::shared_ptr<const PreparedSequence> seq;
    std::string seqError;
};

struct JobContext {
    Job job; // input: the whole conversation for a follow-up
    std::vector<std::string> dirs;
    std::vector<std::unique_ptr<ModelSlot>> modelSlots;
};

struct PairTask {
    std::string jobId;
    int modelIndex = 0;
    std::string method;
    uint64_t attempt = 0;
    std::string modelName; // for messages before the model is loaded
    std::shared_ptr<JobContext> ctx;
    std::shared_ptr<std::atomic<bool>> cancel;
    std::shared_ptr<PairProgress> progress;
};

// OpenBLAS (Debian's LibTorch BLAS) keeps its own thread pool, which
// at::set_num_threads does not size (it sizes MKL's). Two workers each
// driving a pool of all cores oversubscribe the machine and its spinning
// threads make small GEMMs ~10x slower. Process-wide; a no-op without OpenBLAS.
void setBlasThreads(int n) {
    using SetThreads = void (*)(int);
    static const auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (fn) fn(n);
}

// Hands tasks to pool threads so that ThreadSanitizer sees the hand-off: Qt's
// own QMutex (futex based) is invisible to it. start() runs under this
// mutex and each pool thread takes it before reading anything.
std::mutex g_handoff;

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

struct JobQueue::Outcome {
    std::string jobId;
    int modelIndex = 0;
    std::string method;
    uint64_t attempt = 0;
    JobStatus status = JobStatus::Failed;
    std::optional<std::string> error;
    std::shared_ptr<const MethodResult> result;
    bool fromCache = false;
    std::string cacheKey;
    double seconds = 0;
    int64_t work = 0;
};

// Shared by the queue (GUI thread) and its workers; everything mutable is
// behind `m`, or atomic. The work of a pair is the JobRunner's (run/); the
// queue adds the per-job sharing: each model loaded and each sequence
// prepared once per job, by whichever pair gets there first.
struct JobQueue::Core {
    std::shared_ptr<SequenceCache> sequences;
    std::shared_ptr<ResultCache> results;
    JobRunner runner;
    std::mutex m;
    std::deque<PairTask> inbox;
    std::vector<Outcome> outbox;
    QPointer<JobQueue> target; // cleared when the queue is being destroyed
    int intraOpThreads = 1;

    Core(std::shared_ptr<ModelCache> cache, int64_t sequenceEntries, int64_t resultBytes)
        : sequences(std::make_shared<SequenceCache>(sequenceEntries)),
          results(std::make_shared<ResultCache>(resultBytes)), runner(RunnerCaches{std::move(cache), sequences, results}) {}

    void runOne() {
        PairTask task;
        int threads = 1;
        {
            std::lock_guard lock(m);
            if (inbox.empty()) return;
            task = std::move(inbox.front());
            inbox.pop_front();
            threads = intraOpThreads;
        }
        thread_local int applied = 0;
        if (applied != threads) {
            at::set_num_threads(threads);
            applied = threads;
        }
        Outcome o;
        if (auto st = guarded(task.method, "out of memory", [&]() -> Status {
                o = run(task);
                return {};
            });
            !st) {
            o = Outcome{};
            o.status = JobStatus::Failed;
            o.error = st.error().message;
        }
        o.jobId = task.jobId;
        o.modelIndex = task.modelIndex;
        o.method = task.method;
        o.attempt = task.attempt;
        task = {}; // drop this thread's references (model, sequence) before reporting
        std::lock_guard lock(m);
        const bool wake = outbox.empty();
        outbox.push_back(std::move(o));
        // Posted under `m`, which drainOutcomes takes: the queue cannot go
        // away in between (its destructor clears `target` under `m` first).
        if (wake && target) QMetaObject::invokeMethod(target.data(), "drainOutcomes", Qt::QueuedConnection);
    }

    Outcome run(PairTask& task) {
        const auto start = Clock::now();
        Outcome o;
        auto cancelled = [flag = task.cancel] { return flag->load(std::memory_order_relaxed); };
        auto finish = [&](JobStatus status, const std::string& error) {
            o.status = status;
            if (!error.empty()) o.error = error;
            o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
            return o;
        };
        if (cancelled()) return finish(JobStatus::Cancelled, "cancelled");
        // Shared by the job's pairs running on other workers: read only here.
        const JobContext& ctx = *task.ctx;
        ModelSlot& slot = *ctx.modelSlots[static_cast<size_t>(task.modelIndex)];
        {
            // Loaded once per job: other pairs of this model wait here.
            std::lock_guard lock(slot.m);
            if (!slot.loadTried) {
                slot.loadTried = true;
                auto got = runner.load(ctx.dirs[static_cast<size_t>(task.modelIndex)]);
                if (got) {
                    slot.model = got->model;
                    slot.key = got->key;
                } else {
                    slot.loadError = got.error().message;
                }
            }
        }
        if (!slot.model) return finish(JobStatus::Failed, slot.loadError);
        const LoadedModel& model = *slot.model;
        if (cancelled()) return finish(JobStatus::Cancelled, "cancelled");

        // The prepared sequence, once per model per job (and across jobs by the cache).
        bool mine = false;
        {
            std::unique_lock lock(slot.m);
            while (!slot.prepared) {
                if (!slot.preparing) {
                    slot.preparing = true;
                    mine = true;
                    break;
                }
                slot.cv.wait_for(lock, std::chrono::milliseconds(10));
                if (cancelled()) return finish(JobStatus::Cancelled, "cancelled");
            }
        }
        if (mine) {
            RunControl control;
            control.isCancelled = cancelled;
            auto prepared = runner.prepare(model, slot.key, ctx.job, control);
            const bool wasCancelled = !prepared && prepared.error().code == ErrorCode::Cancelled;
            {
                std::lock_guard lock(slot.m);
                slot.preparing = false;
                if (!wasCancelled) {
                    // A cancelled preparation is left for the next pair to redo.
                    slot.prepared = true;
                    slot.seq = prepared ? prepared.value() : nullptr;
                    slot.seqError = prepared ? std::string() : prepared.error().message;
                }
            }
            slot.cv.notify_all();
            if (wasCancelled) return finish(JobStatus::Cancelled, "cancelled");
        }
        std::shared_ptr<const PreparedSequence> seq;
        std::string seqError;
        {
            std::lock_guard lock(slot.m);
            seq = slot.seq;
            seqError = slot.seqError;
        }
        if (!seq) return finish(JobStatus::Failed, seqError);

        RunControl control;
        control.isCancelled = cancelled;
        control.progress = [p = task.progress](int64_t done, int64_t total) {
            p->total.store(std::max<int64_t>(total, 1));
            p->done.store(done);
        };
        PairRun run = runner.runPair(model, slot.key, *seq, ctx.job, task.method, control);
        o.work = run.work;
        o.cacheKey = run.cacheKey;
        o.fromCache = run.fromCache;
        const RunStatus rs = run.result->status;
        const JobStatus status = rs == RunStatus::Completed   ? JobStatus::Completed
                                 : rs == RunStatus::Cancelled ? JobStatus::Cancelled
                                                              : JobStatus::Failed;
        if (status != JobStatus::Cancelled) o.result = run.result;
        return finish(status, run.result->error.value_or(""));
    }
};

// GUI-side state of one pair's current attempt.
struct JobQueue::Run {
    uint64_t attempt = 0;
    bool running = false;        // a worker runs the current attempt
    bool userCancelled = false;  // cancelPair / cancelJob asked it to stop
    std::shared_ptr<std::atomic<bool>> cancel;
    std::shared_ptr<PairProgress> progress;
    int64_t approxWork = 1;
    int64_t work = 0; // exact work once a worker knew it
};

struct JobQueue::Active {
    JobRecord record;
    std::vector<Run> runs; // parallel to record.pairs
    std::shared_ptr<JobContext> ctx;
    bool cancelRequested = false;
    bool clockStarted = false;
    Clock::time_point started;
    int permille = 0;
    double eta = -1;
};

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
                                    m_options.resultCacheBytes);
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
    if (r.userCancelled || a->cancelRequested) {
        // Asked to stop: whatever it produced meanwhile is dropped.
        p.status = JobStatus::Cancelled;
        p.error = "cancelled";
        p.result.reset();
        p.fromCache = false;
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
