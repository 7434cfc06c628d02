// The optional faithfulness stage of a job: options.faithfulness runs the
// metrics after each method in the same pair, the report travels with the
// result (store, export, cache key), and its leave-one-out scores are the
// occlusion matrix (occlusion with the probability target *is* leave-one-out
// with the zero-embedding baseline).

#include "jobs_test_util.h"

#include "result/result_json.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace tokenlens::jobs {
namespace {

using testing::waitFinished;

// The bundled Llama demo model: its probabilities are far from 0, so the
// leave-one-out comparison means something (a random fixture's are ~1e-5).
std::string demoLlama() {
    return (std::filesystem::path(TOKENLENS_TEST_DATA_DIR) / ".." / ".." / "resources" / "models" / "demo-llama").string();
}

Job occlusionJob() {
    Job spec;
    spec.models = {demoLlama()};
    spec.methods = {"occlusion", "saliency"};
    spec.input = "anna has a red ball . tom has a blue cup . mary has a green hat . tom has a";
    spec.targetText = "blue cup";
    spec.options = {{"target_fn", "probability"}, {"faithfulness", true}};
    return spec;
}

TEST(FaithfulnessStage, ReportTravelsWithTheResultAndMatchesOcclusion) {
    QTemporaryDir dir;
    const std::string path = (dir.path() + QStringLiteral("/jobs.sqlite")).toStdString();
    std::string id;
    nlohmann::json occlusionReport;
    {
        auto store = JobStore::open(path);
        ASSERT_TRUE(store.ok()) << store.error().message;
        JobQueue queue(store.value().get());
        auto submitted = queue.submit(occlusionJob());
        ASSERT_TRUE(submitted.ok()) << submitted.error().message;
        id = *submitted;
        ASSERT_TRUE(waitFinished(queue, id));
        auto job = queue.job(id);
        ASSERT_EQ(job->status, JobStatus::Completed);
        for (const char* method : {"occlusion", "saliency"}) {
            auto r = queue.pairResult(id, 0, method);
            ASSERT_TRUE(r);
            ASSERT_TRUE(r->faithfulness.is_object()) << method;
            EXPECT_EQ(r->faithfulness["method"], method);
            EXPECT_EQ(r->faithfulness["baseline"], "zero");
            ASSERT_EQ(r->faithfulness["columns"].size(), r->output.ids.size()) << method;
        }
        auto occ = queue.pairResult(id, 0, "occlusion");
        const auto n = static_cast<int64_t>(occ->input.ids.size());
        ASSERT_EQ(occ->output.ids.size(), 2u);
        // The BOS is protected: candidates are positions 1 .. p_j.
        for (const auto& c : occ->faithfulness["columns"]) {
            const int64_t j = c["column"];
            ASSERT_EQ(c["candidates"].get<int64_t>(), n - 1 + j);
            const auto& loo = c["leave_one_out"];
            double scale = 0;
            for (int64_t i = 1; i < n + j; ++i) scale = std::max(scale, std::abs(static_cast<double>(occ->raw.at(i, j))));
            ASSERT_GT(scale, 1e-3) << "the demo model's answer depends on its evidence";
            for (int64_t i = 1; i < n + j; ++i) {
                EXPECT_NEAR(loo[static_cast<size_t>(i - 1)].get<double>(), occ->raw.at(i, j), 1e-4 * scale + 1e-7)
                    << "column " << j << " row " << i;
            }
            EXPECT_GT(c["kendall_tau"].get<double>(), 0.99);
        }
        occlusionReport = occ->faithfulness;
        // A repeat without the stage is not served the staged result, and vice versa.
        Job plain = occlusionJob();
        plain.options.erase("faithfulness");
        auto again = queue.submit(plain);
        ASSERT_TRUE(again.ok());
        ASSERT_TRUE(waitFinished(queue, *again));
        auto r = queue.pairResult(*again, 0, "occlusion");
        ASSERT_TRUE(r);
        EXPECT_TRUE(r->faithfulness.is_null());
        EXPECT_EQ(r->raw.rows, occ->raw.rows);
    }
    // After a restart: the report is in the store and in the export.
    auto store = JobStore::open(path);
    ASSERT_TRUE(store.ok());
    auto loaded = store.value()->loadJob(id);
    ASSERT_TRUE(loaded.ok() && loaded.value());
    const auto* pair = (*loaded)->pair(0, "occlusion");
    ASSERT_TRUE(pair && pair->result);
    EXPECT_EQ(pair->result->faithfulness, occlusionReport);
    const auto exported = exportJson(**loaded);
    auto back = jobFromJson(exported, "export.json");
    ASSERT_TRUE(back.ok()) << back.error().message;
    bool found = false;
    for (const auto& r : back->results) {
        if (r.method == "occlusion") {
            EXPECT_EQ(r.faithfulness, occlusionReport);
            found = true;
        }
    }
    EXPECT_TRUE(found);
}

TEST(FaithfulnessStage, BadOptionsAreRefusedByName) {
    Job job;
    job.input = "x";
    job.methods = {"saliency"};
    job.options = {{"faithfulness", {{"baseline", "mean"}}}};
    auto v = validateJob(job);
    ASSERT_FALSE(v.ok());
    EXPECT_NE(v.error().message.find("faithfulness"), std::string::npos) << v.error().message;
    job.options = {{"faithfulness", "yes"}};
    EXPECT_FALSE(validateJob(job).ok());
    job.options = {{"faithfulness", {{"baseline", "unk"}, {"fractions", {0.1, 0.5}}}}};
    EXPECT_TRUE(validateJob(job).ok());
    job.options = {{"faithfulness", false}};
    EXPECT_TRUE(validateJob(job).ok());
}

} // namespace
} // namespace tokenlens::jobs
