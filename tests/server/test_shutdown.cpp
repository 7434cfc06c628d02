// Graceful shutdown of `tokenlens-cli serve` on SIGTERM / SIGINT: exit code
// 0, running jobs cancelled (or finished, --on-shutdown finish), and a
// store that opens with every job in a final state.

#include "server_test_util.h"

#include "jobs/job_store.h"

using namespace tokenlens;
using namespace tokenlens::server;
using namespace tokenlens::server::testing;
using nlohmann::json;

namespace {

json slowJob(int steps) {
    json j = cheapJob("tiny-qwen2", "A job the shutdown meets", {"attention", "integrated_gradients"}, 6);
    j["options"]["methods"] = {{"integrated_gradients", {{"steps", steps}}}};
    return j;
}

// Until the job runs its second pair (the attention pair has completed).
bool waitRunning(ApiClient& c, const std::string& id) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(static_cast<int>(30 * kTimeScale));
    while (std::chrono::steady_clock::now() < end) {
        auto st = c.status(id);
        if (st && (*st)["status"] == "running" && (*st)["pairs"][0]["status"] == "completed") return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

} // namespace

TEST(Shutdown, SigtermCancelsRunningJobsAndLeavesAConsistentStore) {
    TempStore store;
    std::string running, queued;
    {
        ServerProcess server({"--workers", "1"}, store.path());
        ASSERT_TRUE(server.ready()) << server.err();
        ApiClient c(server.endpoint());
        auto a = c.submit(slowJob(8192));
        auto b = c.submit(slowJob(8192));
        ASSERT_TRUE(a.ok() && b.ok());
        running = *a;
        queued = *b;
        ASSERT_TRUE(waitRunning(c, running));
        const auto t0 = std::chrono::steady_clock::now();
        server.terminate(SIGTERM);
        ASSERT_TRUE(server.child().wait(30000)) << "the server did not exit";
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::printf("[ shutdown] SIGTERM -> exit in %.0f ms\n", ms);
        EXPECT_FALSE(server.child().killedBySignal());
        EXPECT_EQ(server.child().exitCode(), 0) << server.err();
        EXPECT_NE(server.err().find("shutting down"), std::string::npos) << server.err();
    }
    auto s = store.open();
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->interruptedOnOpen().empty()) << "nothing was left running for the next open to repair";
    for (const auto& id : {running, queued}) {
        auto job = s->loadJob(id, true);
        ASSERT_TRUE(job.ok() && job->has_value()) << id;
        const auto& rec = **job;
        EXPECT_EQ(rec.status, jobs::JobStatus::Cancelled) << id << " is " << jobs::statusName(rec.status);
        for (const auto& p : rec.pairs) EXPECT_TRUE(jobs::isFinal(p.status)) << id << " " << p.method;
    }
    // The running job's attention pair had finished before the signal: kept.
    auto job = s->loadJob(running, true);
    const auto* att = (**job).pair(0, "attention");
    ASSERT_NE(att, nullptr);
    EXPECT_EQ(att->status, jobs::JobStatus::Completed);
    EXPECT_TRUE(att->result);
}

TEST(Shutdown, FinishModeRunsJobsToTheEndAndAnswers503Meanwhile) {
    TempStore store;
    std::string id;
    {
        ServerProcess server({"--on-shutdown", "finish", "--workers", "1"}, store.path());
        ASSERT_TRUE(server.ready()) << server.err();
        ApiClient c(server.endpoint());
        auto a = c.submit(slowJob(48));
        ASSERT_TRUE(a.ok());
        id = *a;
        ASSERT_TRUE(waitRunning(c, id));
        ASSERT_EQ(c.get("/api/health").status, 200); // keeps the connection open
        server.terminate(SIGINT);
        // While the job finishes, the open connection is answered 503 with Retry-After.
        int status = 0;
        std::string retry;
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(scaledMs(10000));
        while (std::chrono::steady_clock::now() < end) {
            auto r = c.get("/api/health");
            status = r.status;
            retry = r.header("retry-after");
            if (status != 200) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::printf("[ shutdown] health while finishing: %d (Retry-After %s)\n", status, retry.c_str());
        if (status != 0) {
            EXPECT_EQ(status, 503);
            EXPECT_FALSE(retry.empty());
        }
        ASSERT_TRUE(server.child().wait(60000));
        EXPECT_EQ(server.child().exitCode(), 0) << server.err();
    }
    auto s = store.open();
    ASSERT_TRUE(s);
    auto job = s->loadJob(id, false);
    ASSERT_TRUE(job.ok() && job->has_value());
    EXPECT_EQ((**job).status, jobs::JobStatus::Completed);
}
