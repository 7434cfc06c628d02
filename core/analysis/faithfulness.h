#pragma once
// Faithfulness metrics of an attribution (docs/faithfulness.md), the parts
// that need numbers only. The model enters through a MaskScorer: given sets
// of removed context tokens it returns the target score (the probability of
// the output token) with those tokens replaced by the removal baseline. The
// LibTorch side (attribution/faithfulness.h) supplies the real one; tests use
// hand-made scorers.
//
// Per output token (column), over its m candidate context tokens ranked by
// attribution (largest first, ties by lower index):
//   comprehensiveness(q) = f(x) − f(x without its top-k_q tokens)
//   sufficiency(q)       = f(x) − f(only the top-k_q tokens kept)
//   k_q = clamp(ceil(q·m), 1, m), q ∈ {1, 5, 10, 20, 50} % by default;
//   AOPC = the mean over q (ERASER, DeYoung et al. 2020).
//   deletion curve  y(k) = f(top-k removed),    k = 0..m, x = k/m; AUC by trapezoids (lower = more faithful)
//   insertion curve y(k) = f(only top-k kept),  same grid                          (higher = more faithful)
//   leave-one-out  LOO_i = f(x) − f(x without token i); Kendall τ_b(attribution, LOO).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tokenlens::analysis {

struct FaithfulnessSettings {
    std::vector<double> fractions = {0.01, 0.05, 0.10, 0.20, 0.50};
    // Points of the deletion/insertion curves (k = 0 and k = m included);
    // 0, or more than m + 1, evaluates every k.
    int64_t maxCurvePoints = 51;
    bool curves = true;
    bool leaveOneOut = true;
};

// removed[mask][i] != 0: candidate i is replaced by the baseline in that mask.
// Returns one score per mask, or nullopt when the run was cancelled.
using RemovalMask = std::vector<uint8_t>;
using MaskScorer = std::function<std::optional<std::vector<double>>(const std::vector<RemovalMask>& masks)>;

struct ColumnFaithfulness {
    int64_t column = 0;
    int64_t candidates = 0;     // m
    double fullScore = 0;       // f(x)
    double emptyScore = 0;      // f(every candidate removed)
    std::vector<int64_t> topCounts;          // k_q per fraction
    std::vector<double> comprehensiveness;   // per fraction
    std::vector<double> sufficiency;         // per fraction
    double aopcComprehensiveness = 0;
    double aopcSufficiency = 0;
    std::vector<double> curveX;              // k/m
    std::vector<double> deletion, insertion; // f on the curve grid
    double deletionAuc = 0, insertionAuc = 0;
    std::vector<double> leaveOneOut;         // per candidate
    double kendallTau = 0;                   // NaN when undefined (constant input, m < 2)
};

// clamp(ceil(fraction · m), 1, m); 0 when m = 0.
int64_t topCount(double fraction, int64_t m);
// Candidate indices by descending score; non-finite scores last; ties by lower index.
std::vector<int64_t> rankOrder(std::span<const double> scores);
// ∫ y dx by trapezoids over points sorted by x. NaN for fewer than 2 points.
double trapezoidAuc(std::span<const double> x, std::span<const double> y);
// The k values of the curves for m candidates.
std::vector<int64_t> curveGrid(int64_t m, int64_t maxPoints);
// Masks one column asks the scorer for (for progress estimates).
int64_t columnMaskCount(int64_t m, const FaithfulnessSettings& settings);

// nullopt when the scorer reports cancellation. m = scores.size() must be ≥ 1.
std::optional<ColumnFaithfulness> columnFaithfulness(std::span<const double> scores, const MaskScorer& scorer,
                                                     const FaithfulnessSettings& settings = {});

struct FaithfulnessSummary { // means over the columns (finite values only; NaN when none)
    std::vector<double> comprehensiveness, sufficiency; // per fraction
    double aopcComprehensiveness = 0, aopcSufficiency = 0;
    double deletionAuc = 0, insertionAuc = 0;
    double kendallTau = 0;
};
FaithfulnessSummary summarize(const std::vector<ColumnFaithfulness>& columns, size_t fractions);

// One result's faithfulness: stored with the result, exported as JSON.
struct FaithfulnessReport {
    std::string method;
    std::string baseline = "zero"; // "zero" (zero embedding) or "unk" (the unk token's embedding)
    std::string target = "probability";
    FaithfulnessSettings settings;
    std::vector<ColumnFaithfulness> columns;
    FaithfulnessSummary mean;
};
nlohmann::json toJson(const FaithfulnessReport& report);

// Ground truth: where the known evidence ranks among the candidates.
struct EvidenceRank {
    double rank = 0;       // 1-based rank of the best-ranked evidence token; 0 = no evidence
    bool hitAt1 = false;
    double reciprocal = 0; // 1 / rank
};
// `evidence` indexes `scores`. Ties count against the method: the rank is
// 1 + the number of non-evidence candidates scoring at least as high as the
// best evidence token (a constant attribution ranks last, not first).
EvidenceRank evidenceRank(std::span<const double> scores, std::span<const int64_t> evidence);
// Exact expectations for a uniformly random order of m candidates, e of them evidence.
double randomHitAt1(int64_t m, int64_t e);
double randomReciprocalRank(int64_t m, int64_t e);

} // namespace tokenlens::analysis
