#pragma once
// The New job page's Chat mode (docs/chat.md): the conversation a chat model
// is explained on, written as messages — a system message, the user's
// message, and optionally the assistant's reply to explain (sent as the job's
// target_text: the forced assistant turn). Earlier turns of a loaded
// conversation (a dropped messages file) are kept as they were and shown as a
// summary. A switch sends the messages as raw text instead (no template), and
// a box picks the template by name when the first model's folder has several.

#include "util/result.h"

#include <nlohmann/json.hpp>

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace tokenlens::gui {

class ChatEditor : public QWidget {
    Q_OBJECT
public:
    explicit ChatEditor(QWidget* parent = nullptr);

    // What the job sends: the system message (when written), the earlier
    // turns, then the user's message; each {"role", "content"} in that order.
    nlohmann::ordered_json messages() const;
    QString system() const;
    QString user() const;
    // The assistant's reply to explain; empty: the models write their own.
    QString reply() const;
    bool raw() const;
    // The chosen template's name; empty for the folder's default.
    QString templateName() const;
    // What is missing before the conversation can be sent, or empty.
    QString problem() const;

    void setSystem(const QString& text);
    void setUser(const QString& text);
    void setReply(const QString& text);
    void setRaw(bool on);
    // The names the first model's folder offers; the box shows when there
    // are several ("default" chosen when present).
    void setTemplateNames(const QStringList& names);
    // Fills the fields from a messages list: a leading system message goes
    // to the system box, a final assistant message to the reply, the last
    // user message to the user box, every other message (and any message
    // whose content is not plain text) stays as an earlier turn. Fails, with
    // the problem, when `messages` is not a messages list.
    Status setMessages(const nlohmann::ordered_json& messages);
    // Earlier turns kept from a loaded conversation.
    const nlohmann::ordered_json& history() const { return m_history; }
    void clearHistory();

    QPlainTextEdit* systemEdit() const { return m_system; }
    QPlainTextEdit* userEdit() const { return m_user; }
    QPlainTextEdit* replyEdit() const { return m_reply; }
    QCheckBox* rawBox() const { return m_raw; }
    QComboBox* templateBox() const { return m_template; }
    QLabel* historyLabel() const { return m_historyLabel; }

signals:
    void changed();

private:
    void showHistory();

    QPlainTextEdit* m_system;
    QPlainTextEdit* m_user;
    QPlainTextEdit* m_reply;
    QCheckBox* m_raw;
    QComboBox* m_template;
    QLabel* m_templateLabel;
    QLabel* m_historyLabel;
    QPushButton* m_clearHistory;
    nlohmann::ordered_json m_history = nlohmann::ordered_json::array();
};

} // namespace tokenlens::gui
