#pragma once
// The one way a job runs, synchronously: model loading (through the model
// cache), sequence preparation (through the sequence cache), the method of
// each pair, the optional faithfulness stage, the result cache, and the one
// place where exceptions (out of memory, LibTorch errors) become a failed
// pair. JobQueue schedules pairs on worker threads and calls these steps;
// `tokenlens-cli attribute` and the demo evaluation call them directly.
//
//   JobRunner runner({modelCache, sequenceCache, resultCache});
//   JobResult r = runner.run(job);                  // every (model, method) pair
//
// or step by step, as the queue does: load -> prepare -> runPair.

#include "attribution/engine.h"
#include "model/model_cache.h"
#include "run/caches.h"
#include "run/guarded.h"
#include "run/job.h"

#include <functional>
#include <memory>
#include <string>

namespace tokenlens {

// Shape (run/job.h) and engine options (unknown keys, bad values) of a job
// about to run. A method's own options are checked when its pair runs.
Status checkJob(const Job& job);

// The job's "compute_dtype" option: "float32" (default) or "bfloat16"
// (checkJob has checked it).
std::string jobComputeDtype(const Job& job);

struct RunnerCaches {
    std::shared_ptr<ModelCache> models;       // null: every load reads the folder
    std::shared_ptr<SequenceCache> sequences; // null: no reuse of prepared sequences
    std::shared_ptr<ResultCache> results;     // null: no reuse of results
    std::shared_ptr<StoredResults> stored;    // null: no reuse of results across processes
};

// A loaded model and its content key (ModelCache::keyFor; "" when unknown,
// which disables the caches for it).
struct RunnerModel {
    std::shared_ptr<const LoadedModel> model;
    std::string key;
};

// What became of one pair.
struct PairRun {
    std::shared_ptr<const MethodResult> result; // status completed, failed or cancelled
    bool fromCache = false;  // served, not computed: from the result cache or the store
    bool fromStore = false;  // served from the store (StoredResults): computed by an earlier process or job
    std::string cacheKey;
    int64_t work = 0;      // work units of the method plus the faithfulness stage
    bool complete = true;  // false: the faithfulness stage was cancelled (the attribution is kept)
    // Peak resident memory of the process while the pair ran (util/peak_rss.h),
    // whatever its outcome; also in result->peakRssBytes when it was computed here.
    int64_t peakRssBytes = 0;
};

// Hooks of run(): each may be unset.
struct RunListener {
    // Before a pair runs: the control it runs under (progress, cancel).
    std::function<RunControl(const std::string& model, const std::string& method)> starting;
    // After a pair: its result, completed, failed or cancelled.
    std::function<void(const MethodResult& result)> finished;
    // A model that could not be loaded or prepared (each of its pairs then
    // fails with this message; `finished` is called for them too).
    std::function<void(const std::string& message)> modelFailed;
};

class JobRunner {
public:
    explicit JobRunner(RunnerCaches caches = {}, LoadOptions load = {});

    const RunnerCaches& caches() const { return m_caches; }

    // `computeDtype`: the job's compute_dtype option (jobComputeDtype); a
    // model is cached once per compute dtype.
    Result<RunnerModel> load(const std::string& dir, const std::string& computeDtype = "float32") const;
    // The input tokenized and the output generated (or the target tokenized),
    // with step scores. ErrorCode::Cancelled when control cancels it.
    Result<std::shared_ptr<const PreparedSequence>> prepare(const LoadedModel& model, const std::string& modelKey,
                                                            const Job& job, const RunControl& control = {}) const;
    // The method, then the faithfulness stage when the job asks for it. The
    // result comes from the result cache when a finished one matches, else
    // from the store (caches.stored) when it holds one.
    // Both read the model's weights only after checkWeightFiles: a model
    // whose files changed on disk since it was loaded (a mapped file
    // truncated would fault the process) fails the pass with the message
    // naming the file, and leaves caches.models so the next job loads the
    // folder again.
    PairRun runPair(const LoadedModel& model, const std::string& modelKey, const PreparedSequence& seq, const Job& job,
                    const std::string& method, const RunControl& control = {}) const;

    // Every pair of the job, model by model, methods in the order given;
    // `job.input` is the text the models see.
    JobResult run(const Job& job, const RunListener& listener = {}) const;

private:
    Status checkFiles(const LoadedModel& model) const;
    RunnerCaches m_caches;
    LoadOptions m_load;
};

} // namespace tokenlens
