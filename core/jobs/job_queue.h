#pragma once
// JobQueue: runs jobs in the background and tells the GUI about them.
//
// The QObject lives on the GUI thread; every public function and every
// signal is on that thread. The work runs on a dedicated QThreadPool of 1-2
// workers; ATen parallelises inside each operation, so each worker sets
// ATen's intra-op thread count (at::set_num_threads, process-wide) to about
// cores / workers before its first pair: workers x intra-op threads ≈ cores.
// More would oversubscribe the cores, and libgomp's spinning barriers then
// waste them (QueueOptions::intraOpThreads overrides; 0 keeps the default).
//
// Scheduling. A job expands into (model, method) pairs ordered cheapest
// method first (attention, saliency, input_x_gradient, occlusion,
// integrated_gradients), then by model; pairs are started highest job
// priority first, then oldest job first, so attention results arrive within
// a second while integrated gradients still runs ("staged results"). Each
// model is loaded once per job (through the shared ModelCache, and held by
// the job while it runs), and the prompt is tokenized and the output
// generated once per model (the sequence cache).
//
// Results. Every finished pair is delivered as soon as it completes: workers
// put outcomes in a mailbox and wake the queue with a queued
// QMetaObject::invokeMethod guarded by a QPointer (cleared when the queue
// goes away). Outcomes of an attempt that is no longer current (the pair was
// cancelled, re-run, or its job deleted) are dropped. A repeated pair (same
// model files, method, resolved options, input and output ids) is served
// from the result cache at once, flagged fromCache.
//
// Cancelling a job or a pair sets a flag the engine checks between chunks
// (chunks sized to ~50 ms), so a running pair stops well within 200 ms.
// A failing pair (bad model folder, bad option, out of memory) fails alone.
//
// With a JobStore every job, pair status and result is written as it
// happens; jobs left unfinished when the queue is destroyed are marked
// interrupted and can be re-run.

#include "jobs/batch.h"
#include "run/caches.h"
#include "jobs/job_store.h"
#include "jobs/job_types.h"
#include "model/model_cache.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <QThreadPool>
#include <QTimer>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens::jobs {

struct QueueOptions {
    int workers = 0;        // 1 or 2; 0: 2 when the machine has 2 or more cores
    int intraOpThreads = 0; // ATen (and OpenBLAS) threads per operation; 0: max(1, cores / workers)
    std::shared_ptr<ModelCache> models; // shared with the rest of the app; null: a new one
    int64_t resultCacheBytes = int64_t{256} << 20;
    int64_t sequenceCacheEntries = 256;
    int progressIntervalMs = 100; // how often progressAvailable may fire while a job runs
    // Finished jobs kept in memory (with their results) when a store holds them too.
    int keepFinishedJobs = 64;
    // A pair whose result key matches a completed pair in the store (an
    // earlier job, process or session) is served from the store, flagged
    // fromStore, instead of computed again.
    bool reuseStoredResults = true;
};

struct BatchSubmission {
    std::vector<std::string> jobIds;
    std::vector<BatchError> errors;
};

class JobQueue : public QObject {
    Q_OBJECT
public:
    // `store` (may be null: nothing persisted) must outlive the queue and
    // belong to this thread.
    explicit JobQueue(JobStore* store, QueueOptions options = {}, QObject* parent = nullptr);
    ~JobQueue() override;

    // Queues a job; fails (nothing queued) when the spec is malformed or a
    // follow-up's parent has no finished output. Returns the job id.
    Result<std::string> submit(const Job& spec);
    // A follow-up turn on a finished job, with the parent's models, methods
    // and options: its prompt is X_1 ⊕ Y_1 ⊕ … ⊕ X_{k-1} ⊕ Y_{k-1} ⊕ text.
    Result<std::string> followUp(const std::string& parentId, const std::string& text, int followModel = 0);
    // Batch (.jsonl): one prompt per line (a JSON string or plain text) or one
    // job object per line; `defaults` gives what a line leaves out. Good
    // lines are queued, bad ones reported with their line number.
    BatchSubmission submitBatch(const std::string& jsonl, const Job& defaults, const std::string& source);
    Result<BatchSubmission> submitBatchFile(const std::string& path, const Job& defaults);

    // Cancelling: queued pairs at once, running ones at the next chunk.
    bool cancelJob(const std::string& id);
    bool cancelPair(const std::string& id, int modelIndex, const std::string& method);
    // Re-queues the pairs that did not complete (failed, cancelled,
    // interrupted); loads the job from the store when needed. false when
    // nothing was re-queued.
    Result<bool> rerun(const std::string& id);
    Result<bool> rerunPair(const std::string& id, int modelIndex, const std::string& method);
    void setPriority(const std::string& id, int priority);
    // Cancels, forgets and deletes the job from the store.
    Result<bool> remove(const std::string& id);

    // Contract JSON of a job (plus the tokenlens_job block), and back. An
    // imported job keeps its id unless that id is taken.
    Result<nlohmann::json> exportJob(const std::string& id);
    Result<std::string> importJob(const nlohmann::json& j, const std::string& source);

    // A snapshot of the job (this session's, else the store's).
    std::optional<JobRecord> job(const std::string& id) const;
    std::shared_ptr<const MethodResult> pairResult(const std::string& id, int modelIndex, const std::string& method) const;
    // Jobs this session knows, in submission order.
    std::vector<std::string> jobIds() const;
    // 0..1000, and the estimated seconds left (-1 when unknown).
    int progress(const std::string& id) const;
    double etaSeconds(const std::string& id) const;
    // 0..1 of one pair's work: 0 while queued, the worker's progress while
    // running, 1 once final; -1 when the job or pair is not this session's.
    double pairProgress(const std::string& id, int modelIndex, const std::string& method) const;
    bool idle() const;
    int workers() const { return m_workers; }

    JobStore* store() const { return m_store; }
    ModelCache& modelCache() { return *m_models; }
    ResultCache& resultCache();
    SequenceCache& sequenceCache();

signals:
    void jobAvailable(const QString& jobId); // submitted, imported or re-queued
    void jobStatusAvailable(const QString& jobId, tokenlens::jobs::JobStatus status);
    void pairStatusAvailable(const QString& jobId, int modelIndex, const QString& method,
                             tokenlens::jobs::JobStatus status);
    void pairResultAvailable(const QString& jobId, int modelIndex, const QString& method);
    void pairFailed(const QString& jobId, int modelIndex, const QString& method, const QString& message);
    void progressAvailable(const QString& jobId, int permille, double etaSeconds);
    void jobResultAvailable(const QString& jobId); // finished with at least one completed pair
    void jobFailed(const QString& jobId, const QString& message);
    void jobRemoved(const QString& jobId);
    void storeFailed(const QString& message);

private:
    Q_INVOKABLE void drainOutcomes();

    struct Core;
    struct Outcome;
    struct Run;
    struct Active;

    Active* active(const std::string& id);
    const Active* active(const std::string& id) const;
    Result<Active*> activate(const std::string& id);
    void schedule();
    void startPair(Active& a, size_t index);
    void applyOutcome(Outcome& o);
    void finishPairLocally(Active& a, size_t index, JobStatus status, const std::string& error);
    void maybeFinish(Active& a);
    void updateProgress(Active& a, bool force);
    void onTick();
    int64_t pairWeight(const Active& a, size_t index) const;
    int requeue(Active& a, int modelIndex, const std::string& method);
    void save(const JobRecord& job, const std::vector<const PairRecord*>& pairs, bool results);
    void trimFinished();
    // Signals are emitted once the state is consistent (receivers may call
    // back into the queue): queued with later(), emitted by flushSignals().
    void later(std::function<void()> emitSignal);
    void flushSignals();

    JobStore* m_store;
    QueueOptions m_options;
    int m_workers = 1;
    std::shared_ptr<ModelCache> m_models;
    std::shared_ptr<Core> m_core;
    QThreadPool m_pool;
    QTimer m_tick;
    std::map<std::string, std::unique_ptr<Active>> m_jobs;
    std::vector<std::string> m_order; // this session's jobs in submission order
    uint64_t m_nextAttempt = 1;
    uint64_t m_nextSeq = 1;
    int m_running = 0; // pool threads busy with a pair (current or stale attempts)
    bool m_shuttingDown = false;
    std::vector<std::function<void()>> m_signals;
};

} // namespace tokenlens::jobs

Q_DECLARE_METATYPE(tokenlens::jobs::JobStatus)
