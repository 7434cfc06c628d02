#include "util/memory.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace tokenlens {
namespace {

// The value in kB of the line "key: value kB" in `text`, in bytes.
std::optional<int64_t> fieldBytes(std::string_view text, std::string_view key) {
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(at, end - at);
        at = end + 1;
        if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') continue;
        line.remove_prefix(key.size() + 1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        int64_t v = 0;
        size_t digits = 0;
        while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') {
            if (v > (INT64_MAX / 1024 - 9) / 10) return std::nullopt;
            v = v * 10 + (line[digits] - '0');
            ++digits;
        }
        if (digits == 0) return std::nullopt;
        std::string_view unit = line.substr(digits);
        while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
        if (unit != "kB") return std::nullopt;
        return v * 1024;
    }
    return std::nullopt;
}

std::string readProcFile(const char* path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

std::optional<MemInfo> parseMemInfo(std::string_view text) {
    const auto total = fieldBytes(text, "MemTotal");
    const auto available = fieldBytes(text, "MemAvailable");
    if (!total || !available) return std::nullopt;
    return MemInfo{*total, *available};
}

namespace {
std::atomic<int64_t> g_reusableBytes{0};
} // namespace

void setReusableProcessBytes(int64_t bytes) { g_reusableBytes = std::max<int64_t>(bytes, 0); }
int64_t reusableProcessBytes() { return g_reusableBytes; }

std::optional<MemInfo> readMemInfo() {
    auto info = parseMemInfo(readProcFile("/proc/meminfo"));
    if (info) info->availableBytes = std::min(info->availableBytes + reusableProcessBytes(), info->totalBytes);
    return info;
}

int64_t memoryMarginBytes(const MemInfo& info) { return std::max<int64_t>(1024 * kMiB, info.totalBytes / 8); }

int64_t resolveMemoryBudgetBytes(double optionMb, const char* envValue, const std::optional<MemInfo>& info,
                                 bool* envIgnored) {
    if (envIgnored) *envIgnored = false;
    auto fromMb = [](double mb) {
        const double bytes = mb * static_cast<double>(kMiB);
        return bytes >= 9.0e18 ? INT64_MAX : static_cast<int64_t>(bytes);
    };
    if (optionMb > 0 && std::isfinite(optionMb)) return std::max<int64_t>(fromMb(optionMb), 1);
    if (envValue && *envValue) {
        char* end = nullptr;
        errno = 0;
        const double mb = std::strtod(envValue, &end);
        if (errno == 0 && end && *end == '\0' && mb > 0 && std::isfinite(mb)) return std::max<int64_t>(fromMb(mb), 1);
        if (envIgnored) *envIgnored = true;
    }
    if (!info) return kFallbackMemoryBudgetBytes;
    return std::max(info->availableBytes - memoryMarginBytes(*info), kMinMemoryBudgetBytes);
}

int64_t memoryBudgetBytesFor(double optionMb) {
    const char* env = std::getenv(kMemoryBudgetEnv);
    bool ignored = false;
    const int64_t b = resolveMemoryBudgetBytes(optionMb, env, optionMb > 0 ? std::nullopt : readMemInfo(), &ignored);
    static std::atomic<bool> warned{false};
    if (ignored && !warned.exchange(true)) {
        std::fprintf(stderr, "warning: %s='%s' is not a positive number of MB; ignored (using free memory minus a margin)\n",
                     kMemoryBudgetEnv, env);
    }
    return b;
}

std::optional<ProcessMemory> readProcessMemory() {
    const std::string text = readProcFile("/proc/self/status");
    const auto rss = fieldBytes(text, "VmRSS");
    const auto hwm = fieldBytes(text, "VmHWM");
    if (!rss || !hwm) return std::nullopt;
    return ProcessMemory{*rss, *hwm};
}

} // namespace tokenlens
