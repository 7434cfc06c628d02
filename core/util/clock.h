#pragma once
// The wall clock as text: result timestamps and job ids.

#include <chrono>
#include <ctime>
#include <string>

namespace tokenlens {

// The current UTC time formatted by strftime's `format` (at most 63 bytes).
inline std::string utcNow(const char* format) {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    const size_t n = std::strftime(buf, sizeof buf, format, &tm);
    return std::string(buf, n);
}

} // namespace tokenlens
