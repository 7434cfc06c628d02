// Weights in memory (docs/architecture.md, "Weights in memory"): a loaded
// model uses its weights in place from the memory-mapped safetensors files,
// in their stored dtype. A bfloat16 checkpoint computing in float32 keeps
// no float32 copy (its matrices are converted as they are used), a float32
// checkpoint is not copied at all, a tensor the file places unaligned for
// its dtype is copied alone, and the results equal the copied-weights path
// (LoadOptions::mapWeights = false): exactly, except a large head converted
// in slices (within a few units in the last place). Also the memory budget's
// arithmetic (util/memory.h).

#include "../common/golden.h"
#include "../io/io_test_util.h"
#include "io/safetensors.h"
#include "model/model_loader.h"
#include "model/model_maker.h"
#include "util/memory.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

using namespace tokenlens;
using tokenlens::testing::dataDir;
using tokenlens::testing::TempDir;
namespace fs = std::filesystem;

namespace {

int64_t rssBytes() {
    auto m = readProcessMemory();
    if (!m) throw std::runtime_error("cannot read /proc/self/status");
    return m->rssBytes;
}

std::shared_ptr<LoadedModel> load(const fs::path& dir, const std::string& compute, bool map) {
    LoadOptions o;
    o.loadTokenizer = false;
    o.computeDtype = compute;
    o.mapWeights = map;
    auto m = loadModelFolder(dir, o);
    if (!m) throw std::runtime_error(m.error().message);
    return m.value();
}

at::Tensor someIds(const LoadedModel& m, int64_t n) {
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < n; ++i) ids.push_back((i * 7919 + 13) % m.config.vocabSize);
    return torch::tensor(ids, torch::kInt64).unsqueeze(0);
}

at::Tensor logitsOf(const LoadedModel& m, const at::Tensor& ids) {
    torch::NoGradGuard noGrad;
    return m.model->forward(m.model->embed(ids), {}).logits;
}

// d(sum of the last position's log-probabilities of `ids` shifted) / d(input embeddings):
// a backward through every layer and the head.
at::Tensor inputGradient(const LoadedModel& m, const at::Tensor& ids) {
    at::Tensor e;
    {
        torch::NoGradGuard noGrad;
        e = m.model->embed(ids).detach();
    }
    e.requires_grad_(true);
    auto logits = m.model->forward(e, {}).logits; // (1, n, vocab)
    auto lp = torch::log_softmax(logits, -1);
    auto target = ids.roll(-1, 1).unsqueeze(-1);
    lp.gather(-1, target).sum().backward();
    return e.grad();
}

// A 2-layer folder in the shapes of Qwen2.5-0.5B (bfloat16, tied head:
// 0.33 GB, most of it the 151,936 × 896 embedding), made once.
fs::path qwenFolder() {
    static TempDir dir;
    static bool made = false;
    if (!made) {
        MakeModelOptions o;
        o.like = "qwen2.5-0.5b";
        o.out = dir.path() / "qwen";
        o.layers = 2;
        o.seed = 3;
        auto r = makeModel(o);
        if (!r) throw std::runtime_error(r.error().message);
        made = true;
    }
    return dir.path() / "qwen";
}

uint64_t storedBytes(const fs::path& dir) {
    auto ws = WeightSet::openFolder(dir);
    if (!ws) throw std::runtime_error(ws.error().message);
    return ws->totalBytes();
}

// LibTorch's first forward sets up thread pools and kernels: done before measuring.
void warmUp() {
    for (const char* compute : {"float32", "bfloat16"}) {
        auto m = load(dataDir() / "models" / "tiny-qwen2", compute, true);
        logitsOf(*m, someIds(*m, 24));
    }
}

// Room for what a forward of a few tokens allocates besides the weights
// (activations, the 32 MB conversion buffer, LibTorch's first-use state).
constexpr int64_t kSmallConstant = 96 * kMiB;

} // namespace

TEST(WeightMapping, Bfloat16CheckpointComputingInFloat32KeepsNoFloat32Copy) {
    const fs::path dir = qwenFolder();
    const uint64_t stored = storedBytes(dir);
    warmUp();
    const auto ids = someIds(*load(dir, "float32", true), 24);
    const int64_t before = rssBytes();
    at::Tensor mappedLogits;
    {
        auto m = load(dir, "float32", true);
        EXPECT_EQ(m->storedDtype, "bfloat16");
        // Only the vectors (norms, biases) are copied, in float32: < 1 % here.
        EXPECT_GE(m->mappedBytes + m->copiedBytes / 2, stored);
        EXPECT_LT(m->copiedBytes, stored / 100);
        EXPECT_EQ(m->unalignedBytes, 0u);
        // The tied head is the embedding itself, not a second matrix.
        EXPECT_EQ(m->model->headMatrix().data_ptr(), m->model->embeddingMatrix().data_ptr());
        mappedLogits = logitsOf(*m, ids); // touches every matrix (the head is the whole embedding)
        const int64_t grown = rssBytes() - before;
        EXPECT_LE(grown, static_cast<int64_t>(static_cast<double>(stored) * 1.15) + kSmallConstant)
            << "RSS grew by " << grown / kMiB << " MB for " << stored / kMiB << " MB of stored weights";
        const auto copied = load(dir, "float32", false);
        // Through the blocks the products are the same GEMMs on the same
        // float32 values: bit for bit. The head (151,936 rows) is converted
        // in slices, and a GEMM's blocking depends on its width: within a few
        // units in the last place there.
        {
            torch::NoGradGuard noGrad;
            ForwardOptions o;
            o.computeLogits = false;
            EXPECT_TRUE(torch::equal(m->model->forward(m->model->embed(ids), o).finalHidden,
                                     copied->model->forward(copied->model->embed(ids), o).finalHidden));
        }
        const auto copiedLogits = logitsOf(*copied, ids);
        EXPECT_TRUE(torch::allclose(mappedLogits, copiedLogits, 1e-5, 1e-5))
            << (mappedLogits - copiedLogits).abs().max().item<float>();
        const auto g = inputGradient(*m, ids), gc = inputGradient(*copied, ids);
        EXPECT_TRUE(torch::allclose(g, gc, 1e-4, 1e-4 * gc.abs().max().item<double>()))
            << (g - gc).abs().max().item<float>() << " of " << gc.abs().max().item<float>();
        EXPECT_EQ(mappedLogits.scalar_type(), torch::kFloat32);
    }
}

TEST(WeightMapping, Bfloat16CheckpointComputingInBfloat16UsesTheMappingDirectly) {
    const fs::path dir = qwenFolder();
    const uint64_t stored = storedBytes(dir);
    warmUp();
    const auto ids = someIds(*load(dir, "bfloat16", true), 24);
    const int64_t before = rssBytes();
    {
        auto m = load(dir, "bfloat16", true);
        EXPECT_EQ(m->mappedBytes, stored);
        EXPECT_EQ(m->copiedBytes, 0u);
        const auto logits = logitsOf(*m, ids);
        const int64_t grown = rssBytes() - before;
        EXPECT_LE(grown, static_cast<int64_t>(static_cast<double>(stored) * 1.15) + kSmallConstant)
            << "RSS grew by " << grown / kMiB << " MB for " << stored / kMiB << " MB of stored weights";
        const auto copied = load(dir, "bfloat16", false);
        EXPECT_TRUE(torch::equal(logits, logitsOf(*copied, ids)));
        EXPECT_TRUE(torch::equal(inputGradient(*m, ids), inputGradient(*copied, ids)));
    }
}

// tiny-gpt2 is stored in float32, tiny-qwen3 in bfloat16: each computing
// in its own dtype is used entirely in place.
TEST(WeightMapping, CheckpointInTheComputeDtypeIsNotCopied) {
    for (const auto& [name, compute] : {std::pair{"tiny-gpt2", "float32"}, std::pair{"tiny-qwen3", "bfloat16"}}) {
        const fs::path dir = dataDir() / "models" / name;
        auto m = load(dir, compute, true);
        EXPECT_EQ(m->mappedBytes, static_cast<uint64_t>(m->model->parameterBytes())) << name;
        EXPECT_EQ(m->copiedBytes, 0u) << name;
        const auto ids = someIds(*m, 12);
        EXPECT_TRUE(torch::equal(logitsOf(*m, ids), logitsOf(*load(dir, compute, false), ids))) << name;
    }
}

// A file whose header length puts the data block at an odd offset: every
// tensor (tiny-gpt2's are float32) is unaligned for its dtype, so each is copied (as stored);
// the results do not change.
TEST(WeightMapping, UnalignedTensorsAreCopiedAlone) {
    const fs::path src = dataDir() / "models" / "tiny-gpt2";
    TempDir dir;
    for (const auto& e : fs::directory_iterator(src)) {
        if (e.path().filename() != "model.safetensors") fs::copy(e.path(), dir.path() / e.path().filename());
    }
    std::ifstream in(src / "model.safetensors", std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
    std::string header = bytes.substr(8, n);
    while ((8 + header.size()) % 4 != 1) header.push_back(' '); // JSON allows trailing spaces
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    out += header;
    out += bytes.substr(8 + n);
    std::ofstream(dir.path() / "model.safetensors", std::ios::binary) << out;

    auto m = load(dir.path(), "float32", true);
    EXPECT_EQ(m->unalignedBytes, static_cast<uint64_t>(m->model->parameterBytes()));
    EXPECT_EQ(m->mappedBytes, 0u);
    const auto ids = someIds(*m, 10);
    EXPECT_TRUE(torch::equal(logitsOf(*m, ids), logitsOf(*load(src, "float32", true), ids)));
}

TEST(MemoryBudget, ParsesMemInfo) {
    const std::string text = "MemTotal:       24576000 kB\nMemFree:         1000 kB\n"
                             "MemAvailable:   20480000 kB\nBuffers:  12 kB\n";
    const auto info = parseMemInfo(text);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->totalBytes, int64_t{24576000} * 1024);
    EXPECT_EQ(info->availableBytes, int64_t{20480000} * 1024);
    EXPECT_FALSE(parseMemInfo("MemTotal: 100 kB\n").has_value());          // no MemAvailable
    EXPECT_FALSE(parseMemInfo("MemTotal: 100 kB\nMemAvailable: x kB\n").has_value());
    EXPECT_FALSE(parseMemInfo("MemTotal: 100 MB\nMemAvailable: 50 kB\n").has_value()); // unit
    EXPECT_FALSE(parseMemInfo("").has_value());
    const auto here = readMemInfo(); // this machine's: some memory, some of it free
    ASSERT_TRUE(here.has_value());
    EXPECT_GT(here->totalBytes, 0);
    EXPECT_LE(here->availableBytes, here->totalBytes);
}

TEST(MemoryBudget, OptionThenVariableThenFreeMemoryMinusMargin) {
    constexpr int64_t GiB = 1024 * kMiB;
    const MemInfo big{24 * GiB, 20 * GiB};
    // Margin: the larger of 1 GiB and an eighth of the RAM.
    EXPECT_EQ(memoryMarginBytes(big), 3 * GiB);
    EXPECT_EQ(memoryMarginBytes({4 * GiB, 3 * GiB}), GiB);
    // The option wins over everything.
    EXPECT_EQ(resolveMemoryBudgetBytes(512, "2048", big), 512 * kMiB);
    EXPECT_EQ(resolveMemoryBudgetBytes(0.5, nullptr, big), kMiB / 2);
    // Then the variable.
    EXPECT_EQ(resolveMemoryBudgetBytes(0, "2048", big), 2 * GiB);
    EXPECT_EQ(resolveMemoryBudgetBytes(0, "1.5", std::nullopt), kMiB + kMiB / 2);
    // Then MemAvailable − margin.
    EXPECT_EQ(resolveMemoryBudgetBytes(0, nullptr, big), 17 * GiB);
    EXPECT_EQ(resolveMemoryBudgetBytes(0, "", big), 17 * GiB);
    EXPECT_EQ(resolveMemoryBudgetBytes(0, nullptr, MemInfo{4 * GiB, 3 * GiB}), 2 * GiB);
    // Never below the floor when memory is short; the fallback without /proc.
    EXPECT_EQ(resolveMemoryBudgetBytes(0, nullptr, MemInfo{4 * GiB, GiB / 2}), kMinMemoryBudgetBytes);
    EXPECT_EQ(resolveMemoryBudgetBytes(0, nullptr, std::nullopt), kFallbackMemoryBudgetBytes);
    // A variable that is not a positive number is ignored, and said to be.
    for (const char* bad : {"lots", "-5", "0", "12MB", "nan"}) {
        bool ignored = false;
        EXPECT_EQ(resolveMemoryBudgetBytes(0, bad, big, &ignored), 17 * GiB) << bad;
        EXPECT_TRUE(ignored) << bad;
    }
    bool ignored = true;
    resolveMemoryBudgetBytes(0, "100", big, &ignored);
    EXPECT_FALSE(ignored);
}
