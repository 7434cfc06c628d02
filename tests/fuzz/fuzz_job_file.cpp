// libFuzzer target: the one job parser (run/job.h readJob) on job files and
// .jsonl batches. The whole input is read as a batch file by the batch reader
// (jobs/batch.h parseBatch: line splitting, CRLF, blank lines, JSON strings,
// plain-text prompts, objects over the defaults): every non-blank line becomes
// exactly one job or one error, in order, with its own line number; an error
// names the file and the line; a plain-text line is the prompt as written; an
// accepted job writes back to the same job. Then each line of the input that
// is JSON is read as a job file (with the batch's defaults) and as an API
// request (complete mode). What is accepted must write back to JSON that reads
// as the same job; every refusal names its problem.

#include "jobs/batch.h"
#include "run/job.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace tokenlens;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

void readBoth(const nlohmann::json& j, const Job& defaults) {
    auto file = readJob(j, JobReading::file("jobs.jsonl:1", &defaults));
    if (file) {
        auto again = readJob(toJson(*file), JobReading::file("again"));
        check(again.ok() && *again == *file);
    } else {
        check(file.error().message.rfind("jobs.jsonl:1", 0) == 0);
    }
    JobReading api;
    api.complete = true;
    api.validJobId = [](const std::string& id) { return !id.empty() && id.size() < 64 && id.find('/') == std::string::npos; };
    std::string field;
    auto request = readJob(j, api, &field);
    if (request) {
        check(checkJobShape(*request).ok());
        check(!request->models.empty() && !request->methods.empty());
    } else {
        check(!request.error().message.empty());
    }
}
// The batch reader against the file's lines as its header (jobs/batch.h)
// defines them: split at '\n', one trailing '\r' dropped, lines of only
// spaces and tabs skipped.
void checkBatch(const std::string& text, const Job& defaults) {
    struct Line {
        int number;
        std::string text;
    };
    std::vector<Line> lines; // the non-blank ones
    int number = 0;
    for (size_t start = 0; start < text.size();) {
        const size_t end = std::min(text.find('\n', start), text.size());
        std::string line = text.substr(start, end - start);
        start = end + 1;
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back({number, std::move(line)});
    }
    const jobs::ParsedBatch batch = jobs::parseBatch(text, defaults, "jobs.jsonl");
    check(batch.jobs.size() + batch.errors.size() == lines.size());
    size_t ji = 0, ei = 0;
    for (const Line& line : lines) {
        const std::string where = "jobs.jsonl:" + std::to_string(line.number) + ": ";
        if (ji < batch.jobs.size() && batch.jobs[ji].line == line.number) {
            const Job& job = batch.jobs[ji++].spec;
            const char first = line.text[line.text.find_first_not_of(" \t")];
            if (first != '{' && first != '"') {
                Job plain = defaults;
                plain.input = line.text;
                check(job == plain);
            }
            auto again = readJob(toJson(job), JobReading::file("again"));
            check(again.ok() && *again == job);
        } else {
            check(ei < batch.errors.size() && batch.errors[ei].line == line.number);
            check(batch.errors[ei++].message.rfind(where, 0) == 0);
        }
    }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    Job defaults;
    defaults.models = {"m"};
    defaults.methods = {"attention"};
    checkBatch(std::string(all), defaults);
    size_t start = 0;
    while (start <= all.size()) {
        const size_t end = std::min(all.find('\n', start), all.size());
        const std::string line(all.substr(start, end - start));
        start = end + 1;
        auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded()) continue;
        readBoth(j, defaults);
    }
    return 0;
}
