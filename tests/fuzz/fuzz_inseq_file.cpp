// libFuzzer target: readInseq (Inseq files opened in the GUI and read by
// `tokenlens-cli export`) on arbitrary bytes, plain JSON or gzip. A file it
// accepts must be self-consistent and survive being written as an Inseq file
// and read again with the same tokens and matrix shape.

#include "result/inseq_file.h"

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
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    auto job = readInseq(bytes, "inseq.json");
    if (!job) {
        check(job.error().message.rfind("inseq.json", 0) == 0);
        return 0;
    }
    check(job->results.size() == 1);
    const MethodResult& r = job->results[0];
    check(static_cast<int64_t>(r.contextTokens.size()) == r.raw.rows);
    check(static_cast<int64_t>(r.output.tokens.size()) == r.raw.cols);
    auto text = writeInseq(job.value(), 0);
    check(text.ok());
    auto again = readInseq(text.value(), "again");
    check(again.ok());
    check(again->results[0].contextTokens == r.contextTokens);
    check(again->results[0].raw.rows == r.raw.rows && again->results[0].raw.cols == r.raw.cols);
    return 0;
}
