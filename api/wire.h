#pragma once
// The job API's wire format, written by the server (server/) and read by its
// clients (api/api_client.h, the GUI's remote backend) with the same code:
//   - a job's status   GET /api/jobs/{id}/status, WebSocket snapshots
//   - a job list entry GET /api/jobs
//   - a catalogue entry GET /api/models
//   - an event         WebSocket /api/ws/jobs[/{id}]: {"type", "seq", "job_seq", "job_id", ...}
// A job request (POST /api/jobs) is a job object of run/job.h, with model
// ids of the catalogue instead of folders.
//
// Readers are lenient the way a client must be: a missing or mistyped key
// keeps its default, so a newer server's extra keys never break an older GUI.

#include "jobs/job_types.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens::api {

struct PairView {
    int modelIndex = 0;
    std::string model; // catalogue id
    std::string method;
    jobs::JobStatus status = jobs::JobStatus::Queued;
    double progress = 0; // 0..1
    std::optional<std::string> error;
    double seconds = 0;
    bool fromCache = false;
    bool fromStore = false; // served from the store: finished by an earlier job or process
    int64_t peakRssBytes = 0; // jobs::PairRecord::peakRssBytes (0: unknown)
};

struct StatusView {
    std::string jobId;
    jobs::JobStatus status = jobs::JobStatus::Queued;
    std::optional<std::string> error;
    double progress = 0;              // 0..1
    std::optional<double> etaSeconds; // unknown: nullopt
    std::string createdAt, startedAt, finishedAt;
    std::vector<std::string> models; // catalogue ids, never server paths
    std::vector<std::string> methods;
    std::string input;
    std::optional<std::string> parentJob;
    int priority = 0;
    // What the models saw: the input, or a follow-up's whole conversation,
    // and the byte ranges of its turns (empty for a job that is not a follow-up).
    std::string prompt;
    std::vector<jobs::Turn> turns;
    std::vector<PairView> pairs;
    // The job's peak resident memory: the largest of its pairs' (0: unknown). Written, not read.
    int64_t peakRssBytes() const;
};

struct ListEntry {
    std::string jobId;
    jobs::JobStatus status = jobs::JobStatus::Queued;
    std::string createdAt, finishedAt;
    std::vector<std::string> models, methods;
    std::string input;
    std::optional<std::string> parentJob;
};

struct ModelView {
    std::string id, source, architecture, dtype;
    int64_t parameters = 0, bytes = 0, maxPositions = 0;
    bool usable = true;
    std::string error;
    std::vector<std::string> chatTemplates; // names; empty: no chat template
};

nlohmann::json toJson(const PairView& p);
nlohmann::json toJson(const StatusView& s);
nlohmann::json toJson(const ListEntry& e);
nlohmann::json toJson(const ModelView& m);

StatusView statusFromJson(const nlohmann::json& j);
ListEntry listEntryFromJson(const nlohmann::json& j);
ModelView modelFromJson(const nlohmann::json& j);

// The job fields a client keeps of a status or list entry (ids as models).
Job jobOf(const StatusView& s);
Job jobOf(const ListEntry& e);

// Lenient readers shared by the client's event handling.
std::string stringOf(const nlohmann::json& j, const char* key);
std::optional<std::string> optionalStringOf(const nlohmann::json& j, const char* key);
jobs::JobStatus statusOf(const nlohmann::json& j, const char* key, jobs::JobStatus fallback);
int64_t integerOf(const nlohmann::json& j, const char* key, int64_t fallback);
double numberOf(const nlohmann::json& j, const char* key, double fallback);
bool flagOf(const nlohmann::json& j, const char* key);

} // namespace tokenlens::api
