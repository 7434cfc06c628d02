#include "mainwindow.h"

#include "attribution/method.h"
#include "model/torch_info.h"
#include "viewmodel/file_loader.h"
#include "viewmodel/palette.h"
#include "widgets/dashboard.h"
#include "widgets/heatmap_view.h"
#include "widgets/message_banner.h"
#include "widgets/selection_model.h"
#include "widgets/token_view.h"

#include <tokenlens/version.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QSettings>
#include <QSlider>
#include <QStatusBar>
#include <QTabWidget>
#include <QThreadPool>
#include <QTimer>
#include <QVBoxLayout>

#include <memory>

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
                                   tr("Choose a model, methods and a prompt here once the job queue is in place.<br>"
                                      "Meanwhile, compute a result with<br><code>tokenlens-cli attribute --model DIR "
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
    statusBar()->addPermanentWidget(m_hoverStatus);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->showMessage(tr("Ready — open a result with Ctrl+O or drop a .json file on the window"));

    connect(m_dashboard, &Dashboard::statusMessage, this,
            [this](const QString& m, int timeout) { statusBar()->showMessage(m, timeout); });
    connect(m_dashboard, &Dashboard::rerunRequested, this, [this](const QString& target, const QString& reduction) {
        statusBar()->showMessage(tr("Re-running with %1 / %2 needs the job queue, which is not part of this build yet.")
                                     .arg(target, reduction),
                                 6000);
        emit rerunRequested(target, reduction);
    });
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
    const auto& all = allMethods();
    for (size_t i = 0; i < all.size(); ++i) {
        const std::string id = all[i]->id();
        QAction* a = addAction(methods, QStringLiteral("method%1").arg(i + 1), tr("Toggle %1").arg(methodLabel(id)),
                               QKeySequence(QString::number(i + 1)), methodDescription(id));
        connect(a, &QAction::triggered, this, [this, i] {
            if (!m_dashboard->toggleMethodAt(static_cast<int>(i))) {
                statusBar()->showMessage(tr("This result has no %1.").arg(methodLabel(allMethods()[i]->id())), 3000);
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
                   m_banner->dismiss();
               });
    view->addSeparator();
    dashAction(view, QStringLiteral("zoomIn"), tr("Zoom Heatmap &In"), QKeySequence::ZoomIn, tr("Larger cells"),
               [this] { m_dashboard->heatmapView()->zoomIn(); });
    dashAction(view, QStringLiteral("zoomOut"), tr("Zoom Heatmap &Out"), QKeySequence::ZoomOut, tr("Smaller cells"),
               [this] { m_dashboard->heatmapView()->zoomOut(); });
    dashAction(view, QStringLiteral("zoomFit"), tr("&Fit Heatmap"), QKeySequence(tr("Ctrl+0")),
               tr("The whole matrix in view"), [this] { m_dashboard->heatmapView()->fitAll(); });
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
        m_dashboard->setJob(job, QFileInfo(path).absoluteFilePath());
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
        summary = tr("Read the prompt in %1 (%n character(s)). The New job page that takes it arrives with the job "
                     "queue.",
                     nullptr, static_cast<int>(loaded.text.size()))
                      .arg(name);
        m_banner->showMessage(MessageBanner::Kind::Info, summary);
        emit promptTextOpened(loaded.text, path);
        break;
    case FileKind::Batch:
        summary = tr("Read the batch in %1. The New job page that runs batches arrives with the job queue.").arg(name);
        m_banner->showMessage(MessageBanner::Kind::Info, summary);
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
