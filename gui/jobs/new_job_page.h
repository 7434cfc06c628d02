#pragma once
// Job creation: pick models (bundled demo models, added folders, the Hugging
// Face cache, each with architecture, size and dtype) and methods (each with
// its one-sentence explanation and its options), write or drop a prompt and
// see it tokenized live (token boundaries, count, a warning when it would not
// fit the model), choose the target (generate N tokens or force a given
// continuation), the target function and the reduction, keep prompts as
// templates, and submit. A dropped .jsonl batch is submitted with the page's
// models, methods and options as the defaults of its lines.
//
// Ticking a model whose folder has a chat template switches the page to Chat
// mode (ChatEditor: system, user, optional assistant reply; the job carries
// `messages`), unticking the last such model back to Text; the Text / Chat
// switch overrides it in between.
//
// The model list's members are in new_job_page_models.cpp, the Chat mode's in
// new_job_page_chat.cpp; the live tokenization runs in TokenPreview
// (token_preview.h).

#include "jobs/job_types.h"
#include "viewmodel/model_entries.h"

#include <QWidget>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

class QButtonGroup;
class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QRadioButton;
class QSpinBox;
class QTextBrowser;
class QTimer;
class QTreeWidget;
class QGroupBox;
class QStackedWidget;
class QToolButton;

namespace tokenlens {
class Tokenizer;
}

namespace tokenlens::gui {

class ChatEditor;
class TokenPreview;

class NewJobPage : public QWidget {
    Q_OBJECT
public:
    explicit NewJobPage(QWidget* parent = nullptr);
    ~NewJobPage() override;

    // Finds the models on a worker thread (modelsChanged() when done).
    void refreshModels();
    void setModels(std::vector<ModelEntry> models);
    const std::vector<ModelEntry>& models() const { return m_models; }
    bool discovering() const { return m_discovering; }
    void addModelFolder(const QString& path);
    // Lists the models from `source` (run on a worker thread) instead of
    // looking on this computer: a server's catalog in remote mode. Adding
    // folders is then off (`addFolderReason` says why) and the prompt is not
    // tokenized here (the server's tokenizers decide).
    void setModelSource(std::function<Result<std::vector<ModelEntry>>()> source, const QString& addFolderReason);

    // Checked models (folders) and methods (ids).
    QStringList checkedModels() const;
    void setModelChecked(const QString& path, bool on);
    QStringList checkedMethods() const;
    void setMethodChecked(const QString& id, bool on);

    QString prompt() const;
    void setPrompt(const QString& text, const QString& source = {});
    void setMaxNewTokens(int n);
    void setForcedTarget(const QString& text); // empty: generate
    void setFaithfulness(bool on);
    // "float32" or "bfloat16" (the job's compute_dtype); false for anything else.
    bool setComputeDtype(const QString& dtype);
    // Per-method option (as the job file spells it), for the options form.
    void setMethodOption(const QString& method, const QString& key, const nlohmann::json& value);

    // Chat mode: the job is a conversation (messages) instead of a prompt.
    bool chatMode() const;
    void setChatMode(bool on);
    ChatEditor* chatEditor() const { return m_chat; }
    QToolButton* textModeButton() const { return m_textMode; }
    QToolButton* chatModeButton() const { return m_chatMode; }
    // Fills the chat from a messages list (a dropped file named `source`)
    // and switches to Chat mode; fails, naming `source`, when it is not one.
    Status setChatMessages(const nlohmann::ordered_json& messages, const QString& source = {});
    QString chatNote() const;

    // The job the page describes, or a message saying what is missing.
    Result<Job> spec() const;
    // Holds a dropped batch (.jsonl text) until submitted or cleared.
    void setBatch(const QString& text, const QString& path);
    bool hasBatch() const { return !m_batchText.isEmpty(); }

    // The live tokenization shown (for tests): token count, -1 while none.
    int tokenCount() const { return m_tokenCount; }
    QString tokenInfo() const;
    QTextBrowser* tokenPreview() const { return m_tokens; }
    QTreeWidget* modelList() const { return m_modelList; }
    QListWidget* methodList() const { return m_methodList; }
    QPlainTextEdit* promptEdit() const { return m_prompt; }
    QPushButton* submitButton() const { return m_submit; }
    QPushButton* addFolderButton() const { return m_addFolder; }
    QComboBox* templateBox() const { return m_templates; }

    void saveTemplate(const QString& name);
    void removeTemplate(const QString& name);
    QStringList templateNames() const;

signals:
    void submitRequested(const tokenlens::Job& spec);
    void batchSubmitRequested(const QString& jsonl, const QString& path, const tokenlens::Job& defaults);
    void modelsChanged();
    void tokenizationChanged();
    void statusMessage(const QString& message, int timeoutMs);

private:
    QWidget* buildModels();
    QWidget* buildMethods();
    QWidget* buildPrompt();
    QWidget* buildTarget();
    QWidget* buildModeSwitch(QWidget* parent);
    // Follows the ticked models: the templates of the first one that has
    // any, and Chat mode when one has (switched only when that changes).
    void followModelForMode();
    // Chat mode: the messages, the forced reply and options.chat of `s`.
    Status applyChat(Job& s) const;
    void updateChatNote();
    void rebuildModelList();
    void showMethodOptions();
    void scheduleTokenize();
    void tokenize();
    void showTokens(quint64 serial, const QString& modelPath, const QString& error, const QStringList& pieces,
                    const std::vector<int>& kinds, int count, qint64 maxPositions);
    void updateSubmit();
    void loadTemplates();
    void submit();
    QString firstCheckedModel() const;

    std::vector<ModelEntry> m_models;
    bool m_discovering = false;
    quint64 m_discoverSerial = 0;
    QStringList m_addedFolders;
    std::function<Result<std::vector<ModelEntry>>()> m_modelSource;
    QPushButton* m_addFolder = nullptr;

    QTreeWidget* m_modelList;
    QLabel* m_modelInfo;
    QListWidget* m_methodList;
    QGroupBox* m_optionsBox;
    QFormLayout* m_optionsForm;
    QLabel* m_methodInfo;
    std::map<QString, nlohmann::json> m_methodOptions; // id -> options that differ from the defaults

    QComboBox* m_templates;
    QPlainTextEdit* m_prompt;
    QStackedWidget* m_inputStack = nullptr;
    ChatEditor* m_chat = nullptr;
    QToolButton* m_textMode = nullptr;
    QToolButton* m_chatMode = nullptr;
    QLabel* m_chatNote = nullptr;
    QWidget* m_promptTools = nullptr;
    int m_modeWanted = -1; // whether a ticked model has a chat template (-1: not looked yet)
    QLabel* m_promptSource;
    QTextBrowser* m_tokens;
    QLabel* m_tokenLabel;
    QTimer* m_tokenTimer;
    quint64 m_tokenSerial = 0;
    int m_tokenCount = -1;
    qint64 m_tokenMaxPositions = 0;
    TokenPreview* m_preview;

    QRadioButton* m_generate;
    QRadioButton* m_force;
    QSpinBox* m_maxNew;
    QPlainTextEdit* m_target;
    QComboBox* m_targetFn;
    QComboBox* m_reduction;
    QComboBox* m_computeDtype;
    QCheckBox* m_faithfulness;

    QLabel* m_batchLabel;
    QString m_batchText, m_batchPath;
    QPushButton* m_clearBatch;
    QLabel* m_problem;
    QPushButton* m_submit;
};

} // namespace tokenlens::gui
