#include "mainwindow.h"

#include <tokenlens/version.h>

#include <QApplication>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral(TOKENLENS_NAME));
    QApplication::setApplicationVersion(QStringLiteral(TOKENLENS_VERSION));
    QApplication::setOrganizationName(QStringLiteral("TokenLens"));
    tokenlens::gui::MainWindow window;
    window.show();
    return QApplication::exec();
}
