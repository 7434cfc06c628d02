// libFuzzer target: readResultJson (what the GUI opens and `jobs import`
// reads) on arbitrary bytes. A file it accepts must be self-consistent (the
// matrix has one row per context token and one column per output token) and
// survive being written and read again.

#include "result/result_json.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace tokenlens;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto job = readResultJson(text, "result.json");
    if (!job) {
        check(job.error().message.rfind("result.json", 0) == 0);
        return 0;
    }
    for (const auto& r : job->results) {
        check(r.raw.data.size() == static_cast<size_t>(r.raw.rows * r.raw.cols));
        if (r.status == RunStatus::Completed) {
            check(static_cast<int64_t>(r.contextTokens.size()) == r.raw.rows);
            check(r.segments.empty() || static_cast<int64_t>(r.segments.size()) == r.raw.rows);
        }
    }
    auto again = readResultJson(writeResultJson(job.value()), "again");
    check(again.ok());
    check(again->results.size() == job->results.size());
    return 0;
}
