#include "jobs/job_types.h"

#include "attribution/engine.h"
#include "attribution/method.h"
#include "result/result_json.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <random>
#include <set>

namespace tokenlens::jobs {

using nlohmann::json;

const char* statusName(JobStatus s) {
    switch (s) {
    case JobStatus::Queued: return "queued";
    case JobStatus::Running: return "running";
    case JobStatus::Completed: return "completed";
    case JobStatus::Failed: return "failed";
    case JobStatus::Cancelled: return "cancelled";
    case JobStatus::Interrupted: return "interrupted";
    }
    return "failed";
}

std::optional<JobStatus> statusFromName(const std::string& name) {
    for (JobStatus s : {JobStatus::Queued, JobStatus::Running, JobStatus::Completed, JobStatus::Failed, JobStatus::Cancelled,
                     JobStatus::Interrupted}) {
        if (name == statusName(s)) return s;
    }
    return std::nullopt;
}

bool isFinal(JobStatus s) { return s != JobStatus::Queued && s != JobStatus::Running; }

namespace {

Status bad(const std::string& source, const std::string& key, const std::string& what) {
    return makeError(ErrorCode::InvalidArgument, source + ": key '" + key + "' " + what);
}

Status stringList(const json& v, const std::string& source, const std::string& key, std::vector<std::string>& out) {
    out.clear();
    if (v.is_string()) {
        // "a,b" is accepted for methods; a single folder for models.
        const std::string s = v.get<std::string>();
        if (key == "methods") {
            size_t start = 0;
            while (start <= s.size()) {
                const size_t comma = std::min(s.find(',', start), s.size());
                if (comma > start) out.push_back(s.substr(start, comma - start));
                start = comma + 1;
            }
        } else {
            out.push_back(s);
        }
        return {};
    }
    if (!v.is_array()) return bad(source, key, "must be an array of strings");
    for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string()) return bad(source, key + "[" + std::to_string(i) + "]", "must be a string");
        out.push_back(v[i].get<std::string>());
    }
    return {};
}

json turnJson(const Turn& t) { return {{"role", t.role}, {"job", t.job}, {"begin", t.begin}, {"end", t.end}}; }

} // namespace

Result<JobSpec> jobSpecFromJson(const json& j, const std::string& source, const JobSpec* defaults) {
    if (!j.is_object()) return makeError(ErrorCode::InvalidArgument, source + ": a job must be a JSON object");
    static const std::set<std::string> known = {"models", "methods", "input", "options", "target_text",
                                                "parent_job", "priority", "follow_model"};
    for (const auto& [key, value] : j.items()) {
        if (!known.count(key)) {
            return makeError(ErrorCode::InvalidArgument,
                             source + ": unknown key '" + key +
                                 "' (a job has models, methods, input, options, target_text, parent_job, priority)");
        }
    }
    JobSpec spec = defaults ? *defaults : JobSpec{};
    if (j.contains("models")) {
        if (auto st = stringList(j["models"], source, "models", spec.models); !st) return st.error();
    }
    if (j.contains("methods")) {
        if (auto st = stringList(j["methods"], source, "methods", spec.methods); !st) return st.error();
    }
    if (j.contains("input")) {
        if (!j["input"].is_string()) return bad(source, "input", "must be a string").error();
        spec.input = j["input"].get<std::string>();
    }
    if (j.contains("options")) {
        if (!j["options"].is_object()) return bad(source, "options", "must be an object").error();
        // Job options go over the defaults key by key.
        for (const auto& [k, v] : j["options"].items()) spec.options[k] = v;
    }
    if (j.contains("target_text")) {
        if (j["target_text"].is_null()) spec.targetText.reset();
        else if (!j["target_text"].is_string()) return bad(source, "target_text", "must be a string or null").error();
        else spec.targetText = j["target_text"].get<std::string>();
    }
    if (j.contains("parent_job")) {
        if (j["parent_job"].is_null()) spec.parentJob.reset();
        else if (!j["parent_job"].is_string()) return bad(source, "parent_job", "must be a job id or null").error();
        else spec.parentJob = j["parent_job"].get<std::string>();
    }
    for (auto [key, out] : {std::pair{"priority", &spec.priority}, std::pair{"follow_model", &spec.followModel}}) {
        if (!j.contains(key)) continue;
        if (!j[key].is_number_integer()) return bad(source, key, "must be an integer").error();
        *out = j[key].get<int>();
    }
    return spec;
}

json toJson(const JobSpec& s) {
    json j;
    j["models"] = s.models;
    j["methods"] = s.methods;
    j["input"] = s.input;
    j["options"] = s.options;
    j["target_text"] = s.targetText ? json(*s.targetText) : json(nullptr);
    j["parent_job"] = s.parentJob ? json(*s.parentJob) : json(nullptr);
    j["priority"] = s.priority;
    if (s.followModel != 0) j["follow_model"] = s.followModel;
    return j;
}

Status checkJobSpec(const JobSpec& spec) {
    if (spec.models.empty()) return makeError(ErrorCode::InvalidArgument, "a job needs at least one model folder");
    if (spec.methods.empty()) return makeError(ErrorCode::InvalidArgument, "a job needs at least one method");
    if (spec.input.empty()) return makeError(ErrorCode::InvalidArgument, "the job's input text is empty");
    std::set<std::string> seen;
    for (const auto& m : spec.methods) {
        if (!seen.insert(m).second) return makeError(ErrorCode::InvalidArgument, "method '" + m + "' is listed twice");
    }
    if (spec.followModel < 0 || spec.followModel >= static_cast<int>(spec.models.size())) {
        return makeError(ErrorCode::InvalidArgument, "follow_model must index the job's models");
    }
    AttributionJob job;
    job.prompt = spec.input;
    job.targetText = spec.targetText;
    job.methods = spec.methods;
    job.options = spec.options;
    if (auto v = validateJob(job); !v) return v.error();
    return {};
}

const PairRecord* JobRecord::pair(int modelIndex, const std::string& method) const {
    for (const auto& p : pairs) {
        if (p.modelIndex == modelIndex && p.method == method) return &p;
    }
    return nullptr;
}

PairRecord* JobRecord::pair(int modelIndex, const std::string& method) {
    return const_cast<PairRecord*>(static_cast<const JobRecord*>(this)->pair(modelIndex, method));
}

std::vector<PairRecord> expandPairs(const JobSpec& spec) {
    auto rank = [](const std::string& id) {
        const auto& all = allMethods();
        for (size_t i = 0; i < all.size(); ++i) {
            if (all[i]->id() == id) return static_cast<int>(i);
        }
        return -1; // unknown: fails at once, so first
    };
    std::vector<std::pair<int, std::string>> methods;
    for (const auto& m : spec.methods) methods.emplace_back(rank(m), m);
    std::stable_sort(methods.begin(), methods.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<PairRecord> pairs;
    for (const auto& [r, m] : methods) {
        for (int i = 0; i < static_cast<int>(spec.models.size()); ++i) {
            PairRecord p;
            p.modelIndex = i;
            p.method = m;
            pairs.push_back(std::move(p));
        }
    }
    return pairs;
}

JobStatus summarize(const std::vector<PairRecord>& pairs) {
    bool anyCompleted = false, allFailed = !pairs.empty(), anyInterrupted = false;
    for (const auto& p : pairs) {
        anyCompleted |= p.status == JobStatus::Completed;
        allFailed &= p.status == JobStatus::Failed;
        anyInterrupted |= p.status == JobStatus::Interrupted;
    }
    if (anyInterrupted) return JobStatus::Interrupted;
    if (anyCompleted) return JobStatus::Completed;
    if (allFailed) return JobStatus::Failed;
    return JobStatus::Cancelled;
}

std::string modelName(const JobSpec& spec, int index) {
    if (index < 0 || index >= static_cast<int>(spec.models.size())) return {};
    std::filesystem::path p = std::filesystem::path(spec.models[static_cast<size_t>(index)]).lexically_normal();
    std::string name = p.filename().string();
    if (name.empty()) name = p.parent_path().filename().string();
    return name.empty() ? spec.models[static_cast<size_t>(index)] : name;
}

Result<FollowUp> buildFollowUpPrompt(const JobRecord& parent, const std::string& childId, const std::string& newText,
                                     int followModel) {
    const PairRecord* source = nullptr;
    for (const auto& p : parent.pairs) {
        if (p.modelIndex == followModel && p.status == JobStatus::Completed && p.result) {
            source = &p;
            break;
        }
    }
    if (!source) {
        return makeError(ErrorCode::InvalidArgument,
                         "job " + parent.id + " has no completed result for model " + std::to_string(followModel) +
                             " to continue the conversation from");
    }
    FollowUp f;
    f.turns = parent.turns;
    if (f.turns.empty()) f.turns.push_back({"input", parent.id, 0, static_cast<int64_t>(parent.prompt.size())});
    const MethodResult& r = *source->result;
    const std::string& output = r.outputContinuation.empty() ? r.output.text : r.outputContinuation;
    f.prompt = parent.prompt + output;
    f.turns.push_back({"output", parent.id, static_cast<int64_t>(parent.prompt.size()),
                       static_cast<int64_t>(f.prompt.size())});
    const auto begin = static_cast<int64_t>(f.prompt.size());
    f.prompt += newText;
    f.turns.push_back({"input", childId, begin, static_cast<int64_t>(f.prompt.size())});
    return f;
}

JobResult toJobResult(const JobRecord& job) {
    JobResult r;
    r.jobId = job.id;
    r.createdAt = job.createdAt;
    r.completedAt = job.finishedAt;
    r.input.text = job.prompt;
    r.options = job.spec.options;
    for (const auto& p : job.pairs) {
        if (p.result && !p.result->input.ids.empty()) {
            r.input = p.result->input;
            break;
        }
    }
    for (const auto& p : job.pairs) {
        MethodResult m;
        if (p.result) {
            m = *p.result;
        } else {
            m.model = modelName(job.spec, p.modelIndex);
            m.method = p.method;
        }
        switch (p.status) {
        case JobStatus::Completed: m.status = RunStatus::Completed; break;
        case JobStatus::Failed: m.status = RunStatus::Failed; break;
        default: m.status = RunStatus::Cancelled; break;
        }
        if (p.status != JobStatus::Completed) {
            m.error = p.error ? *p.error : std::string(statusName(p.status));
        }
        r.results.push_back(std::move(m));
    }
    return r;
}

json exportJson(const JobRecord& job) {
    json j = toJson(toJobResult(job));
    json t;
    t["spec"] = toJson(job.spec);
    t["status"] = statusName(job.status);
    t["error"] = job.error ? json(*job.error) : json(nullptr);
    t["prompt"] = job.prompt;
    t["created_at"] = job.createdAt;
    t["started_at"] = job.startedAt;
    t["finished_at"] = job.finishedAt;
    t["turns"] = json::array();
    for (const auto& turn : job.turns) t["turns"].push_back(turnJson(turn));
    t["pairs"] = json::array();
    for (const auto& p : job.pairs) {
        t["pairs"].push_back({{"model_index", p.modelIndex},
                              {"method", p.method},
                              {"status", statusName(p.status)},
                              {"error", p.error ? json(*p.error) : json(nullptr)},
                              {"from_cache", p.fromCache},
                              {"cache_key", p.cacheKey},
                              {"seconds", p.seconds},
                              {"started_at", p.startedAt},
                              {"finished_at", p.finishedAt},
                              {"has_result", static_cast<bool>(p.result)}});
    }
    j["tokenlens_job"] = std::move(t);
    // The pair flag next to each result too, for readers of the results alone.
    for (size_t i = 0; i < job.pairs.size(); ++i) j["results"][i]["from_cache"] = job.pairs[i].fromCache;
    return j;
}

namespace {

std::string str(const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

} // namespace

Result<JobRecord> importJson(const json& j, const std::string& source) {
    auto parsed = jobFromJson(j, source);
    if (!parsed) return parsed.error();
    JobResult& res = parsed.value();
    JobRecord job;
    job.id = res.jobId;
    job.createdAt = res.createdAt;
    job.finishedAt = res.completedAt;
    job.prompt = res.input.text;
    if (auto it = j.find("tokenlens_job"); it != j.end() && it->is_object()) {
        const json& t = *it;
        auto spec = jobSpecFromJson(t.value("spec", json::object()), source + ": tokenlens_job.spec");
        if (!spec) return spec.error();
        job.spec = std::move(spec.value());
        auto status = statusFromName(str(t, "status"));
        if (!status) return makeError(ErrorCode::Corrupt, source + ": key 'tokenlens_job.status' is not a job status");
        job.status = *status;
        if (t.contains("error") && t["error"].is_string()) job.error = t["error"].get<std::string>();
        job.prompt = str(t, "prompt");
        job.createdAt = str(t, "created_at");
        job.startedAt = str(t, "started_at");
        job.finishedAt = str(t, "finished_at");
        for (const auto& turn : t.value("turns", json::array())) {
            job.turns.push_back({str(turn, "role"), str(turn, "job"), turn.value("begin", int64_t{0}),
                                 turn.value("end", int64_t{0})});
        }
        const json pairs = t.value("pairs", json::array());
        if (!pairs.is_array() || pairs.size() != res.results.size()) {
            return makeError(ErrorCode::Corrupt,
                             source + ": key 'tokenlens_job.pairs' must have one entry per result");
        }
        for (size_t i = 0; i < pairs.size(); ++i) {
            const json& pj = pairs[i];
            PairRecord p;
            p.modelIndex = pj.value("model_index", 0);
            p.method = str(pj, "method");
            auto ps = statusFromName(str(pj, "status"));
            if (!ps || p.method != res.results[i].method || p.modelIndex < 0 ||
                p.modelIndex >= static_cast<int>(job.spec.models.size())) {
                return makeError(ErrorCode::Corrupt, source + ": key 'tokenlens_job.pairs[" + std::to_string(i) +
                                                         "]' does not match results[" + std::to_string(i) + "]");
            }
            p.status = *ps;
            if (pj.contains("error") && pj["error"].is_string()) p.error = pj["error"].get<std::string>();
            p.fromCache = pj.value("from_cache", false);
            p.cacheKey = str(pj, "cache_key");
            p.seconds = pj.value("seconds", 0.0);
            p.startedAt = str(pj, "started_at");
            p.finishedAt = str(pj, "finished_at");
            if (pj.value("has_result", true)) {
                MethodResult m = res.results[i];
                m.status = p.status == JobStatus::Failed ? RunStatus::Failed
                           : p.status == JobStatus::Completed ? RunStatus::Completed
                                                           : RunStatus::Cancelled;
                m.error = p.status == JobStatus::Completed ? std::nullopt : p.error;
                p.result = std::make_shared<const MethodResult>(std::move(m));
            }
            job.pairs.push_back(std::move(p));
        }
        return job;
    }
    // A plain result JSON: models by name, methods in order of appearance.
    std::vector<std::string> models, methods;
    for (const auto& r : res.results) {
        if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
        if (std::find(methods.begin(), methods.end(), r.method) == methods.end()) methods.push_back(r.method);
    }
    job.spec.models = models;
    job.spec.methods = methods;
    job.spec.input = res.input.text;
    job.spec.options = res.options;
    for (auto& r : res.results) {
        PairRecord p;
        p.modelIndex = static_cast<int>(std::find(models.begin(), models.end(), r.model) - models.begin());
        p.method = r.method;
        p.status = r.status == RunStatus::Completed ? JobStatus::Completed
                   : r.status == RunStatus::Failed  ? JobStatus::Failed
                                                    : JobStatus::Cancelled;
        p.error = r.error;
        p.seconds = r.seconds;
        if (p.status == JobStatus::Completed || !r.output.ids.empty()) {
            p.result = std::make_shared<const MethodResult>(std::move(r));
        }
        job.pairs.push_back(std::move(p));
    }
    job.status = job.pairs.empty() ? JobStatus::Failed : summarize(job.pairs);
    return job;
}

std::string newJobId() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    thread_local std::mt19937_64 rng{std::random_device{}()};
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rng() & 0xffffffffu));
    return std::string(stamp) + "-" + suffix;
}

} // namespace tokenlens::jobs
