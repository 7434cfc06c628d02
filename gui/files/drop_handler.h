#pragma once
// Drag-and-drop of files onto a window: accepts a drag that carries local
// files and, on the drop, asks for the first one to be opened (the others
// are named in the status bar). Installed as an event filter on the window.

#include <QObject>
#include <QStringList>

class QMainWindow;

namespace tokenlens::gui {

class DropHandler : public QObject {
    Q_OBJECT
public:
    // Turns drops on for `window` and filters its drag events.
    explicit DropHandler(QMainWindow* window);

    bool eventFilter(QObject* watched, QEvent* event) override;

signals:
    void openRequested(const QString& path);

private:
    QMainWindow* m_window;
};

} // namespace tokenlens::gui
