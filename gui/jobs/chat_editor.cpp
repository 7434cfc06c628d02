#include "jobs/chat_editor.h"

#include "run/chat_prompt.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace tokenlens::gui {

using ojson = nlohmann::ordered_json;

namespace {

// A message the boxes can hold: {"role": ..., "content": "text"} and nothing else.
bool plainMessage(const ojson& m, const char* role) {
    return m.is_object() && m.size() == 2 && m.value("role", "") == role && m.contains("content") &&
           m["content"].is_string();
}

QString contentOf(const ojson& m) { return QString::fromStdString(m["content"].get<std::string>()); }

// "user: What colour …" for the summary of earlier turns.
QString turnSummary(const ojson& m) {
    const QString role = QString::fromStdString(m.value("role", "?"));
    QString text;
    if (m.contains("content") && m["content"].is_string()) text = contentOf(m);
    else text = QObject::tr("(a list of parts)");
    text = text.simplified();
    if (text.size() > 60) text = text.left(59) + QChar(0x2026);
    return QStringLiteral("<b>%1</b>: %2").arg(role.toHtmlEscaped(), text.toHtmlEscaped());
}

QPlainTextEdit* messageEdit(QWidget* parent, const QString& placeholder, const QString& tip) {
    auto* e = new QPlainTextEdit(parent);
    e->setPlaceholderText(placeholder);
    e->setToolTip(tip);
    e->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    e->setTabChangesFocus(true);
    return e;
}

} // namespace

ChatEditor::ChatEditor(QWidget* parent) : QWidget(parent) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    auto* top = new QHBoxLayout;
    m_templateLabel = new QLabel(tr("Chat template:"), this);
    m_template = new QComboBox(this);
    m_template->setToolTip(tr("The model folder offers several chat templates; the job renders the conversation "
                              "with this one"));
    m_raw = new QCheckBox(tr("Ra&w text (no template)"), this);
    m_raw->setToolTip(tr("Send the messages as plain text, one per line, without the chat template: what the model "
                         "would see if the template were forgotten"));
    top->addWidget(m_templateLabel);
    top->addWidget(m_template);
    top->addStretch(1);
    top->addWidget(m_raw);
    lay->addLayout(top);
    m_templateLabel->hide();
    m_template->hide();

    auto* historyRow = new QHBoxLayout;
    m_historyLabel = new QLabel(this);
    m_historyLabel->setWordWrap(true);
    m_historyLabel->setTextFormat(Qt::RichText);
    m_clearHistory = new QPushButton(tr("Clear Earlier Turns"), this);
    m_clearHistory->setToolTip(tr("Forget the earlier turns of the loaded conversation"));
    historyRow->addWidget(m_historyLabel, 1);
    historyRow->addWidget(m_clearHistory, 0, Qt::AlignTop);
    lay->addLayout(historyRow);
    m_historyLabel->hide();
    m_clearHistory->hide();

    m_system = messageEdit(this, tr("Optional, e.g. “You answer in one word.”"),
                           tr("The system message (left out when empty)"));
    m_system->setMaximumHeight(64);
    m_user = messageEdit(this, tr("The user's message, e.g. “What colour is the sky?” — or drop a messages .json file"),
                         tr("The user's message: the last turn of the conversation"));
    m_reply = messageEdit(this, tr("Optional: the reply to explain, e.g. “Blue.” Empty: each model writes its own"),
                          tr("The assistant's reply to explain (teacher forcing): rendered as the assistant turn of "
                             "the template, its tokens are the output"));
    m_reply->setMaximumHeight(72);
    auto* systemLabel = new QLabel(tr("&System:"), this);
    systemLabel->setBuddy(m_system);
    lay->addWidget(systemLabel);
    lay->addWidget(m_system);
    auto* userLabel = new QLabel(tr("&User:"), this);
    userLabel->setBuddy(m_user);
    lay->addWidget(userLabel);
    lay->addWidget(m_user, 1);
    auto* replyLabel = new QLabel(tr("&Assistant reply to explain (optional):"), this);
    replyLabel->setBuddy(m_reply);
    lay->addWidget(replyLabel);
    lay->addWidget(m_reply);

    for (auto* e : {m_system, m_user, m_reply}) connect(e, &QPlainTextEdit::textChanged, this, &ChatEditor::changed);
    connect(m_raw, &QCheckBox::toggled, this, [this](bool on) {
        m_template->setEnabled(!on);
        emit changed();
    });
    connect(m_template, &QComboBox::currentIndexChanged, this, &ChatEditor::changed);
    connect(m_clearHistory, &QPushButton::clicked, this, &ChatEditor::clearHistory);
}

QString ChatEditor::system() const { return m_system->toPlainText(); }
QString ChatEditor::user() const { return m_user->toPlainText(); }
QString ChatEditor::reply() const { return m_reply->toPlainText(); }
bool ChatEditor::raw() const { return m_raw->isChecked(); }

QString ChatEditor::templateName() const {
    const QString name = m_template->currentText();
    return m_template->count() <= 1 || name == u"default" ? QString() : name;
}

void ChatEditor::setSystem(const QString& text) { m_system->setPlainText(text); }
void ChatEditor::setUser(const QString& text) { m_user->setPlainText(text); }
void ChatEditor::setReply(const QString& text) { m_reply->setPlainText(text); }
void ChatEditor::setRaw(bool on) { m_raw->setChecked(on); }

void ChatEditor::setTemplateNames(const QStringList& names) {
    const QString was = m_template->currentText();
    {
        const QSignalBlocker block(m_template);
        m_template->clear();
        m_template->addItems(names);
        const int keep = m_template->findText(was);
        const int def = m_template->findText(QStringLiteral("default"));
        m_template->setCurrentIndex(keep >= 0 ? keep : def >= 0 ? def : 0);
    }
    m_template->setVisible(names.size() > 1);
    m_templateLabel->setVisible(names.size() > 1);
    emit changed();
}

ojson ChatEditor::messages() const {
    ojson out = ojson::array();
    if (!system().trimmed().isEmpty()) out.push_back({{"role", "system"}, {"content", system().toStdString()}});
    for (const auto& m : m_history) out.push_back(m);
    if (!user().isEmpty()) out.push_back({{"role", "user"}, {"content", user().toStdString()}});
    return out;
}

QString ChatEditor::problem() const {
    if (!user().trimmed().isEmpty()) return {};
    const bool historyEndsWithUser = !m_history.empty() && m_history.back().value("role", "") == "user";
    if (historyEndsWithUser && user().isEmpty()) return {};
    return tr("Write the user's message (or drop a messages .json file on the window).");
}

Status ChatEditor::setMessages(const ojson& messages) {
    if (auto st = checkMessages(messages); !st) return st;
    size_t begin = 0, end = messages.size();
    QString system, user, reply;
    if (end > begin && plainMessage(messages[begin], "system")) system = contentOf(messages[begin++]);
    if (end > begin && plainMessage(messages[end - 1], "assistant")) reply = contentOf(messages[--end]);
    if (end > begin && plainMessage(messages[end - 1], "user")) user = contentOf(messages[--end]);
    m_history = ojson::array();
    for (size_t i = begin; i < end; ++i) m_history.push_back(messages[i]);
    const QSignalBlocker a(m_system), b(m_user), c(m_reply);
    m_system->setPlainText(system);
    m_user->setPlainText(user);
    m_reply->setPlainText(reply);
    showHistory();
    emit changed();
    return {};
}

void ChatEditor::clearHistory() {
    m_history = ojson::array();
    showHistory();
    emit changed();
}

void ChatEditor::showHistory() {
    QStringList lines;
    for (const auto& m : m_history) lines << turnSummary(m);
    m_historyLabel->setText(lines.isEmpty() ? QString()
                                            : tr("Earlier turns (%1), sent before the user's message:<br>%2")
                                                  .arg(lines.size())
                                                  .arg(lines.join(QStringLiteral("<br>"))));
    m_historyLabel->setVisible(!lines.isEmpty());
    m_clearHistory->setVisible(!lines.isEmpty());
}

} // namespace tokenlens::gui
