// A bounded load test: 50 clients polling job status and 20 cheap jobs
// submitted while 5 WebSocket subscribers listen, at most 30 s. Prints
// requests/s, latency percentiles and errors; asserts no errors and that
// every subscriber saw every job's events in order, ending in a final status.

#include "server_test_util.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>

using namespace tokenlens::server;
using namespace tokenlens::server::testing;
using nlohmann::json;

TEST(Load, PollersSubmitterAndSubscribers) {
    constexpr int kPollers = 50, kJobs = 20, kSubscribers = 5;
    ServerProcess server({"--max-queued", "64", "--io-threads", "2"});
    ASSERT_TRUE(server.ready()) << server.err();

    // Subscribers first, so they see every job from its first event.
    std::vector<std::unique_ptr<EventStream>> subs;
    std::vector<uint64_t> startSeq;
    for (int i = 0; i < kSubscribers; ++i) {
        subs.push_back(std::make_unique<EventStream>(server.endpoint()));
        ASSERT_TRUE(subs.back()->open("/api/ws/jobs").ok());
        auto snap = subs.back()->next(std::chrono::milliseconds(scaledMs(10000)));
        ASSERT_TRUE(snap && (*snap)["type"] == "snapshot");
        startSeq.push_back((*snap)["seq"].get<uint64_t>());
    }
    std::vector<std::vector<json>> seen(kSubscribers);
    std::atomic<bool> stopListening{false};
    std::vector<std::thread> listeners;
    for (int i = 0; i < kSubscribers; ++i) {
        listeners.emplace_back([&, i] {
            while (!stopListening.load()) {
                if (auto e = subs[static_cast<size_t>(i)]->next(std::chrono::milliseconds(200))) seen[static_cast<size_t>(i)].push_back(*e);
                else if (subs[static_cast<size_t>(i)]->closed()) break;
            }
        });
    }

    std::mutex idsMutex;
    std::vector<std::string> ids;
    std::atomic<int> errors{0}, finished{0};
    std::atomic<bool> stopPolling{false};
    std::mutex latMutex;
    std::vector<double> latencies;
    std::vector<std::string> errorSamples;
    auto noteError = [&](const std::string& what) {
        ++errors;
        std::lock_guard lock(latMutex);
        if (errorSamples.size() < 5) errorSamples.push_back(what);
    };
    const auto t0 = std::chrono::steady_clock::now();
    const auto deadline = t0 + std::chrono::milliseconds(scaledMs(30000));

    std::thread submitter([&] {
        ApiClient c(server.endpoint());
        const char* models[] = {"tiny-gpt2", "tiny-llama", "tiny-qwen2"};
        for (int i = 0; i < kJobs; ++i) {
            const auto start = std::chrono::steady_clock::now();
            auto r = c.post("/api/jobs", cheapJob(models[i % 3], "Load test prompt number " + std::to_string(i),
                                                  i % 2 ? std::vector<std::string>{"attention"}
                                                        : std::vector<std::string>{"attention", "saliency"},
                                                  2));
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            if (r.status != 201) {
                noteError("submit: " + std::to_string(r.status) + " " + r.message());
                continue;
            }
            {
                std::lock_guard lock(latMutex);
                latencies.push_back(ms);
            }
            std::lock_guard lock(idsMutex);
            ids.push_back(r.json()["job_id"]);
        }
    });

    std::vector<std::thread> pollers;
    std::vector<std::set<std::string>> finals(kPollers);
    for (int p = 0; p < kPollers; ++p) {
        pollers.emplace_back([&, p] {
            ApiClient c(server.endpoint());
            std::mt19937 rng(static_cast<unsigned>(p));
            std::vector<double> mine;
            while (!stopPolling.load() && std::chrono::steady_clock::now() < deadline) {
                std::string id;
                {
                    std::lock_guard lock(idsMutex);
                    if (!ids.empty()) id = ids[rng() % ids.size()];
                }
                const auto start = std::chrono::steady_clock::now();
                auto r = id.empty() ? c.get("/api/health") : c.get("/api/jobs/" + id + "/status");
                mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
                if (r.status != 200) {
                    noteError((id.empty() ? "health: " : "status: ") + std::to_string(r.status) + " " + r.message());
                    continue;
                }
                if (!id.empty()) {
                    const std::string st = r.json().value("status", "");
                    if (st != "queued" && st != "running") finals[static_cast<size_t>(p)].insert(id);
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            std::lock_guard lock(latMutex);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    }
    submitter.join();
    // Until every job is final (seen by the status endpoint), within the bound.
    ApiClient checker(server.endpoint());
    std::vector<std::string> allIds;
    {
        std::lock_guard lock(idsMutex);
        allIds = ids;
    }
    for (const auto& id : allIds) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto st = checker.waitFinished(id, std::max(left, std::chrono::milliseconds(1)), std::chrono::milliseconds(50));
        if (st && st->value("status", "") == "completed") ++finished;
    }
    stopPolling.store(true);
    for (auto& t : pollers) t.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The last events are on their way: a moment for them to arrive.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    stopListening.store(true);
    for (auto& t : listeners) t.join();

    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double q) {
        return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, static_cast<size_t>(q * static_cast<double>(latencies.size())))];
    };
    size_t events = 0;
    for (const auto& s : seen) events += s.size();
    std::printf("[ load    ] %d pollers, %d jobs, %d subscribers: %zu requests in %.2f s = %.0f requests/s; "
                "latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d errors; %zu events delivered (%zu per subscriber)\n",
                kPollers, kJobs, kSubscribers, latencies.size(), seconds, static_cast<double>(latencies.size()) / seconds,
                pct(0.5), pct(0.99), latencies.empty() ? 0.0 : latencies.back(), errors.load(), events,
                events / kSubscribers);
    for (const auto& e : errorSamples) std::printf("[ load    ] error: %s\n", e.c_str());

    EXPECT_EQ(errors.load(), 0);
    ASSERT_EQ(allIds.size(), static_cast<size_t>(kJobs));
    EXPECT_EQ(finished.load(), kJobs) << "every job completed";
    EXPECT_LT(seconds, 30.0 * kTimeScale + 5);

    for (int i = 0; i < kSubscribers; ++i) {
        const auto& evs = seen[static_cast<size_t>(i)];
        uint64_t seq = startSeq[static_cast<size_t>(i)];
        std::map<std::string, std::vector<json>> perJob;
        for (const auto& e : evs) {
            ASSERT_EQ(e["seq"].get<uint64_t>(), seq + 1) << "subscriber " << i << ": a gap or reordering at " << e.dump();
            seq = e["seq"].get<uint64_t>();
            perJob[e["job_id"].get<std::string>()].push_back(e);
        }
        for (const auto& id : allIds) {
            auto it = perJob.find(id);
            ASSERT_NE(it, perJob.end()) << "subscriber " << i << " saw nothing of job " << id;
            const auto& list = it->second;
            for (size_t k = 0; k < list.size(); ++k) {
                EXPECT_EQ(list[k]["job_seq"].get<uint64_t>(), k + 1) << "subscriber " << i << ", job " << id;
            }
            EXPECT_EQ(list.front()["type"], "job");
            EXPECT_EQ(list.back()["type"], "status") << list.back().dump();
            EXPECT_EQ(list.back()["status"], "completed") << "subscriber " << i << ", job " << id;
        }
    }
}
