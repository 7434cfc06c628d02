#include "jobs/job_store.h"

#include "result/result_json.h"

#include <QDir>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QStandardPaths>
#include <QVariant>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

namespace tokenlens::jobs {

using nlohmann::json;

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }
std::string s(const QVariant& v) { return v.isNull() ? std::string{} : v.toString().toStdString(); }
QVariant optionalText(const std::optional<std::string>& v) {
    return v ? QVariant(q(*v)) : QVariant(QMetaType(QMetaType::QString));
}
QVariant nullableText(const std::string& v) { return v.empty() ? QVariant(QMetaType(QMetaType::QString)) : QVariant(q(v)); }

// Field 22 of /proc/PID/stat: the process start time in clock ticks since boot.
std::string startTime(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    if (!in) return {};
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 22 && rest >> field; ++i) {
        if (i == 22) return field;
    }
    return {};
}

// Whether the process that wrote `owner` ("pid:start") is still running.
bool ownerAlive(const std::string& owner) {
    const auto colon = owner.find(':');
    const long pid = std::atol(owner.substr(0, colon).c_str());
    if (pid <= 0) return false;
    const std::string start = colon == std::string::npos ? std::string{} : owner.substr(colon + 1);
    const std::string now = startTime(pid);
    if (!now.empty() || std::ifstream("/proc/self/stat")) {
        // /proc available: alive only when the same process (not a reused pid).
        return !now.empty() && (start.empty() || now == start);
    }
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

std::atomic<int> g_connections{0};

json turnsJson(const std::vector<Turn>& turns) {
    json a = json::array();
    for (const auto& t : turns) a.push_back({{"role", t.role}, {"job", t.job}, {"begin", t.begin}, {"end", t.end}});
    return a;
}

} // namespace

std::string JobStore::ownerToken() {
    static const std::string token = [] {
        const long pid = static_cast<long>(::getpid());
        return std::to_string(pid) + ":" + startTime(pid);
    }();
    return token;
}

std::string JobStore::defaultPath() {
    if (const char* env = std::getenv("TOKENLENS_JOB_STORE"); env && *env) return env;
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    return QDir(dir).filePath(QStringLiteral("jobs.sqlite")).toStdString();
}

Result<std::unique_ptr<JobStore>> JobStore::open(const std::string& path) {
    std::unique_ptr<JobStore> store(new JobStore());
    store->m_path = path;
    store->m_connection = QStringLiteral("tokenlens-jobs-%1").arg(g_connections.fetch_add(1));
    const QFileInfo info(q(path));
    if (!info.absoluteDir().exists() && !QDir().mkpath(info.absolutePath())) {
        return makeError(ErrorCode::Unreadable, path + ": cannot create the folder of the job store");
    }
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), store->m_connection);
        if (!db.isValid()) {
            return makeError(ErrorCode::Unsupported,
                             "the Qt SQLite driver is missing (install libqt6sql6-sqlite): " +
                                 db.lastError().text().toStdString());
        }
        db.setDatabaseName(q(path));
        db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=10000"));
        if (!db.open()) {
            return makeError(ErrorCode::Unreadable, path + ": cannot open the job store: " +
                                                        db.lastError().text().toStdString());
        }
    }
    if (auto st = store->init(); !st) return st.error();
    return store;
}

JobStore::~JobStore() {
    {
        QSqlDatabase db = QSqlDatabase::database(m_connection, false);
        if (db.isOpen()) db.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
}

Status JobStore::exec(const QString& sql) {
    QSqlQuery query(QSqlDatabase::database(m_connection, false));
    if (!query.exec(sql)) {
        return makeError(ErrorCode::Unreadable, m_path + ": " + query.lastError().text().toStdString() + " (in " +
                                                    sql.left(60).toStdString() + ")");
    }
    return {};
}

Status JobStore::init() {
    if (auto st = checkIntact(); !st) return st;
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    const QStringList tables = db.tables();
    if (tables.contains(QStringLiteral("schema_version"))) {
        QSqlQuery query(db);
        if (!query.exec(QStringLiteral("SELECT MAX(version) FROM schema_version")) || !query.next()) {
            return makeError(ErrorCode::Corrupt, m_path + ": cannot read the schema version: " +
                                                     query.lastError().text().toStdString());
        }
        m_versionOnOpen = query.value(0).toInt();
    } else if (tables.contains(QStringLiteral("jobs"))) {
        m_versionOnOpen = 0;
    } else if (!tables.isEmpty()) {
        return makeError(ErrorCode::Corrupt, m_path + ": not a TokenLens job store (it has tables " +
                                                 tables.join(QStringLiteral(", ")).toStdString() + ")");
    }
    if (m_versionOnOpen > kSchemaVersion) {
        return makeError(ErrorCode::Unsupported,
                         m_path + ": this job store was written by a newer TokenLens (schema version " +
                             std::to_string(m_versionOnOpen) + "; this build reads versions up to " +
                             std::to_string(kSchemaVersion) +
                             "). Use that newer version, or choose another store with --store.");
    }
    // WAL: readers do not block the writer and a commit is one append.
    QSqlQuery mode(db);
    if (!mode.exec(QStringLiteral("PRAGMA journal_mode=WAL")) || !mode.next() ||
        mode.value(0).toString().toLower() != QStringLiteral("wal")) {
        return makeError(ErrorCode::Unsupported, m_path + ": cannot switch the job store to WAL mode");
    }
    mode.finish();
    if (auto st = exec(QStringLiteral("PRAGMA synchronous=FULL")); !st) return st;
    if (m_versionOnOpen < 0) {
        if (auto st = createSchema(); !st) return st;
    } else if (m_versionOnOpen < kSchemaVersion) {
        if (auto st = migrate(m_versionOnOpen); !st) return st;
    }
    // Stores of earlier builds lack the index of the stored-result lookup.
    if (auto st = exec(QStringLiteral("CREATE INDEX IF NOT EXISTS pairs_cache_key ON pairs(cache_key)")); !st) return st;
    return recoverInterrupted();
}

Status JobStore::createSchema() {
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    if (!db.transaction()) return makeError(ErrorCode::Unreadable, m_path + ": cannot start a transaction");
    m_inTransaction = true;
    Status st = createTables();
    m_inTransaction = false;
    if (!st) {
        db.rollback();
        return st;
    }
    if (!db.commit()) return makeError(ErrorCode::Unreadable, m_path + ": cannot commit the new schema");
    return {};
}

Status JobStore::createTables() {
    const char* statements[] = {
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, spec TEXT NOT NULL, prompt TEXT NOT NULL,"
        " turns TEXT NOT NULL DEFAULT '[]', parent_job TEXT, status TEXT NOT NULL, error TEXT,"
        " created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, owner TEXT)",
        "CREATE INDEX jobs_parent ON jobs(parent_job)",
        "CREATE INDEX jobs_status ON jobs(status)",
        "CREATE TABLE pairs (job_id TEXT NOT NULL, position INTEGER NOT NULL, model_index INTEGER NOT NULL,"
        " method TEXT NOT NULL, status TEXT NOT NULL, error TEXT, from_cache INTEGER NOT NULL DEFAULT 0,"
        " cache_key TEXT, seconds REAL NOT NULL DEFAULT 0, started_at TEXT, finished_at TEXT, result BLOB,"
        " PRIMARY KEY (job_id, model_index, method))",
        "DELETE FROM schema_version",
    };
    for (const char* sql : statements) {
        if (auto st = exec(QString::fromUtf8(sql)); !st) return st;
    }
    return exec(QStringLiteral("INSERT INTO schema_version (version) VALUES (%1)").arg(kSchemaVersion));
}

// v0 -> v1: the prototype's single table becomes jobs + pairs, results compressed.
Status JobStore::migrate(int from) {
    if (from != 0) {
        return makeError(ErrorCode::Unsupported, m_path + ": no migration from schema version " + std::to_string(from));
    }
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    const QSqlRecord columns = db.record(QStringLiteral("jobs"));
    for (const char* c : {"id", "created_at", "status", "spec", "result"}) {
        if (columns.indexOf(QString::fromUtf8(c)) < 0) {
            return makeError(ErrorCode::Corrupt, m_path + ": an unversioned job store without column jobs." + c +
                                                     " (not a TokenLens store)");
        }
    }
    // One transaction: a failed migration leaves the v0 store as it was.
    if (!db.transaction()) return makeError(ErrorCode::Unreadable, m_path + ": cannot start a transaction");
    m_inTransaction = true;
    auto failed = [&](Status st) {
        m_inTransaction = false;
        db.rollback();
        return st;
    };
    if (auto st = exec(QStringLiteral("ALTER TABLE jobs RENAME TO jobs_v0")); !st) return failed(st);
    if (auto st = createTables(); !st) return failed(st);
    QSqlQuery rows(db);
    rows.setForwardOnly(true);
    if (!rows.exec(QStringLiteral("SELECT id, created_at, status, spec, result FROM jobs_v0 ORDER BY rowid"))) {
        return failed(makeError(ErrorCode::Corrupt, m_path + ": " + rows.lastError().text().toStdString()));
    }
    std::vector<JobRecord> migrated;
    while (rows.next()) {
        const std::string id = s(rows.value(0));
        const std::string source = m_path + ": v0 job " + id;
        JobRecord job;
        const std::string resultText = s(rows.value(4));
        if (!resultText.empty()) {
            auto imported = importJson(json::parse(resultText, nullptr, false), source);
            if (!imported) return failed(imported.error());
            job = std::move(imported.value());
        }
        job.id = id;
        job.createdAt = s(rows.value(1));
        const auto specJson = nlohmann::ordered_json::parse(s(rows.value(3)), nullptr, false);
        if (specJson.is_object()) {
            if (auto spec = readJob(specJson, JobReading::file(source + " spec")); spec) {
                // Keep the pairs read from the result: they index the spec's
                // models when their names line up, else the result's own list.
                if (job.pairs.empty() || spec->models.size() == job.spec.models.size()) job.spec = spec.value();
            }
        }
        if (job.prompt.empty()) job.prompt = job.spec.input;
        if (job.pairs.empty()) job.pairs = expandPairs(job.spec);
        const auto status = statusFromName(s(rows.value(2))).value_or(JobStatus::Completed);
        job.status = isFinal(status) ? status : JobStatus::Interrupted;
        for (auto& p : job.pairs) {
            if (!isFinal(p.status)) p.status = JobStatus::Interrupted;
        }
        migrated.push_back(std::move(job));
    }
    rows.finish();
    for (auto& job : migrated) {
        if (auto st = insertJob(job); !st) return failed(st);
    }
    if (auto st = exec(QStringLiteral("DROP TABLE jobs_v0")); !st) return failed(st);
    m_inTransaction = false;
    if (!db.commit()) return makeError(ErrorCode::Unreadable, m_path + ": cannot commit the migration");
    return {};
}

Status JobStore::recoverInterrupted() {
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    QSqlQuery query(db);
    if (!query.exec(QStringLiteral("SELECT id, owner FROM jobs WHERE status IN ('queued', 'running')"))) {
        return makeError(ErrorCode::Corrupt, m_path + ": " + query.lastError().text().toStdString());
    }
    std::vector<std::string> abandoned;
    while (query.next()) {
        if (!ownerAlive(s(query.value(1)))) abandoned.push_back(s(query.value(0)));
    }
    query.finish();
    if (abandoned.empty()) return {};
    if (!db.transaction()) return makeError(ErrorCode::Unreadable, m_path + ": cannot start a transaction");
    for (const auto& id : abandoned) {
        QSqlQuery u(db);
        u.prepare(QStringLiteral("UPDATE jobs SET status = 'interrupted', error = ? WHERE id = ?"));
        u.addBindValue(QStringLiteral("interrupted: the process running it ended before it finished"));
        u.addBindValue(q(id));
        QSqlQuery p(db);
        p.prepare(QStringLiteral("UPDATE pairs SET status = 'interrupted', error = 'interrupted' "
                                 "WHERE job_id = ? AND status IN ('queued', 'running')"));
        p.addBindValue(q(id));
        if (!u.exec() || !p.exec()) {
            db.rollback();
            return makeError(ErrorCode::Unreadable, m_path + ": cannot mark interrupted jobs");
        }
    }
    if (!db.commit()) return makeError(ErrorCode::Unreadable, m_path + ": cannot mark interrupted jobs");
    m_interrupted = abandoned;
    return {};
}

Status JobStore::writeJobRow(const JobRecord& job) {
    QSqlQuery query(QSqlDatabase::database(m_connection, false));
    query.prepare(QStringLiteral(
        "INSERT INTO jobs (id, seq, spec, prompt, turns, parent_job, status, error, created_at, started_at, "
        "finished_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET spec = excluded.spec, prompt = excluded.prompt, turns = excluded.turns, "
        "parent_job = excluded.parent_job, status = excluded.status, error = excluded.error, "
        "started_at = excluded.started_at, finished_at = excluded.finished_at, owner = excluded.owner"));
    query.addBindValue(q(job.id));
    query.addBindValue(static_cast<qlonglong>(job.seq));
    query.addBindValue(q(toJson(job.spec).dump()));
    query.addBindValue(q(job.prompt));
    query.addBindValue(q(turnsJson(job.turns).dump()));
    query.addBindValue(optionalText(job.spec.parentJob));
    query.addBindValue(QString::fromUtf8(statusName(job.status)));
    query.addBindValue(optionalText(job.error));
    query.addBindValue(q(job.createdAt));
    query.addBindValue(nullableText(job.startedAt));
    query.addBindValue(nullableText(job.finishedAt));
    query.addBindValue(isFinal(job.status) ? QVariant(QMetaType(QMetaType::QString)) : QVariant(q(ownerToken())));
    if (!query.exec()) {
        return makeError(ErrorCode::Unreadable,
                         m_path + ": cannot write job " + job.id + ": " + query.lastError().text().toStdString());
    }
    return {};
}

Status JobStore::writePairRow(const std::string& jobId, int position, const PairRecord& p, bool withResult) {
    QSqlQuery query(QSqlDatabase::database(m_connection, false));
    const QString upsert = QStringLiteral(
        "INSERT INTO pairs (job_id, position, model_index, method, status, error, from_cache, cache_key, seconds, "
        "started_at, finished_at, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(job_id, model_index, method) DO UPDATE SET position = excluded.position, "
        "status = excluded.status, error = excluded.error, from_cache = excluded.from_cache, "
        "cache_key = excluded.cache_key, seconds = excluded.seconds, started_at = excluded.started_at, "
        "finished_at = excluded.finished_at");
    query.prepare(withResult ? upsert + QStringLiteral(", result = excluded.result") : upsert);
    query.addBindValue(q(jobId));
    query.addBindValue(position);
    query.addBindValue(p.modelIndex);
    query.addBindValue(q(p.method));
    query.addBindValue(QString::fromUtf8(statusName(p.status)));
    query.addBindValue(optionalText(p.error));
    query.addBindValue(p.fromStore ? 2 : p.fromCache ? 1 : 0);
    query.addBindValue(nullableText(p.cacheKey));
    query.addBindValue(p.seconds);
    query.addBindValue(nullableText(p.startedAt));
    query.addBindValue(nullableText(p.finishedAt));
    query.addBindValue(withResult && p.result ? QVariant(compressResult(*p.result))
                                              : QVariant(QMetaType(QMetaType::QByteArray)));
    if (!query.exec()) {
        return makeError(ErrorCode::Unreadable, m_path + ": cannot write a pair of job " + jobId + ": " +
                                                    query.lastError().text().toStdString());
    }
    return {};
}

Status JobStore::insertJob(JobRecord& job) {
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    const bool own = !m_inTransaction; // migrate() inserts inside its own transaction
    if (own && !db.transaction()) return makeError(ErrorCode::Unreadable, m_path + ": cannot start a transaction");
    QSqlQuery next(db);
    if (!next.exec(QStringLiteral("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs")) || !next.next()) {
        if (own) db.rollback();
        return makeError(ErrorCode::Unreadable, m_path + ": " + next.lastError().text().toStdString());
    }
    job.seq = next.value(0).toLongLong();
    next.finish();
    Status st = writeJobRow(job);
    for (size_t i = 0; st && i < job.pairs.size(); ++i) st = writePairRow(job.id, static_cast<int>(i), job.pairs[i], true);
    if (!st) {
        if (own) db.rollback();
        return st;
    }
    if (own && !db.commit()) return makeError(ErrorCode::Unreadable, m_path + ": cannot commit job " + job.id);
    return {};
}

Status JobStore::saveJob(const JobRecord& job) {
    std::vector<const PairRecord*> all;
    for (const auto& p : job.pairs) all.push_back(&p);
    return saveProgress(job, all, true);
}

Status JobStore::saveProgress(const JobRecord& job, const std::vector<const PairRecord*>& pairs, bool writeResults) {
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    if (!db.transaction()) return makeError(ErrorCode::Unreadable, m_path + ": cannot start a transaction");
    Status st = writeJobRow(job);
    for (const PairRecord* p : pairs) {
        if (!st) break;
        int position = 0;
        while (position < static_cast<int>(job.pairs.size()) &&
               (job.pairs[static_cast<size_t>(position)].modelIndex != p->modelIndex ||
                job.pairs[static_cast<size_t>(position)].method != p->method)) {
            ++position;
        }
        st = writePairRow(job.id, position, *p, writeResults);
    }
    if (!st) {
        db.rollback();
        return st;
    }
    if (!db.commit()) return makeError(ErrorCode::Unreadable, m_path + ": cannot commit job " + job.id);
    return {};
}

namespace {

Result<JobRecord> jobFromRow(const QSqlQuery& row, const std::string& store) {
    JobRecord job;
    job.id = s(row.value(0));
    job.seq = row.value(1).toLongLong();
    const std::string source = store + ": job " + job.id;
    const auto spec = nlohmann::ordered_json::parse(s(row.value(2)), nullptr, false); // messages keep their key order
    auto parsed = readJob(spec, JobReading::file(source + " spec"));
    if (!parsed) return parsed.error();
    job.spec = std::move(parsed.value());
    job.prompt = s(row.value(3));
    const json turns = json::parse(s(row.value(4)), nullptr, false);
    if (turns.is_array()) {
        for (const auto& t : turns) {
            job.turns.push_back({t.value("role", ""), t.value("job", ""), t.value("begin", int64_t{0}),
                                 t.value("end", int64_t{0})});
        }
    }
    job.status = statusFromName(s(row.value(6))).value_or(JobStatus::Failed);
    if (!row.value(7).isNull()) job.error = s(row.value(7));
    job.createdAt = s(row.value(8));
    job.startedAt = s(row.value(9));
    job.finishedAt = s(row.value(10));
    return job;
}

const char* kJobColumns =
    "SELECT id, seq, spec, prompt, turns, parent_job, status, error, created_at, started_at, finished_at FROM jobs";

} // namespace

Result<std::optional<JobRecord>> JobStore::loadJob(const std::string& id, bool withResults) {
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    QSqlQuery row(db);
    row.prepare(QString::fromUtf8(kJobColumns) + QStringLiteral(" WHERE id = ?"));
    row.addBindValue(q(id));
    if (!row.exec()) return makeError(ErrorCode::Unreadable, m_path + ": " + row.lastError().text().toStdString());
    if (!row.next()) return std::optional<JobRecord>{};
    auto job = jobFromRow(row, m_path);
    if (!job) return job.error();
    row.finish();
    QSqlQuery pairs(db);
    pairs.setForwardOnly(true);
    pairs.prepare(QStringLiteral("SELECT model_index, method, status, error, from_cache, cache_key, seconds, "
                                 "started_at, finished_at, %1 FROM pairs WHERE job_id = ? ORDER BY position")
                      .arg(withResults ? QStringLiteral("result") : QStringLiteral("NULL")));
    pairs.addBindValue(q(id));
    if (!pairs.exec()) return makeError(ErrorCode::Unreadable, m_path + ": " + pairs.lastError().text().toStdString());
    while (pairs.next()) {
        PairRecord p;
        p.modelIndex = pairs.value(0).toInt();
        p.method = s(pairs.value(1));
        p.status = statusFromName(s(pairs.value(2))).value_or(JobStatus::Failed);
        if (!pairs.value(3).isNull()) p.error = s(pairs.value(3));
        p.fromCache = pairs.value(4).toInt() != 0;
        p.fromStore = pairs.value(4).toInt() == 2;
        p.cacheKey = s(pairs.value(5));
        p.seconds = pairs.value(6).toDouble();
        p.startedAt = s(pairs.value(7));
        p.finishedAt = s(pairs.value(8));
        if (withResults && !pairs.value(9).isNull()) {
            auto r = uncompressResult(pairs.value(9).toByteArray(), m_path + ": job " + id + " " + p.method);
            if (!r) return r.error();
            p.result = std::make_shared<const MethodResult>(std::move(r.value()));
            if (!p.fromCache) p.peakRssBytes = p.result->peakRssBytes;
        }
        job->pairs.push_back(std::move(p));
    }
    return std::optional<JobRecord>(std::move(job.value()));
}

Result<std::vector<JobRecord>> JobStore::listJobs(bool withResults) {
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    QSqlQuery ids(db);
    if (!ids.exec(QStringLiteral("SELECT id FROM jobs ORDER BY seq"))) {
        return makeError(ErrorCode::Unreadable, m_path + ": " + ids.lastError().text().toStdString());
    }
    std::vector<std::string> all;
    while (ids.next()) all.push_back(s(ids.value(0)));
    ids.finish();
    std::vector<JobRecord> jobs;
    for (const auto& id : all) {
        auto job = loadJob(id, withResults);
        if (!job) return job.error();
        if (*job) jobs.push_back(std::move(**job));
    }
    return jobs;
}

Result<bool> JobStore::deleteJob(const std::string& id) {
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    if (!db.transaction()) return makeError(ErrorCode::Unreadable, m_path + ": cannot start a transaction");
    QSqlQuery pairs(db), job(db);
    pairs.prepare(QStringLiteral("DELETE FROM pairs WHERE job_id = ?"));
    pairs.addBindValue(q(id));
    job.prepare(QStringLiteral("DELETE FROM jobs WHERE id = ?"));
    job.addBindValue(q(id));
    if (!pairs.exec() || !job.exec()) {
        db.rollback();
        return makeError(ErrorCode::Unreadable, m_path + ": cannot delete job " + id);
    }
    const bool existed = job.numRowsAffected() > 0;
    if (!db.commit()) return makeError(ErrorCode::Unreadable, m_path + ": cannot delete job " + id);
    return existed;
}

Result<std::vector<std::string>> JobStore::conversation(const std::string& id) {
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    std::vector<std::string> chain;
    std::set<std::string> seen;
    std::string current = id;
    while (!current.empty()) {
        if (!seen.insert(current).second) {
            return makeError(ErrorCode::Corrupt, m_path + ": the conversation of job " + id + " loops");
        }
        QSqlQuery row(db);
        row.prepare(QStringLiteral("SELECT parent_job FROM jobs WHERE id = ?"));
        row.addBindValue(q(current));
        if (!row.exec()) return makeError(ErrorCode::Unreadable, m_path + ": " + row.lastError().text().toStdString());
        if (!row.next()) {
            if (chain.empty()) return makeError(ErrorCode::NotFound, m_path + ": no job " + id);
            break; // the parent was deleted: the chain starts here
        }
        chain.push_back(current);
        current = s(row.value(0));
    }
    std::reverse(chain.begin(), chain.end());
    return chain;
}

Result<std::vector<std::string>> JobStore::followUps(const std::string& id) {
    QSqlQuery rows(QSqlDatabase::database(m_connection, false));
    rows.prepare(QStringLiteral("SELECT id FROM jobs WHERE parent_job = ? ORDER BY seq"));
    rows.addBindValue(q(id));
    if (!rows.exec()) return makeError(ErrorCode::Unreadable, m_path + ": " + rows.lastError().text().toStdString());
    std::vector<std::string> out;
    while (rows.next()) out.push_back(s(rows.value(0)));
    return out;
}

namespace {

class StoreLookup final : public StoredResults {
public:
    explicit StoreLookup(std::string path) : m_path(std::move(path)) {}

    std::shared_ptr<const MethodResult> find(const std::string& key) override {
        if (key.empty()) return nullptr;
        const QString name = QStringLiteral("tokenlens-lookup-%1").arg(g_connections.fetch_add(1));
        std::shared_ptr<const MethodResult> out;
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
            db.setDatabaseName(q(m_path));
            db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=2000"));
            if (db.open()) {
                QSqlQuery row(db);
                row.setForwardOnly(true);
                row.prepare(QStringLiteral("SELECT job_id, method, result FROM pairs WHERE cache_key = ? AND "
                                           "status = 'completed' AND result IS NOT NULL ORDER BY rowid DESC LIMIT 1"));
                row.addBindValue(q(key));
                if (row.exec() && row.next()) {
                    auto r = uncompressResult(row.value(2).toByteArray(),
                                              m_path + ": job " + s(row.value(0)) + " " + s(row.value(1)));
                    if (r) out = std::make_shared<const MethodResult>(std::move(r.value()));
                }
                row.finish();
                db.close();
            }
        }
        QSqlDatabase::removeDatabase(name);
        return out;
    }

private:
    std::string m_path;
};

} // namespace

std::shared_ptr<StoredResults> storedResultsOf(const std::string& path) { return std::make_shared<StoreLookup>(path); }

} // namespace tokenlens::jobs
