#pragma once
// File → Settings…: where the jobs run. Local (this computer, the default)
// or a `tokenlens-cli serve` server by URL and token, with a button that
// tries the server before the choice is applied. Kept in QSettings
// (backend/mode, backend/url, backend/token; the token in plain text in the
// settings file, like the rest of the settings).

#include <QDialog>
#include <QString>

class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;

namespace tokenlens::gui {

struct BackendSettings {
    bool remote = false;
    QString url = QStringLiteral("http://127.0.0.1:8765");
    QString token;

    static BackendSettings load();
    void save() const;
    bool operator==(const BackendSettings&) const = default;
};

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(const BackendSettings& current, QWidget* parent = nullptr);

    // What the dialog shows now.
    BackendSettings settings() const;
    // Tries the server on a worker thread; testFinished() with the outcome.
    void testConnection();
    QLabel* testResult() const { return m_result; }
    QRadioButton* remoteButton() const { return m_remote; }
    QLineEdit* urlEdit() const { return m_url; }
    QLineEdit* tokenEdit() const { return m_token; }

signals:
    void testFinished(bool ok, const QString& message);

private:
    void updateEnabled();
    void accept() override;

    QRadioButton* m_local;
    QRadioButton* m_remote;
    QLineEdit* m_url;
    QLineEdit* m_token;
    QPushButton* m_test;
    QLabel* m_result;
    quint64 m_testSerial = 0;
};

} // namespace tokenlens::gui
