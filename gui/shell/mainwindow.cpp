#include "mainwindow.h"

#include "attribution/method.h"
#include "jobs/job_queue.h"
#include "viewmodel/model_entries.h"
#include "backend/connection_indicator.h"
#include "backend/local_backend.h"
#include "backend/remote_backend.h"
#include "settings_dialog.h"
#include "widgets/jobs_page.h"
#include "widgets/new_job_page.h"
#include "model/torch_info.h"
#include "viewmodel/file_loader.h"
#include "viewmodel/palette.h"
#include "widgets/dashboard.h"
#include "widgets/heatmap_view.h"
#include "widgets/message_banner.h"
#include "widgets/selection_model.h"
#include "widgets/split_view.h"
#include "widgets/timeline_panel.h"
#include "widgets/token_view.h"

#include <tokenlens/version.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QStatusBar>
#include <QTabWidget>
#include <QThreadPool>
#include <QTimer>
#include <QVBoxLayout>

#include <memory>
#include <optional>

namespace tokenlens::gui {

namespace {

constexpr int kMaxRecent = 10;

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

QStringList localFiles(const QMimeData* mime) {
    QStringList files;
    if (!mime || !mime->hasUrls()) return files;
    for (const QUrl& url : mime->urls()) {
        if (url.isLocalFile()) files << url.toLocalFile();
    }
    return files;
}

} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(QStringLiteral(TOKENLENS_NAME));
    setAcceptDrops(true);

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
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 0);
    m_progress->setMaximumWidth(160);
    m_progress->setTextVisible(false);
    m_progress->hide();
    m_progressTimer = new QTimer(this);
    m_progressTimer->setSingleShot(true);
    m_progressTimer->setInterval(500); // a bar only for what takes longer than half a second
    connect(m_progressTimer, &QTimer::timeout, this, [this] {
        if (m_pendingLoads > 0) m_progress->show();
    });
    m_jobStatus = new QLabel(this);
    m_jobProgress = new QProgressBar(this);
    m_jobProgress->setRange(0, 1000);
    m_jobProgress->setMaximumWidth(200);
    m_jobProgress->setFormat(QStringLiteral("%p %"));
    m_jobProgress->hide();
    m_jobStatus->hide();
    m_connection = new ConnectionIndicator(this);
    statusBar()->addPermanentWidget(m_hoverStatus);
    statusBar()->addPermanentWidget(m_connection);
    statusBar()->addPermanentWidget(m_jobStatus);
    statusBar()->addPermanentWidget(m_jobProgress);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->showMessage(tr("Ready — open a result with Ctrl+O or drop a .json file on the window"));

    connect(m_dashboard, &Dashboard::statusMessage, this,
            [this](const QString& m, int timeout) { statusBar()->showMessage(m, timeout); });
    connect(m_dashboard, &Dashboard::rerunRequested, this, [this](const QString& target, const QString& reduction) {
        rerunShown(target, reduction);
        emit rerunRequested(target, reduction);
    });
    connect(m_dashboard, &Dashboard::followUpRequested, this, &MainWindow::followUp);
    connect(m_dashboard->timelinePanel(), &TimelinePanel::turnSelected, this, [this](const QString& id) { openJob(id); });
    connect(m_dashboard, &Dashboard::counterfactualRequested, this, &MainWindow::runCounterfactual);
    connect(m_dashboard->selection(), &SelectionModel::changed, this, &MainWindow::updateHoverStatus);
    connect(m_dashboard, &Dashboard::viewStateChanged, this, &MainWindow::updateHoverStatus);
    connect(m_tabs, &QTabWidget::currentChanged, this, &MainWindow::updateActions);

    createMenus();

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

// ----------------------------------------------------------------- actions

QAction* MainWindow::addAction(QMenu* menu, const QString& name, const QString& text, const QKeySequence& key,
                               const QString& tip) {
    auto* a = new QAction(text, this);
    a->setObjectName(name);
    if (!key.isEmpty()) a->setShortcut(key);
    a->setStatusTip(tip);
    a->setToolTip(tip);
    if (menu) menu->addAction(a);
    QMainWindow::addAction(a); // shortcuts work with the menu bar hidden too
    return a;
}

QAction* MainWindow::action(const QString& name) const { return findChild<QAction*>(name); }

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    connect(addAction(file, QStringLiteral("open"), tr("&Open Result…"), QKeySequence::Open,
                      tr("Open a result .json file")),
            &QAction::triggered, this, &MainWindow::openDialog);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    rebuildRecentMenu();
    file->addSeparator();
    auto exportAction = [&](const QString& name, const QString& text, const QKeySequence& key, const QString& tip,
                            ExportKind kind) {
        QAction* a = addAction(file, name, text, key, tip);
        connect(a, &QAction::triggered, this, [this, kind] { m_dashboard->exportInteractive(kind); });
        m_dashboardActions.push_back(a);
    };
    exportAction(QStringLiteral("exportTokens"), tr("&Export Token View as PNG…"), QKeySequence(tr("Ctrl+E")),
                 tr("The token view with its legend, as on screen"), ExportKind::TokenViewPng);
    exportAction(QStringLiteral("exportHeatmap"), tr("Export &Heatmap as PNG…"), QKeySequence(tr("Ctrl+Shift+E")),
                 tr("The heatmap as zoomed now, with labels and legend"), ExportKind::HeatmapPng);
    exportAction(QStringLiteral("exportJson"), tr("Export Result &JSON…"), QKeySequence(tr("Ctrl+Shift+S")),
                 tr("The whole result in the contract's JSON"), ExportKind::ResultJson);
    exportAction(QStringLiteral("exportCsv"), tr("Export Matrix as &CSV…"), QKeySequence(tr("Ctrl+Shift+C")),
                 tr("The matrix shown, as a table"), ExportKind::MatrixCsv);
    file->addSeparator();
    connect(addAction(file, QStringLiteral("settings"), tr("&Settings…"), QKeySequence(tr("Ctrl+,")),
                      tr("Where jobs run: this computer, or a TokenLens server (URL and token)")),
            &QAction::triggered, this, &MainWindow::settingsDialog);
    connect(addAction(file, QStringLiteral("quit"), tr("&Quit"), QKeySequence::Quit, tr("Quit TokenLens")),
            &QAction::triggered, this, &QWidget::close);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    const char* pageNames[] = {"pageNewJob", "pageJobs", "pageDashboard"};
    const QString pageTitles[] = {tr("&New Job"), tr("&Jobs"), tr("&Dashboard")};
    for (int i = 0; i < 3; ++i) {
        connect(addAction(view, QString::fromLatin1(pageNames[i]), pageTitles[i],
                          QKeySequence(QStringLiteral("Alt+%1").arg(i + 1)), tr("Show the page")),
                &QAction::triggered, this, [this, i] { showPage(static_cast<Page>(i)); });
    }
    view->addSeparator();
    QMenu* methods = view->addMenu(tr("&Methods"));
    // Keys 1–9 toggle the shown result's methods in the order of their
    // buttons (the registry has more methods than keys).
    for (int i = 0; i < 9; ++i) {
        QAction* a = addAction(methods, QStringLiteral("method%1").arg(i + 1), tr("Toggle Method %1").arg(i + 1),
                               QKeySequence(QString::number(i + 1)),
                               tr("Switch the result's method number %1 (see the method buttons) on or off").arg(i + 1));
        connect(a, &QAction::triggered, this, [this, i] {
            if (!m_dashboard->toggleMethodAt(i)) {
                statusBar()->showMessage(tr("This result has no method number %1.").arg(i + 1), 3000);
            }
        });
        m_dashboardActions.push_back(a);
    }
    auto dashAction = [&](QMenu* menu, const QString& name, const QString& text, const QKeySequence& key,
                          const QString& tip, auto fn) {
        QAction* a = addAction(menu, name, text, key, tip);
        connect(a, &QAction::triggered, this, fn);
        m_dashboardActions.push_back(a);
        return a;
    };
    dashAction(view, QStringLiteral("windowSmaller"), tr("Narrower Context Window"), QKeySequence(QStringLiteral("[")),
               tr("c − 1"), [this] { m_dashboard->setWindow(static_cast<int>(m_dashboard->model().window()) - 1); });
    dashAction(view, QStringLiteral("windowLarger"), tr("Wider Context Window"), QKeySequence(QStringLiteral("]")),
               tr("c + 1"), [this] { m_dashboard->setWindow(static_cast<int>(m_dashboard->model().window()) + 1); });
    dashAction(view, QStringLiteral("clearSelection"), tr("Clear Selection"), QKeySequence(Qt::Key_Escape),
               tr("Unpin and forget the hovered token"), [this] {
                   m_dashboard->selection()->clear();
                   if (m_dashboard->isSplit()) m_dashboard->splitView()->paneSelection(0)->clear(); // mirrored
                   m_banner->dismiss();
               });
    view->addSeparator();
    dashAction(view, QStringLiteral("zoomIn"), tr("Zoom Heatmap &In"), QKeySequence::ZoomIn, tr("Larger cells"),
               [this] { shownHeatmap()->zoomIn(); });
    dashAction(view, QStringLiteral("zoomOut"), tr("Zoom Heatmap &Out"), QKeySequence::ZoomOut, tr("Smaller cells"),
               [this] { shownHeatmap()->zoomOut(); });
    dashAction(view, QStringLiteral("zoomFit"), tr("&Fit Heatmap"), QKeySequence(tr("Ctrl+0")),
               tr("The whole matrix in view"), [this] { shownHeatmap()->fitAll(); });
    view->addSeparator();
    QAction* split = dashAction(view, QStringLiteral("splitView"), tr("&Split View (Compare Models)"),
                                QKeySequence(tr("Ctrl+Shift+V")), tr("Two panes side by side, one model each"),
                                [this](bool on) { m_dashboard->setSplit(on); });
    split->setCheckable(true);
    QAction* difference = dashAction(view, QStringLiteral("differenceMode"), tr("&Difference of the Two Panes"),
                                     QKeySequence(tr("Ctrl+D")), tr("Left minus right on a diverging scale"),
                                     [this](bool on) { m_dashboard->setDifferenceMode(on); });
    difference->setCheckable(true);
    connect(m_dashboard, &Dashboard::splitChanged, this, [split, difference](bool s, bool d) {
        split->setChecked(s);
        difference->setChecked(s && d);
    });
    view->addSeparator();
    QMenu* themeMenu = view->addMenu(tr("&Theme"));
    m_themeGroup = new QActionGroup(this);
    const std::pair<Theme, QString> themes[] = {
        {Theme::System, tr("Follow the &System")}, {Theme::Light, tr("&Light")}, {Theme::Dark, tr("&Dark")}};
    for (const auto& [t, text] : themes) {
        QAction* a = addAction(themeMenu, QStringLiteral("theme-") + themeKey(t), text, {}, tr("Colours of the window"));
        a->setCheckable(true);
        a->setData(static_cast<int>(t));
        m_themeGroup->addAction(a);
        connect(a, &QAction::triggered, this, [this, t = t] { setTheme(t); });
    }
    addAction(themeMenu, QStringLiteral("toggleDark"), tr("Toggle Light/Dark"), QKeySequence(tr("Ctrl+Shift+D")),
              tr("Switch between the light and the dark palette"));
    connect(action(QStringLiteral("toggleDark")), &QAction::triggered, this,
            [this] { setTheme(isDark(QApplication::palette()) ? Theme::Light : Theme::Dark); });

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    connect(addAction(help, QStringLiteral("about"), tr("&About TokenLens"), {}, tr("Versions and licence")),
            &QAction::triggered, this, &MainWindow::about);
    connect(addAction(help, QStringLiteral("aboutQt"), tr("About &Qt"), {}, tr("The Qt version")), &QAction::triggered,
            qApp, &QApplication::aboutQt);
}

void MainWindow::updateActions() {
    const bool dash = currentPage() == Page::Dashboard;
    for (QAction* a : m_dashboardActions) a->setEnabled(dash);
}

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

void MainWindow::setJobQueue(jobs::JobQueue* queue) {
    m_queue = queue;
    m_local = new LocalBackend(queue, this);
    setBackend(m_local);
}

void MainWindow::setBackend(JobBackend* backend) {
    if (m_backend) disconnect(m_backend, nullptr, this, nullptr);
    m_backend = backend;
    const bool first = !m_jobMenu;
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
    connect(m_newJob, &NewJobPage::batchSubmitRequested, this, &MainWindow::submitBatch);
    connect(m_newJob, &NewJobPage::statusMessage, this,
            [this](const QString& m, int timeout) { statusBar()->showMessage(m, timeout); });
    connect(m_jobsPage, &JobsPage::statusMessage, this,
            [this](const QString& m, int timeout) { statusBar()->showMessage(m, timeout); });
    connect(m_jobsPage, &JobsPage::openRequested, this, [this](const QString& id) { openJob(id); });
    // The conversation timeline: a turn's chip opens that turn's job.
    m_dashboard->timelinePanel()->setBackend(m_backend);

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
                m_banner->showMessage(MessageBanner::Kind::Warning, tr("%1 on %2 failed: %3 (the other pairs go on)")
                                                                        .arg(methodLabel(method.toStdString()), name, message));
            });
    connect(backend, &JobBackend::progressAvailable, this, &MainWindow::jobProgress);
    connect(backend, &JobBackend::jobStatusAvailable, this, [this](const QString& id, jobs::JobStatus s) {
        if (jobs::isFinal(s)) jobFinished(id);
    });
    connect(backend, &JobBackend::jobFailed, this, [this](const QString& id, const QString& message) {
        if (id == m_shownJob) m_banner->showMessage(MessageBanner::Kind::Error, tr("The job failed: %1").arg(message));
    });
    connect(backend, &JobBackend::jobRemoved, this, [this](const QString& id) {
        if (id == m_shownJob) {
            m_shownJob.clear();
            m_dashboard->setFollowUpAvailable(false, tr("The job shown was deleted; its result stays on screen until "
                                                        "you open another."));
            m_jobProgress->hide();
            m_jobStatus->hide();
        }
    });
    connect(backend, &JobBackend::storeFailed, this, [this](const QString& message) {
        m_banner->showMessage(MessageBanner::Kind::Error,
                              tr("The results store could not be written: %1. Results stay in memory; export them "
                                 "to keep them.")
                                  .arg(message));
    });
    connect(backend, &JobBackend::operationFailed, this,
            [this](const QString& message) { m_banner->showMessage(MessageBanner::Kind::Error, message); });
    connect(backend, &JobBackend::connectionChanged, this, &MainWindow::backendConnectionChanged);
    connect(backend, &JobBackend::jobsResynced, this, [this] {
        if (!m_shownJob.isEmpty() && m_backend->job(m_shownJob.toStdString())) m_backend->wantResults(m_shownJob.toStdString());
    });
    m_connection->setBackend(backend);
    updateBackendActions();
    if (!first) return;
    // The Job menu: every job action has a key.
    QMenu* jobMenu = m_jobMenu = new QMenu(tr("&Job"), this);
    menuBar()->insertMenu(menuBar()->actions().value(1), jobMenu);
    connect(addAction(jobMenu, QStringLiteral("runJob"), tr("&Run Job"), QKeySequence(tr("Ctrl+Return")),
                      tr("Queue the job described on the New job page")),
            &QAction::triggered, this, [this] {
                showPage(Page::NewJob);
                m_newJob->submitButton()->click();
            });
    connect(addAction(jobMenu, QStringLiteral("cancelJob"), tr("&Cancel Shown Job"), QKeySequence(tr("Ctrl+.")),
                      tr("Stop the job on the dashboard; finished pairs are kept")),
            &QAction::triggered, this, [this] {
                if (!m_shownJob.isEmpty()) m_jobsPage->cancelJobs({m_shownJob});
            });
    connect(addAction(jobMenu, QStringLiteral("rerunJob"), tr("Re-run &Unfinished Pairs"), QKeySequence(tr("Ctrl+R")),
                      tr("Run again the failed, cancelled or interrupted pairs of the shown job")),
            &QAction::triggered, this, [this] {
                if (!m_shownJob.isEmpty()) m_jobsPage->rerunJobs({m_shownJob});
            });
    connect(addAction(jobMenu, QStringLiteral("followUp"), tr("Continue the &Conversation"), QKeySequence(tr("Ctrl+L")),
                      tr("Type the next turn of the shown job's conversation")),
            &QAction::triggered, this, [this] {
                showPage(Page::Dashboard);
                m_dashboard->followUpEdit()->setFocus();
            });
    jobMenu->addSeparator();
    connect(addAction(jobMenu, QStringLiteral("importJob"), tr("&Import Job…"), QKeySequence(tr("Ctrl+I")),
                      tr("Add an exported job (or any result JSON) to the job list")),
            &QAction::triggered, this, &MainWindow::importJobDialog);
    connect(addAction(jobMenu, QStringLiteral("exportJob"), tr("E&xport Shown Job…"), QKeySequence(tr("Ctrl+Shift+X")),
                      tr("Save the shown job with its statuses, so it can be imported again")),
            &QAction::triggered, this, [this] {
                if (!m_shownJob.isEmpty()) m_jobsPage->exportJob(m_shownJob);
            });
    updateBackendActions();
    statusBar()->showMessage(tr("Ready — choose models and methods on the New job page, or open a result (Ctrl+O)"));
}

void MainWindow::importJobDialog() {
    if (!m_backend) return;
    if (!m_backend->supports(JobBackend::Feature::Import)) {
        m_banner->showMessage(MessageBanner::Kind::Info, m_backend->unsupportedReason(JobBackend::Feature::Import));
        return;
    }
    QSettings s;
    const QString path = QFileDialog::getOpenFileName(this, tr("Import Job"), s.value(QStringLiteral("open/dir"), QDir::homePath()).toString(),
                                                      tr("TokenLens results (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    importJobFile(path);
}

bool MainWindow::importJobFile(const QString& path) {
    const LoadedFile loaded = loadFile(path);
    if (!loaded.ok() || loaded.kind != FileKind::Result) {
        m_banner->showMessage(MessageBanner::Kind::Error,
                              loaded.ok() ? tr("%1 is not a result JSON file.").arg(QFileInfo(path).fileName()) : loaded.message);
        return false;
    }
    // The file checked out as a result; the import needs its whole JSON
    // (the tokenlens_job block with the spec and statuses).
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        m_banner->showMessage(MessageBanner::Kind::Error, tr("Could not read %1: %2").arg(path, f.errorString()));
        return false;
    }
    const QByteArray bytes = f.readAll();
    const auto json = nlohmann::json::parse(bytes.constData(), bytes.constData() + bytes.size(), nullptr, false);
    if (!m_backend) return false;
    // Locally `done` runs before importJob returns, so the answer is known
    // here; remotely it runs once the server answered (the import started).
    auto outcome = std::make_shared<std::optional<bool>>();
    const QString name = QFileInfo(path).fileName();
    m_backend->importJob(json, name.toStdString(), [this, guard = QPointer<MainWindow>(this), name, outcome](Result<std::string> id) {
        if (!guard) return;
        if (!id) {
            m_banner->showMessage(MessageBanner::Kind::Error,
                                  tr("%1 could not be imported: %2").arg(name, QString::fromStdString(id.error().message)));
            *outcome = false;
            return;
        }
        statusBar()->showMessage(tr("Imported job %1 from %2").arg(QString::fromStdString(*id), name), 6000);
        *outcome = openJob(QString::fromStdString(*id));
    });
    return outcome->value_or(true);
}

Result<std::string> MainWindow::submitJob(const Job& spec) {
    if (!m_backend) return makeError(ErrorCode::InvalidArgument, "no job queue");
    // The local backend answers at once; a server later (then "" is returned
    // and the outcome shows in the status bar or the banner).
    auto answered = std::make_shared<std::optional<Result<std::string>>>();
    auto waiting = std::make_shared<bool>(false);
    QPointer<MainWindow> self(this);
    const int pairs = static_cast<int>(spec.models.size() * spec.methods.size());
    m_backend->submit(spec, [self, answered, waiting, pairs](Result<std::string> id) {
        if (!*waiting) *answered = id;
        if (!self) return;
        const bool demo = *waiting && self->m_demoPending;
        self->m_demoPending = false;
        if (!id) {
            if (*waiting) {
                self->m_banner->showMessage(MessageBanner::Kind::Error,
                                            tr("The job was not queued: %1").arg(QString::fromStdString(id.error().message)));
            }
            return;
        }
        if (demo) self->m_demoJob = QString::fromStdString(*id);
        self->statusBar()->showMessage(tr("Queued job %1: %n pair(s)", nullptr, pairs).arg(QString::fromStdString(*id)), 5000);
        self->openJob(QString::fromStdString(*id));
    });
    if (answered->has_value()) return **answered;
    *waiting = true;
    statusBar()->showMessage(tr("Submitting the job to %1…").arg(m_backend->description()), 5000);
    return std::string();
}

bool MainWindow::openJob(const QString& id) {
    if (!m_backend) return false;
    const auto rec = m_backend->job(id.toStdString());
    if (!rec) {
        m_banner->showMessage(MessageBanner::Kind::Error, tr("There is no job %1 in the store.").arg(id));
        return false;
    }
    m_shownJob = id;
    m_backend->wantResults(rec->id);
    refreshShownJob();
    showPage(Page::Dashboard);
    if (!jobs::isFinal(rec->status)) {
        jobProgress(id, m_backend->progress(rec->id), m_backend->etaSeconds(rec->id));
    } else {
        jobFinished(id);
    }
    return true;
}

void MainWindow::refreshShownJob() {
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
            m_dashboard->updateJob(jobs::toJobResult(*rec), source);
            setWindowTitle(QStringLiteral("%1 — " TOKENLENS_NAME).arg(source));
        } else if (m_dashboard->source() != source) {
            // Nothing finished yet: an empty result keeps the old one off screen.
            JobResult empty;
            empty.jobId = rec->id;
            empty.input.text = rec->prompt;
            m_dashboard->setJob(empty, source);
        }
        updateHoverStatus();
    });
}

void MainWindow::jobProgress(const QString& id, int permille, double eta) {
    if (id != m_shownJob) return;
    m_jobProgress->setValue(std::clamp(permille, 0, 1000));
    m_jobProgress->show();
    m_jobStatus->setText(eta >= 0 ? tr("job %1 · about %2 s left").arg(id.right(8)).arg(eta, 0, 'f', eta < 10 ? 1 : 0)
                                  : tr("job %1 running").arg(id.right(8)));
    m_jobStatus->show();
    m_dashboard->setFollowUpAvailable(false, tr("The conversation can continue once this job has finished."));
}

void MainWindow::jobFinished(const QString& id) {
    if (auto it = m_counterfactuals.find(id); it != m_counterfactuals.end() && m_backend && id == m_shownJob) {
        const auto original = m_backend->job(it->second.original.toStdString());
        const auto edited = m_backend->job(id.toStdString());
        if (original && edited && jobs::isFinal(edited->status)) {
            const CounterfactualEdit edit = it->second.edit;
            m_counterfactuals.erase(it);
            m_dashboard->showCounterfactual(jobs::toJobResult(*original), jobs::toJobResult(*edited), edit);
        }
    }
    if (id != m_shownJob || !m_backend) return;
    refreshShownJob();
    m_jobProgress->hide();
    const auto rec = m_backend->job(id.toStdString());
    if (!rec) return;
    int done = 0, failed = 0, cached = 0;
    for (const auto& p : rec->pairs) {
        done += p.status == jobs::JobStatus::Completed ? 1 : 0;
        failed += p.status == jobs::JobStatus::Failed ? 1 : 0;
        cached += p.fromCache ? 1 : 0;
    }
    QString text = tr("job %1 %2: %3/%4 pairs").arg(id.right(8), QString::fromLatin1(jobs::statusName(rec->status)))
                       .arg(done)
                       .arg(rec->pairs.size());
    if (cached) text += tr(" (%1 from the cache)").arg(cached);
    m_jobStatus->setText(text);
    m_jobStatus->show();
    const bool canFollow = done > 0 && rec->status == jobs::JobStatus::Completed;
    m_dashboard->setFollowUpAvailable(
        canFollow, canFollow ? tr("Type the next turn: the models see this prompt, the shown model's output and your "
                                  "text (turn %1 → %2).")
                                   .arg(rec->turns.empty() ? 1 : static_cast<int>(rec->turns.size() / 2) + 1)
                                   .arg(rec->turns.empty() ? 2 : static_cast<int>(rec->turns.size() / 2) + 2)
                             : tr("This job has no completed result to continue."));
    if (id == m_demoJob && done > 0) {
        m_demoJob.clear();
        m_banner->showMessage(MessageBanner::Kind::Info,
                              tr("The demo result is ready: two small models trained to answer from known evidence "
                                 "(“tom has a” → “blue”). Hover a token to see what it drew on, switch models in the "
                                 "Model box, toggle methods with 1–9; your own job: New job page (Alt+1)."));
    }
    if (failed && done == 0) {
        m_banner->showMessage(MessageBanner::Kind::Error, tr("Every pair of job %1 failed; see the Jobs page for why.").arg(id));
    }
}

void MainWindow::submitBatch(const QString& jsonl, const QString& path, const Job& defaults) {
    if (!m_backend) return;
    QPointer<MainWindow> self(this);
    m_backend->submitBatch(jsonl.toStdString(), defaults, QFileInfo(path).fileName().toStdString(),
                           [self, path](jobs::BatchSubmission sub) {
                               if (self) self->batchSubmitted(path, sub);
                           });
}

void MainWindow::batchSubmitted(const QString& path, const jobs::BatchSubmission& sub) {
    QStringList errors;
    for (const auto& e : sub.errors) errors << QString::fromStdString(e.message);
    const QString summary = tr("Batch %1: %n job(s) queued", nullptr, static_cast<int>(sub.jobIds.size()))
                                .arg(QFileInfo(path).fileName());
    if (!errors.isEmpty()) {
        m_banner->showMessage(MessageBanner::Kind::Warning,
                              summary + tr("; %n line(s) skipped: ", nullptr, static_cast<int>(errors.size())) +
                                  errors.mid(0, 5).join(QStringLiteral("; ")) +
                                  (errors.size() > 5 ? QStringLiteral("; …") : QString()));
    } else {
        m_banner->dismiss();
    }
    statusBar()->showMessage(summary, 6000);
    showPage(Page::Jobs);
}

void MainWindow::followUp(const QString& text, int modelIndex) {
    if (!m_backend || m_shownJob.isEmpty()) return;
    QPointer<MainWindow> self(this);
    m_backend->followUp(m_shownJob.toStdString(), text.toStdString(), std::max(0, modelIndex), [self](Result<std::string> id) {
        if (!self) return;
        if (!id) {
            self->m_banner->showMessage(MessageBanner::Kind::Error,
                                        tr("The follow-up was not queued: %1").arg(QString::fromStdString(id.error().message)));
            return;
        }
        self->openJob(QString::fromStdString(*id));
    });
}

void MainWindow::rerunShown(const QString& targetFn, const QString& reduction) {
    if (!m_backend || m_shownJob.isEmpty()) {
        statusBar()->showMessage(tr("Re-running with %1 / %2 needs the result's models: run its prompt as a job "
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
        m_banner->showMessage(MessageBanner::Kind::Error,
                              tr("The re-run was not queued: %1").arg(QString::fromStdString(r.error().message)));
    }
}

HeatmapView* MainWindow::shownHeatmap() const {
    // In the split view: the left pane's (the right one follows its zoom).
    return m_dashboard->isSplit() ? m_dashboard->splitView()->paneHeatmap(0) : m_dashboard->heatmapView();
}

void MainWindow::runCounterfactual(const CounterfactualEdit& edit) {
    if (!m_backend || m_shownJob.isEmpty()) {
        m_banner->showMessage(MessageBanner::Kind::Warning,
                              tr("An edited prompt runs with the result's models: run this prompt as a job from the New "
                                 "job page first, then edit its tokens."));
        return;
    }
    auto rec = m_backend->job(m_shownJob.toStdString());
    if (!rec) return;
    if (rec->prompt != edit.originalPrompt) {
        m_banner->showMessage(MessageBanner::Kind::Error, tr("The edit does not belong to the shown job's prompt."));
        return;
    }
    Job spec = rec->spec;
    spec.input = edit.editedPrompt; // the whole prompt (a follow-up's conversation included)
    spec.parentJob.reset();
    // The original output forced: every output token's probability under the
    // edited prompt is then defined.
    if (!edit.originalOutput.empty()) spec.targetText = edit.originalOutput;
    const QString original = m_shownJob;
    QPointer<MainWindow> self(this);
    m_backend->submit(spec, [self, original, edit](Result<std::string> id) {
        if (!self) return;
        if (!id) {
            self->m_banner->showMessage(MessageBanner::Kind::Error,
                                        tr("The edited prompt was not queued: %1").arg(QString::fromStdString(id.error().message)));
            return;
        }
        const QString editedId = QString::fromStdString(*id);
        self->m_counterfactuals[editedId] = {original, edit};
        self->statusBar()->showMessage(
            tr("Queued job %1: the edited prompt; it opens beside the original when done").arg(editedId), 6000);
        self->openJob(editedId);
    });
}

bool MainWindow::runDemoJob() {
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
            m_banner->showMessage(MessageBanner::Kind::Error,
                                  tr("The demo job was not queued: %1").arg(QString::fromStdString(id.error().message)));
        }
        return false;
    }
    if (!id->empty()) m_demoJob = QString::fromStdString(*id);
    m_banner->showMessage(MessageBanner::Kind::Info,
                          tr("Welcome: the two bundled demo models are explaining the sample prompt — results appear "
                             "method by method. Hover a token to see what it drew on; start your own job on the New "
                             "job page (Alt+1)."));
    return true;
}

bool MainWindow::openLatestJob() {
    if (!m_backend) return false;
    const jobs::JobRecord* latest = nullptr;
    const auto list = m_backend->listJobs();
    for (const auto& j : list) {
        if (j.status == jobs::JobStatus::Completed && (!latest || j.seq > latest->seq)) latest = &j;
    }
    return latest && openJob(QString::fromStdString(latest->id));
}

// ---------------------------------------------------------------- backend

RemoteBackend* MainWindow::useRemoteBackend(const api::Endpoint& endpoint) {
    auto* remote = new RemoteBackend(endpoint, this);
    setBackend(remote);
    if (m_remote) m_remote->deleteLater();
    m_remote = remote;
    m_shownJob.clear();
    m_jobProgress->hide();
    m_jobStatus->hide();
    statusBar()->showMessage(tr("Jobs now run on %1").arg(remote->description()), 6000);
    return remote;
}

void MainWindow::useLocalBackend() {
    if (!m_local) return;
    if (m_backend != m_local) {
        setBackend(m_local);
        m_shownJob.clear();
        m_jobProgress->hide();
        m_jobStatus->hide();
        statusBar()->showMessage(tr("Jobs now run on this computer"), 6000);
    }
    if (m_remote) m_remote->deleteLater();
    m_remote = nullptr;
}

void MainWindow::applyBackendSettings() {
    const BackendSettings b = BackendSettings::load();
    if (!b.remote) {
        useLocalBackend();
        return;
    }
    auto ep = parseServerUrl(b.url, b.token);
    if (!ep) {
        m_banner->showMessage(MessageBanner::Kind::Error,
                              tr("The server in Settings cannot be used (%1); jobs run on this computer.")
                                  .arg(QString::fromStdString(ep.error().message)));
        useLocalBackend();
        return;
    }
    useRemoteBackend(*ep);
}

void MainWindow::settingsDialog() {
    SettingsDialog dialog(BackendSettings::load(), this);
    if (dialog.exec() != QDialog::Accepted) return;
    const BackendSettings chosen = dialog.settings();
    const BackendSettings before = BackendSettings::load();
    chosen.save();
    const bool same = chosen == before && (chosen.remote ? m_remote != nullptr : m_backend == m_local);
    if (!same) applyBackendSettings();
}

void MainWindow::backendConnectionChanged() {
    if (!m_backend) return;
    using C = JobBackend::Connection;
    auto* remote = qobject_cast<RemoteBackend*>(m_backend);
    if (!remote) return;
    if (remote->connection() == C::WrongToken) {
        m_banner->showMessage(MessageBanner::Kind::Error,
                              tr("The server at %1 refused the token (HTTP 401 Unauthorized). Set the token the server "
                                 "was started with (its --token-file) in File → Settings….")
                                  .arg(endpointText(remote->endpoint())));
        m_wrongTokenShown = true;
    } else if (remote->connection() == C::Connected && m_wrongTokenShown) {
        m_wrongTokenShown = false;
        m_banner->dismiss();
    }
}

void MainWindow::updateBackendActions() {
    if (!m_backend) return;
    const bool import = m_backend->supports(JobBackend::Feature::Import);
    if (QAction* a = action(QStringLiteral("importJob"))) {
        a->setEnabled(import);
        a->setToolTip(import ? tr("Add an exported job (or any result JSON) to the job list")
                             : m_backend->unsupportedReason(JobBackend::Feature::Import));
    }
    const bool rerun = m_backend->supports(JobBackend::Feature::Rerun);
    if (QAction* a = action(QStringLiteral("rerunJob"))) {
        a->setEnabled(rerun);
        a->setToolTip(rerun ? tr("Run again the failed, cancelled or interrupted pairs of the shown job")
                            : m_backend->unsupportedReason(JobBackend::Feature::Rerun));
    }
}

// ------------------------------------------------------------------- files

void MainWindow::openDialog() {
    QSettings s;
    const QString dir = s.value(QStringLiteral("open/dir"), QDir::homePath()).toString();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Result"), dir,
                                                      tr("TokenLens results (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    s.setValue(QStringLiteral("open/dir"), QFileInfo(path).absolutePath());
    openFile(path);
}

void MainWindow::openFile(const QString& path) {
    const quint64 serial = ++m_loadSerial;
    ++m_pendingLoads;
    m_progressTimer->start();
    statusBar()->showMessage(tr("Opening %1…").arg(QFileInfo(path).fileName()));
    QPointer<MainWindow> self(this);
    QThreadPool::globalInstance()->start([self, path, serial] {
        auto loaded = std::make_shared<LoadedFile>(loadFile(path));
        QMetaObject::invokeMethod(
            qApp,
            [self, path, serial, loaded] {
                if (self) self->finishLoad(path, *loaded, serial);
            },
            Qt::QueuedConnection);
    });
}

void MainWindow::finishLoad(const QString& path, const LoadedFile& loaded, quint64 serial) {
    if (--m_pendingLoads == 0) {
        m_progressTimer->stop();
        m_progress->hide();
    }
    const QString name = QFileInfo(path).fileName();
    if (serial != m_loadSerial && loaded.ok()) {
        // A later open superseded this one.
        emit fileHandled(path, false, tr("Superseded by a later file."));
        return;
    }
    if (!loaded.ok()) {
        m_banner->showMessage(MessageBanner::Kind::Error, loaded.message);
        statusBar()->showMessage(tr("Could not open %1").arg(name), 8000);
        emit fileHandled(path, false, loaded.message);
        return;
    }
    QString summary;
    switch (loaded.kind) {
    case FileKind::Result: {
        const auto& job = loaded.result;
        m_shownJob.clear();
        m_dashboard->setJob(job, QFileInfo(path).absoluteFilePath());
        m_dashboard->setFollowUpAvailable(false, tr("A result opened from a file cannot be continued; run its prompt "
                                                    "as a job to continue the conversation."));
        m_jobProgress->hide();
        m_jobStatus->hide();
        showPage(Page::Dashboard);
        addRecentFile(QFileInfo(path).absoluteFilePath());
        setWindowTitle(QStringLiteral("%1 — " TOKENLENS_NAME).arg(name));
        const auto& model = m_dashboard->model();
        summary = tr("Opened %1: %2 model(s), %3 method(s), %4 prompt + %5 output tokens (%6 read in %7 ms)")
                      .arg(name)
                      .arg(model.models().size())
                      .arg(model.methods().size())
                      .arg(model.promptLength())
                      .arg(model.outputLength())
                      .arg(humanBytes(loaded.bytes))
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
        if (m_newJob) {
            m_newJob->setPrompt(loaded.text, name);
            showPage(Page::NewJob);
            m_banner->dismiss();
        } else {
            m_banner->showMessage(MessageBanner::Kind::Info, summary);
        }
        emit promptTextOpened(loaded.text, path);
        break;
    case FileKind::Batch:
        summary = tr("Read the batch in %1; Run batch queues one job per line.").arg(name);
        if (m_newJob) {
            m_newJob->setBatch(loaded.text, path);
            showPage(Page::NewJob);
            m_banner->dismiss();
        } else {
            m_banner->showMessage(MessageBanner::Kind::Info, summary);
        }
        emit batchOpened(loaded.text, path);
        break;
    case FileKind::Unknown: break;
    }
    statusBar()->showMessage(summary, 8000);
    emit fileHandled(path, true, summary);
}

QStringList MainWindow::recentFiles() const {
    return QSettings().value(QStringLiteral("recentFiles")).toStringList();
}

void MainWindow::addRecentFile(const QString& path) {
    QSettings s;
    QStringList files = s.value(QStringLiteral("recentFiles")).toStringList();
    files.removeAll(path);
    files.prepend(path);
    while (files.size() > kMaxRecent) files.removeLast();
    s.setValue(QStringLiteral("recentFiles"), files);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    if (!m_recentMenu) return;
    m_recentMenu->clear();
    const QStringList files = recentFiles();
    for (int i = 0; i < files.size(); ++i) {
        const QString& f = files[i];
        QAction* a = m_recentMenu->addAction(
            QStringLiteral("&%1 %2").arg((i + 1) % 10).arg(QFileInfo(f).fileName().replace(QLatin1Char('&'), QStringLiteral("&&"))));
        a->setToolTip(f);
        a->setStatusTip(f);
        connect(a, &QAction::triggered, this, [this, f] { openFile(f); });
    }
    if (files.isEmpty()) m_recentMenu->addAction(tr("No recent files"))->setEnabled(false);
    m_recentMenu->addSeparator();
    QAction* clear = m_recentMenu->addAction(tr("&Clear List"));
    clear->setEnabled(!files.isEmpty());
    connect(clear, &QAction::triggered, this, [this] {
        QSettings().remove(QStringLiteral("recentFiles"));
        rebuildRecentMenu();
    });
}

// --------------------------------------------------------------- drag/drop

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (!localFiles(event->mimeData()).isEmpty()) event->acceptProposedAction();
}

void MainWindow::dragMoveEvent(QDragMoveEvent* event) {
    if (!localFiles(event->mimeData()).isEmpty()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QStringList files = localFiles(event->mimeData());
    if (files.isEmpty()) return;
    event->acceptProposedAction();
    openFile(files.first());
    if (files.size() > 1) {
        statusBar()->showMessage(tr("%1 files dropped: opening the first, “%2”.")
                                     .arg(files.size())
                                     .arg(QFileInfo(files.first()).fileName()),
                                 6000);
    }
}

// ---------------------------------------------------------------- the rest

void MainWindow::setTheme(Theme theme) {
    m_theme = theme;
    applyTheme(theme);
    if (m_themeGroup) {
        for (QAction* a : m_themeGroup->actions()) a->setChecked(a->data().toInt() == static_cast<int>(theme));
    }
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

void MainWindow::about() {
    const QString html =
        tr("<h3>%1 %2</h3><p>%3</p><table>"
           "<tr><td>Qt</td><td>%4 (built with %5)</td></tr>"
           "<tr><td>LibTorch</td><td>%6</td></tr>"
           "<tr><td>Methods</td><td>%7</td></tr></table>")
            .arg(QStringLiteral(TOKENLENS_NAME), QStringLiteral(TOKENLENS_VERSION),
                 tr("Which input tokens made a language model say what it said."), QString::fromLatin1(qVersion()),
                 QStringLiteral(QT_VERSION_STR), QString::fromStdString(torchVersion()),
                 [] {
                     QStringList ids;
                     for (const auto* m : allMethods()) ids << methodLabel(m->id());
                     return ids.join(QStringLiteral(", "));
                 }());
    QMessageBox::about(this, tr("About TokenLens"), html);
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
