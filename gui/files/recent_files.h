#pragma once
// The Open Recent menu: the last files opened (at most ten, newest first),
// kept in the settings under "recentFiles".

#include <QObject>
#include <QStringList>

class QMenu;

namespace tokenlens::gui {

class RecentFiles : public QObject {
    Q_OBJECT
public:
    explicit RecentFiles(QObject* parent = nullptr);

    // Fills `menu` (not owned) and keeps it current.
    void setMenu(QMenu* menu);

    QStringList files() const;
    void add(const QString& path);

signals:
    void openRequested(const QString& path);

private:
    void rebuildMenu();

    QMenu* m_menu = nullptr;
};

} // namespace tokenlens::gui
