#include "mainwindow.h"

#include <tokenlens/version.h>

#include <QLabel>
#include <QStatusBar>

namespace tokenlens::gui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(QStringLiteral(TOKENLENS_NAME " " TOKENLENS_VERSION));
    auto* placeholder = new QLabel(tr("Drop a prompt file here to start."), this);
    placeholder->setAlignment(Qt::AlignCenter);
    setCentralWidget(placeholder);
    statusBar()->showMessage(tr("Ready"));
    resize(1100, 720);
}

} // namespace tokenlens::gui
