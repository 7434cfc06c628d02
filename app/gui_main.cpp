#include "gui/app_main.h"

#include <tokenlens/version.h>

#include <QApplication>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral(TOKENLENS_NAME));
    QApplication::setApplicationVersion(QStringLiteral(TOKENLENS_VERSION));
    QApplication::setOrganizationName(QStringLiteral("TokenLens"));
    return tokenlens::gui::runApplication(app);
}
