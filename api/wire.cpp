#include "api/wire.h"

#include <algorithm>

namespace tokenlens::api {

using nlohmann::json;
using jobs::JobStatus;

namespace {

json optional(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

std::vector<std::string> stringsOf(const json& j, const char* key) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end() || !it->is_array()) return out;
    for (const auto& v : *it) {
        if (v.is_string()) out.push_back(v.get<std::string>());
    }
    return out;
}

} // namespace

std::string stringOf(const json& j, const char* key) {
    if (!j.is_object()) return {};
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<std::string> optionalStringOf(const json& j, const char* key) {
    if (!j.is_object()) return std::nullopt;
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) return it->get<std::string>();
    return std::nullopt;
}

JobStatus statusOf(const json& j, const char* key, JobStatus fallback) {
    auto s = jobs::statusFromName(stringOf(j, key));
    return s ? *s : fallback;
}

int64_t integerOf(const json& j, const char* key, int64_t fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

double numberOf(const json& j, const char* key, double fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

bool flagOf(const json& j, const char* key) {
    if (!j.is_object()) return false;
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
}

json toJson(const PairView& p) {
    return {{"model_index", p.modelIndex},
            {"model", p.model.empty() ? json(nullptr) : json(p.model)},
            {"method", p.method},
            {"status", jobs::statusName(p.status)},
            {"progress", p.progress},
            {"error", optional(p.error)},
            {"seconds", p.seconds},
            {"from_cache", p.fromCache},
            {"from_store", p.fromStore},
            {"peak_rss_bytes", p.peakRssBytes > 0 ? json(p.peakRssBytes) : json(nullptr)}};
}

int64_t StatusView::peakRssBytes() const {
    int64_t peak = 0;
    for (const auto& p : pairs) peak = std::max(peak, p.peakRssBytes);
    return peak;
}

json toJson(const StatusView& s) {
    json j;
    j["job_id"] = s.jobId;
    j["status"] = jobs::statusName(s.status);
    j["error"] = optional(s.error);
    j["progress"] = s.progress;
    j["eta_seconds"] = s.etaSeconds ? json(*s.etaSeconds) : json(nullptr);
    j["created_at"] = s.createdAt;
    j["started_at"] = s.startedAt;
    j["finished_at"] = s.finishedAt;
    j["models"] = s.models;
    j["methods"] = s.methods;
    j["input"] = s.input;
    j["parent_job"] = optional(s.parentJob);
    j["priority"] = s.priority;
    j["prompt"] = s.prompt;
    j["peak_rss_bytes"] = s.peakRssBytes() > 0 ? json(s.peakRssBytes()) : json(nullptr);
    j["turns"] = json::array();
    for (const auto& t : s.turns) j["turns"].push_back({{"role", t.role}, {"job", t.job}, {"begin", t.begin}, {"end", t.end}});
    j["pairs"] = json::array();
    for (const auto& p : s.pairs) j["pairs"].push_back(toJson(p));
    return j;
}

json toJson(const ListEntry& e) {
    return {{"job_id", e.jobId},         {"status", jobs::statusName(e.status)},
            {"created_at", e.createdAt}, {"finished_at", e.finishedAt},
            {"models", e.models},        {"methods", e.methods},
            {"input", e.input},          {"parent_job", optional(e.parentJob)}};
}

json toJson(const ModelView& m) {
    return {{"id", m.id},
            {"source", m.source},
            {"architecture", m.architecture},
            {"dtype", m.dtype},
            {"parameters", m.parameters},
            {"bytes", m.bytes},
            {"max_positions", m.maxPositions},
            {"usable", m.usable},
            {"error", m.usable ? json(nullptr) : json(m.error)},
            {"chat_templates", m.chatTemplates}};
}

StatusView statusFromJson(const json& j) {
    StatusView s;
    s.jobId = stringOf(j, "job_id");
    s.status = statusOf(j, "status", JobStatus::Queued);
    s.error = optionalStringOf(j, "error");
    s.progress = std::clamp(numberOf(j, "progress", 0.0), 0.0, 1.0);
    if (const double eta = numberOf(j, "eta_seconds", -1.0); eta >= 0) s.etaSeconds = eta;
    s.createdAt = stringOf(j, "created_at");
    s.startedAt = stringOf(j, "started_at");
    s.finishedAt = stringOf(j, "finished_at");
    s.models = stringsOf(j, "models");
    s.methods = stringsOf(j, "methods");
    s.input = stringOf(j, "input");
    s.parentJob = optionalStringOf(j, "parent_job");
    s.priority = static_cast<int>(std::clamp<int64_t>(integerOf(j, "priority", 0), -1000000, 1000000));
    s.prompt = stringOf(j, "prompt");
    if (s.prompt.empty()) s.prompt = s.input;
    const json turns = j.is_object() && j.contains("turns") && j["turns"].is_array() ? j["turns"] : json::array();
    for (const auto& tj : turns) {
        const int64_t size = static_cast<int64_t>(s.prompt.size());
        const int64_t begin = integerOf(tj, "begin", -1), end = integerOf(tj, "end", -1);
        if (begin < 0 || end < begin || end > size) continue; // a range outside the prompt is dropped
        s.turns.push_back({stringOf(tj, "role"), stringOf(tj, "job"), begin, end});
    }
    const json pairs = j.is_object() && j.contains("pairs") && j["pairs"].is_array() ? j["pairs"] : json::array();
    for (const auto& pj : pairs) {
        if (!pj.is_object()) continue;
        PairView p;
        p.modelIndex = static_cast<int>(std::clamp<int64_t>(integerOf(pj, "model_index", 0), 0, 1 << 20));
        p.model = stringOf(pj, "model");
        p.method = stringOf(pj, "method");
        p.status = statusOf(pj, "status", JobStatus::Queued);
        p.progress = std::clamp(numberOf(pj, "progress", 0.0), 0.0, 1.0);
        p.error = optionalStringOf(pj, "error");
        p.seconds = numberOf(pj, "seconds", 0.0);
        p.fromCache = flagOf(pj, "from_cache");
        p.fromStore = flagOf(pj, "from_store");
        p.peakRssBytes = std::max<int64_t>(integerOf(pj, "peak_rss_bytes", 0), 0);
        s.pairs.push_back(std::move(p));
    }
    return s;
}

ListEntry listEntryFromJson(const json& j) {
    ListEntry e;
    e.jobId = stringOf(j, "job_id");
    e.status = statusOf(j, "status", JobStatus::Queued);
    e.createdAt = stringOf(j, "created_at");
    e.finishedAt = stringOf(j, "finished_at");
    e.models = stringsOf(j, "models");
    e.methods = stringsOf(j, "methods");
    e.input = stringOf(j, "input");
    e.parentJob = optionalStringOf(j, "parent_job");
    return e;
}

ModelView modelFromJson(const json& j) {
    ModelView m;
    m.id = stringOf(j, "id");
    m.source = stringOf(j, "source");
    m.architecture = stringOf(j, "architecture");
    m.dtype = stringOf(j, "dtype");
    m.parameters = integerOf(j, "parameters", 0);
    m.bytes = integerOf(j, "bytes", 0);
    m.maxPositions = integerOf(j, "max_positions", 0);
    m.usable = !(j.is_object() && j.contains("usable")) || flagOf(j, "usable");
    m.error = stringOf(j, "error");
    if (j.is_object() && j.contains("chat_templates") && j["chat_templates"].is_array()) {
        for (const auto& t : j["chat_templates"]) {
            if (t.is_string()) m.chatTemplates.push_back(t.get<std::string>());
        }
    }
    return m;
}

Job jobOf(const StatusView& s) {
    Job job;
    job.models = s.models;
    job.methods = s.methods;
    job.input = s.input;
    job.parentJob = s.parentJob;
    job.priority = s.priority;
    return job;
}

Job jobOf(const ListEntry& e) {
    Job job;
    job.models = e.models;
    job.methods = e.methods;
    job.input = e.input;
    job.parentJob = e.parentJob;
    return job;
}

} // namespace tokenlens::api
