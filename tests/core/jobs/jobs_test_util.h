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
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace tokenlens::jobs::testing {

// Time bounds are asserted as given in Release; sanitizer builds run several
// times slower, so their waits and bounds are kTimeScale times looser:
// $TOKENLENS_TEST_TIME_SCALE when set (1 to 100; scripts/test.sh sets it for
// its TSan stage), else 5 in a sanitizer build and 1 otherwise.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

inline double readTimeScale() {
    if (const char* s = std::getenv("TOKENLENS_TEST_TIME_SCALE")) {
        char* end = nullptr;
        const double v = std::strtod(s, &end);
        if (end != s && *end == '\0' && v >= 1 && v <= 100) return v;
        std::fprintf(stderr, "TOKENLENS_TEST_TIME_SCALE=%s is not a number from 1 to 100; ignored\n", s);
    }
    return kSanitized ? 5 : 1;
}
inline const double kTimeScale = readTimeScale();

// A wait of `ms` milliseconds scaled by kTimeScale.
inline int scaledMs(int ms) { return static_cast<int>(ms * kTimeScale); }

inline std::string fixtureModel(const std::string& name) {
    return (std::filesystem::path(TOKENLENS_TEST_DATA_DIR) / "models" / name).string();
}

// Runs the event loop until `done()` or `timeoutMs` (by default 30 s scaled
// by kTimeScale); returns done(). A timeout given is used as given (some
// callers sleep with it).
inline bool waitUntil(const std::function<bool()>& done, int timeoutMs = -1) {
    if (timeoutMs < 0) timeoutMs = scaledMs(30000);
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

// These two scale their timeout by kTimeScale.
inline bool waitFinished(JobQueue& queue, const std::string& id, int timeoutMs = 60000) {
    return waitUntil(
        [&] {
            auto j = queue.job(id);
            return j && isFinal(j->status);
        },
        static_cast<int>(timeoutMs * kTimeScale));
}

inline bool waitIdle(JobQueue& queue, int timeoutMs = 60000) {
    return waitUntil([&] { return queue.idle(); }, static_cast<int>(timeoutMs * kTimeScale));
}

inline Job spec(std::vector<std::string> models, std::vector<std::string> methods,
                    const std::string& input = "The quick brown fox",
                    nlohmann::json options = {{"max_new_tokens", 4}}) {
    Job s;
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

// A child process (tokenlens-cli) started with posix_spawn, its standard
// output and error going to files. Not QProcess: Qt's fork helper trips
// ThreadSanitizer ("starting new threads after multi-threaded fork").
class Child {
public:
    Child() = default;
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (running()) {
            ::kill(m_pid, SIGKILL);
            wait(5000);
        }
    }

    bool start(const std::vector<std::string>& args, const std::string& outFile, const std::string& errFile) {
        m_out = outFile;
        m_err = errFile;
        std::vector<std::string> all = {TOKENLENS_CLI_PATH};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, m_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&actions, 2, m_err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int rc = posix_spawn(&m_pid, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) m_pid = -1;
        return rc == 0;
    }
    bool running() {
        if (m_pid <= 0 || m_done) return false;
        int status = 0;
        const pid_t r = ::waitpid(m_pid, &status, WNOHANG);
        if (r == m_pid) finish(status);
        return !m_done;
    }
    // Waits up to `timeoutMs` scaled by kTimeScale; false on timeout.
    bool wait(int timeoutMs) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(scaledMs(timeoutMs));
        while (running()) {
            if (std::chrono::steady_clock::now() > end) return false;
            ::usleep(5000);
        }
        return m_done;
    }
    void kill() {
        if (m_pid > 0 && !m_done) ::kill(m_pid, SIGKILL);
    }
    void signal(int sig) {
        if (m_pid > 0 && !m_done) ::kill(m_pid, sig);
    }
    pid_t pid() const { return m_pid; }
    bool killedBySignal() const { return m_signalled; }
    int exitCode() const { return m_exitCode; }
    std::string out() const { return read(m_out); }
    std::string err() const { return read(m_err); }

private:
    void finish(int status) {
        m_done = true;
        m_signalled = WIFSIGNALED(status);
        m_exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    static std::string read(const std::string& file) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    pid_t m_pid = -1;
    bool m_done = false, m_signalled = false;
    int m_exitCode = -1;
    std::string m_out, m_err;
};

} // namespace tokenlens::jobs::testing
