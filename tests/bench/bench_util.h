#pragma once
// Shared pieces of the benchmarks: the machine's measured matmul throughput
// (the yardstick every lower bound is divided by), timing, and a
// GPT-2-small-sized model with random weights.

#include "io/model_config.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tokenlens::bench {

// Best GFLOP/s of float32 matrix products of a transformer's shapes, measured now.
double measureMatmulGflops();

// Seconds of the fastest of `repeats` runs of `fn` (after one warm-up).
double bestOf(int repeats, const std::function<void()>& fn);

// FLOPs of a decoder's passes by position, for the lower bounds.
struct FlopModel {
    double body = 0;    // per position through the blocks, excluding attention scores
    double attnPer = 0; // attention-score FLOPs per (query, key) pair over all layers (q kᵀ and p v)
    double head = 0;    // the full head at one position
    // Forward FLOPs of positions [from, to), keys from 0 (0 for an empty range).
    double forward(int64_t from, int64_t to) const {
        return to <= from ? 0 : body * static_cast<double>(to - from) + attention(from, to);
    }
    // The attention products' part of forward(from, to): query q has q + 1 keys.
    double attention(int64_t from, int64_t to) const {
        const auto keys = [](int64_t n) { return static_cast<double>(n) * static_cast<double>(n + 1) / 2; }; // Σ 1..n
        return to <= from ? 0 : attnPer * (keys(to) - keys(from));
    }
    // A backward to the inputs only, through positions [0, to): each linear
    // layer's one product (gY · Wᵀ, no weight gradient) costs its forward;
    // the attention core's four (gP = gO · vᵀ, gQ = gS · k, gK = gSᵀ · q,
    // gV = pᵀ · gO) cost twice its forward's two.
    double inputBackward(int64_t to) const { return forward(0, to) + attention(0, to); }
};

// 12 layers, 768 hidden, 12 heads, vocab 50257, 1024 positions, tied head.
ModelConfig gpt2SmallConfig();

// Writes config.json for `c` (gpt2 layout) into `dir`.
void writeGpt2Config(const ModelConfig& c, const std::filesystem::path& dir);

// Resident set size of this process now, and its peak, in MiB (from /proc).
double currentRssMiB();
double peakRssMiB();

// Sets the process-wide path of the gradient passes (attribution/common.h)
// from a --gradient-paths entry: "shared" (the default rule), "shared/N" (the
// shared path with N inputs per forward, integrated gradients' steps),
// "blocks/N" (the shared path block by block, segments of N blocks, whatever
// the budget) or "per_row". False for anything else.
bool applyGradientPath(const std::string& path);

// /proc/loadavg's three load averages ("1.23 0.98 0.75"), to print beside timings.
std::string loadAverage();

// The non-empty items of a comma-separated option value ("a,,b" -> a, b).
std::vector<std::string> splitList(const std::string& s);

} // namespace tokenlens::bench
