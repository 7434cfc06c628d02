#include "shell/job_actions.h"

#include "attribution/method.h"
#include "files/file_loader.h"
#include "jobs/backend/job_backend.h"
#include "jobs/batch.h"
#include "jobs/job_queue.h"
#include "results/dashboard.h"
#include "shell/mainwindow.h"
#include "shell/message_banner.h"
#include "viewmodel/model_entries.h"
#include "viewmodel/palette.h"

#include <tokenlens/version.h>

#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QPointer>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>

#include <memory>
#include <optional>

namespace tokenlens::gui {

JobActions::JobActions(MainWindow* window, QLabel* status, QProgressBar* progress)
    : QObject(window), m_window(window), m_jobStatus(status), m_jobProgress(progress) {}

Dashboard* JobActions::dashboard() const { return m_window->dashboard(); }

MessageBanner* JobActions::banner() const { return m_window->banner(); }

void JobActions::setBackend(JobBackend* backend) {
    if (m_backend) disconnect(m_backend, nullptr, this, nullptr);
    m_backend = backend;
    connect(backend, &JobBackend::pairResultAvailable, this, [this](const QString& id, int, const QString&) {
        if (id == m_shownJob) refreshShownJob();
    });
    connect(backend, &JobBackend::pairFailed, this,
            [this](const QString& id, int model, const QString& method, const QString& message) {
                if (id != m_shownJob) return;
                refreshShownJob();
                const auto rec = m_backend->job(id.toStdString());
                const QString name =
                    rec ? QString::fromStdString(tokenlens::modelName(rec->spec, model)) : QString::number(model);
                banner()->showMessage(MessageBanner::Kind::Warning, tr("%1 on %2 failed: %3 (the other pairs go on)")
                                                                        .arg(methodLabel(method.toStdString()), name, message));
            });
    connect(backend, &JobBackend::progressAvailable, this, &JobActions::jobProgress);
    connect(backend, &JobBackend::jobStatusAvailable, this, [this](const QString& id, jobs::JobStatus s) {
        if (jobs::isFinal(s)) jobFinished(id);
    });
    connect(backend, &JobBackend::jobFailed, this, [this](const QString& id, const QString& message) {
        if (id == m_shownJob) banner()->showMessage(MessageBanner::Kind::Error, tr("The job failed: %1").arg(message));
    });
    connect(backend, &JobBackend::jobRemoved, this, [this](const QString& id) {
        if (id == m_shownJob) {
            m_shownJob.clear();
            dashboard()->setFollowUpAvailable(false, tr("The job shown was deleted; its result stays on screen until "
                                                        "you open another."));
            m_jobProgress->hide();
            m_jobStatus->hide();
        }
    });
    connect(backend, &JobBackend::storeFailed, this, [this](const QString& message) {
        banner()->showMessage(MessageBanner::Kind::Error,
                              tr("The results store could not be written: %1. Results stay in memory; export them "
                                 "to keep them.")
                                  .arg(message));
    });
    connect(backend, &JobBackend::operationFailed, this,
            [this](const QString& message) { banner()->showMessage(MessageBanner::Kind::Error, message); });
    connect(backend, &JobBackend::jobsResynced, this, [this] {
        if (!m_shownJob.isEmpty() && m_backend->job(m_shownJob.toStdString())) m_backend->wantResults(m_shownJob.toStdString());
    });
}

void JobActions::forgetShownJob() {
    m_shownJob.clear();
    m_jobProgress->hide();
    m_jobStatus->hide();
}

void JobActions::importJobDialog() {
    if (!m_backend) return;
    if (!m_backend->supports(JobBackend::Feature::Import)) {
        banner()->showMessage(MessageBanner::Kind::Info, m_backend->unsupportedReason(JobBackend::Feature::Import));
        return;
    }
    QSettings s;
    const QString path = QFileDialog::getOpenFileName(m_window, tr("Import Job"), s.value(QStringLiteral("open/dir"), QDir::homePath()).toString(),
                                                      tr("TokenLens results (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    importJobFile(path);
}

bool JobActions::importJobFile(const QString& path) {
    const LoadedFile loaded = loadFile(path);
    if (!loaded.ok() || loaded.kind != FileKind::Result) {
        banner()->showMessage(MessageBanner::Kind::Error,
                              loaded.ok() ? tr("%1 is not a result JSON file.").arg(QFileInfo(path).fileName()) : loaded.message);
        return false;
    }
    // The file checked out as a result; the import needs its whole JSON
    // (the tokenlens_job block with the spec and statuses).
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        banner()->showMessage(MessageBanner::Kind::Error, tr("Could not read %1: %2").arg(path, f.errorString()));
        return false;
    }
    const QByteArray bytes = f.readAll();
    auto json = nlohmann::json::parse(bytes.constData(), bytes.constData() + bytes.size(), nullptr, false);
    if (json.is_object() && json.contains("sidecar") && json.contains("results") && json["results"].is_array()) {
        // Matrices in a sidecar (read by loadFile above) go into the import
        // inline: the job store and the server take one JSON.
        for (size_t i = 0; i < json["results"].size() && i < loaded.result.results.size(); ++i) {
            auto& r = json["results"][i];
            if (r.contains("attribution") && r["attribution"].contains("raw_ref")) {
                r["attribution"] = toJson(loaded.result.results[i])["attribution"];
            }
        }
        json.erase("sidecar");
        bool chat = false;
        for (const auto& r : loaded.result.results) chat = chat || !r.segments.empty() || !r.messages.is_null();
        json["schema"] = chat ? "tokenlens.job/2" : "tokenlens.job/1";
    }
    if (!m_backend) return false;
    // Locally `done` runs before importJob returns, so the answer is known
    // here; remotely it runs once the server answered (the import started).
    auto outcome = std::make_shared<std::optional<bool>>();
    const QString name = QFileInfo(path).fileName();
    m_backend->importJob(json, name.toStdString(), [this, guard = QPointer<JobActions>(this), name, outcome](Result<std::string> id) {
        if (!guard) return;
        if (!id) {
            banner()->showMessage(MessageBanner::Kind::Error,
                                  tr("%1 could not be imported: %2").arg(name, QString::fromStdString(id.error().message)));
            *outcome = false;
            return;
        }
        m_window->statusBar()->showMessage(tr("Imported job %1 from %2").arg(QString::fromStdString(*id), name), 6000);
        *outcome = openJob(QString::fromStdString(*id));
    });
    return outcome->value_or(true);
}

Result<std::string> JobActions::submitJob(const Job& spec) {
    if (!m_backend) return makeError(ErrorCode::InvalidArgument, "no job queue");
    // The local backend answers at once; a server later (then "" is returned
    // and the outcome shows in the status bar or the banner).
    auto answered = std::make_shared<std::optional<Result<std::string>>>();
    auto waiting = std::make_shared<bool>(false);
    QPointer<JobActions> self(this);
    const int pairs = static_cast<int>(spec.models.size() * spec.methods.size());
    m_backend->submit(spec, [self, answered, waiting, pairs](Result<std::string> id) {
        if (!*waiting) *answered = id;
        if (!self) return;
        const bool demo = *waiting && self->m_demoPending;
        self->m_demoPending = false;
        if (!id) {
            if (*waiting) {
                self->banner()->showMessage(MessageBanner::Kind::Error,
                                            tr("The job was not queued: %1").arg(QString::fromStdString(id.error().message)));
            }
            return;
        }
        if (demo) self->m_demoJob = QString::fromStdString(*id);
        self->m_window->statusBar()->showMessage(tr("Queued job %1: %n pair(s)", nullptr, pairs).arg(QString::fromStdString(*id)), 5000);
        self->openJob(QString::fromStdString(*id));
    });
    if (answered->has_value()) return **answered;
    *waiting = true;
    m_window->statusBar()->showMessage(tr("Submitting the job to %1…").arg(m_backend->description()), 5000);
    return std::string();
}

bool JobActions::openJob(const QString& id) {
    if (!m_backend) return false;
    const auto rec = m_backend->job(id.toStdString());
    if (!rec) {
        banner()->showMessage(MessageBanner::Kind::Error, tr("There is no job %1 in the store.").arg(id));
        return false;
    }
    m_shownJob = id;
    m_backend->wantResults(rec->id);
    refreshShownJob();
    m_window->showPage(MainWindow::Page::Dashboard);
    if (!jobs::isFinal(rec->status)) {
        jobProgress(id, m_backend->progress(rec->id), m_backend->etaSeconds(rec->id));
    } else {
        jobFinished(id);
    }
    return true;
}

void JobActions::refreshShownJob() {
    // Several pairs may finish in one event-loop pass: one refresh for all.
    if (m_refreshPending) return;
    m_refreshPending = true;
    QTimer::singleShot(0, this, [this] {
        m_refreshPending = false;
        if (!m_backend || m_shownJob.isEmpty()) return;
        auto rec = m_backend->job(m_shownJob.toStdString());
        if (!rec) return;
        // Pairs still queued or running are not shown (they are not results
        // yet), nor completed ones whose result a server has not sent yet.
        std::erase_if(rec->pairs, [](const jobs::PairRecord& p) {
            return !jobs::isFinal(p.status) || (p.status == jobs::JobStatus::Completed && !p.result);
        });
        const bool any = !rec->pairs.empty();
        const QString source = tr("job %1").arg(m_shownJob);
        if (any) {
            dashboard()->updateJob(jobs::toJobResult(*rec), source);
            m_window->setWindowTitle(QStringLiteral("%1 — " TOKENLENS_NAME).arg(source));
        } else if (dashboard()->source() != source) {
            // Nothing finished yet: an empty result keeps the old one off screen.
            JobResult empty;
            empty.jobId = rec->id;
            empty.input.text = rec->prompt;
            dashboard()->setJob(empty, source);
        }
        emit shownJobRefreshed();
    });
}

void JobActions::jobProgress(const QString& id, int permille, double eta) {
    if (id != m_shownJob) return;
    m_jobProgress->setValue(std::clamp(permille, 0, 1000));
    m_jobProgress->show();
    m_jobStatus->setText(eta >= 0 ? tr("job %1 · about %2 s left").arg(id.right(8)).arg(eta, 0, 'f', eta < 10 ? 1 : 0)
                                  : tr("job %1 running").arg(id.right(8)));
    m_jobStatus->show();
    dashboard()->setFollowUpAvailable(false, tr("The conversation can continue once this job has finished."));
}

void JobActions::jobFinished(const QString& id) {
    if (auto it = m_counterfactuals.find(id); it != m_counterfactuals.end() && m_backend && id == m_shownJob) {
        const auto original = m_backend->job(it->second.original.toStdString());
        const auto edited = m_backend->job(id.toStdString());
        if (original && edited && jobs::isFinal(edited->status)) {
            const CounterfactualEdit edit = it->second.edit;
            m_counterfactuals.erase(it);
            dashboard()->showCounterfactual(jobs::toJobResult(*original), jobs::toJobResult(*edited), edit);
        }
    }
    if (id != m_shownJob || !m_backend) return;
    refreshShownJob();
    m_jobProgress->hide();
    const auto rec = m_backend->job(id.toStdString());
    if (!rec) return;
    int done = 0, failed = 0, cached = 0, stored = 0;
    for (const auto& p : rec->pairs) {
        done += p.status == jobs::JobStatus::Completed ? 1 : 0;
        failed += p.status == jobs::JobStatus::Failed ? 1 : 0;
        cached += p.fromCache && !p.fromStore ? 1 : 0;
        stored += p.fromStore ? 1 : 0;
    }
    QString text = tr("job %1 %2: %3/%4 pairs").arg(id.right(8), QString::fromLatin1(jobs::statusName(rec->status)))
                       .arg(done)
                       .arg(rec->pairs.size());
    if (cached) text += tr(" (%1 from the cache)").arg(cached);
    if (stored) text += tr(" (%1 from the store)").arg(stored);
    m_jobStatus->setText(text);
    m_jobStatus->show();
    const bool canFollow = done > 0 && rec->status == jobs::JobStatus::Completed;
    dashboard()->setFollowUpAvailable(
        canFollow, canFollow ? tr("Type the next turn: the models see this prompt, the shown model's output and your "
                                  "text (turn %1 → %2).")
                                   .arg(rec->turns.empty() ? 1 : static_cast<int>(rec->turns.size() / 2) + 1)
                                   .arg(rec->turns.empty() ? 2 : static_cast<int>(rec->turns.size() / 2) + 2)
                             : tr("This job has no completed result to continue."));
    if (id == m_demoJob && done > 0) {
        m_demoJob.clear();
        banner()->showMessage(MessageBanner::Kind::Info,
                              tr("The demo result is ready: two small models trained to answer from known evidence "
                                 "(“tom has a” → “blue”). Hover a token to see what it drew on, switch models in the "
                                 "Model box, toggle methods with 1–9; your own job: New job page (Alt+1)."));
    }
    if (failed && done == 0) {
        banner()->showMessage(MessageBanner::Kind::Error, tr("Every pair of job %1 failed; see the Jobs page for why.").arg(id));
    }
}

void JobActions::submitBatch(const QString& jsonl, const QString& path, const Job& defaults) {
    if (!m_backend) return;
    QPointer<JobActions> self(this);
    m_backend->submitBatch(jsonl.toStdString(), defaults, QFileInfo(path).fileName().toStdString(),
                           [self, path](jobs::BatchSubmission sub) {
                               if (self) self->batchSubmitted(path, sub);
                           });
}

void JobActions::batchSubmitted(const QString& path, const jobs::BatchSubmission& sub) {
    QStringList errors;
    for (const auto& e : sub.errors) errors << QString::fromStdString(e.message);
    const QString summary = tr("Batch %1: %n job(s) queued", nullptr, static_cast<int>(sub.jobIds.size()))
                                .arg(QFileInfo(path).fileName());
    if (!errors.isEmpty()) {
        banner()->showMessage(MessageBanner::Kind::Warning,
                              summary + tr("; %n line(s) skipped: ", nullptr, static_cast<int>(errors.size())) +
                                  errors.mid(0, 5).join(QStringLiteral("; ")) +
                                  (errors.size() > 5 ? QStringLiteral("; …") : QString()));
    } else {
        banner()->dismiss();
    }
    m_window->statusBar()->showMessage(summary, 6000);
    m_window->showPage(MainWindow::Page::Jobs);
}

void JobActions::followUp(const QString& text, int modelIndex) {
    if (!m_backend || m_shownJob.isEmpty()) return;
    QPointer<JobActions> self(this);
    m_backend->followUp(m_shownJob.toStdString(), text.toStdString(), std::max(0, modelIndex), [self](Result<std::string> id) {
        if (!self) return;
        if (!id) {
            self->banner()->showMessage(MessageBanner::Kind::Error,
                                        tr("The follow-up was not queued: %1").arg(QString::fromStdString(id.error().message)));
            return;
        }
        self->openJob(QString::fromStdString(*id));
    });
}

void JobActions::rerunShown(const QString& targetFn, const QString& reduction) {
    if (!m_backend || m_shownJob.isEmpty()) {
        m_window->statusBar()->showMessage(tr("Re-running with %1 / %2 needs the result's models: run its prompt as a job "
                                    "from the New job page.")
                                     .arg(targetFn, reduction),
                                 6000);
        return;
    }
    auto rec = m_backend->job(m_shownJob.toStdString());
    if (!rec) return;
    Job spec = rec->spec;
    spec.options["target_fn"] = targetFn.toStdString();
    spec.options["reduction"] = reduction.toStdString();
    if (auto r = submitJob(spec); !r) {
        banner()->showMessage(MessageBanner::Kind::Error,
                              tr("The re-run was not queued: %1").arg(QString::fromStdString(r.error().message)));
    }
}

void JobActions::runCounterfactual(const CounterfactualEdit& edit) {
    if (!m_backend || m_shownJob.isEmpty()) {
        banner()->showMessage(MessageBanner::Kind::Warning,
                              tr("An edited prompt runs with the result's models: run this prompt as a job from the New "
                                 "job page first, then edit its tokens."));
        return;
    }
    auto rec = m_backend->job(m_shownJob.toStdString());
    if (!rec) return;
    if (rec->prompt != edit.originalPrompt) {
        banner()->showMessage(MessageBanner::Kind::Error, tr("The edit does not belong to the shown job's prompt."));
        return;
    }
    Job spec = rec->spec;
    spec.input = edit.editedPrompt; // the whole prompt (a follow-up's conversation included)
    spec.parentJob.reset();
    // The original output forced: every output token's probability under the
    // edited prompt is then defined.
    if (!edit.originalOutput.empty()) spec.targetText = edit.originalOutput;
    const QString original = m_shownJob;
    QPointer<JobActions> self(this);
    m_backend->submit(spec, [self, original, edit](Result<std::string> id) {
        if (!self) return;
        if (!id) {
            self->banner()->showMessage(MessageBanner::Kind::Error,
                                        tr("The edited prompt was not queued: %1").arg(QString::fromStdString(id.error().message)));
            return;
        }
        const QString editedId = QString::fromStdString(*id);
        self->m_counterfactuals[editedId] = {original, edit};
        self->m_window->statusBar()->showMessage(
            tr("Queued job %1: the edited prompt; it opens beside the original when done").arg(editedId), 6000);
        self->openJob(editedId);
    });
}

bool JobActions::runDemoJob() {
    if (!m_backend) return false;
    std::vector<ModelEntry> demo;
    const QString dir = demoModelsDir();
    if (m_backend->isRemote()) {
        // The server's bundled demo models, by their catalog ids.
        for (const char* name : {"demo-llama", "demo-gpt2"}) {
            ModelEntry e;
            e.path = e.name = QLatin1String(name);
            e.source = QStringLiteral("demo");
            demo.push_back(e);
        }
    } else if (dir.isEmpty()) {
        return false;
    }
    for (const char* name : {"demo-llama", "demo-gpt2"}) {
        if (m_backend->isRemote()) break;
        const QString path = dir + QLatin1Char('/') + QLatin1String(name);
        if (QFileInfo(path + QStringLiteral("/config.json")).isFile()) {
            ModelEntry e;
            e.path = path;
            e.name = QLatin1String(name);
            e.source = QStringLiteral("demo");
            demo.push_back(e);
        }
    }
    const auto spec = demoJobSpec(demo);
    if (spec.models.empty()) return false;
    m_demoPending = true; // a server names the job later
    auto id = submitJob(spec);
    if (!id) {
        if (m_backend->isRemote()) {
            banner()->showMessage(MessageBanner::Kind::Error,
                                  tr("The demo job was not queued: %1").arg(QString::fromStdString(id.error().message)));
        }
        return false;
    }
    if (!id->empty()) m_demoJob = QString::fromStdString(*id);
    banner()->showMessage(MessageBanner::Kind::Info,
                          tr("Welcome: the two bundled demo models are explaining the sample prompt — results appear "
                             "method by method. Hover a token to see what it drew on; start your own job on the New "
                             "job page (Alt+1)."));
    return true;
}

bool JobActions::openLatestJob() {
    if (!m_backend) return false;
    const jobs::JobRecord* latest = nullptr;
    const auto list = m_backend->listJobs();
    for (const auto& j : list) {
        if (j.status == jobs::JobStatus::Completed && (!latest || j.seq > latest->seq)) latest = &j;
    }
    return latest && openJob(QString::fromStdString(latest->id));
}

} // namespace tokenlens::gui
