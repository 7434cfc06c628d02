#include "shell/menu_builder.h"

#include "attribution/method.h"
#include "files/file_actions.h"
#include "files/recent_files.h"
#include "jobs/backend/job_backend.h"
#include "jobs/jobs_page.h"
#include "jobs/new_job_page.h"
#include "model/torch_info.h"
#include "results/dashboard.h"
#include "results/heatmap_view.h"

#include <tuple>
#include "results/selection_model.h"
#include "results/split_view.h"
#include "shell/job_actions.h"
#include "shell/mainwindow.h"
#include "shell/message_banner.h"
#include "viewmodel/palette.h"

#include <tokenlens/version.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QStatusBar>

namespace tokenlens::gui {

MenuBuilder::MenuBuilder(MainWindow* window, FileActions* files, JobActions* jobs)
    : QObject(window), m_window(window), m_files(files), m_jobs(jobs) {}

QAction* MenuBuilder::addAction(QMenu* menu, const QString& name, const QString& text, const QKeySequence& key,
                               const QString& tip) {
    auto* a = new QAction(text, m_window);
    a->setObjectName(name);
    if (!key.isEmpty()) a->setShortcut(key);
    a->setStatusTip(tip);
    a->setToolTip(tip);
    if (menu) menu->addAction(a);
    m_window->QWidget::addAction(a); // shortcuts work with the menu bar hidden too
    return a;
}

void MenuBuilder::createMenus() {
    QMenu* file = m_window->menuBar()->addMenu(tr("&File"));
    connect(addAction(file, QStringLiteral("open"), tr("&Open Result…"), QKeySequence::Open,
                      tr("Open a result .json file")),
            &QAction::triggered, m_files, &FileActions::openDialog);
    m_files->recent()->setMenu(file->addMenu(tr("Open &Recent")));
    file->addSeparator();
    auto exportAction = [&](const QString& name, const QString& text, const QKeySequence& key, const QString& tip,
                            ExportKind kind, QMenu* menu = nullptr) {
        QAction* a = addAction(menu ? menu : file, name, text, key, tip);
        connect(a, &QAction::triggered, this, [this, kind] { m_window->dashboard()->exportInteractive(kind); });
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
    QMenu* more = file->addMenu(tr("Export &As"));
    const std::tuple<const char*, QString, QString, ExportKind> formats[] = {
        {"exportHtml", tr("&HTML Page…"), tr("One self-contained page: tokens with hover and pinning, methods, heatmap"),
         ExportKind::HtmlPage},
        {"exportTokensSvg", tr("Token View as &SVG…"), tr("The token view as vector graphics, text kept as text"),
         ExportKind::TokenViewSvg},
        {"exportTokensPdf", tr("Token View as &PDF…"), tr("The token view as a one-page PDF"), ExportKind::TokenViewPdf},
        {"exportHeatmapSvg", tr("Heatmap as S&VG…"), tr("The heatmap as vector graphics"), ExportKind::HeatmapSvg},
        {"exportHeatmapPdf", tr("Heatmap as P&DF…"), tr("The heatmap as a one-page PDF"), ExportKind::HeatmapPdf},
        {"exportInseq", tr("&Inseq File…"), tr("The current model and method as Inseq's FeatureAttributionOutput"),
         ExportKind::InseqJson},
        {"exportMarkdown", tr("Importance Table as &Markdown…"), tr("Token importance per method"),
         ExportKind::ImportanceMarkdown},
        {"exportLatex", tr("Importance Table as &LaTeX…"), tr("Token importance per method (booktabs)"),
         ExportKind::ImportanceLatex},
    };
    for (const auto& [name, text, tip, kind] : formats) {
        exportAction(QString::fromLatin1(name), text, QKeySequence(), tip, kind, more);
    }
    file->addSeparator();
    connect(addAction(file, QStringLiteral("settings"), tr("&Settings…"), QKeySequence(tr("Ctrl+,")),
                      tr("Where jobs run: this computer, or a TokenLens server (URL and token)")),
            &QAction::triggered, m_window, &MainWindow::settingsDialog);
    connect(addAction(file, QStringLiteral("quit"), tr("&Quit"), QKeySequence::Quit, tr("Quit TokenLens")),
            &QAction::triggered, m_window, &QWidget::close);

    createViewMenu();

    QMenu* help = m_window->menuBar()->addMenu(tr("&Help"));
    connect(addAction(help, QStringLiteral("about"), tr("&About TokenLens"), {}, tr("Versions and licence")),
            &QAction::triggered, this, &MenuBuilder::about);
    connect(addAction(help, QStringLiteral("aboutQt"), tr("About &Qt"), {}, tr("The Qt version")), &QAction::triggered,
            qApp, &QApplication::aboutQt);
}

void MenuBuilder::createViewMenu() {
    QMenu* view = m_window->menuBar()->addMenu(tr("&View"));
    const char* pageNames[] = {"pageNewJob", "pageJobs", "pageDashboard"};
    const QString pageTitles[] = {tr("&New Job"), tr("&Jobs"), tr("&Dashboard")};
    for (int i = 0; i < 3; ++i) {
        connect(addAction(view, QString::fromLatin1(pageNames[i]), pageTitles[i],
                          QKeySequence(QStringLiteral("Alt+%1").arg(i + 1)), tr("Show the page")),
                &QAction::triggered, this, [this, i] { m_window->showPage(static_cast<MainWindow::Page>(i)); });
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
            if (!m_window->dashboard()->toggleMethodAt(i)) {
                m_window->statusBar()->showMessage(tr("This result has no method number %1.").arg(i + 1), 3000);
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
               tr("c − 1"), [this] {
                   Dashboard* d = m_window->dashboard();
                   d->setWindow(static_cast<int>(d->model().window()) - 1);
               });
    dashAction(view, QStringLiteral("windowLarger"), tr("Wider Context Window"), QKeySequence(QStringLiteral("]")),
               tr("c + 1"), [this] {
                   Dashboard* d = m_window->dashboard();
                   d->setWindow(static_cast<int>(d->model().window()) + 1);
               });
    dashAction(view, QStringLiteral("clearSelection"), tr("Clear Selection"), QKeySequence(Qt::Key_Escape),
               tr("Unpin and forget the hovered token"), [this] {
                   Dashboard* d = m_window->dashboard();
                   d->selection()->clear();
                   if (d->isSplit()) d->splitView()->paneSelection(0)->clear(); // mirrored
                   m_window->banner()->dismiss();
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
                                [this](bool on) { m_window->dashboard()->setSplit(on); });
    split->setCheckable(true);
    QAction* difference = dashAction(view, QStringLiteral("differenceMode"), tr("&Difference of the Two Panes"),
                                     QKeySequence(tr("Ctrl+D")), tr("Left minus right on a diverging scale"),
                                     [this](bool on) { m_window->dashboard()->setDifferenceMode(on); });
    difference->setCheckable(true);
    connect(m_window->dashboard(), &Dashboard::splitChanged, this, [split, difference](bool s, bool d) {
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
        connect(a, &QAction::triggered, this, [this, t = t] { m_window->setTheme(t); });
    }
    addAction(themeMenu, QStringLiteral("toggleDark"), tr("Toggle Light/Dark"), QKeySequence(tr("Ctrl+Shift+D")),
              tr("Switch between the light and the dark palette"));
    connect(m_window->action(QStringLiteral("toggleDark")), &QAction::triggered, this,
            [this] { m_window->setTheme(isDark(QApplication::palette()) ? Theme::Light : Theme::Dark); });
}

void MenuBuilder::createJobMenu() {
    // The Job menu: every job action has a key.
    QMenu* jobMenu = m_jobMenu = new QMenu(tr("&Job"), m_window);
    m_window->menuBar()->insertMenu(m_window->menuBar()->actions().value(1), jobMenu);
    connect(addAction(jobMenu, QStringLiteral("runJob"), tr("&Run Job"), QKeySequence(tr("Ctrl+Return")),
                      tr("Queue the job described on the New job page")),
            &QAction::triggered, this, [this] {
                m_window->showPage(MainWindow::Page::NewJob);
                m_window->newJobPage()->submitButton()->click();
            });
    connect(addAction(jobMenu, QStringLiteral("cancelJob"), tr("&Cancel Shown Job"), QKeySequence(tr("Ctrl+.")),
                      tr("Stop the job on the dashboard; finished pairs are kept")),
            &QAction::triggered, this, [this] {
                if (!m_window->shownJob().isEmpty()) m_window->jobsPage()->cancelJobs({m_window->shownJob()});
            });
    connect(addAction(jobMenu, QStringLiteral("rerunJob"), tr("Re-run &Unfinished Pairs"), QKeySequence(tr("Ctrl+R")),
                      tr("Run again the failed, cancelled or interrupted pairs of the shown job")),
            &QAction::triggered, this, [this] {
                if (!m_window->shownJob().isEmpty()) m_window->jobsPage()->rerunJobs({m_window->shownJob()});
            });
    connect(addAction(jobMenu, QStringLiteral("followUp"), tr("Continue the &Conversation"), QKeySequence(tr("Ctrl+L")),
                      tr("Type the next turn of the shown job's conversation")),
            &QAction::triggered, this, [this] {
                m_window->showPage(MainWindow::Page::Dashboard);
                m_window->dashboard()->followUpEdit()->setFocus();
            });
    jobMenu->addSeparator();
    connect(addAction(jobMenu, QStringLiteral("importJob"), tr("&Import Job…"), QKeySequence(tr("Ctrl+I")),
                      tr("Add an exported job (or any result JSON) to the job list")),
            &QAction::triggered, m_jobs, &JobActions::importJobDialog);
    connect(addAction(jobMenu, QStringLiteral("exportJob"), tr("E&xport Shown Job…"), QKeySequence(tr("Ctrl+Shift+X")),
                      tr("Save the shown job with its statuses, so it can be imported again")),
            &QAction::triggered, this, [this] {
                if (!m_window->shownJob().isEmpty()) m_window->jobsPage()->exportJob(m_window->shownJob());
            });
}

void MenuBuilder::setDashboardActionsEnabled(bool enabled) {
    for (QAction* a : m_dashboardActions) a->setEnabled(enabled);
}

void MenuBuilder::checkTheme(Theme theme) {
    if (!m_themeGroup) return;
    for (QAction* a : m_themeGroup->actions()) a->setChecked(a->data().toInt() == static_cast<int>(theme));
}

void MenuBuilder::updateBackendActions(const JobBackend* backend) {
    if (!backend) return;
    const bool import = backend->supports(JobBackend::Feature::Import);
    if (QAction* a = m_window->action(QStringLiteral("importJob"))) {
        a->setEnabled(import);
        a->setToolTip(import ? tr("Add an exported job (or any result JSON) to the job list")
                             : backend->unsupportedReason(JobBackend::Feature::Import));
    }
    const bool rerun = backend->supports(JobBackend::Feature::Rerun);
    if (QAction* a = m_window->action(QStringLiteral("rerunJob"))) {
        a->setEnabled(rerun);
        a->setToolTip(rerun ? tr("Run again the failed, cancelled or interrupted pairs of the shown job")
                            : backend->unsupportedReason(JobBackend::Feature::Rerun));
    }
}

HeatmapView* MenuBuilder::shownHeatmap() const {
    // In the split view: the left pane's (the right one follows its zoom).
    Dashboard* d = m_window->dashboard();
    return d->isSplit() ? d->splitView()->paneHeatmap(0) : d->heatmapView();
}

void MenuBuilder::about() {
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
    QMessageBox::about(m_window, tr("About TokenLens"), html);
}

} // namespace tokenlens::gui
