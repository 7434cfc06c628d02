// The caching CPU allocator (model/cpu_allocator.h): large blocks come back
// for the same size, stay within the cap, count as available memory, are
// never handed to two live tensors, and small or raw requests still work.

#include "model/cpu_allocator.h"
#include "util/memory.h"

#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <thread>
#include <vector>

using namespace tokenlens;

namespace {

constexpr int64_t kMB = int64_t{1} << 20;

class CpuAllocator : public ::testing::Test {
protected:
    void SetUp() override {
        if (!installCachingCpuAllocator()) GTEST_SKIP() << "the caching allocator is off in this build or environment";
        setCpuCacheCapBytes(0); // the default, and an empty cache
    }
    void TearDown() override { setCpuCacheCapBytes(0); }
};

at::Tensor floats(int64_t bytes) { return torch::empty({bytes / 4}, torch::kFloat32); }

} // namespace

TEST_F(CpuAllocator, AFreedLargeBlockServesTheNextRequestOfItsSize) {
    auto a = floats(24 * kMB);
    void* first = a.data_ptr();
    a = at::Tensor();
    EXPECT_GE(cpuCacheStats().cachedBytes, 24 * kMB);
    const auto hits = cpuCacheStats().hits;
    auto b = floats(24 * kMB);
    EXPECT_EQ(b.data_ptr(), first);
    EXPECT_EQ(cpuCacheStats().hits, hits + 1);
    EXPECT_EQ(cpuCacheStats().cachedBytes, 0);
}

TEST_F(CpuAllocator, LargeBlocksArePageAligned) {
    auto a = floats(5 * kMB + 12);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data_ptr()) % 4096, 0u);
    a.fill_(1.0f); // the whole request is usable
    EXPECT_EQ(a.sum().item<float>(), static_cast<float>(a.numel()));
}

TEST_F(CpuAllocator, TheCacheNeverHoldsMoreThanItsCap) {
    setCpuCacheCapBytes(10 * kMB);
    {
        std::vector<at::Tensor> held;
        for (int i = 0; i < 4; ++i) held.push_back(floats(4 * kMB));
    }
    EXPECT_LE(cpuCacheStats().cachedBytes, 10 * kMB);
    EXPECT_GT(cpuCacheStats().cachedBytes, 0);
    floats(16 * kMB); // larger than the cap: back to the system at once
    EXPECT_LE(cpuCacheStats().cachedBytes, 10 * kMB);
}

TEST_F(CpuAllocator, CachedBlocksCountAsAvailableUntilReleased) {
    floats(32 * kMB);
    EXPECT_EQ(reusableProcessBytes(), cpuCacheStats().cachedBytes);
    EXPECT_GE(reusableProcessBytes(), 32 * kMB);
    releaseCachedCpuMemory();
    EXPECT_EQ(cpuCacheStats().cachedBytes, 0);
    EXPECT_EQ(reusableProcessBytes(), 0);
}

TEST_F(CpuAllocator, NoTwoLiveTensorsShareABlockAcrossThreads) {
    std::vector<std::thread> threads;
    std::vector<int> bad(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t, &bad] {
            for (int round = 0; round < 20; ++round) {
                auto x = torch::full({(2 + round % 3) * kMB / 4}, static_cast<float>(t), torch::kFloat32);
                auto y = torch::full({3 * kMB / 4}, static_cast<float>(t + 10), torch::kFloat32);
                std::this_thread::yield();
                if (!torch::all(x == static_cast<float>(t)).item<bool>()) ++bad[t];
                if (!torch::all(y == static_cast<float>(t + 10)).item<bool>()) ++bad[t];
            }
        });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) EXPECT_EQ(bad[t], 0) << "thread " << t;
}

TEST_F(CpuAllocator, RawRequestsOfBothSizesAreFreedByTheRawDeleter) {
    auto* alloc = c10::GetCPUAllocator();
    void* big = alloc->raw_allocate(6 * kMB);
    void* small = alloc->raw_allocate(100);
    ASSERT_NE(big, nullptr);
    ASSERT_NE(small, nullptr);
    static_cast<char*>(big)[6 * kMB - 1] = 1;
    static_cast<char*>(small)[99] = 1;
    const auto live = cpuCacheStats().liveBytes;
    alloc->raw_deallocate(big);
    alloc->raw_deallocate(small);
    EXPECT_EQ(cpuCacheStats().liveBytes, live - 6 * kMB);
}

TEST_F(CpuAllocator, AnImpossibleRequestFailsWithOutOfMemory) {
    try {
        torch::empty({int64_t{1} << 50}, torch::kFloat32); // 4 PiB
        FAIL() << "a 4 PiB tensor was allocated";
    } catch (const c10::Error& e) {
        EXPECT_NE(std::string(e.what_without_backtrace()).find("out of memory"), std::string::npos) << e.what();
    }
}

TEST_F(CpuAllocator, BfloatSixteenProductsRunThroughIt) {
    // oneDNN's bfloat16 products allocate their scratch through the raw interface.
    auto a = torch::randn({512, 1024}).to(torch::kBFloat16);
    auto b = torch::randn({1024, 512}).to(torch::kBFloat16);
    auto c = torch::matmul(a, b).to(torch::kFloat32);
    auto ref = torch::matmul(a.to(torch::kFloat32), b.to(torch::kFloat32));
    EXPECT_LT((c - ref).abs().max().item<float>(), 0.05f * ref.abs().max().item<float>());
}
