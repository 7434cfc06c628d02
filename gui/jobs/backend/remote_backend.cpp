#include "jobs/backend/remote_backend.h"

#include "api/wire.h"
#include "jobs/backend/remote_values.h"
#include "jobs/batch.h"
#include "result/result_json.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QPointer>
#include <QThread>
#include <QUrl>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <cstdint>
#include <set>
#include <type_traits>

namespace tokenlens::gui {

using nlohmann::json;
using jobs::JobStatus;
using api::stringOf;
using remote::nowIso;

// ------------------------------------------------------------------ address

Result<api::Endpoint> parseServerUrl(const QString& url, const QString& token) {
    QString text = url.trimmed();
    if (text.isEmpty()) return makeError(ErrorCode::InvalidArgument, "the server URL is empty");
    if (!text.contains(QStringLiteral("://"))) text = QStringLiteral("http://") + text;
    const QUrl u(text, QUrl::StrictMode);
    if (!u.isValid() || u.host().isEmpty()) {
        return makeError(ErrorCode::InvalidArgument, "the server URL '" + url.toStdString() + "' is not an address like http://host:8765");
    }
    if (u.scheme() == u"https") {
        return makeError(ErrorCode::InvalidArgument,
                         "the server speaks plain HTTP (no TLS): use http:// through an SSH tunnel or a TLS proxy");
    }
    if (u.scheme() != u"http") {
        return makeError(ErrorCode::InvalidArgument, "the server URL must start with http:// (not " + u.scheme().toStdString() + "://)");
    }
    if (!u.path().isEmpty() && u.path() != u"/") {
        return makeError(ErrorCode::InvalidArgument, "the server URL takes no path (" + u.path().toStdString() + ")");
    }
    const QString tok = token.trimmed();
    for (QChar c : tok) {
        if (c.isSpace() || c.unicode() < 0x21 || c.unicode() > 0x7e) {
            return makeError(ErrorCode::InvalidArgument, "the token must be printable ASCII without spaces");
        }
    }
    api::Endpoint ep;
    ep.host = u.host().toStdString();
    ep.port = static_cast<uint16_t>(u.port(8765));
    ep.token = tok.toStdString();
    return ep;
}

QString endpointText(const api::Endpoint& ep) {
    const QString host = QString::fromStdString(ep.host);
    return QStringLiteral("http://%1:%2").arg(host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') : host).arg(ep.port);
}

// ------------------------------------------------------------------- setup

RemoteBackend::RemoteBackend(api::Endpoint endpoint, QObject* parent)
    : JobBackend(parent), m_endpoint(std::move(endpoint)), m_thread(new QThread), m_worker(new QObject),
      m_client(std::make_shared<std::unique_ptr<api::ApiClient>>()) {
    m_thread->setObjectName(QStringLiteral("tokenlens-api-client"));
    m_worker->moveToThread(m_thread);
    m_thread->start();
    m_connMessage = tr("connecting to %1").arg(endpointText(m_endpoint));
    startEvents();
}

QString RemoteBackend::description() const { return tr("the server at %1").arg(endpointText(m_endpoint)); }

bool RemoteBackend::supports(Feature f) const { return f != Feature::AddModelFolder; }

QString RemoteBackend::unsupportedReason(Feature f) const {
    switch (f) {
    case Feature::Rerun:
    case Feature::Import:
    case Feature::AddModelFolder:
        return tr("In remote mode the server's models are listed (GET /api/models); folders are configured on the "
                  "server (tokenlens-cli serve --model-folder).");
    case Feature::Export: return {};
    }
    return {};
}

void RemoteBackend::call(Work work, Answer answer) {
    QPointer<RemoteBackend> self(this);
    auto client = m_client;
    const api::Endpoint ep = m_endpoint;
    QMetaObject::invokeMethod(
        m_worker,
        [self, client, ep, work = std::move(work), answer = std::move(answer)] {
            if (!*client) *client = std::make_unique<api::ApiClient>(ep, std::chrono::seconds(15));
            auto r = std::make_shared<api::HttpResponse>(work(**client));
            QMetaObject::invokeMethod(
                qApp, [self, answer, r] {
                    if (self) answer(*r);
                },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

QString RemoteBackend::httpMessage(const api::HttpResponse& r) const {
    if (!r.ok()) return tr("%1 cannot be reached (%2)").arg(endpointText(m_endpoint), QString::fromStdString(r.error));
    if (r.status == 401) {
        return tr("the server refused the token (HTTP 401): check the token in Settings → Backend");
    }
    QString msg = QString::fromStdString(r.message());
    const json j = r.json();
    const std::string field = j.is_object() ? stringOf(j, "field") : std::string();
    if (!field.empty() && !msg.contains(QString::fromStdString(field))) msg = QString::fromStdString(field) + QStringLiteral(": ") + msg;
    return msg;
}

// ----------------------------------------------------------------- static

Result<std::vector<ModelEntry>> RemoteBackend::fetchModels(const api::Endpoint& ep) {
    api::ApiClient client(ep, std::chrono::seconds(10));
    auto r = client.get("/api/models");
    if (!r.ok()) return makeError(ErrorCode::Unreadable, "cannot reach " + endpointText(ep).toStdString() + ": " + r.error);
    if (r.status == 401) return makeError(ErrorCode::InvalidArgument, "the server refused the token (HTTP 401)");
    if (r.status != 200) return makeError(ErrorCode::InvalidArgument, "GET /api/models: " + r.message());
    const json j = r.json();
    std::vector<ModelEntry> out;
    if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) {
        return makeError(ErrorCode::Corrupt, "GET /api/models: the answer has no 'models' list");
    }
    for (const auto& mj : j["models"]) {
        const api::ModelView m = api::modelFromJson(mj);
        if (m.id.empty()) continue;
        ModelEntry e;
        e.name = QString::fromStdString(m.id);
        e.path = e.name; // a job names the server's models by id
        e.source = m.source == "demo" ? QStringLiteral("demo") : QStringLiteral("server");
        e.architecture = QString::fromStdString(m.architecture);
        e.dtype = QString::fromStdString(m.dtype);
        e.parameters = m.parameters;
        e.bytes = m.bytes;
        e.maxPositions = m.maxPositions;
        for (const auto& t : m.chatTemplates) e.chatTemplates << QString::fromStdString(t);
        if (!m.usable) {
            e.error = QString::fromStdString(m.error.empty() ? "the server cannot use this model" : m.error);
        }
        out.push_back(std::move(e));
    }
    return out;
}

QString RemoteBackend::testConnection(const api::Endpoint& ep) {
    api::ApiClient client(ep, std::chrono::seconds(5));
    auto r = client.get("/api/jobs?limit=1");
    if (!r.ok()) return QObject::tr("%1 cannot be reached: %2").arg(endpointText(ep), QString::fromStdString(r.error));
    if (r.status == 401) {
        return ep.token.empty() ? QObject::tr("the server needs a token (HTTP 401)")
                                : QObject::tr("the server refused the token (HTTP 401 Unauthorized)");
    }
    if (r.status != 200) return QObject::tr("the server answered HTTP %1: %2").arg(r.status).arg(QString::fromStdString(r.message()));
    auto h = client.get("/api/health");
    if (h.status != 200) return QObject::tr("the server is not healthy: %1").arg(QString::fromStdString(h.message()));
    return {};
}

// ---------------------------------------------------------------- lookups

std::optional<jobs::JobRecord> RemoteBackend::job(const std::string& id) const {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) return std::nullopt;
    return it->second.rec;
}

std::vector<std::string> RemoteBackend::followUps(const std::string& id) const {
    std::vector<std::string> out;
    for (const auto& [jobId, c] : m_jobs) {
        if (c.rec.spec.parentJob && *c.rec.spec.parentJob == id) out.push_back(jobId);
    }
    return out;
}

std::vector<jobs::JobRecord> RemoteBackend::listJobs() const {
    std::vector<jobs::JobRecord> out;
    out.reserve(m_jobs.size());
    for (const auto& [id, c] : m_jobs) {
        out.push_back(c.rec);
        for (auto& p : out.back().pairs) p.result.reset();
    }
    return out;
}

int RemoteBackend::progress(const std::string& id) const {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) return 0;
    return jobs::isFinal(it->second.rec.status) ? 1000 : it->second.permille;
}

double RemoteBackend::etaSeconds(const std::string& id) const {
    auto it = m_jobs.find(id);
    return it == m_jobs.end() || jobs::isFinal(it->second.rec.status) ? -1 : it->second.eta;
}

bool RemoteBackend::hasResults(const std::string& id) const {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end() || !it->second.detailed) return false;
    for (const auto& p : it->second.rec.pairs) {
        if (p.status == JobStatus::Completed && !p.result) return false;
    }
    return true;
}

void RemoteBackend::wantResults(const std::string& id) {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) return;
    it->second.wanted = true;
    if (!it->second.detailed) fetchStatus(id);
    fetchResults(id);
}

// ---------------------------------------------------------------- records

void RemoteBackend::fetchStatus(const std::string& id) {
    call([id](api::ApiClient& c) { return c.get("/api/jobs/" + id + "/status"); },
         [this, id](const api::HttpResponse& r) {
             if (r.status == 200) {
                 applyStatus(r.json());
             } else if (r.status == 404 && m_jobs.erase(id)) {
                 emit jobRemoved(QString::fromStdString(id));
             }
         });
}

void RemoteBackend::applyStatus(const json& st) {
    if (!st.is_object()) return;
    const api::StatusView v = api::statusFromJson(st);
    const std::string& id = v.jobId;
    if (id.empty()) return;
    auto it = m_jobs.find(id);
    const bool fresh = it == m_jobs.end();
    if (fresh) {
        it = m_jobs.emplace(id, Cached{}).first;
        it->second.rec.seq = m_nextSeq++;
    }
    Cached& c = it->second;
    jobs::JobRecord& r = c.rec;
    const JobStatus before = r.status;
    const bool wasDetailed = c.detailed;
    r.id = id;
    r.status = v.status;
    r.error = v.error;
    r.createdAt = v.createdAt;
    r.startedAt = v.startedAt;
    r.finishedAt = v.finishedAt;
    r.spec = api::jobOf(v);
    r.prompt = v.prompt;
    r.turns = v.turns;
    c.permille = std::clamp(static_cast<int>(v.progress * 1000.0 + 0.5), 0, 1000);
    c.eta = v.etaSeconds.value_or(-1.0);
    std::vector<std::pair<int, std::string>> changed;
    std::vector<jobs::PairRecord> pairs;
    for (const api::PairView& pv : v.pairs) {
        jobs::PairRecord p;
        p.modelIndex = pv.modelIndex;
        p.method = pv.method;
        p.status = pv.status;
        p.error = pv.error;
        p.seconds = pv.seconds;
        p.fromCache = pv.fromCache;
        p.fromStore = pv.fromStore;
        p.peakRssBytes = pv.peakRssBytes;
        if (const auto* old = r.pair(p.modelIndex, p.method)) {
            if (old->status == JobStatus::Completed && p.status == JobStatus::Completed) p.result = old->result;
            if (old->status != p.status && wasDetailed) changed.emplace_back(p.modelIndex, p.method);
        }
        pairs.push_back(std::move(p));
    }
    r.pairs = std::move(pairs);
    c.detailed = true;
    const QString qid = QString::fromStdString(id);
    if (fresh) {
        emit jobAvailable(qid);
    } else if (before != r.status) {
        emit jobStatusAvailable(qid, r.status);
    } else if (!changed.empty()) {
        for (const auto& [m, method] : changed) {
            if (const auto* p = r.pair(m, method)) emit pairStatusAvailable(qid, m, QString::fromStdString(method), p->status);
        }
    } else if (!wasDetailed) {
        emit jobAvailable(qid); // the row's pairs are known now
    }
    if (!jobs::isFinal(r.status)) emit progressAvailable(qid, c.permille, c.eta);
    if (c.wanted && !hasResults(id)) fetchResults(id);
}

void RemoteBackend::fetchResults(const std::string& id) {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) return;
    if (it->second.fetching) {
        it->second.fetchAgain = true;
        return;
    }
    it->second.fetching = true;
    call([id](api::ApiClient& c) { return c.get("/api/jobs/" + id + "/results?partial=1"); },
         [this, id](const api::HttpResponse& r) {
             auto found = m_jobs.find(id);
             if (found == m_jobs.end()) return;
             found->second.fetching = false;
             if (r.status == 200) applyResults(id, r.json());
             else if (r.ok()) emit operationFailed(tr("The results of job %1 could not be fetched: %2")
                                                       .arg(QString::fromStdString(id), httpMessage(r)));
             found = m_jobs.find(id); // applyResults may not erase, but a signal's receiver may
             if (found != m_jobs.end() && found->second.fetchAgain) {
                 found->second.fetchAgain = false;
                 fetchResults(id);
             }
         });
}

void RemoteBackend::applyResults(const std::string& id, const json& j) {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) return;
    auto parsed = jobFromJson(j, "the results of job " + id);
    if (!parsed) {
        emit operationFailed(QString::fromStdString(parsed.error().message));
        return;
    }
    jobs::JobRecord& r = it->second.rec;
    JobResult& res = parsed.value();
    if (!res.input.text.empty()) r.prompt = res.input.text;
    std::vector<std::pair<int, std::string>> added;
    // The results come in the job's pair order (as /status lists the pairs).
    for (size_t i = 0; i < res.results.size() && i < r.pairs.size(); ++i) {
        MethodResult& m = res.results[i];
        jobs::PairRecord& p = r.pairs[i];
        if (m.method != p.method || m.status != RunStatus::Completed || p.result) continue;
        p.status = JobStatus::Completed;
        p.result = std::make_shared<const MethodResult>(std::move(m));
        added.emplace_back(p.modelIndex, p.method);
    }
    const QString qid = QString::fromStdString(id);
    for (const auto& [model, method] : added) emit pairResultAvailable(qid, model, QString::fromStdString(method));
}

// ------------------------------------------------------------- operations

void RemoteBackend::submit(const Job& spec, Submitted done) {
    const std::string body = toJson(spec).dump();
    call([body](api::ApiClient& c) { return c.request("POST", "/api/jobs", body); },
         [this, spec, done](const api::HttpResponse& r) {
             if (r.status != 201) {
                 done(makeError(ErrorCode::InvalidArgument, httpMessage(r).toStdString()));
                 return;
             }
             const json j = r.json();
             const std::string id = j.is_object() ? stringOf(j, "job_id") : std::string();
             if (id.empty()) {
                 done(makeError(ErrorCode::Corrupt, "the server's answer to POST /api/jobs has no job_id"));
                 return;
             }
             auto [it, fresh] = m_jobs.try_emplace(id);
             if (fresh) {
                 jobs::JobRecord& rec = it->second.rec;
                 rec.id = id;
                 rec.seq = m_nextSeq++;
                 rec.spec = spec;
                 rec.prompt = spec.input;
                 rec.status = JobStatus::Queued;
                 rec.createdAt = nowIso();
                 rec.pairs = jobs::expandPairs(spec);
                 emit jobAvailable(QString::fromStdString(id));
             }
             done(id);
             fetchStatus(id);
         });
}

void RemoteBackend::followUp(const std::string& parentId, const std::string& text, int followModel, Submitted done) {
    auto it = m_jobs.find(parentId);
    if (it == m_jobs.end()) {
        done(makeError(ErrorCode::NotFound, "there is no job " + parentId));
        return;
    }
    Job spec = it->second.rec.spec;
    spec.input = text;
    spec.messages = nullptr; // the server builds a chat's next turn from the parent's
    spec.parentJob = parentId;
    spec.targetText.reset();
    spec.followModel = followModel;
    submit(spec, std::move(done));
}

struct BatchRun {
    std::vector<jobs::BatchLine> lines;
    size_t next = 0;
    jobs::BatchSubmission out;
    JobBackend::BatchSubmitted done;
};

void RemoteBackend::submitBatch(const std::string& jsonl, const Job& defaults, const std::string& source,
                                BatchSubmitted done) {
    auto parsed = jobs::parseBatch(jsonl, defaults, source);
    auto run = std::make_shared<BatchRun>();
    run->lines = std::move(parsed.jobs);
    run->out.errors = std::move(parsed.errors);
    run->done = std::move(done);
    submitNext(run);
}

void RemoteBackend::submitNext(std::shared_ptr<BatchRun> run) {
    if (run->next >= run->lines.size()) {
        std::sort(run->out.errors.begin(), run->out.errors.end(),
                  [](const jobs::BatchError& a, const jobs::BatchError& b) { return a.line < b.line; });
        run->done(std::move(run->out));
        return;
    }
    const jobs::BatchLine& line = run->lines[run->next++];
    const int number = line.line;
    submit(line.spec, [this, run, number](Result<std::string> id) {
        if (id) run->out.jobIds.push_back(*id);
        else run->out.errors.push_back({number, "line " + std::to_string(number) + ": " + id.error().message});
        submitNext(run);
    });
}

bool RemoteBackend::cancelJob(const std::string& id) {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end() || jobs::isFinal(it->second.rec.status)) return false;
    call([id](api::ApiClient& c) { return c.del("/api/jobs/" + id); },
         [this, id](const api::HttpResponse& r) {
             if (r.status == 202 || r.status == 200) {
                 if (m_conn != Connection::Connected) fetchStatus(id); // no events to say so
                 return;
             }
             emit operationFailed(tr("Job %1 was not cancelled: %2").arg(QString::fromStdString(id), httpMessage(r)));
         });
    return true;
}

Result<bool> RemoteBackend::rerun(const std::string& id) {
    if (!m_jobs.count(id)) return makeError(ErrorCode::NotFound, "there is no job " + id);
    call([id](api::ApiClient& c) { return c.request("POST", "/api/jobs/" + id + "/rerun"); },
         [this, id](const api::HttpResponse& r) {
             if (r.status == 202) {
                 fetchStatus(id); // the pairs are queued again
                 return;
             }
             emit operationFailed(tr("Job %1 was not re-run: %2").arg(QString::fromStdString(id), httpMessage(r)));
         });
    return true;
}

Result<bool> RemoteBackend::remove(const std::string& id) {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) return makeError(ErrorCode::NotFound, "there is no job " + id);
    if (!jobs::isFinal(it->second.rec.status)) {
        return makeError(ErrorCode::InvalidArgument,
                         "job " + id + " is still " + jobs::statusName(it->second.rec.status) +
                             " on the server: cancel it first, then delete it");
    }
    call([id](api::ApiClient& c) { return c.del("/api/jobs/" + id); },
         [this, id](const api::HttpResponse& r) {
             if (r.status == 200 || r.status == 404) {
                 if (m_jobs.erase(id)) emit jobRemoved(QString::fromStdString(id));
                 return;
             }
             emit operationFailed(tr("Job %1 was not deleted: %2").arg(QString::fromStdString(id), httpMessage(r)));
         });
    return true;
}

Result<nlohmann::json> RemoteBackend::exportJob(const std::string& id) {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) return makeError(ErrorCode::NotFound, "there is no job " + id);
    if (!jobs::isFinal(it->second.rec.status)) {
        return makeError(ErrorCode::InvalidArgument, "job " + id + " is still running on the server");
    }
    if (!hasResults(id)) {
        wantResults(id);
        return makeError(ErrorCode::InvalidArgument,
                         "the results of job " + id + " are being fetched from the server; export again in a moment");
    }
    return jobs::exportJson(it->second.rec);
}

void RemoteBackend::importJob(const nlohmann::json& j, const std::string& source, Submitted done) {
    const std::string body = j.dump(-1, ' ', false, json::error_handler_t::replace);
    call([body](api::ApiClient& c) { return c.request("POST", "/api/jobs/import", body); },
         [this, source, done](const api::HttpResponse& r) {
             const std::string id = r.status == 201 ? stringOf(r.json(), "job_id") : std::string();
             if (id.empty()) {
                 done(makeError(ErrorCode::InvalidArgument, source + ": " + httpMessage(r).toStdString()));
                 return;
             }
             // Known to job() before `done` runs, as a submitted job is.
             auto [it, fresh] = m_jobs.try_emplace(id);
             if (fresh) {
                 it->second.rec.id = id;
                 it->second.rec.seq = m_nextSeq++;
             }
             fetchStatus(id);
             done(id);
         });
}

} // namespace tokenlens::gui
