#include "job_list_model.h"

#include "jobs/backend/local_backend.h"
#include "viewmodel/palette.h"

#include <QColor>
#include <QDateTime>
#include <QPalette>
#include <QApplication>

#include <algorithm>
#include <set>

namespace tokenlens::gui {

namespace {

QDateTime parseTime(const std::string& iso) {
    if (iso.empty()) return {};
    return QDateTime::fromString(QString::fromStdString(iso), Qt::ISODateWithMs);
}

QString modelsText(const Job& spec) {
    QStringList names;
    for (size_t i = 0; i < spec.models.size(); ++i) {
        names << QString::fromStdString(modelName(spec, static_cast<int>(i)));
    }
    return names.join(QStringLiteral(", "));
}

QString methodsText(const Job& spec) {
    QStringList names;
    for (const auto& m : spec.methods) names << methodLabel(m);
    return names.join(QStringLiteral(", "));
}

QString oneLine(const std::string& text, int max) {
    QString s = QString::fromStdString(text).simplified();
    if (s.size() > max) s = s.left(max - 1) + QChar(0x2026);
    return s;
}

QString durationText(double seconds) {
    if (seconds < 0) return {};
    if (seconds < 10) return QStringLiteral("%1 s").arg(seconds, 0, 'f', 1);
    if (seconds < 120) return QStringLiteral("%1 s").arg(seconds, 0, 'f', 0);
    const auto s = static_cast<qint64>(seconds + 0.5);
    if (s < 3600) return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

double jobSeconds(const jobs::JobRecord& j) {
    const QDateTime start = parseTime(j.startedAt.empty() ? j.createdAt : j.startedAt);
    if (!start.isValid()) return -1;
    const QDateTime end = jobs::isFinal(j.status) ? parseTime(j.finishedAt) : QDateTime::currentDateTimeUtc();
    if (!end.isValid()) return -1;
    return std::max<qint64>(0, start.msecsTo(end)) / 1000.0;
}

} // namespace

JobListModel::JobListModel(jobs::JobQueue* queue, QObject* parent)
    : JobListModel(queue ? new LocalBackend(queue) : static_cast<JobBackend*>(nullptr), parent) {
    if (m_backend) m_backend->setParent(this);
}

JobListModel::JobListModel(JobBackend* backend, QObject* parent) : QAbstractTableModel(parent), m_backend(backend) {
    m_fade.setInterval(50);
    connect(&m_fade, &QTimer::timeout, this, &JobListModel::tickHighlights);
    if (m_backend) {
        auto refresh = [this](const QString& id) { refreshJob(id); };
        connect(m_backend, &JobBackend::jobAvailable, this, refresh);
        connect(m_backend, &JobBackend::jobsResynced, this, &JobListModel::reload);
        connect(m_backend, &JobBackend::jobStatusAvailable, this,
                [this](const QString& id, jobs::JobStatus s) {
                    refreshJob(id);
                    // Emitted once per transition: a job that has just finished.
                    if (jobs::isFinal(s) && rowOf(id) >= 0) {
                        m_highlight[id].start();
                        if (!m_fade.isActive()) m_fade.start();
                    }
                });
        connect(m_backend, &JobBackend::pairStatusAvailable, this,
                [this](const QString& id, int, const QString&, jobs::JobStatus) { refreshJob(id); });
        connect(m_backend, &JobBackend::progressAvailable, this, &JobListModel::setProgress);
        connect(m_backend, &JobBackend::jobRemoved, this, refresh);
    }
    reload();
}

JobListModel::Row JobListModel::snapshot(const jobs::JobRecord& r) const {
    Row row;
    row.job = r;
    for (auto& p : row.job.pairs) p.result.reset(); // the table never needs the matrices
    if (m_backend) {
        row.permille = m_backend->progress(r.id);
        row.eta = m_backend->etaSeconds(r.id);
    }
    if (jobs::isFinal(r.status) || !m_backend) {
        int done = 0;
        for (const auto& p : r.pairs) done += jobs::isFinal(p.status) ? 1 : 0;
        row.permille = r.pairs.empty() ? 1000 : static_cast<int>(1000LL * done / static_cast<int>(r.pairs.size()));
        if (r.status == jobs::JobStatus::Completed) row.permille = 1000;
        row.eta = -1;
    }
    return row;
}

void JobListModel::reload() {
    std::vector<Row> rows;
    if (m_backend) {
        for (const auto& j : m_backend->listJobs()) rows.push_back(snapshot(j));
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        if (a.job.seq != b.job.seq) return a.job.seq > b.job.seq;
        return a.job.createdAt > b.job.createdAt;
    });
    beginResetModel();
    m_rows = std::move(rows);
    endResetModel();
}

int JobListModel::rowOf(const QString& id) const {
    const std::string key = id.toStdString();
    for (size_t i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i].job.id == key) return static_cast<int>(i);
    }
    return -1;
}

QString JobListModel::jobId(int row) const {
    if (row < 0 || row >= rowCount()) return {};
    return QString::fromStdString(m_rows[static_cast<size_t>(row)].job.id);
}

const jobs::JobRecord* JobListModel::record(int row) const {
    if (row < 0 || row >= rowCount()) return nullptr;
    return &m_rows[static_cast<size_t>(row)].job;
}

void JobListModel::refreshJob(const QString& id) {
    const int row = rowOf(id);
    std::optional<jobs::JobRecord> rec = m_backend ? m_backend->job(id.toStdString()) : std::nullopt;
    if (!rec) {
        if (row >= 0) {
            beginRemoveRows({}, row, row);
            m_rows.erase(m_rows.begin() + row);
            endRemoveRows();
        }
        m_highlight.erase(id);
        return;
    }
    Row fresh = snapshot(*rec);
    if (row >= 0) {
        m_rows[static_cast<size_t>(row)] = std::move(fresh);
        emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
        return;
    }
    // New jobs have the highest seq: they go first; keep the order otherwise.
    int at = 0;
    while (at < rowCount() && m_rows[static_cast<size_t>(at)].job.seq > fresh.job.seq) ++at;
    beginInsertRows({}, at, at);
    m_rows.insert(m_rows.begin() + at, std::move(fresh));
    endInsertRows();
}

void JobListModel::setProgress(const QString& id, int permille, double eta) {
    const int row = rowOf(id);
    if (row < 0) return;
    auto& r = m_rows[static_cast<size_t>(row)];
    if (jobs::isFinal(r.job.status)) return;
    r.permille = std::clamp(permille, 0, 1000);
    r.eta = eta;
    emit dataChanged(index(row, Progress), index(row, Duration));
}

void JobListModel::tickHighlights() {
    for (auto it = m_highlight.begin(); it != m_highlight.end();) {
        const int row = rowOf(it->first);
        const bool done = it->second.elapsed() > kHighlightMs;
        if (row >= 0) emit dataChanged(index(row, 0), index(row, ColumnCount - 1), {Qt::BackgroundRole});
        it = done || row < 0 ? m_highlight.erase(it) : std::next(it);
    }
    if (m_highlight.empty()) m_fade.stop();
}

int JobListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int JobListModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QString JobListModel::statusText(const Row& row) const {
    const auto& j = row.job;
    QString s = QString::fromLatin1(jobs::statusName(j.status));
    if (!s.isEmpty()) s[0] = s[0].toUpper();
    int failed = 0, done = 0, cached = 0, stored = 0;
    for (const auto& p : j.pairs) {
        failed += p.status == jobs::JobStatus::Failed ? 1 : 0;
        done += p.status == jobs::JobStatus::Completed ? 1 : 0;
        cached += p.fromCache && !p.fromStore ? 1 : 0;
        stored += p.fromStore ? 1 : 0;
    }
    if (j.status == jobs::JobStatus::Completed && failed > 0) s += QStringLiteral(" (%1 failed)").arg(failed);
    if (j.status == jobs::JobStatus::Running) s += QStringLiteral(" %1/%2").arg(done).arg(j.pairs.size());
    if (stored > 0 && j.status == jobs::JobStatus::Completed) s += QStringLiteral(" · from the store");
    else if (cached > 0 && j.status == jobs::JobStatus::Completed) s += QStringLiteral(" · cached");
    return s;
}

QVariant JobListModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const Row& row = m_rows[static_cast<size_t>(index.row())];
    const auto& j = row.job;
    switch (role) {
    case IdRole: return QString::fromStdString(j.id);
    case StatusRole: return static_cast<int>(j.status);
    case FinalRole: return jobs::isFinal(j.status);
    case ProgressRole: return row.permille;
    case ParentRole: return j.spec.parentJob ? QString::fromStdString(*j.spec.parentJob) : QString();
    default: break;
    }
    const auto col = static_cast<Column>(index.column());
    if (role == Qt::DisplayRole || role == SortRole) {
        switch (col) {
        case Status: return role == SortRole ? QVariant(static_cast<int>(j.status)) : QVariant(statusText(row));
        case Prompt: {
            QString p = oneLine(j.spec.input, 80);
            if (j.spec.parentJob) p = QStringLiteral("↳ ") + p;
            return p;
        }
        case Models: return modelsText(j.spec);
        case Methods: return methodsText(j.spec);
        case Progress:
            return role == SortRole ? QVariant(row.permille) : QVariant(QStringLiteral("%1 %").arg(row.permille / 10));
        case Eta:
            if (role == SortRole) return row.eta;
            return jobs::isFinal(j.status) || row.eta < 0 ? QString() : durationText(row.eta);
        case Created: {
            const QDateTime t = parseTime(j.createdAt);
            if (role == SortRole) return static_cast<qlonglong>(j.seq);
            return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")) : QString();
        }
        case Duration: {
            const double s = j.status == jobs::JobStatus::Queued ? -1 : jobSeconds(j);
            return role == SortRole ? QVariant(s) : QVariant(durationText(s));
        }
        case ColumnCount: break;
        }
        return {};
    }
    if (role == Qt::ToolTipRole) {
        QStringList lines;
        lines << QStringLiteral("Job %1").arg(QString::fromStdString(j.id));
        if (j.spec.parentJob) lines << QStringLiteral("Follow-up of %1").arg(QString::fromStdString(*j.spec.parentJob));
        lines << oneLine(j.spec.input, 300);
        for (const auto& p : j.pairs) {
            QString line = QStringLiteral("%1 · %2: %3")
                               .arg(QString::fromStdString(modelName(j.spec, p.modelIndex)), methodLabel(p.method),
                                    QString::fromLatin1(jobs::statusName(p.status)));
            if (p.fromStore) line += QStringLiteral(" (from the store: computed by an earlier job)");
            else if (p.fromCache) line += QStringLiteral(" (from the cache)");
            if (p.error) line += QStringLiteral(" — ") + QString::fromStdString(*p.error);
            lines << line;
        }
        if (j.error) lines << QString::fromStdString(*j.error);
        return lines.join(QLatin1Char('\n'));
    }
    if (role == Qt::ForegroundRole && col == Status) {
        if (j.status == jobs::JobStatus::Failed || j.status == jobs::JobStatus::Interrupted) return QColor(0xc0, 0x39, 0x2b);
    }
    if (role == Qt::BackgroundRole) {
        const auto it = m_highlight.find(QString::fromStdString(j.id));
        if (it != m_highlight.end()) {
            const double f = 1.0 - std::clamp(it->second.elapsed() / static_cast<double>(kHighlightMs), 0.0, 1.0);
            QColor c = QApplication::palette().color(QPalette::Highlight);
            c.setAlphaF(0.45 * f);
            return c;
        }
    }
    if (role == Qt::TextAlignmentRole && (col == Progress || col == Eta || col == Duration)) {
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant JobListModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    switch (static_cast<Column>(section)) {
    case Status: return tr("Status");
    case Prompt: return tr("Prompt");
    case Models: return tr("Models");
    case Methods: return tr("Methods");
    case Progress: return tr("Progress");
    case Eta: return tr("ETA");
    case Created: return tr("Created");
    case Duration: return tr("Time");
    case ColumnCount: break;
    }
    return {};
}

// ------------------------------------------------------------------ filter

JobFilterModel::JobFilterModel(bool finished, QObject* parent) : QSortFilterProxyModel(parent), m_finished(finished) {
    setSortRole(JobListModel::SortRole);
    setDynamicSortFilter(true);
}

void JobFilterModel::setSearch(const QString& text) {
    m_search = text.trimmed();
    invalidateFilter();
}

void JobFilterModel::setStatusFilter(int status) {
    m_status = status;
    invalidateFilter();
}

bool JobFilterModel::filterAcceptsRow(int row, const QModelIndex& parent) const {
    const QModelIndex first = sourceModel()->index(row, 0, parent);
    if (sourceModel()->data(first, JobListModel::FinalRole).toBool() != m_finished) return false;
    if (m_status >= 0 && sourceModel()->data(first, JobListModel::StatusRole).toInt() != m_status) return false;
    if (m_search.isEmpty()) return true;
    if (sourceModel()->data(first, JobListModel::IdRole).toString().contains(m_search, Qt::CaseInsensitive)) return true;
    for (int c : {JobListModel::Prompt, JobListModel::Models, JobListModel::Methods}) {
        if (sourceModel()->data(sourceModel()->index(row, c, parent)).toString().contains(m_search, Qt::CaseInsensitive)) {
            return true;
        }
    }
    return false;
}

} // namespace tokenlens::gui
