#pragma once
// The value types of the job system: what became of a job (JobRecord with one PairRecord per
// (model, method) pair). Plain C++ (no Qt), shared by the queue, the store,
// the CLI and the GUI.
//
// A job J = (M', F', i, o) of the seed paper: models[] x methods[], one input
// and options, expanded into every (model, method) pair.

#include "result/job_result.h"
#include "result/result_json.h"
#include "run/job.h"
#include "util/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens::jobs {

// Status of a job and of each pair. `Interrupted`: the process running it
// ended (crash, kill) before it finished; the job can be re-run.
enum class JobStatus { Queued, Running, Completed, Failed, Cancelled, Interrupted };
const char* statusName(JobStatus s);
std::optional<JobStatus> statusFromName(const std::string& name);
// Completed, failed, cancelled and interrupted are final (until a re-run).
bool isFinal(JobStatus s);

// The job type, its JSON codec (readJob, toJson) and checks (checkJob) are
// in run/job.h and run/job_runner.h: one format for job files, batches, the
// store, exports and the API.

// One (model, method) pair of a job.
struct PairRecord {
    int modelIndex = 0;
    std::string method;
    JobStatus status = JobStatus::Queued;
    std::optional<std::string> error;
    bool fromCache = false;  // the result was served, not computed: from the result cache or the store
    bool fromStore = false;  // served from the store: a pair finished earlier (another job, process or session)
    std::string cacheKey;    // content hash of what the result depends on
    double seconds = 0;      // wall time of this run (near 0 when from the cache)
    // Peak resident memory of the process while it ran (MethodResult::peakRssBytes;
    // 0 when unknown or from the cache). Not a store column: read back from the
    // stored result, so a pair without one (cancelled, interrupted) has 0 after a restart.
    int64_t peakRssBytes = 0;
    std::string startedAt, finishedAt;
    std::shared_ptr<const MethodResult> result; // completed (or partly: failed after preparing)
};

// A turn of a conversation: byte range [begin, end) of the job's prompt.
struct Turn {
    std::string role; // "input" | "output"
    std::string job;  // the job whose input or output it is
    int64_t begin = 0, end = 0;
    bool operator==(const Turn&) const = default;
};

struct JobRecord {
    std::string id;
    int64_t seq = 0; // submission order in the store
    Job spec;
    std::string prompt;      // what the models see: spec.input, or X_1 ⊕ Y_1 ⊕ … ⊕ X_k for a follow-up
    std::vector<Turn> turns; // empty for a job that is not a follow-up
    JobStatus status = JobStatus::Queued;
    std::optional<std::string> error;
    std::string createdAt, startedAt, finishedAt;
    std::vector<PairRecord> pairs; // models x methods, in scheduling order (cheap methods first)

    const PairRecord* pair(int modelIndex, const std::string& method) const;
    PairRecord* pair(int modelIndex, const std::string& method);
};

// The pairs of a spec in the order they run: methods cheapest first (the
// order of allMethods(); unknown ids first, they fail at once), then models
// in the order given.
std::vector<PairRecord> expandPairs(const Job& spec);

// The job status once every pair is final: interrupted when a pair was
// interrupted (so it can be re-run), else completed when some pair
// completed, failed when every pair failed, else cancelled.
JobStatus summarize(const std::vector<PairRecord>& pairs);

// X_k = X_1 ⊕ Y_1 ⊕ … ⊕ X_{k-1} ⊕ Y_{k-1} ⊕ X_k (seed eq. 8): the parent's
// prompt, then the output of the parent's `followModel`, then the new text.
// Fails when the parent has no completed output for that model.
struct FollowUp {
    std::string prompt;
    std::vector<Turn> turns;
};
// A chat's next turn (seed eq. 8 as chat turns): the parent's messages, then
// {"role": "assistant", "content": the reply of its `followModel`, without the
// end-of-turn token generation stopped at}, then {"role": "user", "content": newText}.
Result<nlohmann::ordered_json> followUpMessages(const JobRecord& parent, const std::string& newText, int followModel);

Result<FollowUp> buildFollowUpPrompt(const JobRecord& parent, const std::string& childId, const std::string& newText,
                                     int followModel);

// The job as contract result JSON (schema tokenlens.job/1). Pairs that did
// not complete appear with status failed or cancelled (queued, running and
// interrupted pairs as cancelled with the reason as error). The extra key
// "tokenlens_job" carries the spec, statuses and the conversation, so an
// export can be imported again without loss.
JobResult toJobResult(const JobRecord& job);
// `inlineMaxCells`: larger matrices become raw_refs (result_json.h), for
// writeResultFiles to put in a sidecar.
nlohmann::json exportJson(const JobRecord& job, int64_t inlineMaxCells = kAllInline);
// Reads an export (or any contract result JSON: then the spec is
// reconstructed from the results, models by name).
// `matrices`: where raw_refs of a result file with a sidecar are read
// (sidecarSource, result/result_sidecar.h).
Result<JobRecord> importJson(const nlohmann::json& j, const std::string& source, const MatrixSource* matrices = nullptr);

// A job id: sortable by creation time, unique ("20261126-141151-3f9a2c01").
std::string newJobId();

} // namespace tokenlens::jobs
