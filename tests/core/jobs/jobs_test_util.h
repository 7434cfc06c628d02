#pragma once
// Helpers of the job tests: fixture models, temporary stores, and running
// the event loop until something happened.

#include "jobs/job_queue.h"
#include "jobs/job_store.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTemporaryDir>
#include <QTimer>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace tokenlens::jobs::testing {

inline std::string fixtureModel(const std::string& name) {
    return (std::filesystem::path(TOKENLENS_TEST_DATA_DIR) / "models" / name).string();
}

// Runs the event loop until `done()` or `timeoutMs`; returns done().
inline bool waitUntil(const std::function<bool()>& done, int timeoutMs = 30000) {
    if (done()) return true;
    QEventLoop loop;
    QTimer poll;
    poll.setInterval(2);
    QObject::connect(&poll, &QTimer::timeout, [&] {
        if (done()) loop.quit();
    });
    QTimer deadline;
    deadline.setSingleShot(true);
    QObject::connect(&deadline, &QTimer::timeout, [&] { loop.quit(); });
    poll.start();
    deadline.start(timeoutMs);
    loop.exec();
    return done();
}

inline bool waitFinished(JobQueue& queue, const std::string& id, int timeoutMs = 60000) {
    return waitUntil(
        [&] {
            auto j = queue.job(id);
            return j && isFinal(j->status);
        },
        timeoutMs);
}

inline bool waitIdle(JobQueue& queue, int timeoutMs = 60000) {
    return waitUntil([&] { return queue.idle(); }, timeoutMs);
}

inline JobSpec spec(std::vector<std::string> models, std::vector<std::string> methods,
                    const std::string& input = "The quick brown fox",
                    nlohmann::json options = {{"max_new_tokens", 4}}) {
    JobSpec s;
    for (auto& m : models) s.models.push_back(m.find('/') == std::string::npos ? fixtureModel(m) : m);
    s.methods = std::move(methods);
    s.input = input;
    s.options = std::move(options);
    return s;
}

inline double msSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// A store in a fresh temporary folder.
struct TempStore {
    QTemporaryDir dir;
    std::string path() const { return dir.filePath(QStringLiteral("jobs.sqlite")).toStdString(); }
    std::unique_ptr<JobStore> open() const {
        auto s = JobStore::open(path());
        EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
        return s.ok() ? std::move(s.value()) : nullptr;
    }
};

} // namespace tokenlens::jobs::testing
