#include "files/recent_files.h"

#include <QAction>
#include <QFileInfo>
#include <QMenu>
#include <QSettings>

namespace tokenlens::gui {

namespace {
constexpr int kMaxRecent = 10;
const QString kKey = QStringLiteral("recentFiles");
} // namespace

RecentFiles::RecentFiles(QObject* parent) : QObject(parent) {}

void RecentFiles::setMenu(QMenu* menu) {
    m_menu = menu;
    rebuildMenu();
}

QStringList RecentFiles::files() const { return QSettings().value(kKey).toStringList(); }

void RecentFiles::add(const QString& path) {
    QSettings s;
    QStringList list = s.value(kKey).toStringList();
    list.removeAll(path);
    list.prepend(path);
    while (list.size() > kMaxRecent) list.removeLast();
    s.setValue(kKey, list);
    rebuildMenu();
}

void RecentFiles::rebuildMenu() {
    if (!m_menu) return;
    m_menu->clear();
    const QStringList list = files();
    for (int i = 0; i < list.size(); ++i) {
        const QString& f = list[i];
        QAction* a = m_menu->addAction(
            QStringLiteral("&%1 %2").arg((i + 1) % 10).arg(QFileInfo(f).fileName().replace(QLatin1Char('&'), QStringLiteral("&&"))));
        a->setToolTip(f);
        a->setStatusTip(f);
        connect(a, &QAction::triggered, this, [this, f] { emit openRequested(f); });
    }
    if (list.isEmpty()) m_menu->addAction(tr("No recent files"))->setEnabled(false);
    m_menu->addSeparator();
    QAction* clear = m_menu->addAction(tr("&Clear List"));
    clear->setEnabled(!list.isEmpty());
    connect(clear, &QAction::triggered, this, [this] {
        QSettings().remove(kKey);
        rebuildMenu();
    });
}

} // namespace tokenlens::gui
