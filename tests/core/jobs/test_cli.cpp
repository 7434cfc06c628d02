// tokenlens-cli run and tokenlens-cli jobs, as processes.

#include "jobs_test_util.h"

#include "result/result_json.h"


#include <algorithm>
#include <fstream>
#include <map>

using namespace tokenlens;
using namespace tokenlens::jobs;
using namespace tokenlens::jobs::testing;

namespace {

struct Output {
    int code = -1;
    std::string out, err;
};

Output cli(const QStringList& args) {
    static int counter = 0;
    const std::string base = (std::filesystem::temp_directory_path() /
                              ("tokenlens-cli-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                                 .string();
    std::vector<std::string> argv;
    for (const auto& a : args) argv.push_back(a.toStdString());
    Child child;
    Output o;
    if (!child.start(argv, base + ".out", base + ".err") || !child.wait(120000)) return o;
    o.code = child.killedBySignal() ? -1 : child.exitCode();
    o.out = child.out();
    o.err = child.err();
    std::filesystem::remove(base + ".out");
    std::filesystem::remove(base + ".err");
    return o;
}

} // namespace

TEST(Cli, RunWritesResultJsonAndJobsManagesTheStore) {
    TempStore ts;
    QTemporaryDir dir;
    const QString store = QString::fromStdString(ts.path());
    const std::string jobFile = dir.filePath(QStringLiteral("job.json")).toStdString();
    {
        std::ofstream out(jobFile);
        out << nlohmann::json{{"models", {fixtureModel("tiny-gpt2")}},
                              {"methods", {"saliency", "attention"}},
                              {"input", "Command line job"},
                              {"options", {{"max_new_tokens", 3}}}}
                   .dump();
    }
    const QString result = dir.filePath(QStringLiteral("result.json"));
    auto run = cli({"run", QString::fromStdString(jobFile), "--store", store, "--output", result});
    ASSERT_EQ(run.code, 0) << run.err;
    auto parsed = readResultFile(result.toStdString());
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_EQ(parsed->results.size(), 2u);
    EXPECT_EQ(parsed->results[0].method, "attention") << "staged order: attention first";
    EXPECT_EQ(parsed->input.text, "Command line job");
    const std::string id = parsed->jobId;

    auto list = cli({"jobs", "list", "--store", store});
    ASSERT_EQ(list.code, 0) << list.err;
    EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("completed"), std::string::npos) << list.out;

    auto show = cli({"jobs", "show", QString::fromStdString(id), "--store", store});
    ASSERT_EQ(show.code, 0) << show.err;
    const auto shown = nlohmann::json::parse(show.out);
    EXPECT_EQ(shown["status"], "completed");
    EXPECT_EQ(shown["pairs"].size(), 2u);
    EXPECT_EQ(shown["conversation"], nlohmann::json::array({id}));
    // Peak resident memory: each pair's (as in the result file) and the job's, the largest.
    int64_t largest = 0;
    for (const auto& p : shown["pairs"]) {
        ASSERT_TRUE(p["peak_rss_bytes"].is_number_integer()) << p.dump();
        EXPECT_GT(p["peak_rss_bytes"].get<int64_t>(), 0);
        largest = std::max(largest, p["peak_rss_bytes"].get<int64_t>());
    }
    EXPECT_EQ(shown["peak_rss_bytes"], largest);
    for (const auto& r : parsed->results) EXPECT_GT(r.peakRssBytes, 0) << r.method;

    const QString exported = dir.filePath(QStringLiteral("export.json"));
    auto exp = cli({"jobs", "export", QString::fromStdString(id), "--store", store, "--output", exported});
    ASSERT_EQ(exp.code, 0) << exp.err;
    auto exportedJob = readResultFile(exported.toStdString());
    ASSERT_TRUE(exportedJob.ok()) << exportedJob.error().message;
    EXPECT_TRUE(exportedJob->results == parsed->results);

    auto del = cli({"jobs", "delete", QString::fromStdString(id), "--store", store});
    ASSERT_EQ(del.code, 0) << del.err;
    EXPECT_EQ(cli({"jobs", "show", QString::fromStdString(id), "--store", store}).code, 1);
    EXPECT_EQ(cli({"jobs", "list", "--store", store}).out.find(id), std::string::npos);

    auto imp = cli({"jobs", "import", exported, "--store", store});
    ASSERT_EQ(imp.code, 0) << imp.err;
    EXPECT_EQ(imp.out, id + "\n");
    EXPECT_EQ(cli({"jobs", "show", QString::fromStdString(id), "--store", store}).code, 0);
}

TEST(Cli, RunReportsBadJobFilesAndBatches) {
    TempStore ts;
    QTemporaryDir dir;
    const QString store = QString::fromStdString(ts.path());
    const std::string bad = dir.filePath(QStringLiteral("bad.json")).toStdString();
    {
        std::ofstream out(bad);
        out << R"({"models": "x", "methods": ["attention"], "input": "hi", "colour": "red"})";
    }
    auto r = cli({"run", QString::fromStdString(bad), "--store", store});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("unknown key 'colour'"), std::string::npos) << r.err;

    const std::string batch = dir.filePath(QStringLiteral("batch.jsonl")).toStdString();
    {
        std::ofstream out(batch);
        out << "\"first prompt\"\n{not json\nsecond prompt\n";
    }
    auto b = cli({"run", QString::fromStdString(batch), "--store", store, "--model",
                  QString::fromStdString(fixtureModel("tiny-gpt2")), "--method", "attention", "--quiet"});
    EXPECT_EQ(b.code, 0) << b.err;
    EXPECT_NE(b.err.find("batch.jsonl:2: not valid JSON"), std::string::npos) << b.err;
    // One result line per good line.
    int lines = 0;
    for (char c : b.out) lines += c == '\n' ? 1 : 0;
    EXPECT_EQ(lines, 2);

    EXPECT_EQ(cli({"run"}).code, 2);
    EXPECT_EQ(cli({"jobs", "frobnicate"}).code, 2);
    auto refused = cli({"jobs", "list", "--store", QString::fromStdString(bad)});
    EXPECT_EQ(refused.code, 1);
}

namespace {

// The pairs' from_store flags of a `run --output` file, by method.
std::map<std::string, bool> fromStoreFlags(const std::string& file) {
    std::ifstream in(file);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    std::map<std::string, bool> flags;
    if (!j.is_object() || !j.contains("tokenlens_job")) return flags;
    for (const auto& p : j["tokenlens_job"]["pairs"]) flags[p["method"].get<std::string>()] = p.value("from_store", false);
    // The same flag next to each result.
    for (const auto& r : j["results"]) {
        if (r.value("from_store", false) != flags[r["method"].get<std::string>()]) flags["mismatch"] = true;
    }
    return flags;
}

} // namespace

// "Computed once": the second run of the same job file in another process
// with the same store is served from the store; another option or a touched
// model file is computed again.
TEST(Cli, SecondRunOfTheSameJobIsServedFromTheStore) {
    TempStore ts;
    QTemporaryDir dir;
    const QString store = QString::fromStdString(ts.path());
    // A copy of the fixture model, so that touching its weights is allowed.
    const std::filesystem::path model = std::filesystem::path(dir.path().toStdString()) / "tiny-gpt2";
    std::filesystem::copy(fixtureModel("tiny-gpt2"), model, std::filesystem::copy_options::recursive);
    auto writeJob = [&](const std::string& name, const nlohmann::json& options) {
        const std::string file = dir.filePath(QString::fromStdString(name)).toStdString();
        std::ofstream out(file);
        out << nlohmann::json{{"models", {model.string()}},
                              {"methods", {"attention", "occlusion"}},
                              {"input", "The same job twice"},
                              {"options", options}}
                   .dump();
        return QString::fromStdString(file);
    };
    const QString job = writeJob("job.json", {{"max_new_tokens", 3}});
    auto runOnce = [&](const QString& jobFile, const std::string& out) {
        const QString result = dir.filePath(QString::fromStdString(out));
        auto run = cli({"run", jobFile, "--store", store, "--output", result});
        EXPECT_EQ(run.code, 0) << run.err;
        return std::make_pair(fromStoreFlags(result.toStdString()), run.err);
    };

    auto [first, firstLog] = runOnce(job, "first.json");
    EXPECT_EQ(first, (std::map<std::string, bool>{{"attention", false}, {"occlusion", false}})) << firstLog;
    auto [second, secondLog] = runOnce(job, "second.json");
    EXPECT_EQ(second, (std::map<std::string, bool>{{"attention", true}, {"occlusion", true}})) << secondLog;
    EXPECT_NE(secondLog.find("(from the store)"), std::string::npos) << secondLog;
    // The served results are the computed ones.
    auto a = readResultFile(dir.filePath(QStringLiteral("first.json")).toStdString());
    auto b = readResultFile(dir.filePath(QStringLiteral("second.json")).toStdString());
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->results.size(), b->results.size());
    for (size_t i = 0; i < a->results.size(); ++i) {
        EXPECT_TRUE(a->results[i].raw == b->results[i].raw) << a->results[i].method;
        EXPECT_EQ(a->results[i].output.ids, b->results[i].output.ids);
    }
    // `jobs show` tells it too.
    auto show = cli({"jobs", "show", QString::fromStdString(b->jobId), "--store", store});
    ASSERT_EQ(show.code, 0) << show.err;
    const auto shown = nlohmann::json::parse(show.out);
    for (const auto& p : shown["pairs"]) EXPECT_TRUE(p.value("from_store", false)) << show.out;

    // Another occlusion option: occlusion is computed, attention still served.
    const QString changed = writeJob("changed.json", {{"max_new_tokens", 3},
                                                      {"methods", {{"occlusion", {{"baseline", "unk"}}}}}});
    auto [third, thirdLog] = runOnce(changed, "third.json");
    EXPECT_EQ(third, (std::map<std::string, bool>{{"attention", true}, {"occlusion", false}})) << thirdLog;

    // A touched weight file is another model: everything is computed again.
    const auto weights = model / "model.safetensors";
    ASSERT_TRUE(std::filesystem::exists(weights));
    std::filesystem::last_write_time(weights, std::filesystem::last_write_time(weights) + std::chrono::seconds(5));
    auto [fourth, fourthLog] = runOnce(job, "fourth.json");
    EXPECT_EQ(fourth, (std::map<std::string, bool>{{"attention", false}, {"occlusion", false}})) << fourthLog;
}
