// A store file SQLite cannot read — cut short, overwritten, not a database:
// found when the store is opened (a message naming the file), and, for the
// app and the commands that write, moved aside so that they start with a
// new store instead of refusing to start.

#include "jobs/job_store.h"

#include <QDateTime>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

namespace tokenlens::jobs {

namespace {

const std::string kDamaged = ": the job store is damaged or is not an SQLite database";

// SQLITE_CORRUPT (11) and SQLITE_NOTADB (26).
bool isDamage(const QSqlError& e) {
    const QString code = e.nativeErrorCode();
    return code == QLatin1String("11") || code == QLatin1String("26");
}

} // namespace

Status JobStore::checkIntact() {
    QSqlQuery check(QSqlDatabase::database(m_connection, false));
    // quick_check walks every b-tree page: a file cut short or overwritten
    // shows here rather than in the middle of a later read.
    if (!check.exec(QStringLiteral("PRAGMA quick_check(1)"))) {
        const QSqlError e = check.lastError();
        if (isDamage(e)) return makeError(ErrorCode::Corrupt, m_path + kDamaged + " (SQLite: " + e.databaseText().toStdString() + ")");
        return makeError(ErrorCode::Unreadable, m_path + ": cannot read the job store: " + e.text().toStdString());
    }
    if (check.next()) {
        const QString verdict = check.value(0).toString();
        if (verdict != QLatin1String("ok")) {
            return makeError(ErrorCode::Corrupt, m_path + kDamaged + " (SQLite: " + verdict.toStdString() + ")");
        }
    }
    return {};
}

Result<std::unique_ptr<JobStore>> JobStore::openOrSetAside(const std::string& path, std::string* notice) {
    auto opened = open(path);
    if (opened || opened.error().code != ErrorCode::Corrupt ||
        opened.error().message.find(kDamaged) == std::string::npos) {
        return opened;
    }
    // `open` closed its connection on failure: the files can move.
    const std::string aside =
        path + ".damaged-" + QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss")).toStdString();
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const QString from = QString::fromStdString(path + suffix);
        if (QFile::exists(from) && !QFile::rename(from, QString::fromStdString(aside + suffix))) {
            return makeError(ErrorCode::Unreadable,
                             opened.error().message + "; it could not be moved aside to " + aside + suffix);
        }
    }
    auto fresh = open(path);
    if (fresh && notice) {
        *notice = opened.error().message + ". It was moved aside to " + aside + ", and a new, empty store was created.";
    }
    return fresh;
}

} // namespace tokenlens::jobs
