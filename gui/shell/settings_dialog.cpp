#include "shell/settings_dialog.h"

#include "jobs/backend/remote_backend.h"

#include <QApplication>
#include <QButtonGroup>
#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QThreadPool>
#include <QVBoxLayout>

namespace tokenlens::gui {

BackendSettings BackendSettings::load() {
    QSettings s;
    BackendSettings b;
    b.remote = s.value(QStringLiteral("backend/mode")).toString() == u"remote";
    b.url = s.value(QStringLiteral("backend/url"), b.url).toString();
    b.token = s.value(QStringLiteral("backend/token")).toString();
    return b;
}

void BackendSettings::save() const {
    QSettings s;
    s.setValue(QStringLiteral("backend/mode"), remote ? QStringLiteral("remote") : QStringLiteral("local"));
    s.setValue(QStringLiteral("backend/url"), url);
    s.setValue(QStringLiteral("backend/token"), token);
}

SettingsDialog::SettingsDialog(const BackendSettings& current, QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Settings"));
    auto* lay = new QVBoxLayout(this);
    auto* box = new QGroupBox(tr("Backend: where jobs run"), this);
    auto* form = new QFormLayout(box);
    m_local = new QRadioButton(tr("&Local: on this computer"), box);
    m_local->setToolTip(tr("Jobs run in this window's own job queue; results go to the local store"));
    m_remote = new QRadioButton(tr("&Remote: a TokenLens server"), box);
    m_remote->setToolTip(tr("Jobs run on a server started with `tokenlens-cli serve`; this window submits them "
                            "over HTTP and follows them over WebSocket"));
    auto* group = new QButtonGroup(box);
    group->addButton(m_local);
    group->addButton(m_remote);
    form->addRow(m_local);
    form->addRow(m_remote);
    m_url = new QLineEdit(current.url, box);
    m_url->setPlaceholderText(QStringLiteral("http://127.0.0.1:8765"));
    m_url->setToolTip(tr("The server's address, as `tokenlens-cli serve` prints it (no TLS: tunnel other hosts "
                         "with ssh -L)"));
    form->addRow(tr("Server &URL:"), m_url);
    m_token = new QLineEdit(current.token, box);
    m_token->setEchoMode(QLineEdit::Password);
    m_token->setPlaceholderText(tr("empty when the server runs without --token-file"));
    m_token->setToolTip(tr("The contents of the server's --token-file; stored in this user's settings file"));
    auto* show = new QCheckBox(tr("Show"), box);
    auto* tokenRow = new QHBoxLayout;
    tokenRow->addWidget(m_token, 1);
    tokenRow->addWidget(show);
    form->addRow(tr("&Token:"), tokenRow);
    connect(show, &QCheckBox::toggled, this,
            [this](bool on) { m_token->setEchoMode(on ? QLineEdit::Normal : QLineEdit::Password); });
    m_test = new QPushButton(tr("T&est Connection"), box);
    m_test->setToolTip(tr("Ask the server for its job list with this token"));
    m_result = new QLabel(box);
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* testRow = new QHBoxLayout;
    testRow->addWidget(m_test);
    testRow->addWidget(m_result, 1);
    form->addRow(testRow);
    lay->addWidget(box);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    lay->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_test, &QPushButton::clicked, this, &SettingsDialog::testConnection);
    connect(m_remote, &QRadioButton::toggled, this, &SettingsDialog::updateEnabled);
    (current.remote ? m_remote : m_local)->setChecked(true);
    updateEnabled();
    resize(560, sizeHint().height());
}

BackendSettings SettingsDialog::settings() const {
    BackendSettings b;
    b.remote = m_remote->isChecked();
    b.url = m_url->text().trimmed();
    b.token = m_token->text().trimmed();
    return b;
}

void SettingsDialog::updateEnabled() {
    const bool remote = m_remote->isChecked();
    m_url->setEnabled(remote);
    m_token->setEnabled(remote);
    m_test->setEnabled(remote);
}

void SettingsDialog::testConnection() {
    auto ep = parseServerUrl(m_url->text(), m_token->text());
    if (!ep) {
        m_result->setText(tr("<span style='color:#c0392b'>%1</span>").arg(QString::fromStdString(ep.error().message).toHtmlEscaped()));
        emit testFinished(false, QString::fromStdString(ep.error().message));
        return;
    }
    const quint64 serial = ++m_testSerial;
    m_result->setText(tr("Trying %1…").arg(endpointText(*ep)));
    QPointer<SettingsDialog> self(this);
    const api::Endpoint endpoint = *ep;
    QThreadPool::globalInstance()->start([self, serial, endpoint] {
        const QString problem = RemoteBackend::testConnection(endpoint);
        QMetaObject::invokeMethod(
            qApp,
            [self, serial, problem, endpoint] {
                if (!self || serial != self->m_testSerial) return;
                const bool ok = problem.isEmpty();
                self->m_result->setText(ok ? tr("<span style='color:#2e9d49'>Connected: %1 answers.</span>").arg(endpointText(endpoint))
                                           : tr("<span style='color:#c0392b'>%1</span>").arg(problem.toHtmlEscaped()));
                emit self->testFinished(ok, ok ? tr("connected") : problem);
            },
            Qt::QueuedConnection);
    });
}

void SettingsDialog::accept() {
    if (m_remote->isChecked()) {
        if (auto ep = parseServerUrl(m_url->text(), m_token->text()); !ep) {
            m_result->setText(tr("<span style='color:#c0392b'>%1</span>").arg(QString::fromStdString(ep.error().message).toHtmlEscaped()));
            return;
        }
    }
    QDialog::accept();
}

} // namespace tokenlens::gui
