#pragma once
// A message strip at the top of the window (errors of opening a file, notes):
// visible until closed or replaced, never modal, so a bad file never blocks
// the work on screen.

#include <QFrame>

class QLabel;
class QToolButton;

namespace tokenlens::gui {

class MessageBanner : public QFrame {
    Q_OBJECT
public:
    enum class Kind { Info, Warning, Error };
    explicit MessageBanner(QWidget* parent = nullptr);

    void showMessage(Kind kind, const QString& text);
    void dismiss();
    Kind kind() const { return m_kind; }
    QString text() const;

protected:
    void changeEvent(QEvent* event) override;

private:
    void restyle();
    Kind m_kind = Kind::Info;
    bool m_restyling = false;
    QLabel* m_icon;
    QLabel* m_text;
    QToolButton* m_close;
};

} // namespace tokenlens::gui
