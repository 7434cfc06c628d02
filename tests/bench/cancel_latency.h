#pragma once
// Cancel latency of a method on a loaded model: how long runMethod takes to
// return after the cancel flag flips at a random point of its run. For the
// scale benchmark (issue 17: p99 ≤ 200 ms at every size) and bench_cancel.
// Header-only; needs tokenlens_core.

#include "attribution/engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace tokenlens::bench {

struct CancelLatency {
    std::vector<double> ms;     // one per cancel that landed during the run, sorted
    double p50 = 0, p99 = 0, max = 0;
    double fullRunMs = 0;       // the uncancelled run the cancel points are drawn from
    int finishedFirst = 0;      // runs that ended before their cancel point (not counted)
    int notCancelled = 0;       // runs cancelled but not ending cancelled (a bug if > 0)
};

// The q-quantile (0..1) of sorted values, nearest rank.
inline double quantile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return 0;
    const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Runs `method` once to completion (its length T), then `cancels` times with
// the flag flipped after a delay drawn uniformly from [0, T); latency is
// from the flip to runMethod's return.
inline CancelLatency measureCancelLatency(const LoadedModel& model, const PreparedSequence& seq, const Job& job,
                                          const std::string& method, int cancels, uint64_t seed = 1) {
    using Clock = std::chrono::steady_clock;
    CancelLatency out;
    {
        const auto t0 = Clock::now();
        (void)runMethod(model, seq, job, method);
        out.fullRunMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> at(0.0, out.fullRunMs);
    for (int i = 0; i < cancels; ++i) {
        std::atomic<bool> flag{false};
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        Clock::time_point flippedAt{};
        const auto delay = std::chrono::duration<double, std::milli>(at(rng));
        std::thread canceller([&] {
            std::unique_lock lock(m);
            if (cv.wait_for(lock, delay, [&] { return done; })) return; // ended first
            flippedAt = Clock::now();
            flag = true;
        });
        RunControl control;
        control.isCancelled = [&] { return flag.load(std::memory_order_relaxed); };
        const MethodResult r = runMethod(model, seq, job, method, control);
        const auto end = Clock::now();
        {
            std::lock_guard lock(m);
            done = true;
        }
        cv.notify_all();
        canceller.join();
        if (!flag.load()) {
            ++out.finishedFirst;
            continue;
        }
        if (r.status != RunStatus::Cancelled) {
            ++out.notCancelled;
            continue;
        }
        out.ms.push_back(std::chrono::duration<double, std::milli>(end - flippedAt).count());
    }
    std::sort(out.ms.begin(), out.ms.end());
    out.p50 = quantile(out.ms, 0.5);
    out.p99 = quantile(out.ms, 0.99);
    out.max = out.ms.empty() ? 0 : out.ms.back();
    return out;
}

} // namespace tokenlens::bench
