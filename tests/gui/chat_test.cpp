// Chat models in the window (issue 16): the New job page's Chat mode for a
// model with a chat template (and not for one without), the job it submits
// (messages, forced reply, options.chat; locally and on a server), messages
// files dropped on the window, the token view's role bands and dimmed
// template tokens (left out of the colour scale as the result's
// token_importance leaves them out), and a chat follow-up from the dashboard,
// checked against the template rendered directly.

#include "../server/server_test_util.h"
#include "test_util.h"

#include "chat/chat_template.h"
#include "jobs/backend/remote_backend.h"
#include "jobs/chat_editor.h"
#include "jobs/job_queue.h"
#include "jobs/job_store.h"
#include "jobs/new_job_page.h"
#include "result/result_json.h"
#include "results/dashboard.h"
#include "results/heatmap_view.h"
#include "results/timeline_panel.h"
#include "viewmodel/conversation.h"
#include "results/token_view.h"
#include "shell/mainwindow.h"
#include "shell/message_banner.h"
#include "viewmodel/model_entries.h"
#include "viewmodel/role_bands.h"

#include <gtest/gtest.h>

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QLabel>
#include <QTextBrowser>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTemporaryDir>
#include <QToolButton>

#include <cmath>
#include <memory>

namespace tokenlens::gui {
namespace {

using test::waitFor;
using ojson = nlohmann::ordered_json;

QString fixtureModel(const char* name) { return test::dataPath("models/") + QLatin1String(name); }

// A window with a queue on a temporary store, offering tiny-gpt2 (no chat
// template) and tiny-qwen3 (a chat template).
struct ChatSession {
    QTemporaryDir dir;
    std::unique_ptr<jobs::JobStore> store;
    std::unique_ptr<jobs::JobQueue> queue;
    std::unique_ptr<MainWindow> window;

    ChatSession() {
        auto s = jobs::JobStore::open((dir.path() + QStringLiteral("/jobs.sqlite")).toStdString());
        EXPECT_TRUE(s.ok()) << s.error().message;
        store = std::move(s.value());
        queue = std::make_unique<jobs::JobQueue>(store.get());
        window = std::make_unique<MainWindow>();
        window->setJobQueue(queue.get());
        window->resize(1280, 820);
        window->show();
        waitFor([&] { return !window->newJobPage()->discovering(); });
        window->newJobPage()->setModels({describeModel(fixtureModel("tiny-gpt2"), QStringLiteral("folder"), {}),
                                         describeModel(fixtureModel("tiny-qwen3"), QStringLiteral("folder"), {})});
        NewJobPage* page = window->newJobPage();
        for (const QString& m : page->checkedModels()) page->setModelChecked(m, false);
        for (const QString& m : page->checkedMethods()) page->setMethodChecked(m, false);
        page->setMethodChecked(QStringLiteral("attention"), true);
    }
    ~ChatSession() {
        window.reset();
        queue.reset();
        store.reset();
    }
    bool finished(const QString& id, int timeoutMs = 60000) {
        return waitFor(
            [&] {
                auto j = queue->job(id.toStdString());
                return j && jobs::isFinal(j->status);
            },
            timeoutMs);
    }
    QString write(const QString& name, const QByteArray& text) {
        const QString path = dir.path() + QLatin1Char('/') + name;
        QFile f(path);
        EXPECT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(text);
        return path;
    }
    // Opens `path` as if dropped; the outcome of the file's handling.
    bool open(const QString& path) {
        bool done = false, ok = false;
        auto c = QObject::connect(window.get(), &MainWindow::fileHandled, [&](const QString&, bool good, const QString&) {
            done = true;
            ok = good;
        });
        window->openFile(path);
        waitFor([&] { return done; }, 5000);
        QObject::disconnect(c);
        return ok;
    }
};

// What a chat job of tiny-qwen3 with a forced reply ran: system, user, "Blue.".
const ojson kChat = ojson::array({{{"role", "system"}, {"content", "You answer in one word."}},
                                  {{"role", "user"}, {"content", "What colour is the sky?"}}});

QString runChat(ChatSession& s, const ojson& messages, const QString& reply) {
    NewJobPage* page = s.window->newJobPage();
    page->setModelChecked(fixtureModel("tiny-qwen3"), true);
    EXPECT_TRUE(page->setChatMessages(messages).ok());
    page->chatEditor()->setReply(reply);
    s.window->showPage(MainWindow::Page::NewJob);
    EXPECT_TRUE(page->submitButton()->isEnabled()) << page->spec().error().message;
    page->submitButton()->click();
    const QString id = s.window->shownJob();
    EXPECT_FALSE(id.isEmpty());
    EXPECT_TRUE(s.finished(id));
    return id;
}

TEST(ChatMode, ShownForAModelWithAChatTemplateAndNotForAPlainOne) {
    // The fixtures as the chat library finds them: tiny-qwen3 has a template, tiny-gpt2 none.
    ASSERT_TRUE(chat::findChatTemplate(fixtureModel("tiny-qwen3").toStdString()).ok());
    ASSERT_FALSE(chat::findChatTemplate(fixtureModel("tiny-gpt2").toStdString()).ok());
    ChatSession s;
    s.window->showPage(MainWindow::Page::NewJob);
    NewJobPage* page = s.window->newJobPage();
    page->setModelChecked(fixtureModel("tiny-gpt2"), true);
    EXPECT_FALSE(page->chatMode());
    EXPECT_FALSE(page->chatEditor()->isVisible());
    EXPECT_TRUE(page->promptEdit()->isVisible());
    page->setModelChecked(fixtureModel("tiny-gpt2"), false);
    page->setModelChecked(fixtureModel("tiny-qwen3"), true);
    EXPECT_TRUE(page->chatMode()) << "a model with a chat template opens Chat mode";
    EXPECT_TRUE(page->chatEditor()->isVisible());
    EXPECT_FALSE(page->promptEdit()->isVisible());
    EXPECT_TRUE(page->chatModeButton()->isChecked());
    EXPECT_FALSE(page->chatEditor()->templateBox()->isVisible()) << "one template: nothing to choose";
    // The user may switch back to text; a plain model again gives text.
    page->textModeButton()->click();
    EXPECT_FALSE(page->chatMode());
    page->chatModeButton()->click();
    EXPECT_TRUE(page->chatMode());
    // Chat mode with a model without a template says how it will read the messages.
    page->setModelChecked(fixtureModel("tiny-gpt2"), true);
    EXPECT_TRUE(page->chatNote().contains(QStringLiteral("tiny-gpt2"))) << page->chatNote().toStdString();
    page->setModelChecked(fixtureModel("tiny-qwen3"), false);
    EXPECT_FALSE(page->chatMode()) << "the first ticked model has no template";
}

TEST(ChatMode, TemplatesAreChosenByNameWhenAFolderHasSeveral) {
    // A copy of tiny-qwen3 whose tokenizer_config.json holds two named templates.
    QTemporaryDir dir;
    const QString folder = dir.path() + QStringLiteral("/two-templates");
    ASSERT_TRUE(QDir().mkpath(folder));
    for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"}) {
        ASSERT_TRUE(QFile::copy(fixtureModel("tiny-qwen3") + QLatin1Char('/') + QLatin1String(f),
                                folder + QLatin1Char('/') + QLatin1String(f)));
    }
    nlohmann::json config;
    {
        QFile in(fixtureModel("tiny-qwen3") + QStringLiteral("/tokenizer_config.json"));
        ASSERT_TRUE(in.open(QIODevice::ReadOnly));
        config = nlohmann::json::parse(in.readAll().toStdString());
    }
    const std::string original = config["chat_template"].get<std::string>();
    config["chat_template"] = nlohmann::json::array({{{"name", "default"}, {"template", original}},
                                                     {{"name", "terse"}, {"template", "{{ messages[-1]['content'] }}"}}});
    {
        QFile out(folder + QStringLiteral("/tokenizer_config.json"));
        ASSERT_TRUE(out.open(QIODevice::WriteOnly));
        out.write(QByteArray::fromStdString(config.dump()));
    }
    NewJobPage page;
    waitFor([&] { return !page.discovering(); });
    page.setModels({describeModel(folder, QStringLiteral("folder"), {})});
    for (const QString& m : page.checkedModels()) page.setModelChecked(m, false);
    page.setModelChecked(folder, true);
    ASSERT_TRUE(page.chatMode());
    QComboBox* box = page.chatEditor()->templateBox();
    EXPECT_FALSE(box->isHidden());
    ASSERT_EQ(box->count(), 2);
    EXPECT_EQ(box->currentText(), QStringLiteral("default"));
    page.chatEditor()->setUser(QStringLiteral("Hi"));
    auto s = page.spec();
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_FALSE(s->options.contains("chat")) << "the default template needs no option";
    box->setCurrentIndex(box->findText(QStringLiteral("terse")));
    s = page.spec();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->options["chat"]["template"], "terse");
}

TEST(ChatMode, TheSubmittedJobCarriesTheMessagesInOrder) {
    ChatSession s;
    NewJobPage* page = s.window->newJobPage();
    page->setModelChecked(fixtureModel("tiny-qwen3"), true);
    ASSERT_TRUE(page->chatMode());
    ChatEditor* chat = page->chatEditor();
    EXPECT_FALSE(page->spec().ok()) << "no user message yet";
    EXPECT_NE(page->spec().error().message.find("user"), std::string::npos) << page->spec().error().message;
    chat->setSystem(QStringLiteral("You answer in one word."));
    chat->setUser(QStringLiteral("What colour is the sky?"));
    auto spec = page->spec();
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    EXPECT_EQ(spec->messages, kChat);
    EXPECT_EQ(spec->messages[0].begin().key(), "role") << "role before content, as written";
    EXPECT_EQ(spec->input, "What colour is the sky?");
    EXPECT_FALSE(spec->targetText) << "no reply: the model writes its own";
    EXPECT_TRUE(spec->options.contains("max_new_tokens"));
    // The raw switch.
    chat->setRaw(true);
    spec = page->spec();
    ASSERT_TRUE(spec.ok());
    EXPECT_EQ(spec->options["chat"]["raw"], true);
    chat->setRaw(false);
    // The live preview shows the conversation as the template renders it (no BOS added).
    auto f = chat::ChatFormatter::fromModelFolder(fixtureModel("tiny-qwen3").toStdString());
    ASSERT_TRUE(f);
    auto req = f->request(kChat, true);
    req.options.now = chat::localNow();
    auto rendered = f->render(req);
    ASSERT_TRUE(rendered);
    // Compared without the line breaks and spaces the preview draws its own way (↵, no-break spaces).
    auto bare = [](QString text) {
        for (QChar c : {QChar(0x21b5), QChar(0xa0), QChar(0x2028), QChar(0x2029), QChar(u'\n'), QChar(u' ')}) text.remove(c);
        return text;
    };
    EXPECT_TRUE(waitFor([&] { return bare(page->tokenPreview()->toPlainText()) == bare(QString::fromStdString(*rendered)); },
                        5000))
        << page->tokenPreview()->toPlainText().toStdString() << "\n" << *rendered;

    // With a reply to explain: the forced target; submitted to the queue as is.
    chat->setReply(QStringLiteral("Blue."));
    page->submitButton()->click();
    const QString id = s.window->shownJob();
    ASSERT_FALSE(id.isEmpty());
    const auto rec = s.queue->job(id.toStdString());
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->spec.messages, kChat);
    ASSERT_TRUE(rec->spec.targetText);
    EXPECT_EQ(*rec->spec.targetText, "Blue.");
    EXPECT_FALSE(rec->spec.options.contains("max_new_tokens"));
    ASSERT_TRUE(s.finished(id));
    const auto done = s.queue->job(id.toStdString());
    ASSERT_TRUE(done && done->pairs[0].result) << (done && done->pairs[0].error ? *done->pairs[0].error : "");
    EXPECT_EQ(done->pairs[0].result->output.text, "Blue.");
    EXPECT_FALSE(done->pairs[0].result->segments.empty());
}

TEST(ChatMode, DroppedMessagesFilesFillTheChatAndBadOnesAreNamed) {
    ChatSession s;
    NewJobPage* page = s.window->newJobPage();
    ChatEditor* chat = page->chatEditor();
    // An object with a messages list: system, user, and the reply to explain.
    ASSERT_TRUE(s.open(s.write(QStringLiteral("chat.json"),
                              R"({"messages": [{"role": "system", "content": "Be brief."},
                                               {"role": "user", "content": "Name a colour."},
                                               {"role": "assistant", "content": "Red."}]})")));
    EXPECT_EQ(s.window->currentPage(), MainWindow::Page::NewJob);
    EXPECT_TRUE(page->chatMode());
    EXPECT_EQ(chat->system(), QStringLiteral("Be brief."));
    EXPECT_EQ(chat->user(), QStringLiteral("Name a colour."));
    EXPECT_EQ(chat->reply(), QStringLiteral("Red."));
    EXPECT_TRUE(chat->history().empty());
    // A list with earlier turns: they are kept, in order, with their own keys.
    ASSERT_TRUE(s.open(s.write(QStringLiteral("turns.json"),
                              R"([{"role": "user", "content": "Hi"}, {"content": "Hello!", "role": "assistant"},
                                  {"role": "user", "content": "And the sea?"}])")));
    EXPECT_EQ(chat->system(), QString());
    EXPECT_EQ(chat->user(), QStringLiteral("And the sea?"));
    EXPECT_EQ(chat->reply(), QString());
    page->setModelChecked(fixtureModel("tiny-qwen3"), true);
    auto spec = page->spec();
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    const ojson want = ojson::parse(R"([{"role": "user", "content": "Hi"}, {"content": "Hello!", "role": "assistant"},
                                       {"role": "user", "content": "And the sea?"}])");
    EXPECT_EQ(spec->messages, want);
    EXPECT_EQ(spec->messages[1].begin().key(), "content") << "the file's key order";
    EXPECT_TRUE(chat->historyLabel()->isVisible());

    // Malformed files: the banner names the file and the problem; the chat stays.
    const QString bad = s.write(QStringLiteral("no-role.json"), R"([{"content": "Hi"}])");
    EXPECT_FALSE(s.open(bad));
    EXPECT_TRUE(s.window->banner()->text().contains(QStringLiteral("no-role.json"))) << s.window->banner()->text().toStdString();
    EXPECT_TRUE(s.window->banner()->text().contains(QStringLiteral("role"))) << s.window->banner()->text().toStdString();
    EXPECT_EQ(chat->user(), QStringLiteral("And the sea?"));
    EXPECT_FALSE(s.open(s.write(QStringLiteral("broken.json"), "[{\"role\": ")));
    EXPECT_TRUE(s.window->banner()->text().contains(QStringLiteral("broken.json")));
    EXPECT_FALSE(s.open(s.write(QStringLiteral("content.json"), R"({"messages": [{"role": "user", "content": 7}]})")));
    EXPECT_TRUE(s.window->banner()->text().contains(QStringLiteral("content.json")));
    EXPECT_TRUE(s.window->banner()->text().contains(QStringLiteral("content")));
    // A result file is still a result.
    EXPECT_TRUE(s.open(test::sampleResultPath()));
    EXPECT_EQ(s.window->currentPage(), MainWindow::Page::Dashboard);
}

TEST(RoleBands, AQwenStyleChatIsBandedPerMessage) {
    // <|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n | Blue.
    const std::vector<std::string> tokens = {"<|im_start|>", "system", "\n",           "Be",   " brief", ".",
                                             "<|im_end|>",   "\n",     "<|im_start|>", "user", "\n",     "Hi",
                                             "<|im_end|>",   "\n",     "<|im_start|>", "assistant", "\n", "Blue", "."};
    const TokenSegment T{"template", -1};
    const std::vector<TokenSegment> seg = {T, T, T, {"system", 0}, {"system", 0}, {"system", 0}, T, T, T, T, T,
                                           {"user", 1}, T, T, T, T, T, {"assistant", 2}, {"assistant", 2}};
    const auto bands = roleBands(seg, tokens, 17);
    const std::vector<RoleBand> want = {{0, 8, "system", 0}, {8, 14, "user", 1}, {14, 17, "assistant", 2},
                                        {17, 19, "assistant", 2}};
    EXPECT_EQ(bands, want);
    // Llama 3: the end-of-turn stays with its message, the header opens the next.
    const std::vector<std::string> llama = {"<|begin_of_text|>", "<|start_header_id|>", "user", "<|end_header_id|>",
                                            "\n\n", "Hi", "<|eot_id|>", "<|start_header_id|>", "assistant",
                                            "<|end_header_id|>", "\n\n", "Yes"};
    const std::vector<TokenSegment> lseg = {T, T, T, T, T, {"user", 0}, T, T, T, T, T, {"assistant", 1}};
    const std::vector<RoleBand> lwant = {{0, 7, "user", 0}, {7, 11, "assistant", 1}, {11, 12, "assistant", 1}};
    EXPECT_EQ(roleBands(lseg, llama, 11), lwant);
    // Plain text or mismatched sizes: no bands.
    EXPECT_TRUE(roleBands({}, tokens, 17).empty());
    EXPECT_TRUE(roleBands(seg, std::vector<std::string>(3), 2).empty());
}

TEST(ChatView, RoleBandsArePaintedAndTemplateTokensDimmedAndLeftOutOfTheScale) {
    ChatSession s;
    const QString id = runChat(s, kChat, QStringLiteral("Blue."));
    Dashboard* d = s.window->dashboard();
    ASSERT_TRUE(waitFor([&] { return d->model().methods().size() == 1; }, 5000));
    const ResultModel& model = d->model();
    const auto& segments = model.segments();
    ASSERT_EQ(static_cast<int64_t>(segments.size()), model.contextLength());
    TokenView* view = d->tokenView();
    const auto& bands = view->roleBands();
    // One band per message, in order, then the reply's header and the reply.
    std::vector<std::string> roles;
    for (const auto& b : bands) roles.push_back(b.role);
    EXPECT_EQ(roles, (std::vector<std::string>{"system", "user", "assistant", "assistant"}));
    ASSERT_EQ(bands.size(), 4u);
    EXPECT_EQ(bands.front().first, 0);
    EXPECT_EQ(bands.back().end, model.contextLength());
    for (size_t i = 0; i + 1 < bands.size(); ++i) EXPECT_EQ(bands[i].end, bands[i + 1].first);
    EXPECT_EQ(bands[2].end, model.promptLength()) << "the reply's header ends the prompt";
    for (const auto& b : bands) {
        for (int64_t k = b.first; k < b.end; ++k) {
            if (!model.isTemplateToken(k)) {
                EXPECT_EQ(segments[static_cast<size_t>(k)].message, b.message) << k;
            }
        }
    }
    // The user's band opens with the template's header of that turn.
    EXPECT_EQ(model.contextTokens()[static_cast<size_t>(bands[1].first)], "<|im_start|>");
    EXPECT_EQ(model.contextTokens()[static_cast<size_t>(bands[1].first + 1)], "user");

    // Painted: each band's left edge in its role's colour, its label written in the gutter.
    view->resize(900, 600);
    waitFor([] { return false; }, 100);
    const QImage img = view->viewport()->grab().toImage().convertToFormat(QImage::Format_RGB32);
    const qreal dpr = img.devicePixelRatio();
    const QColor base = view->palette().color(QPalette::Base);
    for (size_t i = 0; i < bands.size(); ++i) {
        const QRectF r = view->bandRect(i);
        if (r.bottom() > view->viewport()->height()) continue;
        const QPoint edge(static_cast<int>((r.left() + 1.5) * dpr), static_cast<int>(r.center().y() * dpr));
        EXPECT_EQ(QColor(img.pixel(edge)).rgb(), roleColour(bands[i].role).rgb()) << "band " << i;
        const QRect label = view->bandLabelRect(i).toAlignedRect();
        int inked = 0;
        for (int y = label.top(); y <= label.bottom(); ++y) {
            for (int x = label.left(); x <= label.right(); ++x) {
                const QColor c(img.pixel(static_cast<int>(x * dpr), static_cast<int>(y * dpr)));
                inked += std::abs(c.lightness() - base.lightness()) > 60;
            }
        }
        EXPECT_GT(inked, 5) << "band " << i << " has its role written";
        // Behind the tokens: the band's tint, neither the background nor the edge colour.
        const QPoint inside(static_cast<int>((r.right() - 4) * dpr), static_cast<int>((r.top() + 1.5) * dpr));
        EXPECT_NE(QColor(img.pixel(inside)).rgb(), base.rgb()) << "band " << i;
    }

    // Template tokens are left out of the scale: no colour, and the importance
    // the view uses is the result's token_importance (template rows left out).
    d->setMethodActive("attention", true);
    const nlohmann::json exported = toJson(model.methodResult(0));
    const auto& imp = exported["attribution"]["aggregated"]["token_importance"]["input"];
    int dimmed = 0, coloured = 0;
    for (int64_t k = 0; k < model.promptLength(); ++k) {
        const TokenDetails det = model.details(k, -1);
        ASSERT_EQ(det.scores.size(), 1u);
        const auto& want = imp[static_cast<size_t>(k)];
        if (model.isTemplateToken(k)) {
            EXPECT_TRUE(want.is_null()) << k;
            EXPECT_TRUE(std::isnan(det.scores[0].importance)) << k;
            EXPECT_EQ(view->fillOf(k).alpha(), 0) << k;
            ++dimmed;
        } else {
            ASSERT_TRUE(want.is_number()) << k;
            EXPECT_NEAR(det.scores[0].importance, want.get<double>(), 1e-6 * (1 + std::fabs(want.get<double>()))) << k;
            coloured += view->fillOf(k).alpha() > 0;
        }
    }
    EXPECT_GT(dimmed, 5);
    EXPECT_GT(coloured, 0);
    // The heatmap's legend says why their rows are hatched.
    EXPECT_TRUE(d->heatmapView()->legendText().contains(QStringLiteral("template token left out")))
        << d->heatmapView()->legendText().toStdString();
    // The switch includes them, as token_importance_with_template does.
    ASSERT_TRUE(d->templateBox()->isVisible());
    d->templateBox()->click();
    EXPECT_TRUE(model.includeTemplate());
    EXPECT_FALSE(d->heatmapView()->legendText().contains(QStringLiteral("template")));
    const auto& all = exported["attribution"]["aggregated"]["token_importance_with_template"]["input"];
    int templateColoured = 0;
    for (int64_t k = 0; k < model.promptLength(); ++k) {
        const TokenDetails det = model.details(k, -1);
        if (all[static_cast<size_t>(k)].is_number()) {
            EXPECT_NEAR(det.scores[0].importance, all[static_cast<size_t>(k)].get<double>(),
                        1e-6 * (1 + std::fabs(all[static_cast<size_t>(k)].get<double>())));
        }
        if (model.isTemplateToken(k)) templateColoured += view->fillOf(k).alpha() > 0;
    }
    EXPECT_GT(templateColoured, 0);
    (void)id;
}

TEST(ChatView, AFollowUpFromTheDashboardContinuesTheChatAsTheTemplateRendersIt) {
    ChatSession s;
    const QString id = runChat(s, kChat, QStringLiteral("Blue."));
    Dashboard* d = s.window->dashboard();
    ASSERT_TRUE(waitFor([&] { return d->model().hasJob() && d->followUpEdit()->isEnabled(); }, 5000));
    d->followUpEdit()->setText(QStringLiteral("And the sea?"));
    emit d->followUpEdit()->returnPressed();
    const QString child = s.window->shownJob();
    ASSERT_NE(child, id);
    ASSERT_TRUE(s.finished(child));
    // The parent's messages, its reply, the new user message.
    ojson want = kChat;
    want.push_back({{"role", "assistant"}, {"content", "Blue."}});
    want.push_back({{"role", "user"}, {"content", "And the sea?"}});
    const auto rec = s.queue->job(child.toStdString());
    ASSERT_TRUE(rec && rec->pairs[0].result) << (rec && rec->pairs[0].error ? *rec->pairs[0].error : "");
    EXPECT_EQ(rec->spec.messages, want);
    // What the model saw is the template rendered directly on those messages.
    auto f = chat::ChatFormatter::fromModelFolder(fixtureModel("tiny-qwen3").toStdString());
    ASSERT_TRUE(f);
    auto req = f->request(want, true);
    req.options.now = chat::localNow();
    auto rendered = f->render(req);
    ASSERT_TRUE(rendered) << rendered.error().message;
    EXPECT_EQ(rec->pairs[0].result->input.text, *rendered);
    // The dashboard shows the new turn with five bands: system, user, assistant, user, and the reply's.
    ASSERT_TRUE(waitFor([&] { return d->source() == QStringLiteral("job %1").arg(child) && !d->tokenView()->roleBands().empty(); }, 5000));
    std::vector<std::string> roles;
    for (const auto& b : d->tokenView()->roleBands()) roles.push_back(b.role);
    ASSERT_GE(roles.size(), 5u);
    EXPECT_EQ(std::vector<std::string>(roles.begin(), roles.begin() + 5),
              (std::vector<std::string>{"system", "user", "assistant", "user", "assistant"}));
    // The conversation timeline takes its turns from the messages: the system
    // and first user message are turn 1, the reply "Blue." is turn 1's reply,
    // the new user message turn 2 (template tokens go with the message after them).
    TimelinePanel* timeline = d->timelinePanel();
    ASSERT_TRUE(waitFor([&] { return timeline->isVisible() && timeline->turnCount() == 2; }, 5000));
    const TokenTurns& tt = timeline->tokenTurns();
    const MethodResult& shown = d->model().job().results[0];
    const auto n = static_cast<size_t>(shown.input.ids.size());
    ASSERT_EQ(tt.turn.size(), n);
    ASSERT_GE(shown.segments.size(), n);
    int replyTokens = 0;
    for (size_t k = 0; k < n; ++k) {
        const TokenSegment& seg = shown.segments[k];
        if (seg.message < 0) continue;
        EXPECT_EQ(tt.turn[k], seg.message <= 2 ? 0 : 1) << "token " << k << " of message " << seg.message;
        EXPECT_EQ(tt.reply[k], seg.message == 2) << "token " << k;
        replyTokens += seg.message == 2;
    }
    EXPECT_GT(replyTokens, 0);
    // Turn shares sum to one over the two turns.
    ASSERT_EQ(timeline->shares().share.size(), 2u);
}

TEST(ChatMode, ARemoteServerGetsTheMessagesAndListsTheTemplates) {
    server::testing::ServerProcess server;
    ASSERT_TRUE(server.ready()) << server.err();
    MainWindow window;
    RemoteBackend* backend = window.useRemoteBackend(server.endpoint());
    window.resize(1280, 820);
    window.show();
    NewJobPage* page = window.newJobPage();
    ASSERT_TRUE(waitFor([&] { return !page->discovering() && !page->models().empty(); }, 10000));
    for (const QString& m : page->checkedModels()) page->setModelChecked(m, false);
    for (const QString& m : page->checkedMethods()) page->setMethodChecked(m, false);
    page->setMethodChecked(QStringLiteral("attention"), true);
    page->setModelChecked(QStringLiteral("tiny-qwen3"), true);
    EXPECT_TRUE(page->chatMode()) << "the server's catalogue lists the template";
    ASSERT_TRUE(page->setChatMessages(kChat).ok());
    page->chatEditor()->setReply(QStringLiteral("Blue."));
    page->submitButton()->click();
    ASSERT_TRUE(waitFor([&] { return !window.shownJob().isEmpty(); }, 5000)) << window.banner()->text().toStdString();
    const QString id = window.shownJob();
    ASSERT_TRUE(waitFor([&] { return backend->hasResults(id.toStdString()); }, 20000));
    Dashboard* d = window.dashboard();
    ASSERT_TRUE(waitFor([&] { return d->model().hasJob() && !d->model().job().results.empty(); }, 5000));
    const MethodResult& r = d->model().job().results[0];
    EXPECT_EQ(r.messages, nlohmann::json(kChat));
    EXPECT_EQ(r.output.text, "Blue.");
    EXPECT_EQ(r.segments.size(), r.contextTokens.size());
    EXPECT_FALSE(d->tokenView()->roleBands().empty());
}

} // namespace
} // namespace tokenlens::gui
