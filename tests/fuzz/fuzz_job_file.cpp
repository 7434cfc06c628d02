// libFuzzer target: the one job parser (run/job.h readJob) on job files and
// .jsonl batch lines. Each line of the input that is JSON is read as a job
// file (with the previous job as defaults, as a batch gives them) and as an
// API request (complete mode). What is accepted must write back to JSON that
// reads as the same job; every refusal names its problem.

#include "run/job.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

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
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    Job defaults;
    defaults.models = {"m"};
    defaults.methods = {"attention"};
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
