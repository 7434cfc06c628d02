#pragma once
// The main window's menus and shortcuts: File (open, recent, exports,
// settings), View (pages, methods 1–9, context window, heatmap zoom, split
// view, theme), Job (once a backend is attached) and Help. Every action is a
// child of the window with an object name (MainWindow::action) and is added
// to the window too, so its key works with the menu bar hidden.

#include "shell/theme.h"

#include <QObject>

#include <vector>

class QAction;
class QActionGroup;
class QKeySequence;
class QMenu;

namespace tokenlens::gui {

class FileActions;
class HeatmapView;
class JobActions;
class JobBackend;
class MainWindow;

class MenuBuilder : public QObject {
    Q_OBJECT
public:
    MenuBuilder(MainWindow* window, FileActions* files, JobActions* jobs);

    void createMenus();
    // The Job menu, before Help; once.
    void createJobMenu();
    bool hasJobMenu() const { return m_jobMenu != nullptr; }
    // The dashboard's actions work on the Dashboard page only.
    void setDashboardActionsEnabled(bool enabled);
    void checkTheme(Theme theme);
    // Import and Re-run are off (with the reason) where the backend lacks them.
    void updateBackendActions(const JobBackend* backend);

private:
    QAction* addAction(QMenu* menu, const QString& name, const QString& text, const QKeySequence& key,
                       const QString& tip);
    void createViewMenu();
    HeatmapView* shownHeatmap() const;
    void about();

    MainWindow* m_window;
    FileActions* m_files;
    JobActions* m_jobs;
    QMenu* m_jobMenu = nullptr;
    QActionGroup* m_themeGroup = nullptr;
    std::vector<QAction*> m_dashboardActions;
};

} // namespace tokenlens::gui
