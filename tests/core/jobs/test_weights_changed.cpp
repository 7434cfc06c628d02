// A model's weight file truncated on disk while the model is loaded and its
// weights memory-mapped: reading a page past the new end would fault the
// process (SIGBUS). The next pass on the held model is refused naming the
// file, the cache drops the model, and once the file is back a new load runs.

// LibTorch before Qt, whose `slots` macro it uses as a name.
#include <ATen/ATen.h>

#include "../io/io_test_util.h"
#include "jobs_test_util.h"

#include "run/job_runner.h"

using namespace tokenlens;
using namespace tokenlens::jobs;
using namespace tokenlens::jobs::testing;
using tokenlens::testing::readFile;
using tokenlens::testing::writeFile;
namespace fs = std::filesystem;

// Between two passes of one job (the runner holds the model).
TEST(WeightsChanged, ATruncatedFileUnderAHeldModelFailsThePassNamingIt) {
    QTemporaryDir dir;
    const std::string model = dir.filePath(QStringLiteral("copied-gpt2")).toStdString();
    fs::copy(fixtureModel("tiny-gpt2"), model, fs::copy_options::recursive);
    const std::string weights = model + "/model.safetensors";
    const std::string original = readFile(weights);
    ASSERT_GT(original.size(), 1000u);
    auto cache = std::make_shared<ModelCache>();
    RunnerCaches caches;
    caches.models = cache;
    const JobRunner runner(caches);
    const Job job = spec({model}, {"saliency", "input_x_gradient"}, "The quick brown fox", {{"max_new_tokens", 2}});

    auto loaded = runner.load(model);
    ASSERT_TRUE(loaded) << loaded.error().message;
    ASSERT_GT(loaded->model->mappedBytes, original.size() / 2) << "the fixture's weights are used from the mapping";
    auto seq = runner.prepare(*loaded->model, loaded->key, job);
    ASSERT_TRUE(seq) << seq.error().message;
    auto first = runner.runPair(*loaded->model, loaded->key, **seq, job, "saliency");
    ASSERT_EQ(first.result->status, RunStatus::Completed) << first.result->error.value_or("");
    ASSERT_EQ(cache->size(), 1u);

    // Cut to a third: most tensors now lie past the end of the file.
    fs::resize_file(weights, original.size() / 3);
    auto second = runner.runPair(*loaded->model, loaded->key, **seq, job, "input_x_gradient");
    ASSERT_EQ(second.result->status, RunStatus::Failed);
    const std::string msg = second.result->error.value_or("");
    std::printf("[ weights ] truncated under a held model: %s\n", msg.c_str());
    EXPECT_NE(msg.find(weights + ": changed on disk since it was loaded (truncated from " +
                       std::to_string(original.size()) + " to " + std::to_string(original.size() / 3) + " bytes)"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("reload the model"), std::string::npos) << msg;
    EXPECT_TRUE(second.cacheKey.empty());
    EXPECT_EQ(cache->size(), 0u) << "the changed model stays in the cache";
    // Preparing another input on the held model (generation reads the weights) is refused too.
    Job other = job;
    other.input = "Another prompt";
    auto again = runner.prepare(*loaded->model, loaded->key, other);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("changed on disk since it was loaded"), std::string::npos)
        << again.error().message;
    // A new load of the truncated folder is refused naming the file.
    auto cut = runner.load(model);
    ASSERT_FALSE(cut);
    EXPECT_NE(cut.error().message.find("model.safetensors"), std::string::npos) << cut.error().message;

    // Restored in place: the held model stays refused (its stamp is older);
    // a new load maps the file again and runs.
    writeFile(weights, original);
    auto held = runner.runPair(*loaded->model, loaded->key, **seq, job, "input_x_gradient");
    EXPECT_EQ(held.result->status, RunStatus::Failed);
    auto reloaded = runner.load(model);
    ASSERT_TRUE(reloaded) << reloaded.error().message;
    EXPECT_NE(reloaded->model.get(), loaded->model.get());
    auto seq2 = runner.prepare(*reloaded->model, reloaded->key, job);
    ASSERT_TRUE(seq2) << seq2.error().message;
    auto third = runner.runPair(*reloaded->model, reloaded->key, **seq2, job, "input_x_gradient");
    EXPECT_EQ(third.result->status, RunStatus::Completed) << third.result->error.value_or("");
    EXPECT_EQ(cache->size(), 1u);
}

// Between two jobs of the queue (the model cached by the first).
TEST(WeightsChanged, ATruncatedFileBetweenJobsFailsTheNextJobAndARestoredOneRuns) {
    QTemporaryDir dir;
    const std::string model = dir.filePath(QStringLiteral("copied-gpt2")).toStdString();
    fs::copy(fixtureModel("tiny-gpt2"), model, fs::copy_options::recursive);
    const std::string weights = model + "/model.safetensors";
    const std::string original = readFile(weights);
    JobQueue queue(nullptr);
    auto first = queue.submit(spec({model}, {"attention", "saliency"}, "The quick brown fox", {{"max_new_tokens", 2}}));
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_TRUE(waitFinished(queue, *first));
    ASSERT_EQ(queue.job(*first)->status, JobStatus::Completed);
    ASSERT_EQ(queue.modelCache().size(), 1u);

    fs::resize_file(weights, original.size() / 3);
    auto second = queue.submit(spec({model}, {"saliency"}, "Cut short", {{"max_new_tokens", 2}}));
    ASSERT_TRUE(second) << second.error().message;
    ASSERT_TRUE(waitFinished(queue, *second));
    const auto rec = queue.job(*second);
    EXPECT_EQ(rec->status, JobStatus::Failed);
    const std::string msg = rec->error.value_or(rec->pairs[0].error.value_or(""));
    std::printf("[ weights ] truncated between jobs: %s\n", msg.c_str());
    EXPECT_NE(msg.find(weights), std::string::npos) << msg;
    EXPECT_EQ(queue.modelCache().size(), 0u) << "the model of the first job is still cached";

    writeFile(weights, original);
    auto third = queue.submit(spec({model}, {"saliency"}, "Restored", {{"max_new_tokens", 2}}));
    ASSERT_TRUE(third) << third.error().message;
    ASSERT_TRUE(waitFinished(queue, *third));
    EXPECT_EQ(queue.job(*third)->status, JobStatus::Completed)
        << queue.job(*third)->pairs[0].error.value_or("");
}
