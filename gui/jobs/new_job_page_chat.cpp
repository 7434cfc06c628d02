// The New job page's Chat mode: the Text / Chat switch, following the first
// ticked model's chat templates, and the messages, reply and options.chat a
// chat job carries; NewJobPage's chat section.
#include "new_job_page.h"

#include "jobs/chat_editor.h"

#include <QButtonGroup>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QRadioButton>
#include <QSpinBox>
#include <QStackedWidget>
#include <QToolButton>

namespace tokenlens::gui {

QWidget* NewJobPage::buildModeSwitch(QWidget* parent) {
    auto* w = new QWidget(parent);
    auto* lay = new QHBoxLayout(w);
    lay->setContentsMargins(0, 0, 0, 0);
    lay->setSpacing(0);
    m_textMode = new QToolButton(w);
    m_textMode->setText(tr("Text"));
    m_textMode->setToolTip(tr("A prompt the models continue as plain text"));
    m_chatMode = new QToolButton(w);
    m_chatMode->setText(tr("Chat"));
    m_chatMode->setToolTip(tr("A conversation (system, user, assistant messages) rendered through each model's chat "
                              "template, as the model sees it in use"));
    auto* group = new QButtonGroup(w);
    for (auto* b : {m_textMode, m_chatMode}) {
        b->setCheckable(true);
        b->setToolButtonStyle(Qt::ToolButtonTextOnly);
        b->setMinimumWidth(64);
        group->addButton(b);
        lay->addWidget(b);
    }
    group->setExclusive(true);
    m_textMode->setChecked(true);
    w->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);

    m_chat = new ChatEditor(parent);
    m_chatNote = new QLabel(parent);
    m_chatNote->setWordWrap(true);
    m_chatNote->hide();
    connect(m_chatMode, &QToolButton::toggled, this, [this](bool on) {
        m_inputStack->setCurrentWidget(on ? static_cast<QWidget*>(m_chat) : m_prompt);
        m_promptTools->setVisible(!on);
        // The reply box is the forced target in Chat mode.
        m_force->setEnabled(!on);
        m_target->setEnabled(!on && m_force->isChecked());
        m_maxNew->setEnabled(on ? m_chat->reply().trimmed().isEmpty() : !m_force->isChecked());
        updateChatNote();
        scheduleTokenize();
        updateSubmit();
    });
    connect(m_chat, &ChatEditor::changed, this, [this] {
        if (chatMode()) m_maxNew->setEnabled(m_chat->reply().trimmed().isEmpty()); // a reply is explained, not generated
        updateChatNote();
        scheduleTokenize();
        updateSubmit();
    });
    return w;
}

bool NewJobPage::chatMode() const { return m_chatMode && m_chatMode->isChecked(); }

void NewJobPage::setChatMode(bool on) { (on ? m_chatMode : m_textMode)->setChecked(true); }

void NewJobPage::followModelForMode() {
    const ModelEntry* entry = nullptr;
    for (const QString& path : checkedModels()) {
        for (const auto& m : m_models) {
            if (!entry && m.path == path && m.hasChatTemplate()) entry = &m;
        }
    }
    m_chat->setTemplateNames(entry ? entry->chatTemplates : QStringList());
    const int wanted = entry ? 1 : 0;
    if (wanted != m_modeWanted && !checkedModels().isEmpty()) {
        m_modeWanted = wanted;
        setChatMode(wanted == 1);
    }
    updateChatNote();
}

QString NewJobPage::chatNote() const { return m_chatNote->text(); }

void NewJobPage::updateChatNote() {
    QString note;
    if (chatMode()) {
        QStringList plain;
        for (const QString& path : checkedModels()) {
            for (const auto& m : m_models) {
                if (m.path == path && !m.hasChatTemplate()) plain << m.name;
            }
        }
        if (m_chat->raw()) {
            note = tr("Raw text: the messages are sent one per line, without any chat template.");
        } else if (!plain.isEmpty()) {
            note = (plain.size() == 1 ? tr("%1 has no chat template: it reads the messages as plain text, one per "
                                           "line (the result says so in its warnings).")
                                        : tr("%1 have no chat template: they read the messages as plain text, one per "
                                             "line (the results say so in their warnings)."))
                       .arg(plain.join(QStringLiteral(", ")));
        }
    }
    m_chatNote->setText(note);
    m_chatNote->setVisible(!note.isEmpty());
}

Status NewJobPage::applyChat(Job& s) const {
    if (const QString problem = m_chat->problem(); !problem.isEmpty()) {
        return makeError(ErrorCode::InvalidArgument, problem.toStdString());
    }
    s.messages = m_chat->messages();
    s.input = lastUserText(s.messages);
    const QString reply = m_chat->reply();
    if (!reply.trimmed().isEmpty()) {
        s.targetText = reply.toStdString();
        s.options.erase("max_new_tokens");
    } else {
        s.targetText.reset();
        s.options["max_new_tokens"] = m_maxNew->value();
    }
    nlohmann::json chat = nlohmann::json::object();
    if (m_chat->raw()) chat["raw"] = true;
    if (!m_chat->templateName().isEmpty()) chat["template"] = m_chat->templateName().toStdString();
    if (!chat.empty()) s.options["chat"] = chat;
    return {};
}

Status NewJobPage::setChatMessages(const nlohmann::ordered_json& messages, const QString& source) {
    if (auto st = m_chat->setMessages(messages); !st) {
        const QString where = source.isEmpty() ? tr("the messages") : QStringLiteral("“%1”").arg(source);
        return makeError(st.error().code, (where + QStringLiteral(": ")).toStdString() + st.error().message);
    }
    setChatMode(true);
    m_promptSource->setText(source.isEmpty() ? QString() : tr("from %1").arg(source));
    return {};
}

} // namespace tokenlens::gui
