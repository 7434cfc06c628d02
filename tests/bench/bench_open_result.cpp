// Opening a large result (prints figures; not a test): a 4,096-row x
// 1,024-column result with five methods (3,072 prompt + 1,024 output
// tokens), written the old way (one JSON, matrices inline) and the new way
// (JSON + safetensors sidecar, result/result_sidecar.h), then opened:
//
//   old JSON path   readResultFile of the inline JSON (nlohmann DOM + reader)
//   SAX floor       nlohmann::json::sax_parse of the same text with a handler
//                   that does nothing: what any streaming reader built on
//                   nlohmann costs at least, before storing a number
//   new path        readResultFile of JSON + sidecar (size and CRC-32 checked)
//   store           the job store's blob of one result: compressed JSON (old)
//                   against compressed JSON + float32 matrix (new), read back
//
// Goal: the new path < 300 ms for the five methods. Run on a quiet machine:
//
//   build/release/tests/bench/bench_open_result [--rows R] [--cols C] [--methods M] [--repeat K]
//
// --write FILE writes the result (JSON + sidecar, its prompt in sentence
// segments as granularity "sentence" records them) to FILE and measures
// nothing: the file the GUI is opened on (docs/benchmarks.md).

#include "analysis/segments.h"
#include "jobs/job_store.h"
#include "result/result_json.h"
#include "result/result_sidecar.h"
#include "util/sha256.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace tokenlens;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

JobResult synthetic(int64_t rows, int64_t t, int methods, bool segmented) {
    const int64_t n = rows - t;
    const char* names[] = {"attention", "saliency", "input_x_gradient", "integrated_gradients", "occlusion",
                           "kernel_shap", "lime", "alti"};
    JobResult job;
    job.jobId = "bench-open";
    job.createdAt = job.completedAt = "2026-12-07T00:00:00Z";
    TokenSequence in, out;
    const char* words[] = {" the", " cat", " sat", " on", " a", " warm", " mat", ".", "\n", " and"};
    for (int64_t i = 0; i < n; ++i) {
        in.tokens.push_back(words[i % 10]);
        in.ids.push_back(i % 50000);
        in.text += in.tokens.back();
    }
    for (int64_t j = 0; j < t; ++j) {
        out.tokens.push_back(words[(j * 7 + 3) % 10]);
        out.ids.push_back(j % 50000);
        out.text += out.tokens.back();
    }
    job.input = in;
    std::vector<PromptSegment> segments;
    if (segmented) { // the sentences of the prompt, as a job with granularity "sentence" records them
        const auto [text, offsets] = analysis::joinTokens(in.tokens);
        analysis::GranularitySpec sentence;
        sentence.kind = analysis::Granularity::Sentence;
        if (auto s = analysis::segmentPrompt(text, offsets, {}, sentence)) segments = std::move(*s);
    }
    uint32_t state = 12345;
    for (int m = 0; m < methods; ++m) {
        MethodResult r;
        r.model = "synthetic";
        r.method = names[m % 8];
        r.input = in;
        r.output = out;
        r.contextTokens = in.tokens;
        r.contextTokens.insert(r.contextTokens.end(), out.tokens.begin(), out.tokens.end());
        r.raw = AttributionMatrix::filled(rows, t);
        for (int64_t i = 0; i < rows; ++i) {
            for (int64_t j = 0; j < t; ++j) {
                state = state * 1664525u + 1013904223u;
                if (i <= n + j - 1) r.raw.at(i, j) = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
            }
        }
        r.targetFn = "probability";
        r.reduction = "l2";
        r.stepProbability.assign(static_cast<size_t>(t), 0.5);
        r.stepEntropy.assign(static_cast<size_t>(t), 2.0);
        if (!segments.empty()) {
            r.granularity = "sentence";
            r.promptSegments = segments;
        }
        job.results.push_back(std::move(r));
    }
    return job;
}

struct NoopSax : nlohmann::json::json_sax_t {
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

std::string readAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Median of `repeat` runs of f (ms).
template <class F>
double timed(int repeat, F&& f) {
    std::vector<double> t;
    for (int i = 0; i < repeat; ++i) {
        const auto t0 = Clock::now();
        f();
        t.push_back(ms(Clock::now() - t0));
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

std::string mb(uint64_t bytes) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f MB", static_cast<double>(bytes) / 1e6);
    return b;
}

} // namespace

int main(int argc, char** argv) {
    int64_t rows = 4096, cols = 1024;
    int methods = 5, repeat = 3;
    std::string writeTo;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const long v = std::atol(argv[i + 1]);
        if (a == "--write") writeTo = argv[i + 1];
        else if (a == "--rows") rows = v;
        else if (a == "--cols") cols = v;
        else if (a == "--methods") methods = static_cast<int>(v);
        else if (a == "--repeat") repeat = static_cast<int>(std::max(1L, v));
        else {
            std::fprintf(stderr, "usage: bench_open_result [--rows R] [--cols C] [--methods M] [--repeat K] [--write FILE]\n");
            return 2;
        }
    }
    if (rows <= cols || cols <= 0 || methods <= 0) {
        std::fprintf(stderr, "bench_open_result: need rows > cols > 0 and methods > 0\n");
        return 2;
    }
    if (!writeTo.empty()) {
        const JobResult job = synthetic(rows, cols, methods, true);
        if (auto st = writeResultFiles(writeTo, toJson(job, kInlineMaxCells), job); !st) {
            std::fprintf(stderr, "bench_open_result: %s\n", st.error().message.c_str());
            return 1;
        }
        std::printf("wrote %s (+ sidecar): %lld rows x %lld columns, %d methods, %zu sentence segments\n",
                    writeTo.c_str(), static_cast<long long>(rows), static_cast<long long>(cols), methods,
                    job.results.front().promptSegments.size());
        return 0;
    }
    const fs::path dir = fs::temp_directory_path() / ("tokenlens-bench-open-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::printf("result: %lld rows x %lld columns, %d methods (%lld prompt + %lld output tokens); median of %d\n",
                static_cast<long long>(rows), static_cast<long long>(cols), methods,
                static_cast<long long>(rows - cols), static_cast<long long>(cols), repeat);
    const JobResult job = synthetic(rows, cols, methods, false);

    // Writing (not the goal; for the record).
    const fs::path oldFile = dir / "old.json", newFile = dir / "new.json";
    auto t0 = Clock::now();
    {
        std::ofstream out(oldFile, std::ios::binary);
        out << writeResultJson(job);
    }
    const double writeOld = ms(Clock::now() - t0);
    t0 = Clock::now();
    if (auto st = writeResultFiles(newFile, toJson(job, kInlineMaxCells), job); !st) {
        std::fprintf(stderr, "bench_open_result: %s\n", st.error().message.c_str());
        return 1;
    }
    const double writeNew = ms(Clock::now() - t0);
    const uint64_t sidecarBytes = fs::file_size(sidecarPathFor(newFile));
    std::printf("write: old JSON %s in %.0f ms; new JSON %s + sidecar %s in %.0f ms\n",
                mb(fs::file_size(oldFile)).c_str(), writeOld, mb(fs::file_size(newFile)).c_str(),
                mb(sidecarBytes).c_str(), writeNew);

    // Opening.
    bool ok = true;
    const double oldMs = timed(repeat, [&] { ok &= readResultFile(oldFile).ok(); });
    const std::string text = readAll(oldFile);
    const double saxMs = timed(repeat, [&] {
        NoopSax sax;
        ok &= nlohmann::json::sax_parse(text, &sax);
    });
    const double domMs = timed(repeat, [&] { ok &= !nlohmann::json::parse(text).is_null(); });
    JobResult opened;
    const double newMs = timed(repeat, [&] {
        auto r = readResultFile(newFile);
        ok &= r.ok();
        if (r.ok()) opened = std::move(r.value());
    });
    if (!ok || !(opened.results == job.results)) {
        std::fprintf(stderr, "bench_open_result: a file did not read back as written\n");
        return 1;
    }
    std::printf("open (read file + parse + check):\n");
    std::printf("  old JSON path          %8.0f ms  (of which nlohmann DOM parse alone %.0f ms)\n", oldMs, domMs);
    std::printf("  SAX floor (no-op SAX)  %8.0f ms  (parse only, from memory; any nlohmann streaming reader >= this)\n",
                saxMs);
    std::printf("  new JSON + sidecar     %8.0f ms  (goal < 300 ms)\n", newMs);
    {
        const std::string side = readAll(sidecarPathFor(newFile));
        const double shaMs = timed(1, [&] { (void)sha256Hex(side); });
        std::printf("  (sha256 of the sidecar would add %.0f ms; open checks size + CRC-32 instead)\n", shaMs);
    }

    // The job store's blob of one result (what the Jobs page opens).
    const MethodResult& one = job.results.front();
    QByteArray oldBlob, newBlob;
    const double packOld = timed(1, [&] {
        const std::string t = toJson(one).dump();
        oldBlob = qCompress(QByteArray::fromStdString(t), 6);
    });
    const double packNew = timed(1, [&] { newBlob = jobs::compressResult(one); });
    const double readOld = timed(repeat, [&] { ok &= jobs::uncompressResult(oldBlob, "old blob").ok(); });
    const double readNew = timed(repeat, [&] { ok &= jobs::uncompressResult(newBlob, "new blob").ok(); });
    std::printf("store blob of one result: old (compressed JSON) %s, written %.0f ms, read %.0f ms; "
                "new (JSON + float32) %s, written %.0f ms, read %.0f ms (x%d methods per job)\n",
                mb(static_cast<uint64_t>(oldBlob.size())).c_str(), packOld, readOld,
                mb(static_cast<uint64_t>(newBlob.size())).c_str(), packNew, readNew, methods);
    std::error_code ec;
    fs::remove_all(dir, ec);
    return ok ? 0 : 1;
}
