#include "model/cpu_allocator.h"

#include "util/memory.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define TOKENLENS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TOKENLENS_ASAN 1
#endif
#endif

namespace tokenlens {
namespace {

constexpr size_t kLarge = size_t{1} << 20;       // requests from here on are cached
constexpr size_t kGranule = size_t{64} << 10;

size_t blockSize(size_t n) { return (n + kGranule - 1) / kGranule * kGranule; }

int64_t defaultCap() {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return int64_t{1} << 30;
    return static_cast<int64_t>(pages) * page / 8;
}

// A fresh block of `size` bytes (a multiple of the granule); nullptr when
// the system has none. Not advised for transparent huge pages: with the
// kernel's defrag=madvise the faults then compact memory, and the system
// time of a 1,024-token saliency run grew from 2.9 to 14.4 s.
void* mapBlock(size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

// Returns blocks to the system on a thread of its own: unmapping touched
// memory costs about 0.08 ms per MB here (3 GB: 0.26 s), which a cancelled
// pass would otherwise pay while its graph is torn down, before the cancel
// returns.
class Unmapper {
public:
    void unmap(std::vector<std::pair<void*, size_t>> blocks) {
        if (blocks.empty()) return;
        {
            std::lock_guard lock(m_mutex);
            m_queue.insert(m_queue.end(), blocks.begin(), blocks.end());
            if (!m_started) {
                m_started = true;
                std::thread([this] { run(); }).detach(); // lives as long as the process
            }
        }
        m_wake.notify_one();
    }

private:
    void run() {
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_wake.wait(lock, [this] { return !m_queue.empty(); });
            auto blocks = std::move(m_queue);
            m_queue.clear();
            lock.unlock();
            for (const auto& [p, n] : blocks) munmap(p, n);
            lock.lock();
        }
    }
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::vector<std::pair<void*, size_t>> m_queue;
    bool m_started = false;
};

Unmapper& unmapper() {
    static auto* u = new Unmapper; // never destroyed: its thread outlives static destruction
    return *u;
}

class BlockCache {
public:
    // A block of at least `size` bytes from the cache (its real size in
    // *got), or nullptr.
    void* take(size_t size, size_t* got) {
        std::lock_guard lock(m_mutex);
        auto it = m_free.lower_bound(size);
        if (it == m_free.end() || it->first > size + size / 4) {
            ++m_misses;
            return nullptr;
        }
        void* p = it->second;
        *got = it->first;
        m_free.erase(it);
        m_cached -= static_cast<int64_t>(*got);
        m_live[p] = *got;
        m_liveBytes += static_cast<int64_t>(*got);
        ++m_hits;
        publish();
        return p;
    }
    void track(void* p, size_t size) {
        std::lock_guard lock(m_mutex);
        m_live[p] = size;
        m_liveBytes += static_cast<int64_t>(size);
    }
    // Whether `p` is a large block of ours; if so it is cached (or unmapped).
    bool give(void* p) {
        std::vector<std::pair<void*, size_t>> unmap;
        {
            std::lock_guard lock(m_mutex);
            auto it = m_live.find(p);
            if (it == m_live.end()) return false;
            const size_t size = it->second;
            m_live.erase(it);
            m_liveBytes -= static_cast<int64_t>(size);
            const int64_t cap = capLocked();
            if (static_cast<int64_t>(size) > cap) {
                unmap.emplace_back(p, size);
            } else {
                while (m_cached + static_cast<int64_t>(size) > cap && !m_free.empty()) {
                    auto largest = std::prev(m_free.end());
                    unmap.emplace_back(largest->second, largest->first);
                    m_cached -= static_cast<int64_t>(largest->first);
                    m_free.erase(largest);
                }
                m_free.emplace(size, p);
                m_cached += static_cast<int64_t>(size);
            }
            publish();
        }
        unmapper().unmap(std::move(unmap));
        return true;
    }
    void release() {
        std::multimap<size_t, void*> blocks;
        {
            std::lock_guard lock(m_mutex);
            blocks.swap(m_free);
            m_cached = 0;
            publish();
        }
        for (const auto& [n, q] : blocks) munmap(q, n);
    }
    ~BlockCache() = default;
    CpuCacheStats stats() {
        std::lock_guard lock(m_mutex);
        return {m_cached, m_liveBytes, m_hits, m_misses};
    }
    void setCap(int64_t bytes) {
        {
            std::lock_guard lock(m_mutex);
            m_cap = bytes;
        }
        release();
    }
    int64_t cap() {
        std::lock_guard lock(m_mutex);
        return capLocked();
    }

private:
    int64_t capLocked() {
        if (m_cap <= 0) m_cap = defaultCap();
        return m_cap;
    }
    // The free blocks are memory this process can hand out again: the budget counts them as available.
    void publish() { setReusableProcessBytes(m_cached); }

    std::mutex m_mutex;
    std::multimap<size_t, void*> m_free;
    std::unordered_map<void*, size_t> m_live;
    int64_t m_cached = 0, m_liveBytes = 0, m_hits = 0, m_misses = 0, m_cap = 0;
};

BlockCache& cache() {
    static auto* c = new BlockCache; // never destroyed: tensors may be freed during static destruction
    return *c;
}

// Frees either kind of block: a cached-size block of ours, else one the
// default allocator made (the raw_deallocate path of small requests).
void deleteAny(void* p) {
    if (!p) return;
    if (!cache().give(p)) c10::free_cpu(p);
}

class CachingCpuAllocator final : public c10::Allocator {
public:
    c10::DataPtr allocate(size_t n) const override {
        const c10::Device cpu(c10::DeviceType::CPU);
        if (n < kLarge) {
            void* p = c10::alloc_cpu(n);
            return {p, p, &c10::free_cpu, cpu};
        }
        const size_t size = blockSize(n);
        size_t got = 0;
        void* p = cache().take(size, &got);
        if (!p) {
            p = mapBlock(size);
            if (!p) { // give the cache back to the system and try once more
                cache().release();
                p = mapBlock(size);
            }
            TORCH_CHECK(p, "out of memory: could not allocate ", n, " bytes (", (n + (1 << 20) - 1) >> 20, " MB)");
            cache().track(p, size);
        }
        return {p, p, &deleteAny, cpu};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &deleteAny; }
};

std::atomic<bool> g_installed{false};

} // namespace

bool installCachingCpuAllocator() {
    static const bool installed = [] {
#ifdef TOKENLENS_ASAN
        return false;
#else
        const char* env = std::getenv("TOKENLENS_CPU_CACHE");
        if (env && std::strcmp(env, "0") == 0) return false;
        static CachingCpuAllocator allocator;
        c10::SetCPUAllocator(&allocator, /*priority=*/1);
        g_installed = true;
        return true;
#endif
    }();
    return installed;
}

bool cachingCpuAllocatorInstalled() { return g_installed; }

CpuCacheStats cpuCacheStats() { return cache().stats(); }

void releaseCachedCpuMemory() { cache().release(); }

void setCpuCacheCapBytes(int64_t bytes) { cache().setCap(std::max<int64_t>(bytes, 0)); }

int64_t cpuCacheCapBytes() { return cache().cap(); }

} // namespace tokenlens
