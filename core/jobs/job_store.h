#pragma once
// The results store: every job, its spec and options, status, timings and
// results, in one SQLite file (Qt SQL, QSQLITE driver) in WAL mode with
// synchronous=FULL, so a committed pair survives a crash or SIGKILL and
// readers (tokenlens-cli jobs ...) never block the writer.
//
// Layout (schema version 1):
//   schema_version(version)
//   jobs(id, seq, spec JSON, prompt, turns JSON, parent_job, status, error,
//        created_at, started_at, finished_at, owner)
//   pairs(job_id, position, model_index, method, status, error, from_cache,
//         cache_key, seconds, started_at, finished_at,
//         result BLOB = qCompress(the pair's contract result JSON), or for a
//                       large matrix "TLRB" + the JSON + the float32 matrix)
//   index pairs_cache_key on pairs(cache_key) (added on open when missing)
// from_cache: 0 computed, 1 served from this process's result cache, 2
// served from the store (a finished pair with the same cache_key, from an
// earlier job or process; readers before 2 see it as 1, "from the cache").
// Version 0 (prototype builds) had one table jobs(id, created_at, status,
// spec, result) with the whole uncompressed result JSON; it is migrated in
// one transaction on open. A store with a newer version is refused with a
// message saying so, and left untouched.
//
// `owner` is the process running a job ("pid:start-time"). On open, jobs
// left queued or running by a process that no longer exists become
// `interrupted` (with their unfinished pairs); they can be re-run.
//
// A JobStore is used from the thread that opened it (Qt SQL connections are
// per thread); JobQueue keeps its store on the GUI thread.

#include "jobs/job_types.h"
#include "run/caches.h"
#include "util/result.h"

#include <QString>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens::jobs {

class JobStore {
public:
    static constexpr int kSchemaVersion = 1;

    // $TOKENLENS_JOB_STORE when set, else
    // QStandardPaths::AppDataLocation/jobs.sqlite (~/.local/share/TokenLens/TokenLens/jobs.sqlite
    // for the app and for tokenlens-cli, which use the same application and
    // organisation names). Needs a QCoreApplication.
    static std::string defaultPath();

    // Creates the file (and its folder) when missing. Needs a QCoreApplication
    // (the SQLite driver is a plugin).
    // A file SQLite cannot read (cut short, overwritten, not a database) is
    // refused with a message naming it as damaged.
    static Result<std::unique_ptr<JobStore>> open(const std::string& path);
    // As open(), but a damaged file is renamed "<path>.damaged-<UTC time>"
    // (with its -wal and -shm) and a new store is created in its place;
    // `notice` then names both files. A store of a newer version or another
    // application's database is refused as by open(), never moved. What the
    // app, `run` and `serve` open (store_damage.cpp).
    static Result<std::unique_ptr<JobStore>> openOrSetAside(const std::string& path, std::string* notice);
    ~JobStore();
    JobStore(const JobStore&) = delete;
    JobStore& operator=(const JobStore&) = delete;

    const std::string& path() const { return m_path; }
    // The schema version the file had before open (0 for a migrated v0 store,
    // -1 for a new file).
    int versionOnOpen() const { return m_versionOnOpen; }
    // Jobs that open() found abandoned and marked interrupted.
    const std::vector<std::string>& interruptedOnOpen() const { return m_interrupted; }
    // "pid:start-time" of this process, written as the owner of jobs it runs.
    static std::string ownerToken();

    // Inserts the job and its pairs (assigning job.seq).
    Status insertJob(JobRecord& job);
    // Writes the job row and every pair row (with results).
    Status saveJob(const JobRecord& job);
    // Writes the job row and the given pairs (`writeResults`: their results
    // too), in one transaction.
    Status saveProgress(const JobRecord& job, const std::vector<const PairRecord*>& pairs, bool writeResults);

    Result<std::optional<JobRecord>> loadJob(const std::string& id, bool withResults = true);
    // Every job, oldest first (without results unless asked).
    Result<std::vector<JobRecord>> listJobs(bool withResults = false);
    // false when there was no such job.
    Result<bool> deleteJob(const std::string& id);
    // The conversation ending at `id`: its ancestors (root first), then `id`.
    Result<std::vector<std::string>> conversation(const std::string& id);
    // Jobs whose parent is `id`.
    Result<std::vector<std::string>> followUps(const std::string& id);

private:
    JobStore() = default;
    Status init();
    Status checkIntact(); // store_damage.cpp
    Status migrate(int from);
    Status createSchema();
    Status createTables();
    Status recoverInterrupted();
    Status writeJobRow(const JobRecord& job);
    Status writePairRow(const std::string& jobId, int position, const PairRecord& p, bool withResult);
    Status exec(const QString& sql);

    std::string m_path;
    QString m_connection;
    int m_versionOnOpen = -1;
    bool m_inTransaction = false;
    std::vector<std::string> m_interrupted;
};

// The store's completed results by cache key, for the JobRunner
// (StoredResults, run/caches.h): JobQueue gives it to its workers so that a
// pair finished before — in this process or another, before a restart — is
// served from the store. Each lookup opens its own read connection to the
// file, so it may run on any thread; a damaged row is a miss.
std::shared_ptr<StoredResults> storedResultsOf(const std::string& path);

// The pair's result as stored: qCompress of its contract result JSON; a
// matrix of more than kStoreInlineMaxCells cells is kept outside the JSON
// as float32 bytes after it ("TLRB" blob, job_store.cpp), so that reading a
// large result back copies it instead of parsing and uncompressing it.
// Builds before this read such blobs as damaged ("does not uncompress").
constexpr int64_t kStoreInlineMaxCells = 65536;
QByteArray compressResult(const MethodResult& r);
Result<MethodResult> uncompressResult(const QByteArray& blob, const std::string& source);

} // namespace tokenlens::jobs
