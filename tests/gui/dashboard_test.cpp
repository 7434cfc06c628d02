// The real widgets on the offscreen platform: mouse events on the token view
// and the heatmap, the window slider, method toggles, drag-and-drop of every
// kind of file, exports.

#include "test_util.h"

#include "analysis/aggregations.h"
#include "shell/mainwindow.h"
#include "result/result_json.h"
#include "files/file_loader.h"
#include "viewmodel/palette.h"
#include "results/dashboard.h"
#include "results/heatmap_view.h"
#include "shell/message_banner.h"
#include "results/panels.h"
#include "results/selection_model.h"
#include "results/token_view.h"

#include <gtest/gtest.h>

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QFile>
#include <QKeyEvent>
#include <QMimeData>
#include <QMouseEvent>
#include <QSlider>
#include <QTemporaryDir>
#include <QToolButton>
#include <QUrl>

#include <memory>

namespace tokenlens::gui {
namespace {

namespace an = tokenlens::analysis;

void moveMouse(QWidget* w, QPointF pos) {
    QMouseEvent ev(QEvent::MouseMove, pos, w->mapToGlobal(pos), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(w, &ev);
}

void click(QWidget* w, QPointF pos) {
    QMouseEvent press(QEvent::MouseButtonPress, pos, w->mapToGlobal(pos), Qt::LeftButton, Qt::LeftButton,
                      Qt::NoModifier);
    QApplication::sendEvent(w, &press);
    QMouseEvent release(QEvent::MouseButtonRelease, pos, w->mapToGlobal(pos), Qt::LeftButton, Qt::NoButton,
                        Qt::NoModifier);
    QApplication::sendEvent(w, &release);
}

void pressKey(QWidget* w, int key) {
    QKeyEvent press(QEvent::KeyPress, key, Qt::NoModifier);
    QApplication::sendEvent(w, &press);
}

bool sameColour(QRgb a, const QColor& b, int tolerance = 2) {
    return std::abs(qRed(a) - b.red()) <= tolerance && std::abs(qGreen(a) - b.green()) <= tolerance &&
           std::abs(qBlue(a) - b.blue()) <= tolerance;
}

class Window : public ::testing::Test {
protected:
    void SetUp() override {
        window = std::make_unique<MainWindow>();
        window->setTheme(Theme::Light);
        window->resize(1400, 900);
        window->show();
        ASSERT_TRUE(open(test::sampleResultPath())) << lastMessage.toStdString();
        dash = window->dashboard();
        QCoreApplication::processEvents();
    }

    // Opens (or drops, when `drop`) a file and waits for the window's verdict.
    bool open(const QString& path, bool drop = false) {
        bool handled = false, ok = false;
        auto c = QObject::connect(window.get(), &MainWindow::fileHandled, window.get(),
                                  [&](const QString& p, bool good, const QString& message) {
                                      if (p != path) return;
                                      handled = true;
                                      ok = good;
                                      lastMessage = message;
                                  });
        if (drop) {
            auto* mime = new QMimeData;
            mime->setUrls({QUrl::fromLocalFile(path)});
            const QPoint at(200, 200);
            QDragEnterEvent enter(at, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
            QApplication::sendEvent(window.get(), &enter);
            EXPECT_TRUE(enter.isAccepted());
            QDropEvent dropEvent(QPointF(at), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
            QApplication::sendEvent(window.get(), &dropEvent);
            delete mime;
        } else {
            window->openFile(path);
        }
        EXPECT_TRUE(window->isLoading() || handled); // parsing runs on a worker thread
        test::waitFor([&] { return handled; });
        QObject::disconnect(c);
        return handled && ok;
    }

    QString tempFile(const char* name, const QByteArray& bytes) {
        const QString path = tmp.filePath(QString::fromLatin1(name));
        QFile f(path);
        EXPECT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(bytes);
        return path;
    }

    // The fills the aggregation functions predict for `focus` (context index).
    std::vector<QColor> predictedFills(int64_t focus) const {
        const ResultModel& m = dash->model();
        const int64_t n = m.promptLength(), t = m.outputLength(), c = m.window();
        std::vector<std::vector<double>> per;
        for (int method : m.activeMethods()) {
            const auto norm = an::normalize(m.methodResult(method).raw, m.scope(), n);
            std::vector<double> v;
            if (focus < 0) {
                const auto imp = an::tokenImportance(norm, n);
                v = vectorIntensity(imp.input);
                const auto o = vectorIntensity(imp.output);
                v.insert(v.end(), o.begin(), o.end());
            } else if (focus < n) {
                v.assign(static_cast<size_t>(n), NAN);
                const auto w = vectorIntensity(an::inputCentredWindow(norm, n, focus, c));
                v.insert(v.end(), w.begin(), w.end());
            } else {
                v = vectorIntensity(an::outputCentredWindow(norm, n, focus - n, c, true));
            }
            per.push_back(v);
        }
        std::vector<QColor> out;
        const auto colours = m.activeColours();
        for (int64_t k = 0; k < n + t; ++k) {
            std::vector<double> vals;
            for (const auto& v : per) vals.push_back(v[static_cast<size_t>(k)]);
            out.push_back(blendIntensities(vals, colours));
        }
        return out;
    }

    std::vector<QColor> shownFills() const {
        std::vector<QColor> out;
        for (int64_t k = 0; k < dash->model().contextLength(); ++k) out.push_back(dash->tokenView()->fillOf(k));
        return out;
    }

    std::unique_ptr<MainWindow> window;
    Dashboard* dash = nullptr;
    QString lastMessage;
    QTemporaryDir tmp;
};

// ------------------------------------------------------------------- hover

TEST_F(Window, HoveringATokenGivesTheColoursTheAggregationsPredict) {
    TokenView* tv = dash->tokenView();
    const int64_t n = dash->model().promptLength(), t = dash->model().outputLength();
    ASSERT_EQ(n, 7);
    ASSERT_EQ(t, 5);
    dash->setWindow(2);
    EXPECT_EQ(shownFills(), predictedFills(-1)); // nothing hovered: token importance (eq. 6)
    for (int64_t k : {int64_t{1}, int64_t{5}, n, n + 3}) {
        moveMouse(tv->viewport(), tv->tokenRect(k).center());
        ASSERT_EQ(dash->selection()->hovered(), k);
        EXPECT_EQ(shownFills(), predictedFills(k)) << "hovering token " << k;
        EXPECT_EQ(tv->colouring().mode, k < n ? ColourMode::InputWindow : ColourMode::OutputWindow);
    }
    // What is painted is that colour over the view's background.
    const int64_t k = n + 3;
    moveMouse(tv->viewport(), tv->tokenRect(k).center());
    const QImage shot = tv->viewport()->grab().toImage();
    const qreal dpr = shot.devicePixelRatio();
    const QColor base = tv->palette().color(QPalette::Base);
    int checked = 0;
    for (int64_t q = 0; q < n + t; ++q) {
        const QRectF r = tv->tokenRect(q);
        const QColor want = composite(tv->fillOf(q), base);
        const QPoint px(static_cast<int>((r.left() + 2) * dpr), static_cast<int>(r.center().y() * dpr));
        EXPECT_TRUE(sameColour(shot.pixel(px), want, 3)) << "token " << q << " painted " << std::hex << shot.pixel(px)
                                                          << " want " << want.name().toStdString();
        ++checked;
    }
    EXPECT_EQ(checked, n + t);
    // Leaving the view: back to token importance.
    QEvent leave(QEvent::Leave);
    QApplication::sendEvent(tv->viewport(), &leave);
    EXPECT_EQ(dash->selection()->hovered(), -1);
    EXPECT_EQ(shownFills(), predictedFills(-1));
}

TEST_F(Window, ClickPinsAndEscapeClears) {
    TokenView* tv = dash->tokenView();
    const int64_t n = dash->model().promptLength();
    click(tv->viewport(), tv->tokenRect(n + 1).center());
    EXPECT_EQ(dash->selection()->pinned(), n + 1);
    // Hovering elsewhere keeps the pinned colours.
    moveMouse(tv->viewport(), tv->tokenRect(2).center());
    EXPECT_EQ(dash->selection()->hovered(), 2);
    EXPECT_EQ(shownFills(), predictedFills(n + 1));
    EXPECT_NE(dash->detailsPanel()->text().indexOf(QStringLiteral("→ y₁")), -1) << dash->detailsPanel()->text().toStdString();
    pressKey(tv, Qt::Key_Escape);
    EXPECT_EQ(dash->selection()->pinned(), -1);
    EXPECT_EQ(dash->selection()->hovered(), -1);
    // The window's Esc action does the same.
    dash->selection()->setPinned(3);
    window->action(QStringLiteral("clearSelection"))->trigger();
    EXPECT_EQ(dash->selection()->pinned(), -1);
}

TEST_F(Window, HeatmapHoverIsTheSameSelection) {
    HeatmapView* hm = dash->heatmapView();
    const int64_t n = dash->model().promptLength();
    moveMouse(hm, hm->cellCentre(2, 3));
    EXPECT_EQ(dash->selection()->cellRow(), 2);
    EXPECT_EQ(dash->selection()->cellCol(), 3);
    EXPECT_EQ(dash->selection()->hovered(), n + 3);
    EXPECT_EQ(shownFills(), predictedFills(n + 3)); // the token view follows
    EXPECT_NE(dash->detailsPanel()->text().indexOf(QStringLiteral("Cell A[2, 3]")), -1);
    // Hovering a token moves the heatmap's crosshair to its row.
    TokenView* tv = dash->tokenView();
    moveMouse(tv->viewport(), tv->tokenRect(4).center());
    QEvent leave(QEvent::Leave);
    QApplication::sendEvent(hm, &leave);
    EXPECT_EQ(dash->selection()->cellRow(), -1);
}

// ------------------------------------------------------------------ slider

TEST_F(Window, WindowSliderRespectsItsBounds) {
    QSlider* s = dash->windowSlider();
    const auto& m = dash->model();
    const int maxC = static_cast<int>(an::maxWindow(m.promptLength(), m.outputLength()));
    ASSERT_EQ(maxC, 2); // ⌊min(7, 5)/2⌋
    EXPECT_EQ(s->minimum(), 1);
    EXPECT_EQ(s->maximum(), maxC);
    s->setValue(100);
    EXPECT_EQ(s->value(), maxC);
    EXPECT_EQ(m.window(), maxC);
    s->setValue(-5);
    EXPECT_EQ(m.window(), 1);
    // Dragging updates the view as it goes (tracking).
    s->setSliderDown(true);
    s->setSliderPosition(2);
    EXPECT_EQ(m.window(), 2);
    s->setSliderDown(false);
    dash->selection()->setHovered(m.promptLength() + 2);
    EXPECT_EQ(dash->tokenView()->colouring().window, 2);
    // The keyboard actions stop at the bounds too.
    window->action(QStringLiteral("windowLarger"))->trigger();
    EXPECT_EQ(m.window(), 2);
    window->action(QStringLiteral("windowSmaller"))->trigger();
    window->action(QStringLiteral("windowSmaller"))->trigger();
    EXPECT_EQ(m.window(), 1);
    EXPECT_EQ(s->value(), 1);

    // One output token: no admissible window, the slider is off.
    dash->setJob(test::syntheticJob(6, 1, {"attention"}), QStringLiteral("synthetic"));
    EXPECT_FALSE(s->isEnabled());
    // A longer result: the maximum follows ⌊min(n,t)/2⌋.
    dash->setJob(test::syntheticJob(30, 12, {"attention"}), QStringLiteral("synthetic"));
    EXPECT_TRUE(s->isEnabled());
    EXPECT_EQ(s->maximum(), 6);
}

// ----------------------------------------------------------------- methods

TEST_F(Window, TogglingMethodsChangesTheBlend) {
    const auto& m = dash->model();
    ASSERT_EQ(m.activeMethods().size(), 2u); // attention + integrated gradients
    const auto both = shownFills();
    // Integrated gradients off (its button): every token takes attention's hue.
    QToolButton* ig = dash->methodButton("integrated_gradients");
    ASSERT_NE(ig, nullptr);
    ig->click();
    EXPECT_FALSE(m.isActive(m.methodIndex("integrated_gradients")));
    const auto attentionOnly = shownFills();
    EXPECT_NE(attentionOnly, both);
    const QColor blue = methodColour("attention");
    for (const QColor& c : attentionOnly) {
        if (c.alpha() == 0) continue;
        EXPECT_EQ(c.rgb(), blue.rgb());
    }
    // Saliency on with key 2 (its action): a different blend again.
    window->action(QStringLiteral("method2"))->trigger();
    EXPECT_TRUE(m.isActive(m.methodIndex("saliency")));
    EXPECT_TRUE(dash->methodButton("saliency")->isChecked());
    EXPECT_NE(shownFills(), attentionOnly);
    EXPECT_EQ(shownFills(), predictedFills(-1));
    // Keys number the result's methods (attention 1, saliency 2, integrated
    // gradients 3): key 3 brings integrated gradients back; 1 and 2 off gives it alone.
    window->action(QStringLiteral("method3"))->trigger();
    window->action(QStringLiteral("method1"))->trigger();
    window->action(QStringLiteral("method2"))->trigger();
    EXPECT_EQ(m.activeMethods(), (std::vector<int>{m.methodIndex("integrated_gradients")}));
    // Key 4 (the result has three methods) changes nothing; a method the
    // result lacks has no button in the header.
    const auto before = shownFills();
    window->action(QStringLiteral("method4"))->trigger();
    EXPECT_EQ(shownFills(), before);
    EXPECT_FALSE(dash->methodButton("occlusion")->isEnabled());
    EXPECT_TRUE(dash->methodButton("occlusion")->isHidden());
    EXPECT_FALSE(dash->methodButton("saliency")->isHidden());
    EXPECT_TRUE(dash->methodButton("integrated_gradients")->text().startsWith(QStringLiteral("3 ")));
    // Tooltips explain each method in one sentence (the registry's).
    EXPECT_TRUE(dash->methodButton("saliency")->toolTip().contains(methodDescription("saliency").toHtmlEscaped()));
}

TEST_F(Window, ModelSelectorSwitchesTokens) {
    EXPECT_EQ(dash->modelBox()->count(), 2);
    dash->setCurrentModel(1);
    EXPECT_EQ(dash->model().promptLength(), 8);
    EXPECT_EQ(dash->tokenView()->layout().boxes().size(), 13u);
    EXPECT_EQ(dash->heatmapView()->geometry().rows(), 13);
    // Its warning (integrated gradients not converged) is listed with advice.
    EXPECT_GE(dash->warningsPanel()->count(), 1);
    EXPECT_TRUE(dash->warningsPanel()->text().contains(QStringLiteral("not converged")));
    EXPECT_TRUE(dash->warningsPanel()->text().contains(QStringLiteral("more steps")));
}

// -------------------------------------------------------------- drag/drop

TEST_F(Window, DroppingEachKindOfFile) {
    const JobResult before = dash->model().job();
    const QString source = dash->source();
    auto untouched = [&] {
        EXPECT_TRUE(dash->model().job() == before);
        EXPECT_EQ(dash->source(), source);
    };

    // Binary.
    EXPECT_FALSE(open(tempFile("image.json", QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)), true));
    EXPECT_TRUE(window->banner()->isVisible());
    EXPECT_EQ(window->banner()->kind(), MessageBanner::Kind::Error);
    EXPECT_TRUE(window->banner()->text().contains(QStringLiteral("binary")));
    untouched();
    // Huge (over 10 MB of text).
    EXPECT_FALSE(open(tempFile("huge.txt", QByteArray(11 * 1024 * 1024, 'x')), true));
    EXPECT_TRUE(window->banner()->text().contains(QStringLiteral("11.0 MB")));
    untouched();
    // Invalid UTF-8.
    EXPECT_FALSE(open(tempFile("latin1.json", QByteArray("{\"schema\": \"caf\xe9\"}")), true));
    EXPECT_TRUE(window->banner()->text().contains(QStringLiteral("UTF-8")));
    untouched();
    // Malformed result JSON.
    EXPECT_FALSE(open(tempFile("cut.json", QByteArray("{\"schema\": \"tokenlens.job/1\", \"results\": [")), true));
    EXPECT_TRUE(window->banner()->text().contains(QStringLiteral("not a TokenLens result")));
    untouched();
    // A prompt file is read for the job creation page.
    QStringList prompts;
    QObject::connect(window.get(), &MainWindow::promptTextOpened, window.get(),
                     [&](const QString& text, const QString&) { prompts << text; });
    EXPECT_TRUE(open(tempFile("prompt.txt", QByteArray("Why is the sky blue?")), true));
    ASSERT_EQ(prompts.size(), 1);
    EXPECT_EQ(prompts.at(0), QStringLiteral("Why is the sky blue?"));
    untouched();
    // A result opens and replaces what was shown.
    const QString other = tmp.filePath(QStringLiteral("other.json"));
    {
        QFile f(other);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(QByteArray::fromStdString(writeResultJson(test::syntheticJob(10, 6, {"saliency", "occlusion"}))));
    }
    EXPECT_TRUE(open(other, true)) << lastMessage.toStdString();
    EXPECT_FALSE(window->banner()->isVisible());
    EXPECT_EQ(dash->model().promptLength(), 10);
    EXPECT_EQ(dash->source(), other);
    EXPECT_EQ(window->recentFiles().value(0), other);
    EXPECT_EQ(window->currentPage(), MainWindow::Page::Dashboard);
}

// ----------------------------------------------------------------- exports

TEST_F(Window, ExportsWriteValidFiles) {
    dash->selection()->setHovered(dash->model().promptLength() + 1);
    const QString png = tmp.filePath(QStringLiteral("tokens.png"));
    ASSERT_EQ(dash->exportTokenViewPng(png, 2), QString());
    QFile f(png);
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    EXPECT_EQ(f.read(8), QByteArray("\x89PNG\r\n\x1a\n", 8));
    f.close();
    QImage img(png);
    ASSERT_FALSE(img.isNull());
    const int viewWidth = std::max(640, dash->tokenView()->viewport()->width());
    EXPECT_EQ(img.width(), 2 * viewWidth);
    // The hover state is in the picture: some pixel has the hovered output's
    // colouring (attention + integrated gradients mixed) — not a blank image.
    int coloured = 0;
    for (int y = 0; y < img.height(); y += 3) {
        for (int x = 0; x < img.width(); x += 3) {
            const QRgb p = img.pixel(x, y);
            if (QColor(p).hsvSaturation() > 60) ++coloured;
        }
    }
    EXPECT_GT(coloured, 20);

    const QString heat = tmp.filePath(QStringLiteral("heatmap.png"));
    ASSERT_EQ(dash->exportHeatmapPng(heat, 3), QString());
    QImage himg(heat);
    ASSERT_FALSE(himg.isNull());
    // Cropped to the matrix, labels and legend (the sample's matrix is small).
    EXPECT_LE(himg.width(), 3 * dash->heatmapView()->width());
    EXPECT_GE(himg.width(), 3 * 300);
    EXPECT_NEAR(himg.devicePixelRatio(), 1.0, 1e-9); // saved as plain pixels
    EXPECT_GT(himg.height(), 3 * 12 * 10); // 12 rows of cells at least 10 px, plus labels and title

    const QString json = tmp.filePath(QStringLiteral("result.json"));
    ASSERT_EQ(dash->exportResultJson(json), QString());
    const auto back = readResultFile(json.toStdString());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(back.value() == dash->model().job());
    const auto original = readResultFile(test::sampleResultPath().toStdString());
    ASSERT_TRUE(original.ok());
    EXPECT_TRUE(back.value() == original.value());

    const QString csv = tmp.filePath(QStringLiteral("matrix.csv"));
    ASSERT_EQ(dash->exportMatrixCsv(csv), QString());
    QFile c(csv);
    ASSERT_TRUE(c.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = c.readAll().split('\n');
    EXPECT_EQ(lines.size(), 1 + 12 + 1); // header, 12 context rows, final newline
    EXPECT_TRUE(lines[0].startsWith("\"tiny-gpt2: mean of 2 methods (eq. 10)")) << lines[0].toStdString();
}

TEST_F(Window, ThemesSwitchThePalette) {
    window->setTheme(Theme::Dark);
    QCoreApplication::processEvents();
    EXPECT_TRUE(isDark(QApplication::palette()));
    EXPECT_TRUE(isDark(dash->tokenView()->palette()));
    const QImage dark = dash->heatmapView()->render(1, QString());
    window->setTheme(Theme::Light);
    QCoreApplication::processEvents();
    EXPECT_FALSE(isDark(QApplication::palette()));
    const QImage light = dash->heatmapView()->render(1, QString());
    EXPECT_NE(dark.pixel(2, 2), light.pixel(2, 2));
}

} // namespace
} // namespace tokenlens::gui

namespace tokenlens::gui {
namespace {

// Results the views must survive: no output, one token each, failed and
// cancelled methods, no results at all.
TEST(DegenerateResults, ShowWithoutCrashing) {
    MainWindow window;
    window.resize(1000, 700);
    window.show();
    Dashboard* d = window.dashboard();
    auto exercise = [&](const JobResult& job) {
        d->setJob(job, QStringLiteral("degenerate"));
        QCoreApplication::processEvents();
        const int64_t K = d->model().contextLength();
        for (int64_t k = -1; k <= K; ++k) {
            d->selection()->setHovered(k);
            d->selection()->setPinned(k);
            d->tokenView()->viewport()->repaint();
            d->heatmapView()->repaint();
        }
        d->selection()->setCell(0, 0);
        d->heatmapView()->repaint();
        d->selection()->clear();
        d->setWindow(5);
        d->setScope(analysis::NormScope::ColumnL1);
        d->setScope(analysis::NormScope::Matrix);
        EXPECT_FALSE(d->tokenView()->render(1, QStringLiteral("t")).isNull());
        EXPECT_FALSE(d->heatmapView()->render(1, QStringLiteral("t")).isNull());
    };
    exercise(test::syntheticJob(5, 0, {"attention"}));
    EXPECT_EQ(d->model().outputLength(), 0);
    EXPECT_FALSE(d->windowSlider()->isEnabled());
    exercise(test::syntheticJob(1, 1, {"attention", "saliency"}));
    exercise(JobResult{});

    JobResult failed = test::syntheticJob(4, 3, {"attention", "saliency", "occlusion"});
    failed.results[1].status = RunStatus::Failed;
    failed.results[1].error = "out of memory on cpu";
    failed.results[1].raw = {};
    failed.results[2].status = RunStatus::Cancelled;
    exercise(failed);
    EXPECT_EQ(d->model().methods().size(), 1u);
    EXPECT_EQ(d->warningsPanel()->count(), 2);
    EXPECT_TRUE(d->warningsPanel()->text().contains(QStringLiteral("out of memory on cpu")));
    EXPECT_TRUE(d->warningsPanel()->text().contains(QStringLiteral("cancelled")));
    EXPECT_FALSE(d->methodButton("saliency")->isEnabled());
}

} // namespace
} // namespace tokenlens::gui
