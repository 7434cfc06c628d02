#include "jobs/job_types.h"

#include "attribution/engine.h"
#include "attribution/method.h"
#include "result/result_json.h"
#include "util/clock.h"

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

json turnJson(const Turn& t) { return {{"role", t.role}, {"job", t.job}, {"begin", t.begin}, {"end", t.end}}; }

} // namespace

const PairRecord* JobRecord::pair(int modelIndex, const std::string& method) const {
    for (const auto& p : pairs) {
        if (p.modelIndex == modelIndex && p.method == method) return &p;
    }
    return nullptr;
}

PairRecord* JobRecord::pair(int modelIndex, const std::string& method) {
    return const_cast<PairRecord*>(static_cast<const JobRecord*>(this)->pair(modelIndex, method));
}

std::vector<PairRecord> expandPairs(const Job& spec) {
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

namespace {

// The reply without the special token(s) generation stopped at
// ("<|im_end|>", "<|eot_id|>", "</s>", "<end_of_turn>"): a trailing "<...>"
// without spaces inside.
std::string withoutTrailingSpecialTokens(std::string text) {
    for (;;) {
        if (text.empty() || text.back() != '>') return text;
        const size_t open = text.rfind('<');
        if (open == std::string::npos || text.find_first_of(" \t\n", open) != std::string::npos) return text;
        text.erase(open);
    }
}

} // namespace

Result<nlohmann::ordered_json> followUpMessages(const JobRecord& parent, const std::string& newText, int followModel) {
    if (!parent.spec.messages.is_array()) {
        return makeError(ErrorCode::InvalidArgument, "job " + parent.id + " is not a chat (it has no messages)");
    }
    for (const auto& p : parent.pairs) {
        if (p.modelIndex != followModel || p.status != JobStatus::Completed || !p.result) continue;
        nlohmann::ordered_json messages = parent.spec.messages;
        messages.push_back({{"role", "assistant"}, {"content", withoutTrailingSpecialTokens(p.result->output.text)}});
        messages.push_back({{"role", "user"}, {"content", newText}});
        return messages;
    }
    return makeError(ErrorCode::InvalidArgument, "job " + parent.id + " has no completed result for model " +
                                                     std::to_string(followModel) + " to continue the chat from");
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

json exportJson(const JobRecord& job, int64_t inlineMaxCells) {
    json j = toJson(toJobResult(job), inlineMaxCells);
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
                              {"from_store", p.fromStore},
                              {"cache_key", p.cacheKey},
                              {"seconds", p.seconds},
                              {"started_at", p.startedAt},
                              {"finished_at", p.finishedAt},
                              {"has_result", static_cast<bool>(p.result)}});
    }
    j["tokenlens_job"] = std::move(t);
    // The pair flag next to each result too, for readers of the results alone.
    for (size_t i = 0; i < job.pairs.size(); ++i) {
        j["results"][i]["from_cache"] = job.pairs[i].fromCache;
        j["results"][i]["from_store"] = job.pairs[i].fromStore;
    }
    return j;
}

namespace {

std::string str(const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

} // namespace

Result<JobRecord> importJson(const json& j, const std::string& source, const MatrixSource* matrices) {
    auto parsed = jobFromJson(j, source, matrices);
    if (!parsed) return parsed.error();
    JobResult& res = parsed.value();
    JobRecord job;
    job.id = res.jobId;
    job.createdAt = res.createdAt;
    job.finishedAt = res.completedAt;
    job.prompt = res.input.text;
    if (auto it = j.find("tokenlens_job"); it != j.end() && it->is_object()) {
        const json& t = *it;
        auto spec = readJob(t.value("spec", json::object()), JobReading::file(source + ": tokenlens_job.spec"));
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
            p.fromCache = pj.contains("from_cache") && pj["from_cache"].is_boolean() && pj["from_cache"].get<bool>();
            p.fromStore = pj.contains("from_store") && pj["from_store"].is_boolean() && pj["from_store"].get<bool>();
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
    const std::string stamp = utcNow("%Y%m%d-%H%M%S");
    thread_local std::mt19937_64 rng{std::random_device{}()};
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rng() & 0xffffffffu));
    return stamp + "-" + suffix;
}

} // namespace tokenlens::jobs
