// Reliability: a process killed (SIGKILL) in the middle of a job leaves a
// store that opens, with every finished job intact and the interrupted one
// re-runnable; 200 jobs cancelled and re-queued at random end consistent.

#include "jobs_test_util.h"


#include <fstream>
#include <random>
#include <set>

using namespace tokenlens;
using namespace tokenlens::jobs;
using namespace tokenlens::jobs::testing;
using Clock = std::chrono::steady_clock;

namespace {

void writeJobFile(const std::string& path, const Job& s) {
    std::ofstream out(path);
    out << toJson(s).dump(1);
}

std::optional<JobRecord> findJob(JobStore& store, const std::string& input) {
    auto jobs = store.listJobs(false);
    if (!jobs) return std::nullopt;
    for (auto& j : jobs.value()) {
        if (j.spec.input == input) return j;
    }
    return std::nullopt;
}

} // namespace

TEST(Reliability, SigkillMidJobLeavesStoreIntactAndJobRerunnable) {
    TempStore ts;
    QTemporaryDir dir;
    const std::string quickFile = dir.filePath(QStringLiteral("quick.json")).toStdString();
    const std::string longFile = dir.filePath(QStringLiteral("long.json")).toStdString();
    writeJobFile(quickFile, spec({"tiny-gpt2", "tiny-llama"}, {"attention", "saliency"}, "Finished before the kill",
                                 {{"max_new_tokens", 3}}));
    writeJobFile(longFile, spec({"tiny-gpt2"}, {"attention", "integrated_gradients"}, "Killed in the middle",
                                {{"max_new_tokens", 4}, {"methods", {{"integrated_gradients", {{"steps", 1500}}}}}}));

    // 1. A child finishes a job.
    const std::string logs = dir.path().toStdString();
    Child quick;
    ASSERT_TRUE(quick.start({"run", quickFile, "--store", ts.path(), "--quiet", "--output", logs + "/quick-out.json"},
                            logs + "/quick.out", logs + "/quick.err"));
    ASSERT_TRUE(quick.wait(60000));
    ASSERT_EQ(quick.exitCode(), 0) << quick.err();
    std::string quickId;
    nlohmann::json quickBefore;
    {
        auto store = ts.open();
        ASSERT_TRUE(store);
        auto job = findJob(*store, "Finished before the kill");
        ASSERT_TRUE(job);
        quickId = job->id;
        quickBefore = exportJson(**store->loadJob(quickId));
    }

    // 2. Another child is killed while integrated gradients runs.
    Child child;
    ASSERT_TRUE(child.start({"run", longFile, "--store", ts.path(), "--quiet"}, logs + "/long.out", logs + "/long.err"));
    std::string longId;
    {
        // Watch the store from this process while the child writes it (WAL).
        auto watcher = ts.open();
        ASSERT_TRUE(watcher);
        const bool midJob = waitUntil(
            [&] {
                auto job = findJob(*watcher, "Killed in the middle");
                if (!job) return false;
                longId = job->id;
                auto full = watcher->loadJob(longId, false);
                return full.ok() && full->has_value() &&
                       (*full)->pair(0, "attention")->status == JobStatus::Completed &&
                       (*full)->status == JobStatus::Running;
            },
            60000);
        ASSERT_TRUE(midJob) << child.err();
        EXPECT_TRUE(watcher->interruptedOnOpen().empty()) << "a live child's job is not taken for interrupted";
    }
    waitUntil([] { return false; }, 300); // well inside integrated gradients
    ASSERT_TRUE(child.running()) << "the long job finished before the kill";
    child.kill(); // SIGKILL
    ASSERT_TRUE(child.wait(10000));
    EXPECT_TRUE(child.killedBySignal());

    // 3. Restart: the store opens, the finished job is identical, the killed one interrupted.
    auto store = ts.open();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->interruptedOnOpen(), std::vector<std::string>{longId});
    EXPECT_EQ(exportJson(**store->loadJob(quickId)), quickBefore);
    auto killed = store->loadJob(longId);
    ASSERT_TRUE(killed.ok() && killed->has_value());
    EXPECT_EQ((*killed)->status, JobStatus::Interrupted);
    const PairRecord* attention = (*killed)->pair(0, "attention");
    EXPECT_EQ(attention->status, JobStatus::Completed);
    ASSERT_TRUE(attention->result);
    EXPECT_FALSE(attention->result->raw.empty());
    EXPECT_EQ((*killed)->pair(0, "integrated_gradients")->status, JobStatus::Interrupted);

    // 4. Re-run it: only the interrupted pair runs again.
    QueueOptions qo;
    qo.workers = 2;
    qo.intraOpThreads = 1;
    JobQueue queue(store.get(), qo);
    auto again = queue.rerun(longId);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_TRUE(again.value());
    ASSERT_TRUE(waitFinished(queue, longId, 120000));
    const auto done = queue.job(longId);
    EXPECT_EQ(done->status, JobStatus::Completed);
    EXPECT_TRUE(*done->pair(0, "attention")->result == *attention->result) << "the finished pair was kept";
    EXPECT_EQ(done->pair(0, "integrated_gradients")->status, JobStatus::Completed);
}

TEST(Reliability, TwoHundredJobsCancelledAndRequeuedAtRandom) {
    TempStore ts;
    auto store = ts.open();
    ASSERT_TRUE(store);
    QueueOptions qo;
    qo.workers = 2;
    qo.intraOpThreads = 1;
    qo.progressIntervalMs = 20;
    qo.keepFinishedJobs = 50; // also exercises dropping finished jobs from memory
    JobQueue queue(store.get(), qo);
    const auto start = Clock::now();
    std::vector<std::string> ids;
    for (int i = 0; i < 200; ++i) {
        // Sanitizer builds run ~5-10x slower: no integrated gradients there.
        std::vector<std::string> methods = {"attention", "saliency"};
        if (!kSanitized) methods.push_back("integrated_gradients");
        auto s = spec({i % 2 ? "tiny-gpt2" : "tiny-llama"}, methods, "Stress prompt number " + std::to_string(i % 50),
                      {{"max_new_tokens", 3}, {"methods", {{"integrated_gradients", {{"steps", 40}}}}}});
        s.priority = i % 3;
        auto id = queue.submit(s);
        ASSERT_TRUE(id.ok()) << id.error().message;
        ids.push_back(*id);
    }
    int completedSignals = 0;
    QObject::connect(&queue, &JobQueue::pairResultAvailable, [&](const QString&, int, const QString&) {
        ++completedSignals;
    });
    std::mt19937 rng(1234);
    std::map<std::string, int> requeued;
    int cancels = 0, reruns = 0;
    // Chaos while the queue works: cancel running or queued jobs, re-queue
    // finished ones (at most 3 times each).
    const auto chaosEnd = Clock::now() + std::chrono::seconds(4);
    while (Clock::now() < chaosEnd) {
        waitUntil([] { return false; }, 3);
        const std::string& id = ids[rng() % ids.size()];
        auto job = queue.job(id);
        ASSERT_TRUE(job);
        if (!isFinal(job->status)) {
            if (rng() % 2 == 0 && queue.cancelJob(id)) ++cancels;
            else if (!job->pairs.empty() && rng() % 4 == 0) queue.cancelPair(id, 0, job->pairs.back().method);
        } else if (job->status != JobStatus::Completed || rng() % 8 == 0) {
            if (requeued[id] < 3) {
                auto r = queue.rerun(id);
                ASSERT_TRUE(r.ok()) << r.error().message;
                if (r.value()) {
                    ++requeued[id];
                    ++reruns;
                }
            }
        }
    }
    // Then let everything settle.
    ASSERT_TRUE(waitIdle(queue, 50000))
        << "deadlock or runaway: the queue did not become idle";
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("[ stress   ] 200 jobs, %d cancels, %d re-runs, settled in %.1f s\n", cancels, reruns, seconds);
    EXPECT_LT(seconds, 60.0 * kTimeScale);
    EXPECT_GT(cancels, 0);
    EXPECT_GT(reruns, 0);

    int completedPairs = 0;
    for (const auto& id : ids) {
        auto job = queue.job(id);
        ASSERT_TRUE(job) << id;
        EXPECT_TRUE(isFinal(job->status)) << id;
        bool anyCompleted = false, allFailed = true;
        for (const auto& p : job->pairs) {
            EXPECT_TRUE(isFinal(p.status)) << id << " " << p.method;
            EXPECT_NE(p.status, JobStatus::Interrupted);
            EXPECT_EQ(p.status == JobStatus::Completed, static_cast<bool>(p.result)) << id << " " << p.method;
            anyCompleted |= p.status == JobStatus::Completed;
            allFailed &= p.status == JobStatus::Failed;
            completedPairs += p.status == JobStatus::Completed ? 1 : 0;
        }
        if (job->status == JobStatus::Completed) {
            EXPECT_TRUE(anyCompleted) << id;
        }
        if (job->status == JobStatus::Failed) {
            EXPECT_TRUE(allFailed) << id;
        }
        // What the store holds is what the queue says.
        auto stored = store->loadJob(id, false);
        ASSERT_TRUE(stored.ok() && stored->has_value()) << id;
        EXPECT_EQ((*stored)->status, job->status) << id;
        for (size_t i = 0; i < job->pairs.size(); ++i) {
            EXPECT_EQ((*stored)->pairs[i].status, job->pairs[i].status) << id;
        }
    }
    EXPECT_GT(completedPairs, 0);
    EXPECT_GE(completedSignals, completedPairs);
}
