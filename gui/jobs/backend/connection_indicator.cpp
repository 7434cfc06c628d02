#include "jobs/backend/connection_indicator.h"

#include "jobs/backend/remote_backend.h"

namespace tokenlens::gui {

ConnectionIndicator::ConnectionIndicator(QWidget* parent) : QLabel(parent) {
    setObjectName(QStringLiteral("connectionIndicator"));
    setTextFormat(Qt::RichText);
    m_tick.setInterval(250);
    connect(&m_tick, &QTimer::timeout, this, &ConnectionIndicator::update);
    hide();
}

void ConnectionIndicator::setBackend(JobBackend* backend) {
    disconnect(m_connection);
    m_backend = backend;
    if (backend) m_connection = connect(backend, &JobBackend::connectionChanged, this, &ConnectionIndicator::update);
    update();
}

void ConnectionIndicator::update() {
    auto* remote = qobject_cast<RemoteBackend*>(m_backend.data());
    if (!remote) {
        m_tick.stop();
        m_text.clear();
        hide();
        return;
    }
    const QString where = endpointText(remote->endpoint());
    const int wait = remote->retryInMs();
    const QString retry = wait < 0 ? QString() : tr(" — retrying in %1 s").arg((wait + 999) / 1000);
    QString colour, tip = remote->connectionMessage();
    using C = JobBackend::Connection;
    switch (remote->connection()) {
    case C::Connecting:
        colour = QStringLiteral("#9e9e9e");
        m_text = tr("Connecting to %1…").arg(where);
        break;
    case C::Connected:
        colour = QStringLiteral("#2e9d49");
        m_text = tr("Connected to %1").arg(where);
        tip = tr("Jobs run on the server at %1; events arrive over its WebSocket.").arg(where);
        break;
    case C::Reconnecting:
        colour = QStringLiteral("#e0a000");
        m_text = tr("Reconnecting to %1").arg(where) + retry;
        break;
    case C::WrongToken:
        colour = QStringLiteral("#c0392b");
        m_text = tr("Wrong token: %1 refused it (401)").arg(where);
        tip = tr("The server refused the token. Set the right one in File → Settings… (Backend).") + QLatin1Char('\n') + tip;
        break;
    case C::Unreachable:
        colour = QStringLiteral("#c0392b");
        m_text = tr("%1 unreachable").arg(where) + retry;
        break;
    }
    setText(QStringLiteral("<span style='color:%1'>&#x25CF;</span> %2").arg(colour, m_text.toHtmlEscaped()));
    setToolTip(tip);
    show();
    const bool counting = wait >= 0;
    if (counting && !m_tick.isActive()) m_tick.start();
    if (!counting) m_tick.stop();
}

} // namespace tokenlens::gui
