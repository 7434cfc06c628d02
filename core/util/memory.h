#pragma once
// What the machine and this process hold in memory (Linux /proc), and the
// memory budget the batched methods size their passes by.

#include <cstdint>
#include <optional>
#include <string_view>

namespace tokenlens {

struct MemInfo {
    int64_t totalBytes = 0;     // MemTotal
    int64_t availableBytes = 0; // MemAvailable: what can be allocated without swapping
};

// Parses /proc/meminfo text ("MemAvailable:   123456 kB" lines); nullopt
// when MemTotal or MemAvailable is missing or malformed.
std::optional<MemInfo> parseMemInfo(std::string_view text);
// /proc/meminfo, with availableBytes raised by reusableProcessBytes():
// memory this process holds free for its own reuse (the CPU allocator's
// cache of large blocks, model/cpu_allocator.h) is available to its passes.
std::optional<MemInfo> readMemInfo();
void setReusableProcessBytes(int64_t bytes);
int64_t reusableProcessBytes();

// The environment variable that sets the default budget in MB.
constexpr const char* kMemoryBudgetEnv = "TOKENLENS_MEMORY_BUDGET_MB";
constexpr int64_t kMiB = int64_t{1} << 20;
// The budget from free memory never goes below the first (a pass needs some
// room); the second is used when neither the option, the variable nor
// /proc/meminfo gives one.
constexpr int64_t kMinMemoryBudgetBytes = 64 * kMiB;
constexpr int64_t kFallbackMemoryBudgetBytes = 1024 * kMiB;

// What is kept back from MemAvailable: the larger of 1 GiB and an eighth of
// MemTotal (the GUI, other jobs, the page cache the mapped weights live in).
int64_t memoryMarginBytes(const MemInfo& info);

// The activation budget of one batched pass, in bytes:
//   optionMb > 0                      -> optionMb MB (the memory_budget_mb option);
//   else envValue a positive number   -> that many MB (TOKENLENS_MEMORY_BUDGET_MB);
//   else info                         -> MemAvailable − margin, at least kMinMemoryBudgetBytes;
//   else                              -> kFallbackMemoryBudgetBytes.
// An env value that is not a positive
// number is ignored (*envIgnored set when given).
int64_t resolveMemoryBudgetBytes(double optionMb, const char* envValue, const std::optional<MemInfo>& info,
                                 bool* envIgnored = nullptr);
// resolveMemoryBudgetBytes with this process's environment and /proc/meminfo;
// warns once on stderr when the variable is set to something else than a
// positive number.
int64_t memoryBudgetBytesFor(double optionMb);

struct ProcessMemory {
    int64_t rssBytes = 0;     // VmRSS
    int64_t peakRssBytes = 0; // VmHWM
};
std::optional<ProcessMemory> readProcessMemory(); // /proc/self/status

} // namespace tokenlens
