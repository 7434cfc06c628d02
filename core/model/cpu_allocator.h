#pragma once
// LibTorch's CPU allocator with a cache of large blocks.
//
// On these machines the first write to freshly mapped memory costs about
// 3 ms per MB (page faults), and glibc hands every allocation above 32 MB
// (and, in worker threads' arenas, smaller ones too) straight to mmap and
// back to the kernel on free: the backward of a long prompt, which
// allocates and frees maps of hundreds of MB per layer and cotangent batch,
// paid for every page of every map again (docs/benchmarks.md, "Large
// blocks reused"). This allocator keeps freed blocks of 1 MB and more and
// hands them out again for requests of the same size (or up to a quarter
// smaller), in blocks of whole 64 KB, page-aligned. Smaller requests go to
// LibTorch's default allocator. The cache holds at most
// cpuCacheCapBytes() of free blocks (an eighth of the machine's memory by
// default); the free blocks it holds count as available memory for the
// memory budget (util/memory.h) and are returned to the system by
// releaseCachedCpuMemory() (after each pair of a run). Blocks beyond the
// cap are unmapped on a thread of the allocator's own, so that tearing down
// a cancelled pass's graph does not wait for the kernel.
//
// Torch-free header: core code outside core/model may call it.

#include <cstdint>

namespace tokenlens {

// Makes the caching allocator LibTorch's CPU allocator (once; later calls
// do nothing). Not installed when TOKENLENS_CPU_CACHE=0 is in the
// environment, nor in AddressSanitizer builds (whose checks cover heap
// memory only). Returns whether it is installed.
bool installCachingCpuAllocator();
bool cachingCpuAllocatorInstalled();

struct CpuCacheStats {
    int64_t cachedBytes = 0; // free blocks held for reuse
    int64_t liveBytes = 0;   // large blocks in use
    int64_t hits = 0;        // large requests served from the cache
    int64_t misses = 0;      // large requests that mapped fresh memory
};
CpuCacheStats cpuCacheStats();

// Unmaps every cached free block.
void releaseCachedCpuMemory();

// The most free bytes the cache holds; a block that would take it beyond
// that evicts the largest cached ones first (or is unmapped itself when it
// is larger). 0 restores the default. For tests.
void setCpuCacheCapBytes(int64_t bytes);
int64_t cpuCacheCapBytes();

} // namespace tokenlens
