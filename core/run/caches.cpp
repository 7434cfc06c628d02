#include "run/caches.h"

#include "util/sha256.h"

namespace tokenlens {

std::string contentHash(const std::vector<std::string>& parts) {
    Sha256 h;
    for (const auto& p : parts) {
        h.add(std::to_string(p.size()) + ':');
        h.add(p);
    }
    return h.hex();
}

namespace {

std::string idsText(const std::vector<int64_t>& ids) {
    std::string s;
    for (int64_t id : ids) s += std::to_string(id) + ",";
    return s;
}

// The job options that decide the prepared sequence (generation and truncation).
nlohmann::json sequenceOptions(const nlohmann::json& options) {
    nlohmann::json o = nlohmann::json::object();
    for (const char* k : {"max_new_tokens", "sample", "temperature", "top_k", "top_p", "seed", "stop_at_eos",
                          "truncate", "chat"}) {
        if (options.contains(k)) o[k] = options[k];
    }
    // The prompt's segments (a string "segments" is context_cite's own option).
    if (options.contains("granularity")) o["granularity"] = options["granularity"];
    if (options.contains("segments") && options["segments"].is_array()) o["segments"] = options["segments"];
    return o;
}

} // namespace

std::string sequenceKey(const std::string& modelKey, const Job& job) {
    return contentHash({"sequence/1", modelKey, job.input, job.targetText ? "forced" : "generated",
                        job.targetText.value_or(""), sequenceOptions(job.options).dump(),
                        job.messages.is_null() ? std::string() : "messages:" + job.messages.dump()});
}

std::string resultKey(const std::string& modelKey, const std::string& method, const nlohmann::json& resolvedOptions,
                      const PreparedSequence& seq, bool forced) {
    return contentHash({"result/1", modelKey, method, resolvedOptions.dump(), seq.input.text, idsText(seq.input.ids),
                        forced ? "forced" : "generated", idsText(seq.output.ids)});
}

int64_t approximateBytes(const MethodResult& r) {
    int64_t bytes = 512 + static_cast<int64_t>(r.raw.data.size() * sizeof(float));
    bytes += static_cast<int64_t>((r.input.ids.size() + r.output.ids.size()) * 40);
    bytes += static_cast<int64_t>((r.stepProbability.size() + r.stepEntropy.size() + r.convergenceDelta.size() +
                                   r.fInput.size() + r.fBaseline.size()) *
                                  sizeof(double));
    return bytes;
}

} // namespace tokenlens
