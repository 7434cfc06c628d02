#include "jobs/queue_worker.h"

#include <ATen/Parallel.h>

#include <dlfcn.h>

#include <algorithm>

namespace tokenlens::jobs {

void setBlasThreads(int n) {
    using SetThreads = void (*)(int);
    static const auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (fn) fn(n);
}

void JobQueue::Core::runOne() {
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
        o.status = st.error().code == ErrorCode::Cancelled ? JobStatus::Cancelled : JobStatus::Failed;
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

JobQueue::Outcome JobQueue::Core::run(PairTask& task) {
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
            auto got = runner.load(ctx.dirs[static_cast<size_t>(task.modelIndex)], jobComputeDtype(ctx.job));
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
    o.fromStore = run.fromStore;
    o.peakRssBytes = run.peakRssBytes;
    const RunStatus rs = run.result->status;
    const JobStatus status = rs == RunStatus::Completed   ? JobStatus::Completed
                             : rs == RunStatus::Cancelled ? JobStatus::Cancelled
                                                          : JobStatus::Failed;
    if (status != JobStatus::Cancelled) o.result = run.result;
    return finish(status, run.result->error.value_or(""));
}

} // namespace tokenlens::jobs
