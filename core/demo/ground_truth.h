#pragma once
// Faithfulness against known evidence on the demo task suite: every held-out
// example is attributed (its answer forced as the target), the prompt tokens
// are ranked by each method's attribution to the answer, and we record where
// the evidence tokens rank (hit@1, reciprocal rank), per method and task
// family, beside a random attribution (the floor). Optionally the
// evidence-free ERASER metrics of attribution/faithfulness.h as well.

#include "attribution/faithfulness.h"
#include "demo/corpus.h"
#include "model/model_loader.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace tokenlens::demo {

// The fraction of the candidates the fixed-retention columns remove or keep
// (one of FaithfulnessSettings::fractions).
inline constexpr double kFixedRetention = 0.20;

// The name of the random attribution's row.
inline constexpr const char* kRandomMethod = "random";

struct GroundTruthOptions {
    std::vector<std::string> methods;   // attribution method ids; "random" adds the floor explicitly
    int64_t perFamily = 20;
    uint64_t seed = kHeldOutSeed;
    bool eraser = true;                 // also the evidence-free metrics
    // Every method that takes a target_fn attributes the contrastive target
    // logit(answer) − logit(foil), the foil of each example from
    // contrastWord(); the others keep their own target.
    bool contrastive = false;
    // Otherwise, when not empty: every method that takes a target_fn
    // attributes this one (probability, log_probability, logit); "" keeps
    // each method's default.
    std::string targetFn;
    FaithfulnessOptions faithfulness;
    nlohmann::json jobOptions = nlohmann::json::object(); // engine / method options
    std::function<void(int64_t done, int64_t total)> progress; // examples done
    std::function<bool()> isCancelled;
};

struct GroundTruthCell { // one (method, family)
    std::string method;
    std::string family;  // a family name, or "all"
    int64_t examples = 0;
    int64_t failed = 0;  // method runs that failed
    double hitAt1 = 0, mrr = 0;
    double randomHitAt1 = 0, randomMrr = 0; // exact expectation of a random order on the same examples
    // Means of the evidence-free metrics (NaN when not computed).
    double aopcComprehensiveness = 0, aopcSufficiency = 0, deletionAuc = 0, insertionAuc = 0, kendallTau = 0;
    // Fixed retention: comprehensiveness and sufficiency with the top
    // kFixedRetention of the candidates (k = ceil(0.2 m), the same k for every
    // method on an example).
    double fixedComprehensiveness = 0, fixedSufficiency = 0;
    // Mean |convergence delta| of the methods that report one (integrated
    // gradients; attnlrp and cp_lrp: what their rules absorb), NaN otherwise.
    double meanAbsDelta = 0;
    double seconds = 0;  // attribution time
};

struct GroundTruthReport {
    std::string model;
    std::string baseline;
    std::string target;                  // "" (each method's default), a target_fn, or "contrast_logit_diff"
    std::vector<GroundTruthCell> cells; // per method: every family, then "all"
};

// Fails with ErrorCode::Cancelled when cancelled.
Result<GroundTruthReport> evaluateGroundTruth(const LoadedModel& model, const GroundTruthOptions& options);

nlohmann::json toJson(const GroundTruthReport& report);
// A fixed-width text table, one line per (method, family).
std::string formatTable(const GroundTruthReport& report);
// Markdown tables for docs/faithfulness.md: the overall table (one row per
// method, with the time per example), then hit@1 per family and method.
std::string formatMarkdown(const GroundTruthReport& report);

// The fields every ground-truth table cell shares, from an accumulator of
// hits and reciprocal ranks: family, examples, failed, hit@1 and MRR over the
// examples that did not fail (NaN when none did).
template <class Cell, class Acc>
void fillRankFields(Cell& c, const Acc& a, const std::string& family) {
    c.family = family;
    c.examples = a.examples;
    c.failed = a.failed;
    const auto ok = static_cast<double>(a.examples - a.failed);
    c.hitAt1 = ok > 0 ? a.hit / ok : std::numeric_limits<double>::quiet_NaN();
    c.mrr = ok > 0 ? a.rr / ok : std::numeric_limits<double>::quiet_NaN();
}

// Those fields as JSON (hit_at_1 and mrr null when NaN), for the cells' writers.
template <class Cell>
nlohmann::json rankFieldsJson(const Cell& c) {
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    return {{"family", c.family}, {"examples", c.examples}, {"failed", c.failed},
            {"hit_at_1", num(c.hitAt1)}, {"mrr", num(c.mrr)}};
}

} // namespace tokenlens::demo
