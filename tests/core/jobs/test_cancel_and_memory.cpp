// A cancelled pair on a generated model in GPT-2-small shapes ends
// cancelled — never failed — with nothing of it in the store; and every
// pair that ran reports the peak resident memory of its run, in the queue,
// the store (through its result) and the result JSON.

#include "jobs_test_util.h"

#include "model/model_maker.h"
#include "result/result_json.h"

#include <thread>

using namespace tokenlens;
using namespace tokenlens::jobs;
using namespace tokenlens::jobs::testing;

namespace {

QueueOptions oneWorker() {
    QueueOptions o;
    o.workers = 1;
    o.intraOpThreads = 1;
    return o;
}

// gpt2-small's shapes with 2 of its 12 blocks: 50257 × 768 embeddings (the
// tied head), 1024 × 768 positions and 2 blocks, about 54M floats (0.2 GB).
struct GeneratedGpt2 {
    QTemporaryDir dir;
    std::string path;
    uint64_t weightBytes = 0;
    GeneratedGpt2() {
        MakeModelOptions o;
        o.like = "gpt2-small";
        o.out = dir.filePath(QStringLiteral("gpt2-small-2")).toStdString();
        o.seed = 5;
        o.layers = 2;
        auto made = makeModel(o);
        EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
        if (made.ok()) weightBytes = made->bytes;
        path = o.out.string();
    }
};

std::string longPrompt() {
    std::string text;
    for (int i = 0; i < 80; ++i) text += "The committee met on Tuesday to review the budget. ";
    return text;
}

} // namespace

TEST(CancelInPass, CancelledPairIsCancelledAndNothingIsStored) {
    GeneratedGpt2 model;
    ASSERT_GT(model.weightBytes, 0u);
    TempStore ts;
    std::string id;
    {
        auto store = ts.open();
        ASSERT_TRUE(store);
        JobQueue queue(store.get(), oneWorker());
        Job s;
        s.models = {model.path};
        s.methods = {"integrated_gradients"};
        s.input = longPrompt();
        s.targetText = " It was approved in the end";
        s.options = {{"methods", {{"integrated_gradients", {{"steps", 64}}}}}};
        auto submitted = queue.submit(s);
        ASSERT_TRUE(submitted.ok()) << submitted.error().message;
        id = *submitted;
        ASSERT_TRUE(waitUntil([&] {
            auto j = queue.job(id);
            return j && j->pair(0, "integrated_gradients")->status == JobStatus::Running;
        }));
        // Inside the pass: the first steps' forward and backward take far longer than this.
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        ASSERT_TRUE(queue.cancelJob(id));
        ASSERT_TRUE(waitFinished(queue, id));
        ASSERT_TRUE(waitIdle(queue));
        const auto job = queue.job(id);
        EXPECT_EQ(job->status, JobStatus::Cancelled);
        const PairRecord* p = job->pair(0, "integrated_gradients");
        EXPECT_EQ(p->status, JobStatus::Cancelled);
        EXPECT_EQ(p->error.value_or(""), "cancelled");
        EXPECT_FALSE(p->result);
    }
    // What the store holds once the queue is gone.
    auto store = ts.open();
    ASSERT_TRUE(store);
    auto loaded = store->loadJob(id, /*withResults=*/true);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    ASSERT_TRUE(loaded->has_value());
    const JobRecord& job = **loaded;
    EXPECT_EQ(job.status, JobStatus::Cancelled);
    ASSERT_EQ(job.pairs.size(), 1u);
    EXPECT_EQ(job.pairs[0].status, JobStatus::Cancelled);
    EXPECT_EQ(job.pairs[0].error.value_or(""), "cancelled");
    EXPECT_FALSE(job.pairs[0].result) << "a cancelled pair left a result in the store";
}

TEST(PeakMemory, EveryPairReportsItsPeakResidentMemory) {
    GeneratedGpt2 model;
    ASSERT_GT(model.weightBytes, 0u);
    TempStore ts;
    std::string id;
    int64_t saliencyPeak = 0;
    {
        auto store = ts.open();
        ASSERT_TRUE(store);
        JobQueue queue(store.get(), oneWorker());
        Job s;
        s.models = {model.path};
        s.methods = {"attention", "saliency"};
        s.input = "The committee met on Tuesday to review the budget.";
        s.targetText = " It was approved";
        auto submitted = queue.submit(s);
        ASSERT_TRUE(submitted.ok()) << submitted.error().message;
        id = *submitted;
        ASSERT_TRUE(waitFinished(queue, id));
        const auto job = queue.job(id);
        ASSERT_EQ(job->status, JobStatus::Completed);
        for (const auto& p : job->pairs) {
            SCOPED_TRACE(p.method);
            ASSERT_EQ(p.status, JobStatus::Completed);
            // The weights are resident while a pass runs over them (the head
            // is tied to the embeddings, so every byte is read): the peak
            // holds at least them.
            EXPECT_GE(p.peakRssBytes, static_cast<int64_t>(model.weightBytes));
            ASSERT_TRUE(p.result);
            EXPECT_EQ(p.result->peakRssBytes, p.peakRssBytes);
            // Written to and read back from the result JSON.
            const auto j = toJson(*p.result);
            ASSERT_TRUE(j.contains("peak_rss_bytes"));
            EXPECT_EQ(j["peak_rss_bytes"].get<int64_t>(), p.peakRssBytes);
            if (p.method == "saliency") saliencyPeak = p.peakRssBytes;
        }
    }
    // After a restart: from the stored result.
    auto store = ts.open();
    ASSERT_TRUE(store);
    auto loaded = store->loadJob(id, /*withResults=*/true);
    ASSERT_TRUE(loaded.ok() && loaded->has_value());
    EXPECT_EQ((*loaded)->pair(0, "saliency")->peakRssBytes, saliencyPeak);
}
