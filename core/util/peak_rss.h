#pragma once
// Peak resident memory of the process, for the per-pair figure of results
// and job statuses. On Linux the kernel's high-water mark (VmHWM in
// /proc/self/status) is reset by writing "5" to /proc/self/clear_refs; where
// that is not possible, getrusage's ru_maxrss (the peak since the process
// started) is used. Neither Qt nor LibTorch.

#include <cstdint>

namespace tokenlens {

// The peak resident set size so far in bytes (since the last reset); 0 when unknown.
int64_t peakRssBytes();

// Resets the high-water mark to the current resident size; false when the
// kernel does not allow it (peakRssBytes() is then the process's peak).
bool resetPeakRss();

// The peak of the process while some work runs. Windows overlap when pairs
// run on several workers: the mark is reset only when a window opens while
// no other is open, so each window reports the process's peak since the
// earliest open window began — an upper bound of its own use that includes
// what ran beside it, never an underestimate.
class PeakRssWindow {
public:
    PeakRssWindow();
    ~PeakRssWindow();
    PeakRssWindow(const PeakRssWindow&) = delete;
    PeakRssWindow& operator=(const PeakRssWindow&) = delete;

    // The peak so far in bytes (0 when unknown).
    int64_t peakBytes() const;
    // Whether the mark was reset for this window (false: the figure may include earlier work).
    bool wasReset() const { return m_reset; }

private:
    bool m_reset = false;
};

} // namespace tokenlens
