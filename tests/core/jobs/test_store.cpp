// The results store: persistence across reopen, schema versions (newer
// refused, v0 migrated), delete, interrupted jobs, import/export.

#include "jobs_test_util.h"

#include "result/result_json.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QVariant>

using namespace tokenlens;
using namespace tokenlens::jobs;
using namespace tokenlens::jobs::testing;

namespace {

QueueOptions twoWorkers() {
    QueueOptions o;
    o.workers = 2;
    o.intraOpThreads = 1;
    return o;
}

// Runs SQL on a store file outside JobStore (to fake other versions).
void rawSql(const std::string& path, const std::vector<QString>& statements) {
    const QString name = QStringLiteral("raw-%1").arg(reinterpret_cast<quintptr>(&statements));
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(QString::fromStdString(path));
        ASSERT_TRUE(db.open());
        for (const auto& sql : statements) {
            QSqlQuery q(db);
            ASSERT_TRUE(q.exec(sql)) << sql.toStdString();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
}

int storedVersion(const std::string& path) {
    const QString name = QStringLiteral("version-check");
    int v = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(QString::fromStdString(path));
        if (db.open()) {
            QSqlQuery q(db);
            if (q.exec(QStringLiteral("SELECT MAX(version) FROM schema_version")) && q.next()) v = q.value(0).toInt();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return v;
}

// A finished job with a failed pair, in `store`.
std::string runMixedJob(JobQueue& queue) {
    auto s = spec({"tiny-gpt2", "tiny-llama"}, {"attention", "integrated_gradients"}, "Persist me",
                  {{"max_new_tokens", 3}, {"methods", {{"integrated_gradients", {{"steps", 16}}}}}});
    s.models.push_back("/nonexistent/model");
    auto id = queue.submit(s);
    EXPECT_TRUE(id.ok());
    EXPECT_TRUE(waitFinished(queue, *id));
    return *id;
}

} // namespace

TEST(JobStore, JobHistorySurvivesReopen) {
    TempStore ts;
    std::string id;
    nlohmann::json before;
    {
        auto store = ts.open();
        ASSERT_TRUE(store);
        EXPECT_EQ(store->versionOnOpen(), -1);
        JobQueue queue(store.get(), twoWorkers());
        id = runMixedJob(queue);
        auto exported = queue.exportJob(id);
        ASSERT_TRUE(exported.ok());
        before = exported.value();
    }
    auto store = ts.open();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->versionOnOpen(), JobStore::kSchemaVersion);
    EXPECT_TRUE(store->interruptedOnOpen().empty());
    auto list = store->listJobs();
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ(list->front().id, id);
    EXPECT_EQ(list->front().status, JobStatus::Completed);
    auto loaded = store->loadJob(id);
    ASSERT_TRUE(loaded.ok() && loaded->has_value());
    const JobRecord& job = **loaded;
    EXPECT_EQ(job.pairs.size(), 6u);
    EXPECT_EQ(exportJson(job), before) << "the reopened job is identical";
    size_t completed = 0;
    for (const auto& p : job.pairs) {
        if (p.status == JobStatus::Completed) {
            ++completed;
            ASSERT_TRUE(p.result);
            EXPECT_FALSE(p.result->raw.empty());
        }
    }
    EXPECT_EQ(completed, 4u);
    // The export is contract JSON.
    auto contract = readResultJson(before.dump(), "export");
    ASSERT_TRUE(contract.ok()) << contract.error().message;
    EXPECT_EQ(contract->results.size(), 6u);
}

TEST(JobStore, NewerSchemaIsRefusedWithAMessage) {
    TempStore ts;
    { ASSERT_TRUE(ts.open()); }
    rawSql(ts.path(), {QStringLiteral("UPDATE schema_version SET version = 7")});
    auto store = JobStore::open(ts.path());
    ASSERT_FALSE(store.ok());
    const std::string msg = store.error().message;
    EXPECT_NE(msg.find("newer TokenLens"), std::string::npos) << msg;
    EXPECT_NE(msg.find("schema version 7"), std::string::npos) << msg;
    EXPECT_NE(msg.find(ts.path()), std::string::npos) << msg;
    EXPECT_EQ(storedVersion(ts.path()), 7) << "a refused store is left as it was";
}

TEST(JobStore, VersionZeroStoreIsMigrated) {
    TempStore ts;
    // A v0 store as prototype builds wrote it: one table, whole result JSON.
    JobResult r;
    r.jobId = "v0-job";
    r.createdAt = "2026-01-02T03:04:05Z";
    r.completedAt = "2026-01-02T03:04:09Z";
    r.input = {"Hi there", {"Hi", " there"}, {17250, 612}};
    r.options = {{"max_new_tokens", 2}};
    MethodResult m;
    m.model = "tiny-gpt2";
    m.method = "attention";
    m.input = r.input;
    m.output = {" you!", {" you", "!"}, {345, 0}};
    m.contextTokens = {"Hi", " there", " you", "!"};
    m.raw = AttributionMatrix::filled(4, 2);
    m.raw.at(0, 0) = 0.25f;
    m.raw.at(1, 0) = 0.75f;
    m.raw.at(0, 1) = 0.125f;
    m.raw.at(1, 1) = 0.5f;
    m.raw.at(2, 1) = 0.375f;
    m.stepProbability = {0.5, 0.25};
    m.stepEntropy = {1.5, 2.0};
    m.options = {{"layer", "all"}};
    r.results.push_back(m);
    const std::string spec0 =
        R"({"models": ["/models/tiny-gpt2"], "methods": ["attention"], "input": "Hi there", "options": {"max_new_tokens": 2}})";
    rawSql(ts.path(),
           {QStringLiteral("CREATE TABLE jobs (id TEXT PRIMARY KEY, created_at TEXT, status TEXT, spec TEXT, result TEXT)"),
            QStringLiteral("INSERT INTO jobs VALUES ('v0-job', '2026-01-02T03:04:05Z', 'completed', '%1', '%2')")
                .arg(QString::fromStdString(spec0), QString::fromStdString(writeResultJson(r)).replace("'", "''")),
            QStringLiteral("INSERT INTO jobs VALUES ('v0-running', '2026-01-02T03:05:00Z', 'running', '%1', NULL)")
                .arg(QString::fromStdString(spec0))});
    {
        auto store = ts.open();
        ASSERT_TRUE(store);
        EXPECT_EQ(store->versionOnOpen(), 0);
        auto job = store->loadJob("v0-job");
        ASSERT_TRUE(job.ok() && job->has_value()) << (job.ok() ? "missing" : job.error().message);
        const JobRecord& j = **job;
        EXPECT_EQ(j.status, JobStatus::Completed);
        EXPECT_EQ(j.spec.models, std::vector<std::string>{"/models/tiny-gpt2"});
        EXPECT_EQ(j.prompt, "Hi there");
        ASSERT_EQ(j.pairs.size(), 1u);
        ASSERT_TRUE(j.pairs[0].result);
        EXPECT_TRUE(*j.pairs[0].result == m) << "the migrated result is the v0 result";
        auto running = store->loadJob("v0-running");
        ASSERT_TRUE(running.ok() && running->has_value());
        EXPECT_EQ((*running)->status, JobStatus::Interrupted);
        ASSERT_EQ((*running)->pairs.size(), 1u);
        EXPECT_EQ((*running)->pairs[0].status, JobStatus::Interrupted);
    }
    EXPECT_EQ(storedVersion(ts.path()), JobStore::kSchemaVersion);
    auto again = ts.open();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->versionOnOpen(), JobStore::kSchemaVersion);
    EXPECT_EQ(again->listJobs()->size(), 2u);
}

TEST(JobStore, ForeignDatabaseIsRefused) {
    TempStore ts;
    rawSql(ts.path(), {QStringLiteral("CREATE TABLE photos (id INTEGER)")});
    auto store = JobStore::open(ts.path());
    ASSERT_FALSE(store.ok());
    EXPECT_NE(store.error().message.find("not a TokenLens job store"), std::string::npos) << store.error().message;
}

TEST(JobStore, DeleteJobsIncludingARunningOne) {
    TempStore ts;
    auto store = ts.open();
    ASSERT_TRUE(store);
    JobQueue queue(store.get(), twoWorkers());
    auto done = queue.submit(spec({"tiny-gpt2"}, {"attention"}, "Delete me", {{"max_new_tokens", 2}}));
    ASSERT_TRUE(done.ok());
    ASSERT_TRUE(waitFinished(queue, *done));
    int removed = 0;
    QObject::connect(&queue, &JobQueue::jobRemoved, [&](const QString&) { ++removed; });
    auto r = queue.remove(*done);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.value());
    EXPECT_FALSE(queue.job(*done));
    EXPECT_FALSE(store->loadJob(*done)->has_value());

    auto running = queue.submit(spec({"tiny-gpt2"}, {"integrated_gradients"}, "Delete me while running",
                                     {{"max_new_tokens", 4}, {"methods", {{"integrated_gradients", {{"steps", 3000}}}}}}));
    ASSERT_TRUE(running.ok());
    ASSERT_TRUE(waitUntil([&] { return queue.job(*running)->status == JobStatus::Running; }));
    ASSERT_TRUE(queue.remove(*running).ok());
    ASSERT_TRUE(waitIdle(queue, 10000)) << "the deleted job's worker stops";
    EXPECT_FALSE(queue.job(*running));
    EXPECT_FALSE(store->loadJob(*running)->has_value()) << "its late result is not written back";
    EXPECT_EQ(removed, 2);
    EXPECT_FALSE(queue.remove("no-such-job").value());
    EXPECT_TRUE(store->listJobs()->empty());
}

TEST(JobStore, JobsUnfinishedWhenTheQueueCloses_AreInterruptedAndCanBeRerun) {
    TempStore ts;
    std::string id;
    {
        auto store = ts.open();
        JobQueue queue(store.get(), twoWorkers());
        auto s = spec({"tiny-gpt2"}, {"attention", "integrated_gradients"}, "Close me",
                      {{"max_new_tokens", 4}, {"methods", {{"integrated_gradients", {{"steps", 1000}}}}}});
        auto submitted = queue.submit(s);
        ASSERT_TRUE(submitted.ok());
        id = *submitted;
        ASSERT_TRUE(waitUntil([&] { return queue.job(id)->pair(0, "attention")->status == JobStatus::Completed; }));
    }
    auto store = ts.open();
    auto job = store->loadJob(id);
    ASSERT_TRUE(job.ok() && job->has_value());
    EXPECT_EQ((*job)->status, JobStatus::Interrupted);
    EXPECT_EQ((*job)->pair(0, "attention")->status, JobStatus::Completed);
    EXPECT_EQ((*job)->pair(0, "integrated_gradients")->status, JobStatus::Interrupted);

    JobQueue queue(store.get(), twoWorkers());
    auto again = queue.rerun(id);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_TRUE(again.value());
    ASSERT_TRUE(waitFinished(queue, id, 120000));
    const auto after = queue.job(id);
    EXPECT_EQ(after->status, JobStatus::Completed);
    EXPECT_EQ(after->pair(0, "integrated_gradients")->status, JobStatus::Completed);
    EXPECT_FALSE(queue.rerun(id).value()) << "nothing left to run";
}

TEST(JobStore, ImportExportRoundTrip) {
    TempStore a, b;
    nlohmann::json exported;
    std::string id;
    {
        auto store = a.open();
        JobQueue queue(store.get(), twoWorkers());
        id = runMixedJob(queue);
        auto follow = queue.followUp(id, " More please");
        ASSERT_TRUE(follow.ok()) << follow.error().message;
        ASSERT_TRUE(waitFinished(queue, *follow));
        auto e = queue.exportJob(*follow);
        ASSERT_TRUE(e.ok());
        exported = e.value();
        id = *follow;
    }
    auto store = b.open();
    JobQueue queue(store.get(), twoWorkers());
    auto imported = queue.importJob(exported, "export.json");
    ASSERT_TRUE(imported.ok()) << imported.error().message;
    EXPECT_EQ(imported.value(), id) << "a free id is kept";
    auto again = queue.exportJob(id);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again.value(), exported);
    // Stored, not only in memory.
    auto loaded = store->loadJob(id);
    ASSERT_TRUE(loaded.ok() && loaded->has_value());
    EXPECT_EQ(exportJson(**loaded), exported);
    // Importing it again gives it a new id.
    auto second = queue.importJob(exported, "export.json");
    ASSERT_TRUE(second.ok());
    EXPECT_NE(second.value(), id);

    // A plain contract result (no tokenlens_job block) is imported too.
    nlohmann::json plain = exported;
    plain.erase("tokenlens_job");
    auto third = queue.importJob(plain, "plain.json");
    ASSERT_TRUE(third.ok()) << third.error().message;
    const auto job = queue.job(third.value());
    ASSERT_TRUE(job);
    EXPECT_EQ(job->spec.methods, (std::vector<std::string>{"attention", "integrated_gradients"}));
    EXPECT_EQ(job->spec.models.size(), 3u);
    EXPECT_EQ(job->pairs.size(), 6u);
    EXPECT_EQ(job->status, JobStatus::Completed);
    EXPECT_FALSE(queue.importJob(nlohmann::json{{"schema", "tokenlens.job/9"}}, "bad.json").ok());
}

namespace {

// A completed result with a (n + t) x t matrix, NaN where i > p_j.
MethodResult storedResult(int64_t n, int64_t t) {
    MethodResult r;
    r.model = "tiny";
    r.method = "saliency";
    for (int64_t i = 0; i < n; ++i) {
        r.input.tokens.push_back("x");
        r.input.ids.push_back(i);
    }
    for (int64_t j = 0; j < t; ++j) {
        r.output.tokens.push_back("y");
        r.output.ids.push_back(j);
    }
    r.contextTokens = r.input.tokens;
    r.contextTokens.insert(r.contextTokens.end(), r.output.tokens.begin(), r.output.tokens.end());
    r.raw = AttributionMatrix::filled(n + t, t);
    for (int64_t i = 0; i < n + t; ++i) {
        for (int64_t j = 0; j < t; ++j) {
            if (i <= n + j - 1) r.raw.at(i, j) = static_cast<float>(i - 2 * j) / 3.0f;
        }
    }
    r.stepProbability.assign(static_cast<size_t>(t), 0.5);
    r.stepEntropy.assign(static_cast<size_t>(t), 1.0);
    return r;
}

} // namespace

// Large matrices are stored as float32 bytes beside the result's JSON, not
// as JSON text; blobs written before (compressed JSON) still read.
TEST(JobStore, LargeMatricesAreStoredAsBinaryAndOldBlobsStillRead) {
    const MethodResult large = storedResult(400, 200); // 120,000 cells
    ASSERT_GT(large.raw.rows * large.raw.cols, kStoreInlineMaxCells);
    const QByteArray blob = compressResult(large);
    EXPECT_TRUE(blob.startsWith("TLRB"));
    // The matrix bytes are there as they are in memory (after the JSON).
    const QByteArray cells(reinterpret_cast<const char*>(large.raw.data.data()),
                           static_cast<qsizetype>(large.raw.data.size() * sizeof(float)));
    EXPECT_TRUE(blob.endsWith(cells));
    auto back = uncompressResult(blob, "test blob");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(back.value() == large);

    // A small result keeps the compressed JSON form.
    const MethodResult small = storedResult(6, 3);
    EXPECT_FALSE(compressResult(small).startsWith("TLRB"));
    auto smallBack = uncompressResult(compressResult(small), "small blob");
    ASSERT_TRUE(smallBack.ok()) << smallBack.error().message;
    EXPECT_TRUE(smallBack.value() == small);

    // The form earlier builds wrote for any size: qCompress of the JSON.
    const std::string text = toJson(large).dump();
    auto old = uncompressResult(qCompress(QByteArray::fromStdString(text)), "old blob");
    ASSERT_TRUE(old.ok()) << old.error().message;
    EXPECT_TRUE(old.value() == large);

    // Cut short: refused naming the source.
    auto cut = uncompressResult(blob.left(blob.size() - 4), "cut blob");
    ASSERT_FALSE(cut.ok());
    EXPECT_NE(cut.error().message.find("cut blob"), std::string::npos) << cut.error().message;
    auto header = uncompressResult(blob.left(20), "header only");
    ASSERT_FALSE(header.ok());
    EXPECT_NE(header.error().message.find("header only"), std::string::npos);
}

// Through the store: a job with a large result saved and loaded back.
TEST(JobStore, LargeResultSurvivesReopen) {
    TempStore ts;
    JobRecord job;
    job.id = "large-job";
    job.spec.models = {"tiny"};
    job.spec.methods = {"saliency"};
    job.spec.input = "x";
    job.prompt = "x";
    job.createdAt = job.finishedAt = "2026-12-07T00:00:00Z";
    job.status = JobStatus::Completed;
    PairRecord p;
    p.method = "saliency";
    p.status = JobStatus::Completed;
    p.result = std::make_shared<const MethodResult>(storedResult(500, 300));
    job.pairs.push_back(p);
    {
        auto store = ts.open();
        ASSERT_TRUE(store->insertJob(job).ok());
    }
    auto store = ts.open();
    auto loaded = store->loadJob("large-job");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    ASSERT_TRUE(loaded->has_value());
    ASSERT_TRUE((*loaded)->pairs.at(0).result);
    EXPECT_TRUE(*(*loaded)->pairs[0].result == *p.result);
}
