#include "util/peak_rss.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <mutex>

namespace tokenlens {
namespace {

std::mutex g_mutex;
int g_open = 0;           // open windows
bool g_lastReset = false; // whether the reset of the current run of windows worked

} // namespace

int64_t peakRssBytes() {
#ifdef __linux__
    if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        long long kb = -1;
        while (std::fgets(line, sizeof line, f)) {
            if (std::strncmp(line, "VmHWM:", 6) == 0) {
                if (std::sscanf(line + 6, "%lld", &kb) != 1) kb = -1;
                break;
            }
        }
        std::fclose(f);
        if (kb >= 0) return static_cast<int64_t>(kb) * 1024;
    }
#endif
    rusage u{};
    if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
#ifdef __APPLE__
    return static_cast<int64_t>(u.ru_maxrss); // bytes
#else
    return static_cast<int64_t>(u.ru_maxrss) * 1024; // kilobytes
#endif
}

bool resetPeakRss() {
#ifdef __linux__
    std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    const bool ok = std::fputs("5", f) >= 0;
    return std::fclose(f) == 0 && ok;
#else
    return false;
#endif
}

PeakRssWindow::PeakRssWindow() {
    std::lock_guard lock(g_mutex);
    if (g_open++ == 0) g_lastReset = resetPeakRss();
    m_reset = g_lastReset;
}

PeakRssWindow::~PeakRssWindow() {
    std::lock_guard lock(g_mutex);
    --g_open;
}

int64_t PeakRssWindow::peakBytes() const { return peakRssBytes(); }

} // namespace tokenlens
