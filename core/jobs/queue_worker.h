#pragma once
// The worker side of the JobQueue (private to core/jobs): what a pool
// thread is given (PairTask), what it shares with the job's other pairs
// (JobContext, ModelSlot), what it hands back (Outcome), and the Core that
// both sides share. The work of a pair is the JobRunner's (run/).

#include "jobs/job_queue.h"
#include "run/job_runner.h"

#include <QPointer>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace tokenlens::jobs {

using Clock = std::chrono::steady_clock;

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
void setBlasThreads(int n);

struct JobQueue::Outcome {
    std::string jobId;
    int modelIndex = 0;
    std::string method;
    uint64_t attempt = 0;
    JobStatus status = JobStatus::Failed;
    std::optional<std::string> error;
    std::shared_ptr<const MethodResult> result;
    bool fromCache = false;
    bool fromStore = false;
    std::string cacheKey;
    double seconds = 0;
    int64_t work = 0;
    int64_t peakRssBytes = 0; // PairRun::peakRssBytes
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

    Core(std::shared_ptr<ModelCache> cache, int64_t sequenceEntries, int64_t resultBytes,
         std::shared_ptr<StoredResults> stored)
        : sequences(std::make_shared<SequenceCache>(sequenceEntries)),
          results(std::make_shared<ResultCache>(resultBytes)),
          runner(RunnerCaches{std::move(cache), sequences, results, std::move(stored)}) {}

    // On a pool thread: runs the next task of the inbox and posts its outcome.
    void runOne();
    // The pair's steps: its model (loaded once per job), its sequence
    // (prepared once per job), then the method; cancellable between them.
    Outcome run(PairTask& task);
};

} // namespace tokenlens::jobs
