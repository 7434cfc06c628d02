#pragma once
// The status bar's connection indicator of a remote backend: a coloured dot
// and a few words (connected, reconnecting in N s, wrong token, server
// unreachable), the details in the tooltip. Hidden for the local backend.

#include <QLabel>
#include <QPointer>
#include <QTimer>

namespace tokenlens::gui {

class JobBackend;

class ConnectionIndicator : public QLabel {
    Q_OBJECT
public:
    explicit ConnectionIndicator(QWidget* parent = nullptr);
    void setBackend(JobBackend* backend);
    // The words shown, without the dot (for tests).
    QString stateText() const { return m_text; }

private:
    void update();

    QPointer<JobBackend> m_backend;
    QMetaObject::Connection m_connection;
    QTimer m_tick;
    QString m_text;
};

} // namespace tokenlens::gui
