#include "app_main.h"
#include "jobs/backend/remote_backend.h"

#include "jobs/job_queue.h"
#include "jobs/job_store.h"
#include "result/result_json.h"
#include "results/category_controls.h"
#include "results/dashboard.h"
#include "results/heatmap_view.h"
#include "results/selection_model.h"
#include "results/split_view.h"
#include "results/token_view.h"
#include "shell/mainwindow.h"
#include "shell/message_banner.h"
#include "shell/theme.h"

#include <QApplication>
#include <QComboBox>
#include <QFile>
#include <QCommandLineParser>
#include <QImage>
#include <QPainter>
#include <QPixmap>
#include <QPointer>
#include <QStyleFactory>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <variant>

namespace tokenlens::gui {

namespace {

struct Options {
    QStringList files;
    QString screenshot, methods, scope, categories, heatmap, page, thenOpen, exportTokens, exportHeatmap, theme, showModel, store;
    bool demo = false;
    QStringList followUps, userCategories; // --follow-up, --user-category
    bool categoryEditor = false;
    QString split, counterfactual; // split view: "MODEL_A,MODEL_B"; an edited result to compare with
    bool difference = false;
    QSize size{1440, 900};
    int delay = 400;
    int window = 0;
    qint64 hover = -1, pin = -1, cellRow = -1, cellCol = -1;
    double scale = 2;
};

void applyViewState(MainWindow& w, const Options& o) {
    Dashboard* d = w.dashboard();
    if (!o.showModel.isEmpty()) {
        const auto& models = d->model().models();
        for (size_t i = 0; i < models.size(); ++i) {
            if (QString::fromStdString(models[i]) == o.showModel) d->setCurrentModel(static_cast<int>(i));
        }
    }
    if (!o.methods.isEmpty()) {
        const QStringList want = o.methods.split(QLatin1Char(','), Qt::SkipEmptyParts);
        for (const auto& m : d->model().methods()) {
            d->setMethodActive(m.id, want.contains(QString::fromStdString(m.id)));
        }
    }
    if (o.window > 0) d->setWindow(o.window);
    if (o.scope == u"column") d->setScope(analysis::NormScope::ColumnMinMax);
    else if (o.scope == u"l1") d->setScope(analysis::NormScope::ColumnL1);
    else if (o.scope == u"matrix") d->setScope(analysis::NormScope::Matrix);
    if (!o.userCategories.isEmpty()) {
        // NAME=word,word or NAME=/regex/
        std::vector<analysis::UserCategory> user;
        for (const QString& spec : o.userCategories) {
            const QString name = spec.section(QLatin1Char('='), 0, 0), def = spec.section(QLatin1Char('='), 1);
            const bool pattern = def.size() >= 2 && def.startsWith(QLatin1Char('/')) && def.endsWith(QLatin1Char('/'));
            auto uc = pattern ? makeUserCategory(name, UserCategoryKind::Pattern, def.mid(1, def.size() - 2))
                              : makeUserCategory(name, UserCategoryKind::Words, def);
            if (uc) user.push_back(std::move(*uc));
            else std::fprintf(stderr, "tokenlens: --user-category: %s\n", uc.error().message.c_str());
        }
        d->setUserCategories(std::move(user));
    }
    if (!o.categories.isEmpty()) {
        // MODE or MODE:CATEGORY[+CATEGORY...], e.g. "highlight:function word+number"
        const QString mode = o.categories.section(QLatin1Char(':'), 0, 0);
        const QString category = o.categories.section(QLatin1Char(':'), 1);
        const int mi = d->categoryModeBox()->findText(mode, Qt::MatchStartsWith);
        if (mi >= 0) d->categoryModeBox()->setCurrentIndex(mi);
        else std::fprintf(stderr, "tokenlens: --categories: unknown mode \"%s\" (off, highlight, isolation, comparison)\n",
                          qPrintable(mode));
        std::vector<int> chosen;
        for (const QString& name : category.split(QLatin1Char('+'), Qt::SkipEmptyParts)) {
            const int ci = d->categoryBox()->findText(name);
            if (ci >= 0) chosen.push_back(d->categoryBox()->itemData(ci).toInt());
            else std::fprintf(stderr, "tokenlens: --categories: unknown category \"%s\"\n", qPrintable(name));
        }
        if (!chosen.empty()) d->categoryBox()->setSelected(chosen);
    }
    if (o.heatmap == u"fit") d->heatmapView()->fitAll();
    else if (o.heatmap == u"reset") d->heatmapView()->resetZoom();
    else if (bool ok = false; !o.heatmap.isEmpty()) {
        const double z = o.heatmap.toDouble(&ok);
        if (ok) {
            for (int i = 0; i < 64 && z > 1 && d->heatmapView()->geometry().cellW() < z; ++i) d->heatmapView()->zoomIn();
        }
    }
    if (o.pin >= 0) {
        d->selection()->setPinned(o.pin);
        d->tokenView()->ensureTokenVisible(o.pin);
    }
    if (o.cellRow >= 0) {
        d->selection()->setCell(o.cellRow, o.cellCol);
        d->selection()->setHovered(d->model().promptLength() + o.cellCol);
    } else if (o.hover >= 0) {
        d->selection()->setHovered(o.hover);
        d->tokenView()->ensureTokenVisible(o.hover);
    }
    if (!o.split.isEmpty() || o.difference || !o.counterfactual.isEmpty()) {
        d->setSplit(true);
        const QStringList names = o.split.split(QLatin1Char(','), Qt::SkipEmptyParts);
        const auto& models = d->model().models();
        for (int side = 0; side < 2 && side < names.size(); ++side) {
            const auto it = std::find(models.begin(), models.end(), names[side].toStdString());
            if (it != models.end()) d->splitView()->setPaneModel(side, static_cast<int>(it - models.begin()));
            else std::fprintf(stderr, "tokenlens: --split: no model \"%s\" in the result\n", qPrintable(names[side]));
        }
        if (!o.counterfactual.isEmpty()) {
            auto edited = readResultFile(o.counterfactual.toStdString());
            auto edit = edited ? editBetween(d->model().job().input.text, edited->input.text) : std::nullopt;
            if (!edited) std::fprintf(stderr, "tokenlens: --counterfactual: %s\n", edited.error().message.c_str());
            else if (!edit) std::fprintf(stderr, "tokenlens: --counterfactual: the two prompts are equal\n");
            else {
                edit->model = std::max(0, d->model().currentModel());
                d->showCounterfactual(d->model().job(), *edited, *edit);
            }
        }
        if (o.difference) d->setDifferenceMode(true);
        if (o.pin >= 0) d->splitView()->paneSelection(0)->setPinned(o.pin);
        if (o.hover >= 0) d->splitView()->paneSelection(0)->setHovered(o.hover);
    }
    if (o.categoryEditor) {
        auto* editor = new CategoryEditor(d->userCategories(), &w);
        editor->setAttribute(Qt::WA_DeleteOnClose);
        editor->show();
        editor->move(w.geometry().center() - editor->rect().center());
    }
    if (o.page == u"newjob") w.showPage(MainWindow::Page::NewJob);
    else if (o.page == u"jobs") w.showPage(MainWindow::Page::Jobs);
    else if (o.page == u"dashboard") w.showPage(MainWindow::Page::Dashboard);
}

void finish(MainWindow& w, const Options& o) {
    Dashboard* d = w.dashboard();
    int rc = 0;
    if (!o.exportTokens.isEmpty()) {
        const QString e = d->exportTokenViewPng(o.exportTokens, o.scale);
        if (!e.isEmpty()) {
            std::fprintf(stderr, "tokenlens: %s\n", qPrintable(e));
            rc = 1;
        }
    }
    if (!o.exportHeatmap.isEmpty()) {
        const QString e = d->exportHeatmapPng(o.exportHeatmap, o.scale);
        if (!e.isEmpty()) {
            std::fprintf(stderr, "tokenlens: %s\n", qPrintable(e));
            rc = 1;
        }
    }
    if (!o.screenshot.isEmpty()) {
        QPixmap shot = w.grab();
        if (auto* editor = w.findChild<CategoryEditor*>(); editor && editor->isVisible()) {
            // A dialog is a window of its own: drawn over the main window where it is.
            QPainter p(&shot);
            const QPoint at = editor->frameGeometry().topLeft() - w.frameGeometry().topLeft();
            p.drawPixmap(at, editor->grab());
            p.setPen(editor->palette().color(QPalette::Dark));
            p.drawRect(QRect(at, editor->size()).adjusted(0, 0, -1, -1));
        }
        if (!shot.save(o.screenshot, "PNG")) {
            std::fprintf(stderr, "tokenlens: cannot write %s\n", qPrintable(o.screenshot));
            rc = 1;
        } else {
            std::fprintf(stderr, "tokenlens: saved %s (%dx%d)\n", qPrintable(o.screenshot), shot.width(), shot.height());
        }
    }
    QApplication::exit(rc);
}

} // namespace

int runApplication(QApplication& app) {
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    captureSystemPalette();

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Which input tokens made a language model say what it said."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("files"), QStringLiteral("Result .json files to open."), QStringLiteral("[FILE...]"));
    // Every option: its name, help, value name (none: a switch) and, for
    // those read as they are, the field of Options it fills.
    using Field = std::variant<std::monostate, QString Options::*, QStringList Options::*, bool Options::*>;
    struct OptionRow {
        const char* name;
        const char* help;
        const char* value;
        Field field;
    };
    static const OptionRow kOptions[] = {
        {"theme", "Palette: system, light or dark.", "theme", &Options::theme},
        {"screenshot", "Save the window as PNG once ready, then quit.", "png", &Options::screenshot},
        {"size", "Window size for --screenshot (WxH).", "size", {}},
        {"delay", "Milliseconds to wait before --screenshot.", "ms", {}},
        {"methods", "Methods to switch on (comma-separated ids).", "ids", &Options::methods},
        {"window", "Context window c.", "c", {}},
        {"scope", "Normalisation: matrix, column or l1.", "scope", &Options::scope},
        {"categories", "Category view: off, highlight, isolation or comparison, optionally :CATEGORY "
                       "(e.g. \"isolation:content word\").", "mode", &Options::categories},
        {"hover", "Hover the token at this context index.", "k", {}},
        {"pin", "Pin the token at this context index.", "k", {}},
        {"cell", "Hover the heatmap cell ROW,COL.", "row,col", {}},
        {"heatmap", "Heatmap zoom: fit, reset or a cell size in pixels.", "zoom", &Options::heatmap},
        {"page", "Page to show: newjob, jobs or dashboard.", "page", &Options::page},
        {"show-model", "Show this model of a multi-model result.", "name", &Options::showModel},
        {"then-open", "Open this file after the first (e.g. to show an error).", "file", &Options::thenOpen},
        {"split", "Split view with these two models of the result (MODEL_A,MODEL_B).", "models", &Options::split},
        {"counterfactual", "Split view of the result and this edited result of the same model (with --screenshot).",
         "file", &Options::counterfactual},
        {"difference", "Split view in difference mode.", nullptr, &Options::difference},
        {"export-tokens", "Export the token view PNG before quitting (with --screenshot).", "png", &Options::exportTokens},
        {"export-heatmap", "Export the heatmap PNG before quitting (with --screenshot).", "png", &Options::exportHeatmap},
        {"scale", "Scale factor of the exported PNGs.", "s", {}},
        {"store", "The results store (SQLite) to use instead of the default one.", "path", &Options::store},
        {"demo", "Run the demo job on the bundled models (with --screenshot: shoot once it has finished).", nullptr,
         &Options::demo},
        {"follow-up", "With --demo: continue the conversation with this turn once the job has finished (repeatable, "
                      "in order).", "text", &Options::followUps},
        {"user-category", "A user category: NAME=word,word or NAME=/regex/ (repeatable).", "spec",
         &Options::userCategories},
        {"category-editor", "Show the user category editor (with --screenshot).", nullptr, &Options::categoryEditor},
        {"server", "Run jobs on this TokenLens server (tokenlens-cli serve), e.g. http://127.0.0.1:8765, instead of the "
                   "backend in Settings.", "url", {}},
        {"token-file", "The server's token (first line of this file), with --server.", "file", {}},
        {"local", "Run jobs on this computer whatever the Settings say.", nullptr, {}},
    };
    for (const auto& row : kOptions) {
        const QString name = QString::fromLatin1(row.name), help = QString::fromLatin1(row.help);
        parser.addOption(row.value ? QCommandLineOption(name, help, QString::fromLatin1(row.value))
                                   : QCommandLineOption(name, help));
    }
    parser.process(app);

    const auto value = [&](const char* name) { return parser.value(QString::fromLatin1(name)); };
    const auto isSet = [&](const char* name) { return parser.isSet(QString::fromLatin1(name)); };
    std::optional<api::Endpoint> remote;
    if (isSet("server")) {
        QString token;
        if (isSet("token-file")) {
            QFile f(value("token-file"));
            if (!f.open(QIODevice::ReadOnly)) {
                std::fprintf(stderr, "tokenlens: --token-file %s: %s\n", qPrintable(value("token-file")),
                             qPrintable(f.errorString()));
                return 2;
            }
            token = QString::fromUtf8(f.readLine()).trimmed();
        }
        auto ep = parseServerUrl(value("server"), token);
        if (!ep) {
            std::fprintf(stderr, "tokenlens: --server: %s\n", ep.error().message.c_str());
            return 2;
        }
        remote = *ep;
    }

    auto o = std::make_shared<Options>();
    o->files = parser.positionalArguments();
    for (const auto& row : kOptions) {
        const QString name = QString::fromLatin1(row.name);
        if (const auto* text = std::get_if<QString Options::*>(&row.field)) {
            (*o).*(*text) = parser.value(name);
        } else if (const auto* list = std::get_if<QStringList Options::*>(&row.field)) {
            (*o).*(*list) = parser.values(name);
        } else if (const auto* flag = std::get_if<bool Options::*>(&row.field)) {
            (*o).*(*flag) = parser.isSet(name);
        }
    }
    if (isSet("delay")) o->delay = value("delay").toInt();
    if (isSet("window")) o->window = value("window").toInt();
    if (isSet("hover")) o->hover = value("hover").toLongLong();
    if (isSet("pin")) o->pin = value("pin").toLongLong();
    if (isSet("scale")) o->scale = value("scale").toDouble();
    if (isSet("cell")) {
        const QStringList rc = value("cell").split(QLatin1Char(','));
        if (rc.size() == 2) {
            o->cellRow = rc[0].toLongLong();
            o->cellCol = rc[1].toLongLong();
        }
    }
    if (isSet("size")) {
        const QStringList wh = value("size").split(QLatin1Char('x'));
        if (wh.size() == 2) o->size = QSize(wh[0].toInt(), wh[1].toInt());
    }

    // The results store and the job queue outlive the window (declared
    // before it is shown, destroyed after the event loop: queue, then store).
    std::unique_ptr<jobs::JobStore> store;
    QString storeError;
    std::string storeNotice; // a damaged store moved aside
    const std::string storePath = o->store.isEmpty() ? jobs::JobStore::defaultPath() : o->store.toStdString();
    if (auto opened = jobs::JobStore::openOrSetAside(storePath, &storeNotice)) {
        store = std::move(opened.value());
    } else {
        storeError = QString::fromStdString(opened.error().message);
    }
    auto queue = std::make_unique<jobs::JobQueue>(store.get());

    auto* w = new MainWindow;
    w->setAttribute(Qt::WA_DeleteOnClose);
    w->setJobQueue(queue.get());
    if (remote) w->useRemoteBackend(*remote);
    else if (!isSet("local")) w->applyBackendSettings();
    const bool remoteMode = w->backend()->isRemote();
    if (!storeError.isEmpty()) {
        w->banner()->showMessage(MessageBanner::Kind::Warning,
                                 QObject::tr("The results store could not be opened (%1). Jobs run, but are kept only "
                                             "until the window closes; export what you want to keep.")
                                     .arg(storeError));
    }
    if (!storeNotice.empty()) {
        w->banner()->showMessage(MessageBanner::Kind::Warning, QString::fromStdString(storeNotice));
    }
    if (!o->theme.isEmpty()) w->setTheme(themeFromKey(o->theme));
    const bool shooting = !o->screenshot.isEmpty() || !o->exportTokens.isEmpty() || !o->exportHeatmap.isEmpty();
    if (shooting) w->resize(o->size);
    w->show();

    if (shooting) {
        // Open the files one after the other, then apply the view state, then shoot.
        auto files = std::make_shared<QStringList>(o->files);
        if (!o->thenOpen.isEmpty()) files->append(o->thenOpen);
        auto step = std::make_shared<std::function<void()>>();
        *step = [w, o, files] {
            if (!files->isEmpty()) {
                w->openFile(files->takeFirst());
                return;
            }
            applyViewState(*w, *o);
            QTimer::singleShot(o->delay, w, [w, o] { finish(*w, *o); });
        };
        // After each file (opened or refused: a failed --then-open keeps the
        // first result on screen), the next step.
        QObject::connect(w, &MainWindow::fileHandled, w,
                         [w, step](const QString&, bool, const QString&) { QTimer::singleShot(0, w, [step] { (*step)(); }); });
        if (o->demo) {
            // Shoot once the demo job has finished.
            QObject::connect(w->backend(), &JobBackend::jobStatusAvailable, w,
                             [w, o, step](const QString& id, jobs::JobStatus s) {
                                 if (id == w->shownJob() && jobs::isFinal(s)) {
                                     if (!o->followUps.isEmpty() && w->jobQueue()) {
                                         // The next turn of the conversation, then shoot after the last.
                                         // Continuing the --show-model model's output (default: the first).
                                         int follow = 0;
                                         if (const auto rec = w->jobQueue()->job(id.toStdString()))
                                             for (int i = 0; i < static_cast<int>(rec->spec.models.size()); ++i)
                                                 if (QString::fromStdString(modelName(rec->spec, i)) == o->showModel)
                                                     follow = i;
                                         auto next = w->jobQueue()->followUp(id.toStdString(),
                                                                             o->followUps.takeFirst().toStdString(), follow);
                                         if (next) {
                                             QTimer::singleShot(0, w, [w, n = QString::fromStdString(*next)] { w->openJob(n); });
                                             return;
                                         }
                                         std::fprintf(stderr, "tokenlens: --follow-up: %s\n", next.error().message.c_str());
                                     }
                                     QTimer::singleShot(300, w, [step] { (*step)(); });
                                 }
                             });
            if (!w->runDemoJob()) {
                std::fprintf(stderr, "tokenlens: no bundled demo model found\n");
                (*step)();
            }
        } else {
            (*step)();
        }
    } else if (!o->files.isEmpty()) {
        for (const QString& f : o->files) w->openFile(f);
    } else if (remoteMode && !o->demo) {
        w->showPage(MainWindow::Page::Jobs); // the server's jobs, once connected
    } else if (o->demo || !w->openLatestJob()) {
        // First start (or --demo): the demo models explain the sample prompt.
        w->runDemoJob();
    }
    QPointer<MainWindow> mainWindow(w);
    const int rc = QApplication::exec();
    delete mainWindow.data(); // before the queue it listens to
    queue.reset();
    store.reset();
    return rc;
}

} // namespace tokenlens::gui
