#pragma once
// Shared pieces of the benchmarks: the machine's measured matmul throughput
// (the yardstick every lower bound is divided by), timing, and a
// GPT-2-small-sized model with random weights.

#include "io/model_config.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tokenlens::bench {

// Best GFLOP/s of float32 matrix products of a transformer's shapes, measured now.
double measureMatmulGflops();

// Seconds of the fastest of `repeats` runs of `fn` (after one warm-up).
double bestOf(int repeats, const std::function<void()>& fn);

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
