// Job system benchmark: on each fixture model (tests/data/models/tiny-*),
//  - submit -> first staged result: a fresh JobQueue (new model cache, so the
//    model load is included) runs {attention, integrated_gradients}; the
//    time from submit() to attention's pairResultAvailable;
//  - cancel latency: a running integrated_gradients (2000 steps, cancelled
//    400 ms into the method) and a running occlusion (a prompt as long as the
//    model's positions allow, forced target, cancelled 100 ms into the
//    method) are cancelled with cancelPair(); the time from the call to the
//    queue reporting the pair cancelled (pairStatusAvailable Cancelled, i.e.
//    the worker has stopped). "Into the method" = after the job's progress
//    moved, i.e. past the model load and generation.
// p50 and max over the repeats. Default QueueOptions (what the GUI uses).
//
//   build/release/tests/bench/bench_jobs [--repeats N] [MODEL_DIR...]

#include "jobs/job_queue.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using namespace tokenlens;
using namespace tokenlens::jobs;
using Clock = std::chrono::steady_clock;

namespace {

double msSince(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Runs the event loop until `done()` or `timeoutMs`; returns done().
bool waitUntil(const std::function<bool()>& done, int timeoutMs) {
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

Job makeSpec(const std::string& model, std::vector<std::string> methods, std::string input,
                 nlohmann::json options) {
    Job s;
    s.models = {model};
    s.methods = std::move(methods);
    s.input = std::move(input);
    s.options = std::move(options);
    return s;
}

// Milliseconds from submit() to the first pair result (attention); -1 on failure.
double firstStagedResult(const std::string& model) {
    JobQueue queue(nullptr); // a new model cache: the load is included
    Clock::time_point start;
    double first = -1;
    std::string firstMethod;
    QObject::connect(&queue, &JobQueue::pairResultAvailable, [&](const QString&, int, const QString& m) {
        if (first < 0) {
            first = msSince(start);
            firstMethod = m.toStdString();
        }
    });
    auto s = makeSpec(model, {"integrated_gradients", "attention"}, "The quick brown fox",
                      {{"max_new_tokens", 6}, {"methods", {{"integrated_gradients", {{"steps", 300}}}}}});
    start = Clock::now();
    auto id = queue.submit(s);
    if (!id) {
        std::fprintf(stderr, "submit: %s\n", id.error().message.c_str());
        return -1;
    }
    if (!waitUntil([&] { return first >= 0; }, 120000)) return -1;
    if (firstMethod != "attention") std::fprintf(stderr, "first result was %s, not attention\n", firstMethod.c_str());
    queue.cancelJob(*id);
    waitUntil([&] { return queue.idle(); }, 60000);
    return first;
}

// Milliseconds from cancelPair() to the pair reported cancelled; -1 when the
// pair finished before it could be cancelled or something failed.
double cancelLatency(const Job& s, const std::string& method, int runMs) {
    JobQueue queue(nullptr);
    Clock::time_point cancelAt{};
    double latency = -1;
    bool running = false;
    QObject::connect(&queue, &JobQueue::pairStatusAvailable, [&](const QString&, int, const QString& m, JobStatus st) {
        if (m.toStdString() != method) return;
        if (st == JobStatus::Running) running = true;
        if (st == JobStatus::Cancelled) latency = msSince(cancelAt);
    });
    auto id = queue.submit(s);
    if (!id) {
        std::fprintf(stderr, "submit: %s\n", id.error().message.c_str());
        return -1;
    }
    // Past the model load and generation: the method itself has made progress
    // (or the pair ended, which is reported).
    auto pairEnded = [&] { return isFinal(queue.job(*id)->pair(0, method)->status); };
    auto methodProgress = [&] { return pairEnded() || (running && queue.progress(*id) > 0); };
    if (!waitUntil(methodProgress, 120000)) return -1;
    if (!pairEnded()) waitUntil(pairEnded, runMs);
    if (pairEnded()) {
        const PairRecord* p = queue.job(*id)->pair(0, method);
        std::fprintf(stderr, "%s: %s ended (%s%s%s) before it could be cancelled\n", s.models[0].c_str(),
                     method.c_str(), statusName(p->status), p->error ? ": " : "", p->error.value_or("").c_str());
        return -1;
    }
    cancelAt = Clock::now();
    if (!queue.cancelPair(*id, 0, method)) return -1;
    if (!waitUntil([&] { return latency >= 0; }, 60000)) return -1;
    queue.cancelJob(*id);
    waitUntil([&] { return queue.idle(); }, 60000);
    return latency;
}

// The occlusion prompt: as long as the model's positions allow (about 10
// tokens per sentence, room left for the ~25-token target).
std::string longPrompt(const std::string& model) {
    std::ifstream in(std::filesystem::path(model) / "config.json");
    const auto c = nlohmann::json::parse(in, nullptr, false);
    int64_t positions = 256;
    if (c.is_object()) positions = c.value("n_positions", c.value("max_position_embeddings", positions));
    const int64_t sentences = std::clamp<int64_t>((positions - 40) / 10, 1, 18);
    std::string prompt;
    for (int64_t i = 0; i < sentences; ++i) prompt += "the quick brown fox jumps over the lazy dog ";
    return prompt;
}

struct Stats {
    std::vector<double> v;
    std::string str(int repeats) const {
        if (v.empty()) return "n/a";
        auto s = v;
        std::sort(s.begin(), s.end());
        const double p50 = s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.0f / %.0f", p50, s.back());
        std::string out = buf;
        if (static_cast<int>(s.size()) < repeats) out += " (" + std::to_string(s.size()) + " runs)";
        return out;
    }
};

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    int repeats = 5;
    std::vector<std::string> models;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
        else models.emplace_back(argv[i]);
    }
    if (models.empty()) {
        for (const char* name : {"tiny-gpt2", "tiny-llama", "tiny-qwen2"})
            models.push_back((std::filesystem::path(TOKENLENS_TEST_DATA_DIR) / "models" / name).string());
    }

    const std::string target =
        "and then the dog woke up and chased the fox all the way back to the river bank where it slept";

    std::printf("%d repeats; figures are p50 / max in ms\n\n", repeats);
    std::printf("| model | submit -> first staged result (attention, load included) | cancel integrated_gradients | cancel occlusion |\n");
    std::printf("|---|---|---|---|\n");
    for (const auto& model : models) {
        Stats staged, ig, occ;
        for (int r = 0; r < repeats; ++r) {
            if (double ms = firstStagedResult(model); ms >= 0) staged.v.push_back(ms);
            auto igSpec = makeSpec(model, {"attention", "integrated_gradients"}, "The quick brown fox jumps over",
                                   {{"max_new_tokens", 8}, {"methods", {{"integrated_gradients", {{"steps", 2000}}}}}});
            if (double ms = cancelLatency(igSpec, "integrated_gradients", 400); ms >= 0) ig.v.push_back(ms);
            auto occSpec = makeSpec(model, {"occlusion"}, longPrompt(model), {{"memory_budget_mb", 4096}});
            occSpec.targetText = target;
            if (double ms = cancelLatency(occSpec, "occlusion", 100); ms >= 0) occ.v.push_back(ms);
        }
        const std::string name = std::filesystem::path(model).filename().string();
        std::printf("| %s | %s | %s | %s |\n", name.c_str(), staged.str(repeats).c_str(), ig.str(repeats).c_str(),
                    occ.str(repeats).c_str());
        std::fflush(stdout);
    }
    return 0;
}
