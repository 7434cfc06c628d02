// Faults injected into the store and the files around a job: a damaged
// store file (refused naming it; the app's open moves it aside and starts a
// new one), the disk full while a job runs (the job says so, finished
// results stay readable), kill -9 during an export and during a store write
// (nothing half-written is read back), a model folder deleted or changed
// while a job runs on it, out of memory in a pair.

// LibTorch before Qt, whose `slots` macro it uses as a name.
#include <ATen/ATen.h>

#include "jobs_test_util.h"

#include "run/guarded.h"

#include <QDir>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlQuery>

#include <random>

#include <sys/resource.h>

using namespace tokenlens;
using namespace tokenlens::jobs;
using namespace tokenlens::jobs::testing;

namespace {

std::string readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void writeAll(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

// A store holding one finished job of a few pairs (its id returned).
std::string storeWithAFinishedJob(const std::string& path, const std::string& input = "The quick brown fox") {
    auto store = JobStore::open(path);
    EXPECT_TRUE(store) << (store ? "" : store.error().message);
    if (!store) return {};
    JobQueue queue(store->get());
    auto id = queue.submit(spec({"tiny-gpt2"}, {"attention", "saliency", "input_x_gradient"}, input, {{"max_new_tokens", 3}}));
    EXPECT_TRUE(id) << (id ? "" : id.error().message);
    if (!id) return {};
    EXPECT_TRUE(waitFinished(queue, *id));
    return *id;
}

std::vector<std::string> filesBeside(const std::string& path) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
        out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool integrityOk(const std::string& path) {
    const QString name = QStringLiteral("integrity-check");
    bool ok = false;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(QString::fromStdString(path));
        if (db.open()) {
            QSqlQuery q(db);
            ok = q.exec(QStringLiteral("PRAGMA integrity_check")) && q.next() && q.value(0).toString() == "ok";
        }
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

} // namespace

TEST(Faults, ADamagedStoreFileIsRefusedNamingTheFile) {
    TempStore ts;
    ASSERT_FALSE(storeWithAFinishedJob(ts.path()).empty());
    const std::string good = readAll(ts.path());
    ASSERT_GT(good.size(), 8192u);
    std::mt19937 rng(20);
    std::string garbage(good.size(), '\0');
    for (auto& c : garbage) c = static_cast<char>(rng());
    std::string overwritten = good; // pages after the first overwritten
    for (size_t i = 4096; i < overwritten.size(); ++i) overwritten[i] = static_cast<char>(rng());
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"cut to half", good.substr(0, good.size() / 2)},
        {"cut to 100 bytes", good.substr(0, 100)},
        {"random bytes", garbage},
        {"pages after the first overwritten", overwritten},
        {"a text file", "This is not a database.\n"},
    };
    for (const auto& [name, bytes] : cases) {
        QTemporaryDir dir;
        const std::string path = dir.filePath(QStringLiteral("jobs.sqlite")).toStdString();
        writeAll(path, bytes);
        auto store = JobStore::open(path);
        ASSERT_FALSE(store) << name << ": a damaged store opened";
        EXPECT_EQ(store.error().code, ErrorCode::Corrupt) << name << ": " << store.error().message;
        EXPECT_EQ(store.error().message.rfind(path + ": the job store is damaged", 0), 0u) << name << ": " << store.error().message;
        EXPECT_EQ(readAll(path), bytes) << name << ": open() changed the file";
    }
}

TEST(Faults, TheAppStartsWithANewStoreAndKeepsTheDamagedOneAside) {
    TempStore ts;
    ASSERT_FALSE(storeWithAFinishedJob(ts.path()).empty());
    const std::string good = readAll(ts.path());
    const std::string damaged = good.substr(0, good.size() / 2);
    writeAll(ts.path(), damaged);

    std::string notice;
    auto store = JobStore::openOrSetAside(ts.path(), &notice);
    ASSERT_TRUE(store) << store.error().message;
    auto listed = (*store)->listJobs();
    ASSERT_TRUE(listed);
    EXPECT_TRUE(listed->empty()) << "the new store starts empty";
    std::string aside;
    for (const auto& f : filesBeside(ts.path())) {
        if (f.rfind("jobs.sqlite.damaged-", 0) == 0 && f.find("-wal") == std::string::npos &&
            f.find("-shm") == std::string::npos) {
            aside = (std::filesystem::path(ts.path()).parent_path() / f).string();
        }
    }
    ASSERT_FALSE(aside.empty()) << "the damaged file was not kept";
    EXPECT_EQ(readAll(aside), damaged) << "the damaged file was kept byte for byte";
    EXPECT_NE(notice.find(ts.path()), std::string::npos) << notice;
    EXPECT_NE(notice.find(aside), std::string::npos) << notice;
    EXPECT_NE(notice.find("damaged"), std::string::npos) << notice;
    // The new store works.
    JobQueue queue(store->get());
    auto id = queue.submit(spec({"tiny-gpt2"}, {"attention"}, "After the damage", {{"max_new_tokens", 2}}));
    ASSERT_TRUE(id);
    ASSERT_TRUE(waitFinished(queue, *id));
    EXPECT_EQ(queue.job(*id)->status, JobStatus::Completed);

    // Another application's database is refused, never moved.
    QTemporaryDir dir;
    const std::string foreign = dir.filePath(QStringLiteral("photos.sqlite")).toStdString();
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("foreign"));
        db.setDatabaseName(QString::fromStdString(foreign));
        ASSERT_TRUE(db.open());
        QSqlQuery(db).exec(QStringLiteral("CREATE TABLE photos (id INTEGER)"));
    }
    QSqlDatabase::removeDatabase(QStringLiteral("foreign"));
    const std::string foreignBytes = readAll(foreign);
    notice.clear();
    EXPECT_FALSE(JobStore::openOrSetAside(foreign, &notice));
    EXPECT_TRUE(notice.empty());
    EXPECT_EQ(filesBeside(foreign), std::vector<std::string>{"photos.sqlite"});
    EXPECT_EQ(readAll(foreign), foreignBytes);
}

// The store's writes fail (the file may not grow: RLIMIT_FSIZE, as a full
// disk does) while a child runs a job: the child says so and ends normally,
// and the job finished before is read back whole.
TEST(Faults, DiskFullWhileAJobRunsIsReportedAndFinishedResultsStayReadable) {
    TempStore ts;
    const std::string firstId = storeWithAFinishedJob(ts.path());
    ASSERT_FALSE(firstId.empty());
    nlohmann::json firstBefore;
    {
        auto store = ts.open();
        ASSERT_TRUE(store);
        firstBefore = exportJson(**store->loadJob(firstId));
    }
    QTemporaryDir dir;
    const std::string jobFile = dir.filePath(QStringLiteral("job.json")).toStdString();
    std::ofstream(jobFile) << toJson(spec({"tiny-gpt2", "tiny-llama"}, {"attention", "saliency"},
                                          std::string(400, 'x') + " and more text for bigger results",
                                          {{"max_new_tokens", 4}}))
                                  .dump();
    const std::string logs = dir.path().toStdString();
    // No file of the child may grow past the store's size: the first write
    // to the WAL that extends it fails with EFBIG, as ENOSPC would.
    const auto limit = static_cast<rlim_t>(std::filesystem::file_size(ts.path()));
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, SIG_IGN); // the write fails instead of the child being killed
    rlimit small = old;
    small.rlim_cur = limit;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    Child child;
    const bool started = child.start({"run", jobFile, "--store", ts.path(), "--quiet", "--output", logs + "/out.json"},
                                     logs + "/run.out", logs + "/run.err");
    ::setrlimit(RLIMIT_FSIZE, &old);
    ASSERT_TRUE(started);
    ASSERT_TRUE(child.wait(120000)) << "the child hangs on a full disk";
    EXPECT_FALSE(child.killedBySignal()) << child.err();
    EXPECT_NE(child.exitCode(), 0) << "a job whose store cannot be written is not a success";
    const std::string err = child.err();
    EXPECT_NE(err.find(ts.path()), std::string::npos) << "the message names the store: " << err;
    EXPECT_TRUE(err.find("full") != std::string::npos || err.find("disk I/O") != std::string::npos ||
                err.find("too large") != std::string::npos)
        << "the message says why: " << err;

    // Afterwards: the store opens whole, the finished job is as it was.
    EXPECT_TRUE(integrityOk(ts.path()));
    auto store = ts.open();
    ASSERT_TRUE(store);
    auto first = store->loadJob(firstId);
    ASSERT_TRUE(first.ok() && first->has_value());
    EXPECT_EQ(exportJson(**first), firstBefore);
}

// kill -9 at random moments of `jobs export --output`: the file holds the
// old export or the new one, never a part of either.
TEST(Faults, KillDuringAnExportLeavesTheOldFileOrTheNewOne) {
    TempStore ts;
    std::string words;
    for (int i = 0; i < 60; ++i) words += "word" + std::to_string(i) + " ";
    const std::string id = storeWithAFinishedJob(ts.path(), words);
    ASSERT_FALSE(id.empty());
    QTemporaryDir dir;
    const std::string out = dir.filePath(QStringLiteral("export.json")).toStdString();
    const std::string logs = dir.path().toStdString();
    // The complete export, and an old file it replaces.
    Child full;
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(full.start({"jobs", "export", id, "--store", ts.path(), "--output", out}, logs + "/o", logs + "/e"));
    ASSERT_TRUE(full.wait(60000));
    const auto took = static_cast<unsigned>(msSince(started)); // the kills fall over the whole run
    ASSERT_EQ(full.exitCode(), 0) << full.err();
    const std::string complete = readAll(out);
    ASSERT_GT(complete.size(), 10000u);
    const std::string old = "{\"an\": \"older export\"}\n";
    std::mt19937 rng(7);
    int killedMidway = 0, outcomesOld = 0, outcomesNew = 0;
    for (int i = 0; i < 12; ++i) {
        writeAll(out, old);
        Child c;
        ASSERT_TRUE(c.start({"jobs", "export", id, "--store", ts.path(), "--output", out}, logs + "/o", logs + "/e"));
        ::usleep(static_cast<useconds_t>(rng() % (took * 1000 + 1))); // before, during or after the write
        const bool wasRunning = c.running();
        c.kill();
        ASSERT_TRUE(c.wait(10000));
        killedMidway += wasRunning && c.killedBySignal();
        const std::string now = readAll(out);
        EXPECT_TRUE(now == old || now == complete) << "kill " << i << ": a file of " << now.size() << " bytes";
        outcomesOld += now == old;
        outcomesNew += now == complete;
        for (const auto& f : filesBeside(out)) {
            if (f.find(".tmp-") != std::string::npos) std::filesystem::remove(std::filesystem::path(out).parent_path() / f);
        }
    }
    std::printf("[ faults  ] export killed 12 times (%d while running): old file %d, new file %d\n", killedMidway,
                outcomesOld, outcomesNew);
}

// kill -9 at random moments of `jobs import` (one transaction writing a job
// and its results): the store opens whole, and the job is there with all its
// results or not there at all.
TEST(Faults, KillDuringAStoreWriteLeavesTheJobWholeOrAbsent) {
    TempStore source;
    std::string words;
    for (int i = 0; i < 60; ++i) words += "token" + std::to_string(i) + " ";
    const std::string id = storeWithAFinishedJob(source.path(), words);
    ASSERT_FALSE(id.empty());
    QTemporaryDir dir;
    const std::string logs = dir.path().toStdString();
    const std::string exported = logs + "/job.json";
    Child ex;
    ASSERT_TRUE(ex.start({"jobs", "export", id, "--store", source.path(), "--output", exported}, logs + "/o", logs + "/e"));
    ASSERT_TRUE(ex.wait(60000));
    ASSERT_EQ(ex.exitCode(), 0) << ex.err();
    TempStore target;
    { ASSERT_TRUE(target.open()); }
    // How long a whole import takes: the kills fall over it.
    Child whole;
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(whole.start({"jobs", "import", exported, "--store", target.path()}, logs + "/o", logs + "/e"));
    ASSERT_TRUE(whole.wait(60000));
    ASSERT_EQ(whole.exitCode(), 0) << whole.err();
    const auto took = static_cast<unsigned>(msSince(started));
    {
        auto store = target.open();
        ASSERT_TRUE(store);
        auto jobs = store->listJobs(false);
        ASSERT_TRUE(jobs && jobs->size() == 1u);
        ASSERT_TRUE(store->deleteJob(jobs->front().id));
    }
    std::mt19937 rng(11);
    int present = 0;
    for (int i = 0; i < 10; ++i) {
        Child c;
        ASSERT_TRUE(c.start({"jobs", "import", exported, "--store", target.path()}, logs + "/o", logs + "/e"));
        ::usleep(static_cast<useconds_t>(rng() % (took * 1000 + 1)));
        c.kill();
        ASSERT_TRUE(c.wait(10000));
        ASSERT_TRUE(integrityOk(target.path())) << "kill " << i;
        auto store = target.open();
        ASSERT_TRUE(store) << "kill " << i;
        auto jobs = store->listJobs(true);
        ASSERT_TRUE(jobs) << jobs.error().message;
        for (const auto& j : *jobs) {
            ++present;
            ASSERT_EQ(j.pairs.size(), 3u);
            for (const auto& p : j.pairs) {
                EXPECT_EQ(p.status, JobStatus::Completed) << "kill " << i;
                EXPECT_TRUE(p.result && !p.result->raw.empty()) << "kill " << i << ": a pair without its result";
            }
            ASSERT_TRUE(store->deleteJob(j.id));
        }
    }
    std::printf("[ faults  ] import killed 10 times: the job was whole %d times, absent the others\n", present);
}

// The model's folder deleted, then its weights overwritten, while jobs run
// on it: no crash; every pair ends; what fails names the folder or file.
TEST(Faults, AModelFolderDeletedOrChangedWhileAJobRuns) {
    QTemporaryDir dir;
    const std::string model = dir.filePath(QStringLiteral("copied-gpt2")).toStdString();
    std::filesystem::copy(fixtureModel("tiny-gpt2"), model, std::filesystem::copy_options::recursive);
    JobQueue queue(nullptr);
    auto first = queue.submit(spec({model}, {"attention", "saliency", "integrated_gradients"}, "The quick brown fox",
                                   {{"max_new_tokens", 3}, {"methods", {{"integrated_gradients", {{"steps", 400}}}}}}));
    ASSERT_TRUE(first) << first.error().message;
    // Deleted once the model is loaded and its first pair done.
    ASSERT_TRUE(waitUntil([&] { return queue.job(*first)->pair(0, "attention")->status == JobStatus::Completed; },
                          static_cast<int>(60000 * kTimeScale)));
    std::filesystem::remove_all(model);
    ASSERT_TRUE(waitFinished(queue, *first));
    const auto done = queue.job(*first);
    for (const auto& p : done->pairs) {
        std::printf("[ faults  ] folder deleted mid-job: %s %s%s\n", p.method.c_str(), statusName(p.status),
                    p.error ? (": " + *p.error).c_str() : "");
        EXPECT_TRUE(isFinal(p.status)) << p.method;
        if (p.status != JobStatus::Completed) {
            ASSERT_TRUE(p.error) << p.method;
            EXPECT_NE(p.error->find("copied-gpt2"), std::string::npos) << *p.error;
        }
    }
    // A job on the deleted folder fails naming it.
    auto gone = queue.submit(spec({model}, {"attention"}, "Gone", {{"max_new_tokens", 2}}));
    if (gone) {
        ASSERT_TRUE(waitFinished(queue, *gone));
        const auto rec = queue.job(*gone);
        EXPECT_NE(rec->status, JobStatus::Completed);
        const std::string msg = rec->error.value_or(rec->pairs[0].error.value_or(""));
        EXPECT_NE(msg.find("copied-gpt2"), std::string::npos) << msg;
    } else {
        EXPECT_NE(gone.error().message.find("copied-gpt2"), std::string::npos) << gone.error().message;
    }
    // Put back with its weights cut short: refused naming the weights file.
    std::filesystem::copy(fixtureModel("tiny-gpt2"), model, std::filesystem::copy_options::recursive);
    const std::string weights = model + "/model.safetensors";
    ASSERT_TRUE(std::filesystem::exists(weights));
    std::filesystem::resize_file(weights, std::filesystem::file_size(weights) / 3);
    auto changed = queue.submit(spec({model}, {"attention"}, "Changed", {{"max_new_tokens", 2}}));
    ASSERT_TRUE(changed) << changed.error().message;
    ASSERT_TRUE(waitFinished(queue, *changed));
    const auto rec = queue.job(*changed);
    EXPECT_NE(rec->status, JobStatus::Completed) << "weights cut short were used";
    const std::string msg = rec->error.value_or(rec->pairs[0].error.value_or(""));
    std::printf("[ faults  ] weights cut short: %s: %s\n", statusName(rec->status), msg.c_str());
    EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

// Out of memory in a pair: std::bad_alloc, and LibTorch's allocator refusing
// a tensor, become that pair's error through the one catch (run/guarded.h)
// that every pair runs in; the queue then fails that pair alone
// (JobQueue.FailingPairFailsAlone).
TEST(Faults, OutOfMemoryInAPairBecomesItsErrorAndNothingThrows) {
    auto injected = guarded("integrated_gradients", "out of memory", []() -> Status { throw std::bad_alloc(); });
    ASSERT_FALSE(injected);
    EXPECT_EQ(injected.error().message, "integrated_gradients: out of memory");
    auto real = guarded("saliency", "out of memory", []() -> Status {
        (void)at::empty({int64_t{1} << 50}); // 4 PiB of floats
        return {};
    });
    ASSERT_FALSE(real);
    EXPECT_EQ(real.error().message.rfind("saliency: ", 0), 0u) << real.error().message;
    EXPECT_NE(real.error().message.find("memory"), std::string::npos) << real.error().message;
}
