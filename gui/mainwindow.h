#pragma once

#include <QMainWindow>

namespace tokenlens::gui {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
};

} // namespace tokenlens::gui
