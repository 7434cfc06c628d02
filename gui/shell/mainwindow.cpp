#include "shell/mainwindow.h"

#include "files/drop_handler.h"
#include "files/file_actions.h"
#include "files/recent_files.h"
#include "jobs/backend/connection_indicator.h"
#include "jobs/backend/remote_backend.h"
#include "jobs/jobs_page.h"
#include "jobs/new_job_page.h"
#include "results/dashboard.h"
#include "results/selection_model.h"
#include "results/timeline_panel.h"
#include "results/token_view.h"
#include "shell/backend_switcher.h"
#include "shell/job_actions.h"
#include "shell/menu_builder.h"
#include "shell/message_banner.h"
#include "viewmodel/model_entries.h"
#include "viewmodel/palette.h"

#include <tokenlens/version.h>

#include <QCloseEvent>
#include <QFileInfo>
#include <QLabel>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

namespace tokenlens::gui {

namespace {

QWidget* placeholderPage(const QString& title, const QString& body, QWidget* parent) {
    auto* w = new QWidget(parent);
    auto* lay = new QVBoxLayout(w);
    lay->addStretch(1);
    auto* label = new QLabel(QStringLiteral("<h2>%1</h2><p>%2</p>").arg(title.toHtmlEscaped(), body), w);
    label->setAlignment(Qt::AlignCenter);
    label->setWordWrap(true);
    label->setTextFormat(Qt::RichText);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(label);
    lay->addStretch(2);
    return w;
}

} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(QStringLiteral(TOKENLENS_NAME));

    auto* central = new QWidget(this);
    auto* lay = new QVBoxLayout(central);
    lay->setContentsMargins(0, 0, 0, 0);
    lay->setSpacing(0);
    m_banner = new MessageBanner(central);
    lay->addWidget(m_banner);
    m_tabs = new QTabWidget(central);
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(placeholderPage(tr("New job"),
                                   tr("This window runs without a job queue. Compute a result with<br><code>tokenlens-cli attribute --model DIR "
                                      "--method attention,saliency --output result.json -- \"your prompt\"</code><br>"
                                      "and open it with Ctrl+O or by dropping it on this window."),
                                   m_tabs),
                   tr("New job"));
    m_tabs->addTab(placeholderPage(tr("Jobs"), tr("Running and finished jobs will be listed here."), m_tabs), tr("Jobs"));
    m_dashboard = new Dashboard(m_tabs);
    m_tabs->addTab(m_dashboard, tr("Dashboard"));
    m_tabs->setCurrentIndex(static_cast<int>(Page::Dashboard));
    lay->addWidget(m_tabs, 1);
    setCentralWidget(central);

    m_hoverStatus = new QLabel(this);
    auto* loading = new QProgressBar(this);
    loading->setRange(0, 0);
    loading->setMaximumWidth(160);
    loading->setTextVisible(false);
    loading->hide();
    auto* jobStatus = new QLabel(this);
    auto* jobProgress = new QProgressBar(this);
    jobProgress->setRange(0, 1000);
    jobProgress->setMaximumWidth(200);
    jobProgress->setFormat(QStringLiteral("%p %"));
    jobProgress->hide();
    jobStatus->hide();
    m_connection = new ConnectionIndicator(this);
    statusBar()->addPermanentWidget(m_hoverStatus);
    statusBar()->addPermanentWidget(m_connection);
    statusBar()->addPermanentWidget(jobStatus);
    statusBar()->addPermanentWidget(jobProgress);
    statusBar()->addPermanentWidget(loading);
    statusBar()->showMessage(tr("Ready — open a result with Ctrl+O or drop a .json file on the window"));

    m_files = new FileActions(this, m_banner, loading);
    connect(m_files, &FileActions::opened, this, &MainWindow::showLoadedFile);
    connect(m_files, &FileActions::handled, this, &MainWindow::fileHandled);
    connect(new DropHandler(this), &DropHandler::openRequested, m_files, &FileActions::openFile);
    m_jobs = new JobActions(this, jobStatus, jobProgress);
    connect(m_jobs, &JobActions::shownJobRefreshed, this, &MainWindow::updateHoverStatus);
    m_backends = new BackendSwitcher(this, m_jobs);

    connect(m_dashboard, &Dashboard::statusMessage, this,
            [this](const QString& m, int timeout) { statusBar()->showMessage(m, timeout); });
    connect(m_dashboard, &Dashboard::rerunRequested, this, [this](const QString& target, const QString& reduction) {
        m_jobs->rerunShown(target, reduction);
        emit rerunRequested(target, reduction);
    });
    connect(m_dashboard, &Dashboard::followUpRequested, m_jobs, &JobActions::followUp);
    connect(m_dashboard->timelinePanel(), &TimelinePanel::turnSelected, this, [this](const QString& id) { openJob(id); });
    connect(m_dashboard, &Dashboard::counterfactualRequested, m_jobs, &JobActions::runCounterfactual);
    connect(m_dashboard->selection(), &SelectionModel::changed, this, &MainWindow::updateHoverStatus);
    connect(m_dashboard, &Dashboard::viewStateChanged, this, &MainWindow::updateHoverStatus);
    connect(m_tabs, &QTabWidget::currentChanged, this, &MainWindow::updateActions);

    m_menus = new MenuBuilder(this, m_files, m_jobs);
    m_menus->createMenus();

    QSettings s;
    m_theme = themeFromKey(s.value(QStringLiteral("theme"), QStringLiteral("system")).toString());
    setTheme(m_theme);
    m_dashboard->restoreSettings(s);
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray())) resize(1280, 820);
    restoreState(s.value(QStringLiteral("window/state")).toByteArray());
    updateActions();
    updateHoverStatus();
}

MainWindow::~MainWindow() = default;

QAction* MainWindow::action(const QString& name) const { return findChild<QAction*>(name); }

void MainWindow::updateActions() { m_menus->setDashboardActionsEnabled(currentPage() == Page::Dashboard); }

// ------------------------------------------------------------------- pages

void MainWindow::setPage(Page page, QWidget* widget) {
    const int i = static_cast<int>(page);
    const QString title = m_tabs->tabText(i);
    QWidget* old = m_tabs->widget(i);
    const bool current = m_tabs->currentIndex() == i;
    m_tabs->removeTab(i);
    m_tabs->insertTab(i, widget, title);
    if (current) m_tabs->setCurrentIndex(i);
    if (old != m_dashboard) old->deleteLater();
    if (page == Page::Dashboard) {
        if (auto* d = qobject_cast<Dashboard*>(widget)) m_dashboard = d;
    }
}

void MainWindow::showPage(Page page) { m_tabs->setCurrentIndex(static_cast<int>(page)); }

MainWindow::Page MainWindow::currentPage() const { return static_cast<Page>(m_tabs->currentIndex()); }

// -------------------------------------------------------------------- jobs

void MainWindow::setJobQueue(jobs::JobQueue* queue) { m_backends->setJobQueue(queue); }

jobs::JobQueue* MainWindow::jobQueue() const { return m_backends->jobQueue(); }

JobBackend* MainWindow::backend() const { return m_jobs->backend(); }

void MainWindow::setBackend(JobBackend* backend) {
    const bool first = !m_menus->hasJobMenu();
    m_newJob = new NewJobPage(this);
    if (auto* r = qobject_cast<RemoteBackend*>(backend)) {
        const api::Endpoint ep = r->endpoint();
        m_newJob->setModelSource([ep] { return RemoteBackend::fetchModels(ep); },
                                 backend->unsupportedReason(JobBackend::Feature::AddModelFolder));
    }
    m_jobsPage = new JobsPage(backend, this);
    setPage(Page::NewJob, m_newJob);
    setPage(Page::Jobs, m_jobsPage);
    m_newJob->setPrompt(samplePrompt(), tr("the sample prompt"));
    m_newJob->setMaxNewTokens(4);
    m_newJob->refreshModels();

    connect(m_newJob, &NewJobPage::submitRequested, this, [this](const Job& spec) {
        if (auto r = submitJob(spec); !r) {
            m_banner->showMessage(MessageBanner::Kind::Error,
                                  tr("The job was not queued: %1").arg(QString::fromStdString(r.error().message)));
        }
    });
    connect(m_newJob, &NewJobPage::batchSubmitRequested, m_jobs, &JobActions::submitBatch);
    connect(m_newJob, &NewJobPage::statusMessage, this,
            [this](const QString& m, int timeout) { statusBar()->showMessage(m, timeout); });
    connect(m_jobsPage, &JobsPage::statusMessage, this,
            [this](const QString& m, int timeout) { statusBar()->showMessage(m, timeout); });
    connect(m_jobsPage, &JobsPage::openRequested, this, [this](const QString& id) { openJob(id); });
    // The conversation timeline: a turn's chip opens that turn's job.
    m_dashboard->timelinePanel()->setBackend(backend);
    m_jobs->setBackend(backend);
    m_backends->watch(backend);
    m_connection->setBackend(backend);
    m_menus->updateBackendActions(backend);
    if (!first) return;
    m_menus->createJobMenu();
    m_menus->updateBackendActions(backend);
    statusBar()->showMessage(tr("Ready — choose models and methods on the New job page, or open a result (Ctrl+O)"));
}

RemoteBackend* MainWindow::useRemoteBackend(const api::Endpoint& endpoint) { return m_backends->useRemoteBackend(endpoint); }

void MainWindow::useLocalBackend() { m_backends->useLocalBackend(); }

void MainWindow::applyBackendSettings() { m_backends->applyBackendSettings(); }

void MainWindow::settingsDialog() { m_backends->settingsDialog(); }

Result<std::string> MainWindow::submitJob(const Job& spec) { return m_jobs->submitJob(spec); }

bool MainWindow::openJob(const QString& id) { return m_jobs->openJob(id); }

const QString& MainWindow::shownJob() const { return m_jobs->shownJob(); }

bool MainWindow::runDemoJob() { return m_jobs->runDemoJob(); }

bool MainWindow::openLatestJob() { return m_jobs->openLatestJob(); }

bool MainWindow::importJobFile(const QString& path) { return m_jobs->importJobFile(path); }

// ------------------------------------------------------------------- files

void MainWindow::openFile(const QString& path) { m_files->openFile(path); }

bool MainWindow::isLoading() const { return m_files->isLoading(); }

QStringList MainWindow::recentFiles() const { return m_files->recent()->files(); }

void MainWindow::showLoadedFile(const QString& path, const LoadedFile& loaded) {
    const QString name = QFileInfo(path).fileName();
    QString summary;
    // A prompt or batch lands on the New job page; without one it is only said.
    auto toNewJobPage = [&] {
        if (m_newJob) {
            showPage(Page::NewJob);
            m_banner->dismiss();
        } else {
            m_banner->showMessage(MessageBanner::Kind::Info, summary);
        }
    };
    switch (loaded.kind) {
    case FileKind::Result: {
        const auto& job = loaded.result;
        m_jobs->forgetShownJob();
        m_dashboard->setJob(job, QFileInfo(path).absoluteFilePath());
        m_dashboard->setFollowUpAvailable(false, tr("A result opened from a file cannot be continued; run its prompt "
                                                    "as a job to continue the conversation."));
        showPage(Page::Dashboard);
        m_files->recent()->add(QFileInfo(path).absoluteFilePath());
        setWindowTitle(QStringLiteral("%1 — " TOKENLENS_NAME).arg(name));
        const auto& model = m_dashboard->model();
        summary = tr("Opened %1: %2 model(s), %3 method(s), %4 prompt + %5 output tokens (%6 read in %7 ms)")
                      .arg(name)
                      .arg(model.models().size())
                      .arg(model.methods().size())
                      .arg(model.promptLength())
                      .arg(model.outputLength())
                      .arg(loaded.sidecarBytes > 0 ? tr("%1 + %2 of matrices")
                                                         .arg(humanBytes(loaded.bytes), humanBytes(loaded.sidecarBytes))
                                                   : humanBytes(loaded.bytes))
                      .arg(loaded.seconds * 1000, 0, 'f', 1);
        if (job.results.empty()) {
            m_banner->showMessage(MessageBanner::Kind::Warning, tr("“%1” holds no method results.").arg(name));
        } else {
            m_banner->dismiss();
        }
        break;
    }
    case FileKind::PromptText:
        summary = tr("Read the prompt in %1 (%n character(s)); choose models and methods, then Run job.", nullptr,
                     static_cast<int>(loaded.text.size()))
                      .arg(name);
        if (m_newJob) m_newJob->setPrompt(loaded.text, name);
        toNewJobPage();
        emit promptTextOpened(loaded.text, path);
        break;
    case FileKind::Batch:
        summary = tr("Read the batch in %1; Run batch queues one job per line.").arg(name);
        if (m_newJob) m_newJob->setBatch(loaded.text, path);
        toNewJobPage();
        emit batchOpened(loaded.text, path);
        break;
    case FileKind::Messages:
        summary = tr("Read the conversation in %1 (%n message(s)); choose models and methods, then Run job.", nullptr,
                     static_cast<int>(loaded.messages.size()))
                      .arg(name);
        if (m_newJob) {
            if (auto st = m_newJob->setChatMessages(loaded.messages, name); !st) {
                m_banner->showMessage(MessageBanner::Kind::Error, QString::fromStdString(st.error().message));
                emit fileHandled(path, false, QString::fromStdString(st.error().message));
                return;
            }
        }
        toNewJobPage();
        break;
    case FileKind::Unknown: break;
    }
    statusBar()->showMessage(summary, 8000);
    emit fileHandled(path, true, summary);
}

// ---------------------------------------------------------------- the rest

void MainWindow::setTheme(Theme theme) {
    m_theme = theme;
    applyTheme(theme);
    if (m_menus) m_menus->checkTheme(theme);
    QSettings().setValue(QStringLiteral("theme"), themeKey(theme));
}

void MainWindow::updateHoverStatus() {
    const auto& model = m_dashboard->model();
    const int64_t k = m_dashboard->selection()->described();
    if (!model.hasJob()) {
        m_hoverStatus->clear();
        return;
    }
    QString text;
    if (k >= 0 && k < model.contextLength()) {
        text = QStringLiteral("%1 “%2” · ").arg(tokenSymbol(k, model.promptLength()),
                                                 displayToken(model.contextTokens()[static_cast<size_t>(k)]));
    }
    text += tr("c = %1 · %2").arg(model.window()).arg(scopeLabel(model.scope()));
    m_hoverStatus->setText(text);
}

void MainWindow::saveSettings() const {
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    s.setValue(QStringLiteral("theme"), themeKey(m_theme));
    m_dashboard->saveSettings(s);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveSettings();
    QMainWindow::closeEvent(event);
}

} // namespace tokenlens::gui
