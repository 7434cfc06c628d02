#pragma once
// The New job page's live tokenization: the prompt tokenized with a model
// folder's tokenizer on a worker thread (tokenizers are loaded once per
// folder and kept), handed back as the pieces to draw, and drawn as HTML
// with alternating token backgrounds.

#include <nlohmann/json.hpp>

#include <QObject>
#include <QStringList>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens::gui {

class TokenPreview : public QObject {
    Q_OBJECT
public:
    explicit TokenPreview(QObject* parent = nullptr);
    ~TokenPreview() override;

    // Tokenizes `text` on a worker thread; tokenized() hands the answer to
    // the GUI thread with the same `serial`.
    void run(quint64 serial, const QString& model, const std::string& text, qint64 maxPositions);
    // A conversation as the model will see it: rendered through the folder's
    // chat template `templateName` (empty: default) with the generation
    // prompt, or cut after `reply` when one is forced, and tokenized without
    // adding special tokens; with `raw` or without a template, the messages
    // as plain text, one per line.
    void runChat(quint64 serial, const QString& model, const nlohmann::ordered_json& messages,
                 const std::optional<std::string>& reply, const std::string& templateName, bool raw,
                 qint64 maxPositions);

    // Pieces of kind 0 (a token), 1 (a special or inserted token) and 2 (text
    // between tokens that no token covers), `count` tokens in all.
    static QString html(const QStringList& pieces, const std::vector<int>& kinds, int count, bool dark);

signals:
    void tokenized(quint64 serial, const QString& model, const QString& error, const QStringList& pieces,
                   const std::vector<int>& kinds, int count, qint64 maxPositions);

private:
    struct Text {
        std::string text;
        bool addSpecialTokens = true;
        QString error;
    };
    // Runs `textOf` and the tokenization on a worker thread.
    void start(quint64 serial, const QString& model, qint64 maxPositions, std::function<Text()> textOf);
    struct Cache;
    // Shared with the worker threads that load the tokenizers.
    std::shared_ptr<Cache> m_cache;
};

} // namespace tokenlens::gui
