#pragma once
// The GUI-thread state of the JobQueue's jobs (private to core/jobs): each
// job this session knows (Active) and its pairs' current attempts (Run).

#include "jobs/queue_worker.h"

#include <QString>

namespace tokenlens::jobs {

inline QString qs(const std::string& s) { return QString::fromStdString(s); }

// GUI-side state of one pair's current attempt.
struct JobQueue::Run {
    uint64_t attempt = 0;
    bool running = false;        // a worker runs the current attempt
    bool userCancelled = false;  // cancelPair / cancelJob asked it to stop
    std::shared_ptr<std::atomic<bool>> cancel;
    std::shared_ptr<PairProgress> progress;
    int64_t approxWork = 1;
    int64_t work = 0; // exact work once a worker knew it
};

struct JobQueue::Active {
    JobRecord record;
    std::vector<Run> runs; // parallel to record.pairs
    std::shared_ptr<JobContext> ctx;
    bool cancelRequested = false;
    bool clockStarted = false;
    Clock::time_point started;
    int permille = 0;
    double eta = -1;
};

} // namespace tokenlens::jobs
