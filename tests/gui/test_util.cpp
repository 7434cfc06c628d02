#include "test_util.h"

#include <cmath>
#include <limits>

namespace tokenlens::gui::test {

JobResult syntheticJob(int64_t n, int64_t t, const std::vector<std::string>& methods, uint32_t seed) {
    JobResult job;
    job.jobId = "synthetic";
    job.createdAt = job.completedAt = "2026-01-01T00:00:00Z";
    const char* words[] = {" the", " cat", " sat", " on", " mat", ".", "\n", " a", " dog", " ran"};
    TokenSequence in, out;
    for (int64_t i = 0; i < n; ++i) {
        in.tokens.push_back(i == 0 ? "The" : words[i % 10]);
        in.ids.push_back(100 + i);
        in.text += in.tokens.back();
    }
    for (int64_t j = 0; j < t; ++j) {
        out.tokens.push_back(words[(j * 3 + 1) % 10]);
        out.ids.push_back(5000 + j);
        out.text += out.tokens.back();
    }
    job.input = in;
    uint32_t state = seed * 2654435761u + 12345u;
    auto next = [&state] {
        state = state * 1664525u + 1013904223u;
        return static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
    };
    for (const auto& m : methods) {
        MethodResult r;
        r.model = "synthetic-model";
        r.method = m;
        r.input = in;
        r.output = out;
        r.contextTokens = in.tokens;
        r.contextTokens.insert(r.contextTokens.end(), out.tokens.begin(), out.tokens.end());
        r.raw = AttributionMatrix::filled(n + t, t);
        for (int64_t i = 0; i < n + t; ++i) {
            for (int64_t j = 0; j < t; ++j) {
                if (i <= n + j - 1) r.raw.at(i, j) = next();
            }
        }
        r.targetFn = m == "attention" ? "" : "probability";
        r.reduction = m == "attention" ? "" : "l2";
        for (int64_t j = 0; j < t; ++j) {
            r.stepProbability.push_back(0.5);
            r.stepEntropy.push_back(1.25);
        }
        job.results.push_back(std::move(r));
    }
    return job;
}

} // namespace tokenlens::gui::test
