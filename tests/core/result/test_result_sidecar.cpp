// Result files whose large matrices are in a safetensors sidecar
// (result/result_sidecar.h): exact round trips, a JSON that scripts can
// still read, a sidecar that is a plain safetensors file, old inline files
// still read, and a missing, cut, altered or misnamed sidecar refused with
// a message naming the file.

#include "io/safetensors.h"
#include "result/result_json.h"
#include "result/result_sidecar.h"
#include "util/sha256.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <unistd.h>

using namespace tokenlens;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string name = "tokenlens-sidecar-";
        name += std::to_string(::getpid());
        name += '-';
        name += std::to_string(counter()++);
        path = fs::temp_directory_path() / name;
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int c = 0;
        return c;
    }
};

// "x12": a token name (appended, not "x" + to_string, which trips GCC 12's -Wrestrict).
std::string tokenName(char c, int64_t i) {
    std::string s(1, c);
    s += std::to_string(i);
    return s;
}

// A completed result of n prompt tokens and t output tokens: NaN where
// i > p_j as the contract has it, other cells distinct values.
MethodResult result(const std::string& method, int64_t n, int64_t t, float scale) {
    MethodResult r;
    r.model = "tiny";
    r.method = method;
    for (int64_t i = 0; i < n; ++i) {
        r.input.tokens.push_back(tokenName('x', i));
        r.input.ids.push_back(i);
    }
    for (int64_t j = 0; j < t; ++j) {
        r.output.tokens.push_back(tokenName('y', j));
        r.output.ids.push_back(1000 + j);
    }
    r.contextTokens = r.input.tokens;
    r.contextTokens.insert(r.contextTokens.end(), r.output.tokens.begin(), r.output.tokens.end());
    r.raw = AttributionMatrix::filled(n + t, t);
    for (int64_t i = 0; i < n + t; ++i) {
        for (int64_t j = 0; j < t; ++j) {
            if (i <= n + j - 1) r.raw.at(i, j) = scale * static_cast<float>(i * t + j) / 7.0f - 3.0f;
        }
    }
    r.targetFn = "probability";
    r.reduction = "l2";
    r.stepProbability.assign(static_cast<size_t>(t), 0.25);
    r.stepEntropy.assign(static_cast<size_t>(t), 1.5);
    return r;
}

// Two large results (more than kInlineMaxCells cells) around a small one.
JobResult largeJob() {
    JobResult job;
    job.jobId = "large";
    job.createdAt = job.completedAt = "2026-12-07T00:00:00Z";
    job.results.push_back(result("attention", 400, 200, 1.0f)); // 600 x 200 = 120,000 cells
    job.results.push_back(result("saliency", 6, 4, 2.0f));       // 40 cells: stays inline
    job.results.push_back(result("occlusion", 300, 300, -0.5f)); // 180,000 cells
    job.input = job.results[0].input;
    return job;
}

nlohmann::json readJson(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

std::string readBytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void writeBytes(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
}

} // namespace

TEST(ResultSidecar, LargeMatricesGoToTheSidecarAndReadBackExactly) {
    TempDir dir;
    const JobResult job = largeJob();
    const fs::path file = dir.path / "result.json";
    ASSERT_TRUE(writeResultFiles(file, toJson(job, kInlineMaxCells), job).ok());
    const fs::path sidecar = dir.path / "result.matrices.safetensors";
    ASSERT_TRUE(fs::exists(sidecar));
    EXPECT_FALSE(fs::exists(dir.path / "result.safetensors")) << "never the name of a model's weights";

    // The JSON: schema /3, the sidecar named with its size and hashes, large
    // matrices as raw_refs, the small one inline, aggregations still there.
    const auto j = readJson(file);
    EXPECT_EQ(j["schema"], "tokenlens.job/3");
    EXPECT_EQ(j["sidecar"]["file"], "result.matrices.safetensors");
    const std::string bytes = readBytes(sidecar);
    EXPECT_EQ(j["sidecar"]["bytes"].get<uint64_t>(), bytes.size());
    EXPECT_EQ(j["sidecar"]["sha256"], sha256Hex(bytes));
    const auto& a0 = j["results"][0]["attribution"];
    EXPECT_FALSE(a0.contains("raw"));
    EXPECT_EQ(a0["raw_ref"]["tensor"], "results.0.raw");
    EXPECT_EQ(a0["raw_ref"]["shape"], nlohmann::json::array({600, 200}));
    EXPECT_EQ(a0["aggregated"]["token_importance"]["input"].size(), 400u);
    EXPECT_TRUE(j["results"][1]["attribution"].contains("raw"));
    EXPECT_EQ(j["results"][2]["attribution"]["raw_ref"]["tensor"], "results.2.raw");

    // The sidecar is a plain safetensors file: a script reads it with any
    // safetensors reader. Check it with ours, cell by cell.
    auto header = parseSafetensorsHeader(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()),
                                         bytes.size(), sidecar.string());
    ASSERT_TRUE(header.ok()) << header.error().message;
    ASSERT_EQ(header->tensors.size(), 2u);
    for (const auto& t : header->tensors) {
        const MethodResult& r = job.results[t.name == "results.0.raw" ? 0 : 2];
        ASSERT_EQ(t.dtype, DType::F32);
        ASSERT_EQ(t.shape, (std::vector<int64_t>{r.raw.rows, r.raw.cols}));
        std::vector<float> cells(static_cast<size_t>(t.numel()));
        std::memcpy(cells.data(), bytes.data() + 8 + header->headerLength + t.dataBegin, cells.size() * 4);
        EXPECT_TRUE((AttributionMatrix{r.raw.rows, r.raw.cols, cells} == r.raw)) << t.name;
    }

    // Read back: equal to what was written, NaN cells included.
    auto back = readResultFile(file);
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_EQ(back->results.size(), job.results.size());
    for (size_t i = 0; i < job.results.size(); ++i) {
        EXPECT_TRUE(back->results[i] == job.results[i]) << i;
        EXPECT_TRUE(std::isnan(back->results[i].raw.at(back->results[i].raw.rows - 1, 0)));
    }
}

TEST(ResultSidecar, SmallResultsStayOneInlineFile) {
    TempDir dir;
    JobResult job;
    job.jobId = "small";
    job.createdAt = job.completedAt = "2026-12-07T00:00:00Z";
    job.results.push_back(result("attention", 10, 5, 1.0f));
    job.input = job.results[0].input;
    const fs::path file = dir.path / "small.json";
    ASSERT_TRUE(writeResultFiles(file, toJson(job, kInlineMaxCells), job).ok());
    EXPECT_FALSE(fs::exists(dir.path / "small.matrices.safetensors"));
    const auto j = readJson(file);
    EXPECT_EQ(j["schema"], "tokenlens.job/1");
    EXPECT_FALSE(j.contains("sidecar"));
    auto back = readResultFile(file);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(back->results == job.results);
}

TEST(ResultSidecar, OldInlineFilesOfLargeResultsStillRead) {
    TempDir dir;
    const JobResult job = largeJob();
    const fs::path file = dir.path / "old.json";
    writeBytes(file, writeResultJson(job)); // everything inline, as before sidecars
    auto back = readResultFile(file);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(back->results == job.results);
}

TEST(ResultSidecar, MissingCutOrAlteredSidecarIsRefusedNamingIt) {
    TempDir dir;
    const JobResult job = largeJob();
    const fs::path file = dir.path / "r.json";
    ASSERT_TRUE(writeResultFiles(file, toJson(job, kInlineMaxCells), job).ok());
    const fs::path sidecar = dir.path / "r.matrices.safetensors";
    const std::string good = readBytes(sidecar);
    auto message = [&] {
        auto r = readResultFile(file);
        return r.ok() ? std::string("(read)") : r.error().message;
    };

    fs::remove(sidecar);
    std::string m = message();
    EXPECT_NE(m.find(sidecar.string()), std::string::npos) << m;
    EXPECT_NE(m.find("missing"), std::string::npos) << m;

    writeBytes(sidecar, good.substr(0, good.size() / 2));
    m = message();
    EXPECT_NE(m.find(sidecar.string()), std::string::npos) << m;
    EXPECT_NE(m.find("cut short"), std::string::npos) << m;

    std::string altered = good;
    altered[altered.size() - 10] = static_cast<char>(altered[altered.size() - 10] ^ 0x40);
    writeBytes(sidecar, altered);
    m = message();
    EXPECT_NE(m.find(sidecar.string()), std::string::npos) << m;
    EXPECT_NE(m.find("damaged"), std::string::npos) << m;

    writeBytes(sidecar, good);
    EXPECT_EQ(message(), "(read)");

    // A name that leaves the folder is refused before anything is opened.
    auto j = readJson(file);
    j["sidecar"]["file"] = "../elsewhere.safetensors";
    auto bad = readResultJson(j.dump(), "edited.json", dir.path);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("edited.json"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("sidecar.file"), std::string::npos) << bad.error().message;

    // Text without its folder (a request body) cannot reach the sidecar: said so.
    auto noDir = readResultJson(readBytes(file), "request body");
    ASSERT_FALSE(noDir.ok());
    EXPECT_NE(noDir.error().message.find("r.matrices.safetensors"), std::string::npos) << noDir.error().message;

    // A raw_ref without any sidecar key is refused naming the key.
    j = readJson(file);
    j.erase("sidecar");
    auto noSidecar = readResultJson(j.dump(), "nosidecar.json", dir.path);
    ASSERT_FALSE(noSidecar.ok());
    EXPECT_NE(noSidecar.error().message.find("results[0].attribution.raw_ref"), std::string::npos)
        << noSidecar.error().message;

    // A shape in the JSON that is not the tensor's.
    j = readJson(file);
    j["results"][0]["attribution"]["raw_ref"]["shape"] = {600, 199};
    auto shape = readResultJson(j.dump(), "shape.json", dir.path);
    ASSERT_FALSE(shape.ok());
    EXPECT_NE(shape.error().message.find(sidecar.string()), std::string::npos) << shape.error().message;
}
