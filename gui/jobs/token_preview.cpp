#include "jobs/token_preview.h"

#include "chat/chat_template.h"
#include "run/chat_prompt.h"
#include "tokenizer/tokenizer.h"

#include <QApplication>
#include <QColor>
#include <QPointer>
#include <QThreadPool>

#include <filesystem>
#include <map>
#include <mutex>

namespace tokenlens::gui {

// Loaded tokenizers by model folder (loading Llama 3's takes ~250 ms: once).
struct TokenPreview::Cache {
    std::mutex mutex;
    std::map<QString, std::shared_ptr<Tokenizer>> byPath;
    std::map<QString, QString> errors;
};

namespace {

constexpr int kPreviewTokens = 3000; // tokens drawn in the preview; the count covers all

QString tokenHtml(const QString& text) {
    QString out;
    for (QChar c : text) {
        if (c == u'\n') out += QStringLiteral("<span style='color:#888'>↵</span><br>");
        else if (c == u'\t') out += QStringLiteral("<span style='color:#888'>→</span>");
        else if (c == u' ') out += QStringLiteral("&nbsp;");
        else if (c == u'<') out += QStringLiteral("&lt;");
        else if (c == u'>') out += QStringLiteral("&gt;");
        else if (c == u'&') out += QStringLiteral("&amp;");
        else out += c;
    }
    return out;
}

} // namespace

TokenPreview::TokenPreview(QObject* parent) : QObject(parent), m_cache(std::make_shared<Cache>()) {}

TokenPreview::~TokenPreview() = default;

void TokenPreview::run(quint64 serial, const QString& model, const std::string& text, qint64 maxPositions) {
    start(serial, model, maxPositions, [text] { return Text{text, true, {}}; });
}

void TokenPreview::runChat(quint64 serial, const QString& model, const nlohmann::ordered_json& messages,
                           const std::optional<std::string>& reply, const std::string& templateName, bool raw,
                           qint64 maxPositions) {
    start(serial, model, maxPositions, [model, messages, reply, templateName, raw]() -> Text {
        if (auto st = checkMessages(messages); !st) return {{}, false, QString::fromStdString(st.error().message)};
        if (!raw) {
            auto formatter = chat::ChatFormatter::fromModelFolder(model.toStdString(), templateName);
            if (formatter) {
                nlohmann::ordered_json conversation = messages;
                if (reply) conversation.push_back({{"role", "assistant"}, {"content", *reply}});
                chat::ChatRequest req = formatter->request(conversation, /*addGenerationPrompt=*/!reply);
                req.options.now = chat::localNow();
                auto text = reply ? formatter->renderContinuing(req) : formatter->render(req);
                if (!text) return {{}, false, QString::fromStdString(text.error().message)};
                return {text.value(), false, {}}; // the template writes BOS itself
            }
            if (formatter.error().code != ErrorCode::NotFound || !templateName.empty()) {
                return {{}, false, QString::fromStdString(formatter.error().message)};
            }
        }
        return {plainChatText(messages), true, {}};
    });
}

void TokenPreview::start(quint64 serial, const QString& model, qint64 maxPositions, std::function<Text()> textOf) {
    QPointer<TokenPreview> self(this);
    auto cache = m_cache;
    QThreadPool::globalInstance()->start([self, serial, model, textOf, cache, maxPositions] {
        std::shared_ptr<Tokenizer> tok;
        const Text what = textOf();
        const std::string& text = what.text;
        QString error = what.error;
        if (error.isEmpty()) {
            std::lock_guard<std::mutex> lock(cache->mutex);
            if (auto it = cache->byPath.find(model); it != cache->byPath.end()) tok = it->second;
            if (auto it = cache->errors.find(model); it != cache->errors.end()) error = it->second;
        }
        if (!tok && error.isEmpty()) {
            auto loaded = Tokenizer::fromFolder(std::filesystem::path(model.toStdString()));
            std::lock_guard<std::mutex> lock(cache->mutex);
            if (loaded) tok = cache->byPath[model] = loaded.value();
            else error = cache->errors[model] = QString::fromStdString(loaded.error().message);
        }
        // Pieces to draw: tokens (0), special or inserted tokens (1), and the
        // text between tokens that no token covers (2: spaces a WordLevel or
        // Whitespace pre-tokenizer drops), so the preview reads like the prompt.
        auto tokens = std::make_shared<QStringList>();
        auto special = std::make_shared<std::vector<int>>();
        auto count = std::make_shared<int>(0);
        if (tok && what.error.isEmpty()) {
            auto enc = tok->encode(text, what.addSpecialTokens);
            if (!enc) {
                error = QString::fromStdString(enc.error().message);
            } else {
                *count = static_cast<int>(enc->ids.size());
                size_t cursor = 0;
                for (size_t i = 0; i < enc->ids.size() && static_cast<int>(i) < kPreviewTokens; ++i) {
                    const auto [b, e] = enc->offsets[i];
                    const bool sp = enc->special[i] || e <= b;
                    // Special tokens written in the text (a chat template's
                    // <|im_start|>) cover their text too; inserted ones (BOS) none.
                    if (e > b && b > cursor) {
                        tokens->append(QString::fromUtf8(text.data() + cursor, static_cast<qsizetype>(b - cursor)));
                        special->push_back(2);
                    }
                    special->push_back(sp ? 1 : 0);
                    tokens->append(sp ? QString::fromStdString(tok->displayToken(enc->ids[i]))
                                      : QString::fromUtf8(text.data() + b, static_cast<qsizetype>(e - b)));
                    if (e > b) cursor = std::max(cursor, e);
                }
            }
        }
        QMetaObject::invokeMethod(
            qApp,
            [self, serial, model, error, tokens, special, count, maxPositions] {
                if (self) emit self->tokenized(serial, model, error, *tokens, *special, *count, maxPositions);
            },
            Qt::QueuedConnection);
    });
}

QString TokenPreview::html(const QStringList& pieces, const std::vector<int>& kinds, int count, bool dark) {
    const QColor a = dark ? QColor(0x2d, 0x4a, 0x6b) : QColor(0xd6, 0xe6, 0xf7);
    const QColor b = dark ? QColor(0x5a, 0x45, 0x20) : QColor(0xf7, 0xe7, 0xc6);
    QString out;
    out.reserve(pieces.size() * 48);
    int shown = 0;
    for (int i = 0; i < pieces.size(); ++i) {
        const int kind = kinds[static_cast<size_t>(i)];
        if (kind == 2) {
            out += tokenHtml(pieces[i]);
            continue;
        }
        const QString body = kind == 1 ? QStringLiteral("<b>%1</b>").arg(tokenHtml(pieces[i])) : tokenHtml(pieces[i]);
        out += QStringLiteral("<span style='background:%1'>%2</span>").arg((shown % 2 ? b : a).name(), body);
        ++shown;
    }
    if (shown < count) out += tr(" … and %1 more tokens").arg(count - shown);
    return out;
}

} // namespace tokenlens::gui
