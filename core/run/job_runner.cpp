#include "run/job_runner.h"

#include "attribution/faithfulness.h"
#include "model/cpu_allocator.h"
#include "util/peak_rss.h"

#include <chrono>

namespace tokenlens {

Status checkJob(const Job& job) {
    if (auto st = checkJobShape(job); !st) return st;
    if (auto v = validateJob(job); !v) return v.error();
    return {};
}

JobRunner::JobRunner(RunnerCaches caches, LoadOptions load) : m_caches(std::move(caches)), m_load(std::move(load)) {}

std::string jobComputeDtype(const Job& job) {
    const auto it = job.options.find("compute_dtype");
    return it != job.options.end() && it->is_string() ? it->get<std::string>() : std::string("float32");
}

Result<RunnerModel> JobRunner::load(const std::string& dir, const std::string& computeDtype) const {
    RunnerModel out;
    LoadOptions options = m_load;
    options.computeDtype = computeDtype;
    auto st = guarded(dir, "out of memory while loading the model", [&]() -> Status {
        if (m_caches.models || m_caches.sequences || m_caches.results) out.key = ModelCache::keyFor(dir, options);
        if (m_caches.models) {
            auto got = m_caches.models->get(dir, options);
            if (!got) return got.error();
            out.model = got.value();
        } else {
            auto got = loadModelFolder(dir, options);
            if (!got) return got.error();
            out.model = got.value();
        }
        return {};
    });
    if (!st) return st.error();
    return out;
}

Status JobRunner::checkFiles(const LoadedModel& model) const {
    auto st = checkWeightFiles(model);
    if (!st && m_caches.models) m_caches.models->drop(&model);
    return st;
}

Result<std::shared_ptr<const PreparedSequence>> JobRunner::prepare(const LoadedModel& model, const std::string& modelKey,
                                                                   const Job& job, const RunControl& control) const {
    const bool cached = m_caches.sequences && !modelKey.empty();
    const std::string key = cached ? sequenceKey(modelKey, job) : std::string();
    if (cached) {
        if (auto hit = m_caches.sequences->get(key)) return hit;
    }
    std::shared_ptr<const PreparedSequence> seq;
    bool cancelled = false;
    auto st = guarded(model.name, "out of memory while generating", [&]() -> Status {
        if (auto files = checkFiles(model); !files) return files;
        auto prepared = prepareSequence(model, job, control);
        if (!prepared) {
            if (prepared.error().code == ErrorCode::Cancelled) {
                cancelled = true;
                return prepared.error();
            }
            return makeError(prepared.error().code, model.name + ": " + prepared.error().message);
        }
        seq = std::make_shared<const PreparedSequence>(std::move(prepared.value()));
        return {};
    });
    if (!st) {
        return cancelled || st.error().code == ErrorCode::Cancelled ? makeError(ErrorCode::Cancelled, "cancelled")
                                                                     : st.error();
    }
    if (cached) m_caches.sequences->put(key, seq, 1);
    return seq;
}

PairRun JobRunner::runPair(const LoadedModel& model, const std::string& modelKey, const PreparedSequence& seq,
                           const Job& job, const std::string& method, const RunControl& control) const {
    PairRun out;
    const auto start = std::chrono::steady_clock::now();
    const PeakRssWindow memory;
    auto st = guarded(method, "out of memory", [&]() -> Status {
        std::optional<FaithfulnessOptions> faith;
        if (auto f = jobFaithfulnessOptions(job.options); f && *f) faith = **f;
        const auto n = static_cast<int64_t>(seq.input.ids.size()), t = static_cast<int64_t>(seq.output.ids.size());
        const int64_t methodWork = estimateMethodWork(seq, job, method);
        const int64_t faithWork = faith && t > 0 ? estimateFaithfulnessWork(n, t, *faith) : 0;
        out.work = methodWork + faithWork;
        if (control.progress) control.progress(0, std::max<int64_t>(out.work, 1));
        if (auto resolved = methodOptions(job, method, &model.config); resolved && !modelKey.empty()) {
            out.cacheKey = resultKey(modelKey, method, *resolved, seq, job.targetText.has_value());
            if (faith) out.cacheKey += "+faithfulness:" + job.options.at("faithfulness").dump();
            if (!seq.promptSegments.empty()) {
                // The segments are part of the result (and the features of the perturbation methods).
                // "/2": context_cite's features became the job's segments; its results stored
                // before (over sentences) are not served for a job with a granularity.
                nlohmann::json segs = nlohmann::json::array();
                for (const auto& g : seq.promptSegments) segs.push_back({g.tokenStart, g.tokenEnd, g.label});
                out.cacheKey += "+granularity/2:" + contentHash({seq.granularity, segs.dump()});
            }
            auto hit = m_caches.results ? m_caches.results->get(out.cacheKey) : nullptr;
            if (!hit && m_caches.stored) {
                hit = m_caches.stored->find(out.cacheKey);
                // A stored result of another model or method under this key
                // would be a hash collision or a damaged row: not served.
                if (hit && (hit->method != method || hit->model != model.name || hit->status != RunStatus::Completed)) {
                    hit = nullptr;
                }
                out.fromStore = hit != nullptr;
                if (hit && m_caches.results) m_caches.results->put(out.cacheKey, hit, approximateBytes(*hit));
            }
            if (hit) {
                out.result = hit;
                out.fromCache = true;
                if (control.progress) control.progress(std::max<int64_t>(out.work, 1), std::max<int64_t>(out.work, 1));
                return {};
            }
        }
        if (auto files = checkFiles(model); !files) return files;
        MethodResult r = runMethod(model, seq, job, method, control);
        if (faith && r.status == RunStatus::Completed) {
            RunControl stage;
            stage.isCancelled = control.isCancelled;
            if (control.progress) {
                stage.progress = [&control, methodWork](int64_t done, int64_t total) {
                    control.progress(methodWork + done, methodWork + total);
                };
            }
            out.complete = attachFaithfulness(model, r, *faith, stage);
        }
        r.peakRssBytes = memory.peakBytes();
        auto shared = std::make_shared<const MethodResult>(std::move(r));
        if (shared->status == RunStatus::Completed && out.complete && m_caches.results && !out.cacheKey.empty()) {
            m_caches.results->put(out.cacheKey, shared, approximateBytes(*shared));
        }
        out.result = std::move(shared);
        // A result without the faithfulness stage it was asked with is not
        // what the key stands for: not to be served again from the store.
        if (!out.complete) out.cacheKey.clear();
        return {};
    });
    if (!st) {
        MethodResult failed;
        failed.model = model.name;
        failed.method = method;
        failed.status = RunStatus::Failed;
        failed.error = st.error().message;
        failed.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        out.result = std::make_shared<const MethodResult>(std::move(failed));
        out.cacheKey.clear();
    }
    out.peakRssBytes = out.fromCache ? 0 : memory.peakBytes();
    releaseCachedCpuMemory(); // the free large blocks go back to the system between pairs
    return out;
}

JobResult JobRunner::run(const Job& job, const RunListener& listener) const {
    JobResult result;
    result.jobId = "run-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    result.createdAt = isoNow();
    result.input.text = job.input;
    result.options = job.options;
    auto failAll = [&](const std::string& model, const std::string& message) {
        if (listener.modelFailed) listener.modelFailed(message);
        for (const auto& m : job.methods) {
            MethodResult r;
            r.model = model;
            r.method = m;
            r.status = RunStatus::Failed;
            r.error = message;
            if (listener.finished) listener.finished(r);
            result.results.push_back(std::move(r));
        }
    };
    for (const auto& dir : job.models) {
        auto loaded = load(dir, jobComputeDtype(job));
        if (!loaded) {
            failAll(dir, loaded.error().message);
            continue;
        }
        const LoadedModel& model = *loaded->model;
        auto seq = prepare(model, loaded->key, job);
        if (!seq) {
            failAll(model.name, seq.error().message);
            continue;
        }
        if (result.input.ids.empty()) result.input = seq.value()->input;
        for (const auto& m : job.methods) {
            const RunControl control = listener.starting ? listener.starting(model.name, m) : RunControl{};
            PairRun pair = runPair(model, loaded->key, *seq.value(), job, m, control);
            if (listener.finished) listener.finished(*pair.result);
            result.results.push_back(*pair.result);
        }
    }
    result.completedAt = isoNow();
    return result;
}

} // namespace tokenlens
