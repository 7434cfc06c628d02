// The job queue: staged results (cheap methods first), statuses, progress
// and ETA, cancel latency, failing pairs, the result cache, follow-ups and
// batch files.

#include "jobs_test_util.h"

#include <algorithm>

#include "run/caches.h"

#include <QTemporaryDir>

#include <cstdio>
#include <fstream>
#include <map>

using namespace tokenlens;
using namespace tokenlens::jobs;
using namespace tokenlens::jobs::testing;
using Clock = std::chrono::steady_clock;

namespace {

struct PairEvent {
    int modelIndex;
    std::string method;
    JobStatus status;
    double ms;
};

// Records every signal of one queue.
struct Recorder {
    Clock::time_point start = Clock::now();
    std::vector<PairEvent> pairEvents;
    std::vector<std::pair<std::string, double>> results; // method, ms
    std::vector<std::pair<int, double>> progress;        // permille, eta
    std::vector<JobStatus> jobStatuses;
    std::vector<std::string> failures;
    std::vector<std::string> jobFailures;

    explicit Recorder(JobQueue& q) {
        QObject::connect(&q, &JobQueue::pairStatusAvailable,
                         [this](const QString&, int mi, const QString& m, JobStatus st) {
                             pairEvents.push_back({mi, m.toStdString(), st, msSince(start)});
                         });
        QObject::connect(&q, &JobQueue::pairResultAvailable, [this](const QString&, int, const QString& m) {
            results.emplace_back(m.toStdString(), msSince(start));
        });
        QObject::connect(&q, &JobQueue::progressAvailable,
                         [this](const QString&, int p, double eta) { progress.emplace_back(p, eta); });
        QObject::connect(&q, &JobQueue::jobStatusAvailable,
                         [this](const QString&, JobStatus st) { jobStatuses.push_back(st); });
        QObject::connect(&q, &JobQueue::pairFailed, [this](const QString&, int, const QString& m, const QString& e) {
            failures.push_back(m.toStdString() + ": " + e.toStdString());
        });
        QObject::connect(&q, &JobQueue::jobFailed,
                         [this](const QString&, const QString& e) { jobFailures.push_back(e.toStdString()); });
    }
};

QueueOptions options(int workers, int progressMs = 100) {
    QueueOptions o;
    o.workers = workers;
    o.intraOpThreads = 1; // the test machine is shared: never oversubscribe it
    o.progressIntervalMs = progressMs;
    return o;
}

} // namespace

TEST(JobQueue, PairsRunCheapestMethodFirst) {
    // One worker: the pairs run strictly in the staged order.
    JobQueue queue(nullptr, options(1));
    Recorder rec(queue);
    auto s = spec({"tiny-qwen2"}, {"integrated_gradients", "occlusion", "attention", "saliency"}, "The quick brown fox",
                  {{"max_new_tokens", 6}, {"methods", {{"integrated_gradients", {{"steps", 200}}}}}});
    rec.start = Clock::now();
    auto id = queue.submit(s);
    ASSERT_TRUE(id.ok()) << id.error().message;
    ASSERT_TRUE(waitFinished(queue, *id));
    std::vector<std::string> order;
    for (const auto& [m, ms] : rec.results) order.push_back(m);
    EXPECT_EQ(order, (std::vector<std::string>{"attention", "saliency", "occlusion", "integrated_gradients"}));
    const auto job = queue.job(*id);
    ASSERT_TRUE(job);
    EXPECT_EQ(job->status, JobStatus::Completed);
    std::printf("[ staged   ] 1 worker, tiny-qwen2: attention after %.0f ms, integrated_gradients after %.0f ms\n",
                rec.results.front().second, rec.results.back().second);
}

TEST(JobQueue, FirstStagedResultArrivesWhileIntegratedGradientsRuns) {
    for (const std::string fixture : {"tiny-gpt2", "tiny-llama", "tiny-qwen2"}) {
        // A new queue and model cache: the time includes loading the model.
        JobQueue queue(nullptr, options(2));
        Recorder rec(queue);
        auto s = spec({fixture}, {"integrated_gradients", "attention"}, "The quick brown fox",
                      {{"max_new_tokens", 6}, {"methods", {{"integrated_gradients", {{"steps", 300}}}}}});
        rec.start = Clock::now();
        auto id = queue.submit(s);
        ASSERT_TRUE(id.ok()) << id.error().message;
        ASSERT_TRUE(waitFinished(queue, *id));
        ASSERT_EQ(rec.results.size(), 2u);
        EXPECT_EQ(rec.results[0].first, "attention");
        const double first = rec.results[0].second, ig = rec.results[1].second;
        std::printf("[ staged   ] %s: submit -> first staged result (attention, model load included) %.0f ms; "
                    "integrated_gradients (300 steps) done at %.0f ms\n",
                    fixture.c_str(), first, ig);
        // The wall-clock figure is printed, not asserted (it depends on the
        // machine's load); what must hold is the order: staged before IG ends.
        EXPECT_LT(first, ig);
    }
}

TEST(JobQueue, PairAndJobStatusesProgressAndEta) {
    JobQueue queue(nullptr, options(1, 20));
    Recorder rec(queue);
    auto s = spec({"tiny-gpt2"}, {"attention", "integrated_gradients"}, "Hello there, how are",
                  {{"max_new_tokens", 5}, {"methods", {{"integrated_gradients", {{"steps", 300}}}}}});
    auto id = queue.submit(s);
    ASSERT_TRUE(id.ok()) << id.error().message;
    ASSERT_TRUE(waitFinished(queue, *id));
    EXPECT_EQ(rec.jobStatuses,
              (std::vector<JobStatus>{JobStatus::Queued, JobStatus::Running, JobStatus::Completed}));
    std::map<std::string, std::vector<JobStatus>> perPair;
    for (const auto& e : rec.pairEvents) perPair[e.method].push_back(e.status);
    for (const auto& m : {"attention", "integrated_gradients"}) {
        EXPECT_EQ(perPair[m], (std::vector<JobStatus>{JobStatus::Running, JobStatus::Completed})) << m;
    }
    ASSERT_GE(rec.progress.size(), 3u);
    int last = -1;
    bool sawEta = false;
    for (const auto& [p, eta] : rec.progress) {
        EXPECT_GE(p, last) << "progress must not go back";
        EXPECT_LE(p, 1000);
        last = p;
        if (p > 0 && p < 1000 && eta >= 0) sawEta = true;
    }
    EXPECT_EQ(rec.progress.back().first, 1000);
    EXPECT_EQ(rec.progress.back().second, 0.0);
    EXPECT_TRUE(sawEta) << "an ETA while the job ran";
    EXPECT_EQ(queue.progress(*id), 1000);
    const auto job = queue.job(*id);
    ASSERT_TRUE(job);
    for (const auto& p : job->pairs) {
        EXPECT_EQ(p.status, JobStatus::Completed);
        EXPECT_FALSE(p.startedAt.empty());
        EXPECT_FALSE(p.finishedAt.empty());
        EXPECT_GT(p.seconds, 0.0);
        ASSERT_TRUE(p.result);
        EXPECT_EQ(p.result->method, p.method);
    }
}

namespace {

// Starts `s`, waits until `method` has run for `runMs`, cancels it (the pair
// or the whole job) and returns the milliseconds until the queue reported it
// cancelled (the worker stopped). `etaMs` receives the queue's estimate of
// the time the job still needed when it was cancelled.
//
// The 200 ms target is measured by tests/bench/bench_jobs (docs/benchmarks.md);
// a unit test on a shared machine cannot hold a wall-clock bound, so the tests
// assert what cancelling means: the pair stops at its next chunk, long before
// the work would have finished.
double cancelLatency(const Job& s, const std::string& method, bool wholeJob, int runMs, double* etaMs = nullptr) {
    JobQueue queue(nullptr, options(1));
    Clock::time_point cancelAt{};
    double latency = -1;
    bool running = false;
    std::string id;
    QObject::connect(&queue, &JobQueue::pairStatusAvailable,
                     [&](const QString&, int, const QString& m, JobStatus st) {
                         if (m.toStdString() != method) return;
                         if (st == JobStatus::Running) running = true;
                         if (st == JobStatus::Cancelled && !wholeJob) latency = msSince(cancelAt);
                     });
    QObject::connect(&queue, &JobQueue::jobStatusAvailable, [&](const QString&, JobStatus st) {
        if (st == JobStatus::Cancelled && wholeJob) latency = msSince(cancelAt);
    });
    auto submitted = queue.submit(s);
    EXPECT_TRUE(submitted.ok()) << (submitted.ok() ? "" : submitted.error().message);
    if (!submitted) return -1;
    id = *submitted;
    EXPECT_TRUE(waitUntil([&] { return running; }));
    // Well inside the method (past model load and generation).
    EXPECT_TRUE(waitUntil([&] { return queue.progress(id) > 0; }));
    waitUntil([] { return false; }, runMs);
    EXPECT_FALSE(isFinal(queue.job(id)->status)) << method << " finished before it could be cancelled";
    if (etaMs) *etaMs = queue.etaSeconds(id) * 1000.0;
    cancelAt = Clock::now();
    const bool accepted = wholeJob ? queue.cancelJob(id) : queue.cancelPair(id, 0, method);
    EXPECT_TRUE(accepted);
    EXPECT_TRUE(waitUntil([&] { return latency >= 0; }, 10000));
    EXPECT_TRUE(waitFinished(queue, id));
    const auto job = queue.job(id);
    EXPECT_EQ(job->pair(0, method)->status, JobStatus::Cancelled);
    EXPECT_FALSE(job->pair(0, method)->result) << "a cancelled pair's result is dropped";
    return latency;
}

} // namespace

// Stopped at the next chunk: well under the remaining time (ETA) and under a
// second however loaded the machine; a worker that ran to the end would take
// the whole ETA.
void expectPromptCancel(double latency, double etaMs, const std::string& what) {
    EXPECT_GT(etaMs, 1000.0) << what << ": the job was nearly done when cancelled";
    EXPECT_LT(latency, std::min(0.5 * etaMs, 1000.0 * kTimeScale)) << what;
}

TEST(JobQueue, CancelStopsIntegratedGradientsAtTheNextChunk) {
    for (const std::string fixture : {"tiny-qwen2", "tiny-gpt2", "tiny-llama"}) {
        auto s = spec({fixture}, {"attention", "integrated_gradients"}, "The quick brown fox jumps over",
                      {{"max_new_tokens", 8}, {"methods", {{"integrated_gradients", {{"steps", 2000}}}}}});
        double eta = 0;
        const double pair = cancelLatency(s, "integrated_gradients", false, 400, &eta);
        std::printf("[ cancel   ] integrated_gradients (2000 steps, %s): pair cancel took %.1f ms (%.0f ms were left)\n",
                    fixture.c_str(), pair, eta);
        expectPromptCancel(pair, eta, fixture);
        if (fixture != "tiny-qwen2") continue;
        const double job = cancelLatency(s, "integrated_gradients", true, 400, &eta);
        std::printf("[ cancel   ] integrated_gradients (2000 steps, %s): job cancel took %.1f ms (%.0f ms were left)\n",
                    fixture.c_str(), job, eta);
        expectPromptCancel(job, eta, fixture + " (job)");
    }
}

TEST(JobQueue, CancelStopsOcclusionAtTheNextChunk) {
    std::string prompt;
    for (int i = 0; i < 26; ++i) prompt += "the quick brown fox jumps over the lazy dog ";
    nlohmann::json o = {{"memory_budget_mb", 4096}};
    Job s = spec({"tiny-qwen2"}, {"occlusion"}, prompt, o);
    s.targetText = "and then the dog woke up and chased the fox all the way back to the river bank where it slept";
    double eta = 0;
    const double latency = cancelLatency(s, "occlusion", false, 300, &eta);
    std::printf("[ cancel   ] occlusion (%zu-byte prompt, tiny-qwen2): pair cancel took %.1f ms (%.0f ms were left)\n",
                prompt.size(), latency, eta);
    expectPromptCancel(latency, eta, "occlusion");
}

TEST(JobQueue, FailingPairFailsAlone) {
    JobQueue queue(nullptr, options(2));
    Recorder rec(queue);
    auto s = spec({"tiny-gpt2", "/nonexistent/model-folder"}, {"attention", "saliency", "integrated_gradients"},
                  "The quick brown fox",
                  {{"max_new_tokens", 3}, {"methods", {{"integrated_gradients", {{"steps", 0}}}}}});
    auto id = queue.submit(s);
    ASSERT_TRUE(id.ok()) << id.error().message;
    ASSERT_TRUE(waitFinished(queue, *id));
    const auto job = queue.job(*id);
    ASSERT_TRUE(job);
    EXPECT_EQ(job->status, JobStatus::Completed);
    EXPECT_EQ(job->pair(0, "attention")->status, JobStatus::Completed);
    EXPECT_EQ(job->pair(0, "saliency")->status, JobStatus::Completed);
    const auto* ig = job->pair(0, "integrated_gradients");
    EXPECT_EQ(ig->status, JobStatus::Failed);
    ASSERT_TRUE(ig->error);
    EXPECT_NE(ig->error->find("steps"), std::string::npos) << *ig->error;
    for (const auto& m : {"attention", "saliency", "integrated_gradients"}) {
        const auto* p = job->pair(1, m);
        EXPECT_EQ(p->status, JobStatus::Failed) << m;
        ASSERT_TRUE(p->error);
        EXPECT_NE(p->error->find("/nonexistent/model-folder"), std::string::npos) << *p->error;
    }
    EXPECT_EQ(rec.failures.size(), 4u);
    EXPECT_TRUE(rec.jobFailures.empty());
}

TEST(JobQueue, JobWhosePairsAllFailReportsJobFailed) {
    JobQueue queue(nullptr, options(1));
    Recorder rec(queue);
    auto id = queue.submit(spec({"/nonexistent/a"}, {"attention"}));
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(waitFinished(queue, *id));
    EXPECT_EQ(queue.job(*id)->status, JobStatus::Failed);
    ASSERT_EQ(rec.jobFailures.size(), 1u);
    EXPECT_NE(rec.jobFailures[0].find("/nonexistent/a"), std::string::npos) << rec.jobFailures[0];
    // A malformed job is refused at submission.
    EXPECT_FALSE(queue.submit(spec({}, {"attention"})).ok());
    EXPECT_FALSE(queue.submit(spec({"tiny-gpt2"}, {"attention"}, "")).ok());
    EXPECT_FALSE(queue.submit(spec({"tiny-gpt2"}, {"attention"}, "x", {{"max_new_tokens", -1}})).ok());
}

TEST(JobQueue, RepeatedPairIsServedFromTheResultCache) {
    JobQueue queue(nullptr, options(2));
    auto s = spec({"tiny-llama"}, {"attention", "saliency", "occlusion"}, "Once upon a time");
    auto first = queue.submit(s);
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(waitFinished(queue, *first));
    const auto a = queue.job(*first);
    for (const auto& p : a->pairs) {
        EXPECT_FALSE(p.fromCache);
        EXPECT_FALSE(p.cacheKey.empty());
    }
    const auto t0 = Clock::now();
    auto second = queue.submit(s);
    ASSERT_TRUE(second.ok());
    ASSERT_TRUE(waitFinished(queue, *second));
    const double ms = msSince(t0);
    const auto b = queue.job(*second);
    ASSERT_EQ(a->pairs.size(), b->pairs.size());
    for (size_t i = 0; i < a->pairs.size(); ++i) {
        EXPECT_EQ(b->pairs[i].status, JobStatus::Completed);
        EXPECT_TRUE(b->pairs[i].fromCache) << b->pairs[i].method;
        EXPECT_EQ(b->pairs[i].cacheKey, a->pairs[i].cacheKey);
        ASSERT_TRUE(b->pairs[i].result);
        EXPECT_TRUE(*b->pairs[i].result == *a->pairs[i].result) << b->pairs[i].method;
    }
    std::printf("[ cache    ] repeated job (3 pairs) served from the cache in %.1f ms\n", ms);
    EXPECT_LT(ms, 1000.0 * kTimeScale);
    // Another option is another result.
    s.options["methods"]["occlusion"]["baseline"] = "unk";
    auto third = queue.submit(s);
    ASSERT_TRUE(third.ok());
    ASSERT_TRUE(waitFinished(queue, *third));
    const auto c = queue.job(*third);
    EXPECT_TRUE(c->pair(0, "attention")->fromCache);
    EXPECT_FALSE(c->pair(0, "occlusion")->fromCache);
    EXPECT_NE(c->pair(0, "occlusion")->cacheKey, a->pair(0, "occlusion")->cacheKey);
}

TEST(JobQueue, ContentHashSeparatesParts) {
    EXPECT_NE(contentHash({"ab", "c"}), contentHash({"a", "bc"}));
    EXPECT_EQ(contentHash({"a", "b"}), contentHash({"a", "b"}));
    EXPECT_EQ(contentHash({}).size(), 64u);
}

TEST(JobQueue, FollowUpsBuildTheConversation) {
    TempStore ts;
    auto store = ts.open();
    ASSERT_TRUE(store);
    JobQueue queue(store.get(), options(2));
    auto first = queue.submit(spec({"tiny-gpt2"}, {"attention"}, "Hello there", {{"max_new_tokens", 3}}));
    ASSERT_TRUE(first.ok());
    // Not finished yet: no follow-up.
    EXPECT_FALSE(queue.followUp(*first, " And then").ok());
    ASSERT_TRUE(waitFinished(queue, *first));
    const auto j1 = queue.job(*first);
    const std::string y1 = j1->pair(0, "attention")->result->output.text;
    ASSERT_FALSE(y1.empty());

    auto second = queue.followUp(*first, " And then");
    ASSERT_TRUE(second.ok()) << second.error().message;
    ASSERT_TRUE(waitFinished(queue, *second));
    const auto j2 = queue.job(*second);
    EXPECT_EQ(j2->prompt, "Hello there" + y1 + " And then");
    EXPECT_EQ(j2->spec.input, " And then");
    EXPECT_EQ(j2->spec.parentJob, *first);
    EXPECT_EQ(j2->pair(0, "attention")->result->input.text, j2->prompt);
    const std::string y2 = j2->pair(0, "attention")->result->output.text;

    auto third = queue.followUp(*second, " Finally");
    ASSERT_TRUE(third.ok()) << third.error().message;
    ASSERT_TRUE(waitFinished(queue, *third));
    const auto j3 = queue.job(*third);
    EXPECT_EQ(j3->prompt, "Hello there" + y1 + " And then" + y2 + " Finally");
    // Turns: X1 Y1 X2 Y2 X3 as byte ranges of the prompt.
    ASSERT_EQ(j3->turns.size(), 5u);
    const std::vector<std::string> texts = {"Hello there", y1, " And then", y2, " Finally"};
    const std::vector<std::string> jobsOf = {*first, *first, *second, *second, *third};
    for (size_t i = 0; i < 5; ++i) {
        const auto& t = j3->turns[i];
        EXPECT_EQ(t.role, i % 2 == 0 ? "input" : "output");
        EXPECT_EQ(t.job, jobsOf[i]);
        EXPECT_EQ(j3->prompt.substr(static_cast<size_t>(t.begin), static_cast<size_t>(t.end - t.begin)), texts[i]);
    }
    auto chain = store->conversation(*third);
    ASSERT_TRUE(chain.ok());
    EXPECT_EQ(chain.value(), (std::vector<std::string>{*first, *second, *third}));
    auto children = store->followUps(*first);
    ASSERT_TRUE(children.ok());
    EXPECT_EQ(children.value(), std::vector<std::string>{*second});
    EXPECT_FALSE(queue.followUp("no-such-job", "x").ok());
}

TEST(JobQueue, JsonlBatchQueuesGoodLinesAndReportsBadOnes) {
    QTemporaryDir dir;
    const std::string file = dir.filePath(QStringLiteral("batch.jsonl")).toStdString();
    {
        std::ofstream out(file);
        out << "\"A prompt as a JSON string\"\n"                             // 1
            << "A plain text prompt, \"quoted\" inside\n"                     // 2
            << "{\"input\": \"An object\", \"methods\": [\"saliency\"]}\n"   // 3
            << "{\"input\": 5}\n"                                            // 4: input must be a string
            << "{\"input\": \"broken\"\n"                                    // 5: not JSON
            << "\n"                                                          // 6: blank, skipped
            << "{\"input\": \"no models\", \"models\": []}\n"                // 7: no model
            << "{\"input\": \"typo\", \"method\": [\"attention\"]}\n";       // 8: unknown key
    }
    JobQueue queue(nullptr, options(2));
    Job defaults = spec({"tiny-gpt2"}, {"attention"}, "", {{"max_new_tokens", 2}});
    auto sub = queue.submitBatchFile(file, defaults);
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    ASSERT_EQ(sub->jobIds.size(), 3u);
    std::vector<int> badLines;
    for (const auto& e : sub->errors) {
        badLines.push_back(e.line);
        EXPECT_NE(e.message.find(file + ":" + std::to_string(e.line)), std::string::npos) << e.message;
    }
    EXPECT_EQ(badLines, (std::vector<int>{4, 5, 7, 8}));
    ASSERT_TRUE(waitIdle(queue));
    const std::vector<std::string> inputs = {"A prompt as a JSON string", "A plain text prompt, \"quoted\" inside",
                                             "An object"};
    for (size_t i = 0; i < 3; ++i) {
        const auto job = queue.job(sub->jobIds[i]);
        EXPECT_EQ(job->status, JobStatus::Completed);
        EXPECT_EQ(job->spec.input, inputs[i]);
    }
    EXPECT_EQ(queue.job(sub->jobIds[2])->spec.methods, std::vector<std::string>{"saliency"});
    EXPECT_FALSE(queue.submitBatchFile(dir.filePath(QStringLiteral("missing.jsonl")).toStdString(), defaults).ok());
}

TEST(JobQueue, HigherPriorityJobsStartFirst) {
    JobQueue queue(nullptr, options(1));
    std::vector<std::string> started;
    QObject::connect(&queue, &JobQueue::jobStatusAvailable, [&](const QString& id, JobStatus st) {
        if (st == JobStatus::Running) started.push_back(id.toStdString());
    });
    // The first job occupies the worker; then low and high wait.
    auto busy = queue.submit(spec({"tiny-gpt2"}, {"attention"}, "busy", {{"max_new_tokens", 2}}));
    auto low = queue.submit(spec({"tiny-gpt2"}, {"attention"}, "low", {{"max_new_tokens", 2}}));
    auto s = spec({"tiny-gpt2"}, {"attention"}, "high", {{"max_new_tokens", 2}});
    s.priority = 5;
    auto high = queue.submit(s);
    ASSERT_TRUE(busy.ok() && low.ok() && high.ok());
    ASSERT_TRUE(waitIdle(queue));
    EXPECT_EQ(started, (std::vector<std::string>{*busy, *high, *low}));
}

TEST(JobQueue, RerunAfterCancelCompletes) {
    JobQueue queue(nullptr, options(2));
    auto s = spec({"tiny-gpt2"}, {"attention", "integrated_gradients"}, "Rerun me",
                  {{"max_new_tokens", 4}, {"methods", {{"integrated_gradients", {{"steps", 400}}}}}});
    auto id = queue.submit(s);
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(waitUntil([&] { return queue.job(*id)->pair(0, "integrated_gradients")->status == JobStatus::Running; }));
    EXPECT_TRUE(queue.cancelJob(*id));
    // Re-queued while its worker is still stopping: the old attempt is stale.
    auto again = queue.rerun(*id);
    ASSERT_TRUE(again.ok()) << again.error().message;
    ASSERT_TRUE(waitFinished(queue, *id));
    const auto job = queue.job(*id);
    EXPECT_EQ(job->status, JobStatus::Completed);
    for (const auto& p : job->pairs) EXPECT_EQ(p.status, JobStatus::Completed) << p.method;
    EXPECT_TRUE(queue.idle());
}
