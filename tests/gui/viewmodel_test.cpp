// The value types behind the views, without widgets: layout and hit-testing,
// colour blending, heatmap geometry, file checks, CSV, and the colours the
// ResultModel computes compared with the aggregation functions.

#include "test_util.h"

#include "analysis/aggregations.h"
#include "attribution/method.h"
#include "result/csv.h"
#include "result/result_json.h"
#include "result/result_sidecar.h"
#include "files/file_loader.h"
#include "viewmodel/heatmap_geometry.h"
#include "viewmodel/palette.h"
#include "viewmodel/result_model.h"
#include "viewmodel/token_layout.h"

#include <gtest/gtest.h>

#include <QFile>
#include <QTemporaryDir>

#include <cmath>
#include <filesystem>

namespace tokenlens::gui {
namespace {

namespace an = tokenlens::analysis;

// 10 pixels per character.
double fixedWidth(const QString& s) { return 10.0 * static_cast<double>(s.size()); }

TokenLayoutParams params(double width) {
    TokenLayoutParams p;
    p.left = 0;
    p.top = 0;
    p.width = width;
    p.lineHeight = 20;
    p.lineGap = 4;
    p.padding = 2;
    p.boxGap = 2;
    p.headingHeight = 10;
    p.sectionGap = 6;
    return p;
}

// ------------------------------------------------------------------ layout

TEST(TokenLayout, FlowsWrapsAndKeepsSpaces) {
    TokenLayout l;
    // Prompt "ab", " cd", " ef" (n = 3), output " gh".
    l.compute({"ab", " cd", " ef", " gh"}, {0, 0, 0, 0}, 3, params(100), fixedWidth);
    ASSERT_EQ(l.boxes().size(), 4u);
    // Box width = text + 2 padding: 24, 34 (the leading space counts), 34.
    EXPECT_DOUBLE_EQ(l.box(0).width(), 24);
    EXPECT_DOUBLE_EQ(l.box(1).width(), 34);
    EXPECT_DOUBLE_EQ(l.box(1).left(), 26); // 24 + gap 2
    // 26 + 34 + 2 = 62; 62 + 34 = 96 ≤ 100: still on the first line.
    EXPECT_DOUBLE_EQ(l.box(2).top(), l.box(0).top());
    EXPECT_DOUBLE_EQ(l.box(0).top(), 10); // under the prompt heading
    // The output block starts below its own heading.
    EXPECT_GT(l.box(3).top(), l.box(2).bottom());
    EXPECT_DOUBLE_EQ(l.box(3).top(), l.outputHeading().bottom());
    EXPECT_DOUBLE_EQ(l.box(3).left(), 0);

    // Narrower: the third token wraps.
    l.compute({"ab", " cd", " ef", " gh"}, {0, 0, 0, 0}, 3, params(90), fixedWidth);
    EXPECT_DOUBLE_EQ(l.box(2).left(), 0);
    EXPECT_DOUBLE_EQ(l.box(2).top(), l.box(0).bottom() + 4);
}

TEST(TokenLayout, NewlinesEndLinesAndBlankLinesStay) {
    TokenLayout l;
    // "a", "↵" (one newline), "b", "↵↵" (two), "c"
    l.compute({"a", "↵", "b", "↵↵", "c"}, {0, 1, 0, 2, 0}, 5, params(500), fixedWidth);
    const double line = 20 + 4;
    EXPECT_DOUBLE_EQ(l.box(0).top(), l.box(1).top()); // the newline token ends its own line
    EXPECT_DOUBLE_EQ(l.box(2).top(), l.box(0).top() + line);
    EXPECT_DOUBLE_EQ(l.box(2).left(), 0);
    EXPECT_DOUBLE_EQ(l.box(4).top(), l.box(2).top() + 2 * line); // one blank line between
    EXPECT_EQ(l.lines().size(), 4u);                             // a↵ | b↵↵ | (blank) | c
}

TEST(TokenLayout, TooLongTokenGetsItsOwnCutLine) {
    TokenLayout l;
    l.compute({"ab", "0123456789012345", "cd"}, {0, 0, 0}, 3, params(100), fixedWidth);
    EXPECT_DOUBLE_EQ(l.box(1).width(), 100);
    EXPECT_DOUBLE_EQ(l.box(1).left(), 0);
    EXPECT_GT(l.box(1).top(), l.box(0).top());
    EXPECT_GT(l.box(2).top(), l.box(1).top());
}

TEST(TokenLayout, HitTestFindsTokensAndBridgesGaps) {
    TokenLayout l;
    l.compute({"ab", " cd", " ef", " gh"}, {0, 0, 0, 0}, 3, params(90), fixedWidth);
    for (int64_t k = 0; k < 4; ++k) {
        EXPECT_EQ(l.hitTest(l.box(k).center()), k);
        EXPECT_EQ(l.hitTest(l.box(k).topLeft() + QPointF(0.1, 0.1)), k);
    }
    // The 2-pixel gap between boxes 0 and 1: each half belongs to a neighbour.
    const double gapMid = (l.box(0).right() + l.box(1).left()) / 2;
    EXPECT_EQ(l.hitTest({gapMid - 0.5, l.box(0).center().y()}), 0);
    EXPECT_EQ(l.hitTest({gapMid + 0.5, l.box(0).center().y()}), 1);
    // Between two lines.
    EXPECT_EQ(l.hitTest({l.box(0).center().x(), l.box(0).bottom() + 1}), 0);
    EXPECT_EQ(l.hitTest({l.box(2).center().x(), l.box(2).top() - 1}), 2);
    // Right of the last token of a line, in a heading, far below: nothing.
    EXPECT_EQ(l.hitTest({l.box(1).right() + 20, l.box(1).center().y()}), -1);
    EXPECT_EQ(l.hitTest({5, 2}), -1);
    EXPECT_EQ(l.hitTest({5, 10000}), -1);
}

// ----------------------------------------------------------------- palette

TEST(Palette, RedAndBlueGivePurpleWhereBothAgree) {
    const QColor red(255, 0, 0), blue(0, 0, 255);
    const std::vector<QColor> colours{red, blue};
    const std::vector<double> both{1.0, 1.0};
    const QColor purple = blendIntensities(both, colours);
    EXPECT_EQ(purple.red(), 128);
    EXPECT_EQ(purple.green(), 0);
    EXPECT_EQ(purple.blue(), 128);
    EXPECT_NEAR(purple.alphaF(), kMaxFillAlpha, 1e-3);
    // Only red says "important": red hue, half strength.
    const std::vector<double> redOnly{1.0, 0.0};
    const QColor r = blendIntensities(redOnly, colours);
    EXPECT_EQ(r.red(), 255);
    EXPECT_EQ(r.blue(), 0);
    EXPECT_NEAR(r.alphaF(), kMaxFillAlpha / 2, 1e-3);
    // NaN is "no value": skipped, not zero.
    const std::vector<double> withNan{0.6, NAN};
    const QColor n = blendIntensities(withNan, colours);
    EXPECT_EQ(n.red(), 255);
    EXPECT_NEAR(n.alphaF(), 0.6 * kMaxFillAlpha, 2e-3);
    // Nothing: transparent. Values outside [0,1] are clamped.
    const std::vector<double> none{NAN, NAN}, zeros{0.0, 0.0}, big{5.0, -1.0};
    EXPECT_EQ(blendIntensities(none, colours).alpha(), 0);
    EXPECT_EQ(blendIntensities(zeros, colours).alpha(), 0);
    EXPECT_NEAR(blendIntensities(big, colours).alphaF(), kMaxFillAlpha / 2, 1e-3);
}

TEST(Palette, MethodColoursAreDistinctAndTextStaysReadable) {
    const char* ids[] = {"attention", "saliency", "input_x_gradient", "occlusion", "integrated_gradients"};
    for (size_t a = 0; a < 5; ++a) {
        // Registry order: later methods may be inserted between these five.
        EXPECT_GE(methodOrder(ids[a]), 0);
        if (a > 0) {
            EXPECT_LT(methodOrder(ids[a - 1]), methodOrder(ids[a]));
        }
        EXPECT_FALSE(methodDescription(ids[a]).isEmpty());
        for (size_t b = a + 1; b < 5; ++b) EXPECT_NE(methodColour(ids[a]), methodColour(ids[b]));
        // Every method at full strength on white and on a dark base: the chosen
        // text colour reaches WCAG AA for large text (3:1) at least.
        for (const QColor base : {QColor(255, 255, 255), QColor(0x1e, 0x1f, 0x22)}) {
            QColor fill = methodColour(ids[a]);
            fill.setAlphaF(static_cast<float>(kMaxFillAlpha));
            const QColor bg = composite(fill, base);
            EXPECT_GE(contrastRatio(readableTextOn(bg), bg), 3.0) << ids[a];
        }
    }
}

TEST(Palette, EveryRegisteredMethodHasItsOwnColourAndLabel) {
    const QColor grey(0x80, 0x80, 0x80);
    const auto& all = allMethods();
    for (size_t a = 0; a < all.size(); ++a) {
        const auto id = all[a]->id();
        EXPECT_NE(methodColour(id), grey) << id << " has no palette colour";
        EXPECT_FALSE(methodLabel(id).isEmpty()) << id;
        for (size_t b = a + 1; b < all.size(); ++b) EXPECT_NE(methodColour(id), methodColour(all[b]->id())) << id;
        for (const QColor base : {QColor(255, 255, 255), QColor(0x1e, 0x1f, 0x22)}) {
            QColor fill = methodColour(id);
            fill.setAlphaF(static_cast<float>(kMaxFillAlpha));
            const QColor bg = composite(fill, base);
            EXPECT_GE(contrastRatio(readableTextOn(bg), bg), 3.0) << id;
        }
    }
}

// ---------------------------------------------------------------- geometry

TEST(HeatmapGeometry, ZoomPanAndHitTest) {
    HeatmapGeometry g;
    g.setPlot(QRectF(100, 50, 400, 300));
    g.setShape(20, 10); // fits with 15 px square cells
    EXPECT_DOUBLE_EQ(g.cellW(), 15);
    EXPECT_DOUBLE_EQ(g.cellH(), 15);
    auto c = g.cellAt({100 + 15 * 3 + 1, 50 + 15 * 7 + 1});
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(*c, (CellIndex{7, 3}));
    EXPECT_FALSE(g.cellAt({99, 60}).has_value());     // left of the plot
    EXPECT_FALSE(g.cellAt({100 + 151, 60}).has_value()); // right of the matrix
    // Zoom keeps the cell under the mouse in place (once the matrix is larger
    // than the plot; a smaller one stays at the top left).
    const QPointF at(100 + 15 * 3 + 7, 50 + 15 * 7 + 7);
    g.zoomAt(at, 4);
    EXPECT_DOUBLE_EQ(g.cellW(), 60);
    EXPECT_EQ(*g.cellAt(at), (CellIndex{7, 3}));
    // Panning is clamped to the content.
    g.panBy({-10000, -10000});
    EXPECT_DOUBLE_EQ(g.offset().x(), 10 * 60 - 400);
    EXPECT_DOUBLE_EQ(g.offset().y(), 20 * 60 - 300);
    g.panBy({10000, 10000});
    EXPECT_EQ(g.offset(), QPointF(0, 0));
    // Zoom is bounded: never beyond kMaxCell, never smaller than fitting.
    g.zoomAt(at, 1000);
    EXPECT_DOUBLE_EQ(g.cellW(), HeatmapGeometry::kMaxCell);
    g.zoomAt(at, 1e-6);
    EXPECT_DOUBLE_EQ(g.cellW(), g.minCell());
}

TEST(HeatmapGeometry, LargeMatrixFitsAndDrawsFewTilesFromAShrunkLevel) {
    HeatmapGeometry g;
    g.setPlot(QRectF(0, 0, 800, 400));
    g.setShape(4096, 1024);
    // Too large for readable cells: the whole matrix, fitted per axis.
    EXPECT_DOUBLE_EQ(g.cellW(), 800.0 / 1024);
    EXPECT_DOUBLE_EQ(g.cellH(), 400.0 / 4096);
    const auto [lx, ly] = g.pyramidLevel();
    EXPECT_EQ(lx, 0);  // 0.78 px per cell: full width resolution
    EXPECT_EQ(ly, 3);  // 0.098 px per cell: 8 rows per source pixel
    const auto tiles = g.visibleTiles(1024, 4096 >> 3);
    EXPECT_EQ(tiles.size(), 4u * 2u);
    // Zoomed in, only the tiles under the plot are drawn.
    g.zoomAt({400, 200}, 40);
    const auto [lx2, ly2] = g.pyramidLevel();
    EXPECT_EQ(lx2, 0);
    EXPECT_EQ(ly2, 0);
    const auto few = g.visibleTiles(1024, 4096);
    EXPECT_LE(few.size(), 4u);
    for (const auto& t : few) EXPECT_TRUE(t.target.intersects(g.plot()));
}

TEST(HeatmapGeometry, LabelStepKeepsLabelsApart) {
    EXPECT_EQ(HeatmapGeometry::labelStep(20, 15), 1);
    EXPECT_EQ(HeatmapGeometry::labelStep(10, 15), 2);
    EXPECT_EQ(HeatmapGeometry::labelStep(4, 15), 5);
    EXPECT_EQ(HeatmapGeometry::labelStep(1, 15), 20);
    EXPECT_EQ(HeatmapGeometry::labelStep(0.1, 15), 200);
    for (double cell : {0.05, 0.3, 1.0, 2.5, 7.0, 13.0}) {
        EXPECT_GE(static_cast<double>(HeatmapGeometry::labelStep(cell, 15)) * cell, 15);
    }
}

// ------------------------------------------------------------------- files

class FileLoading : public ::testing::Test {
protected:
    QString write(const char* name, const QByteArray& bytes) {
        const QString path = dir.filePath(QString::fromLatin1(name));
        QFile f(path);
        EXPECT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(bytes);
        return path;
    }
    QTemporaryDir dir;
};

TEST_F(FileLoading, ResultOpens) {
    const LoadedFile f = loadFile(test::sampleResultPath());
    ASSERT_TRUE(f.ok()) << f.message.toStdString();
    EXPECT_EQ(f.kind, FileKind::Result);
    EXPECT_EQ(f.result.results.size(), 6u);
}

TEST_F(FileLoading, AResultsSidecarCountsInTheBytesRead) {
    // The status line says how much was read: the JSON alone, or the JSON and
    // the sidecar its matrices came from (a large result is mostly sidecar).
    const LoadedFile inlineOnly = loadFile(test::sampleResultPath());
    ASSERT_TRUE(inlineOnly.ok());
    EXPECT_EQ(inlineOnly.sidecarBytes, 0);
    const std::filesystem::path json = dir.filePath(QStringLiteral("side.json")).toStdString();
    ASSERT_TRUE(writeResultFiles(json, toJson(inlineOnly.result, 0), inlineOnly.result).ok());
    const LoadedFile side = loadFile(QString::fromStdString(json.string()));
    ASSERT_TRUE(side.ok()) << side.message.toStdString();
    EXPECT_EQ(side.sidecarBytes, static_cast<int64_t>(std::filesystem::file_size(sidecarPathFor(json))));
    EXPECT_EQ(side.bytes, static_cast<int64_t>(std::filesystem::file_size(json)));
    EXPECT_TRUE(side.result.results == inlineOnly.result.results);
}

TEST_F(FileLoading, BadFilesGiveMessagesNamingThem) {
    QByteArray binary("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    const LoadedFile b = loadFile(write("picture.json", binary));
    EXPECT_FALSE(b.ok());
    EXPECT_TRUE(b.message.contains(QStringLiteral("picture.json")));
    EXPECT_TRUE(b.message.contains(QStringLiteral("binary")));

    const LoadedFile u = loadFile(write("latin1.txt", QByteArray("caf\xe9 au lait")));
    EXPECT_FALSE(u.ok());
    EXPECT_TRUE(u.message.contains(QStringLiteral("UTF-8")));
    EXPECT_TRUE(u.message.contains(QStringLiteral("byte 3")));

    const LoadedFile m = loadFile(write("broken.json", QByteArray("{\"schema\": \"tokenlens.job/1\", \"job_id\": ")));
    EXPECT_FALSE(m.ok());
    EXPECT_TRUE(m.message.contains(QStringLiteral("not a TokenLens result")));

    const LoadedFile k = loadFile(write("other.json", QByteArray("{\"schema\": \"tokenlens.job/1\"}")));
    EXPECT_FALSE(k.ok());
    EXPECT_TRUE(k.message.contains(QStringLiteral("job_id"))) << k.message.toStdString();

    QByteArray huge(static_cast<int>(kMaxTextFileBytes) + 1, 'a');
    const LoadedFile h = loadFile(write("huge.txt", huge));
    EXPECT_FALSE(h.ok());
    EXPECT_TRUE(h.message.contains(QStringLiteral("10.0 MB")));

    const LoadedFile d = loadFile(dir.path());
    EXPECT_FALSE(d.ok());
    EXPECT_TRUE(d.message.contains(QStringLiteral("folder")));

    const LoadedFile x = loadFile(dir.filePath(QStringLiteral("missing.json")));
    EXPECT_FALSE(x.ok());
}

TEST_F(FileLoading, PromptsAndBatchesAreRead) {
    const LoadedFile t = loadFile(write("prompt.md", QByteArray("# Hello\nWorld ✓")));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.kind, FileKind::PromptText);
    EXPECT_EQ(t.text, QStringLiteral("# Hello\nWorld ✓"));
    const LoadedFile j = loadFile(write("batch.jsonl", QByteArray("{\"prompt\": \"a\"}\n")));
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j.kind, FileKind::Batch);
    const LoadedFile o = loadFile(write("notes.xyz", QByteArray("plain words")));
    EXPECT_FALSE(o.ok());
}

TEST(Csv, QuotesAndEmptiesNaN) {
    AttributionMatrix a = AttributionMatrix::filled(2, 2);
    a.at(0, 0) = 0.5f;
    a.at(0, 1) = -1.25f;
    a.at(1, 1) = 3.0f;
    const std::string csv = matrixCsv(a, {"x0 The", "x1 a,b"}, {"y0 \"q\"", "y1  "}, "corner");
    EXPECT_EQ(csv, "corner,\"y0 \"\"q\"\"\",\"y1  \"\r\n"
                   "x0 The,0.5,-1.25\r\n"
                   "\"x1 a,b\",,3\r\n");
}

// ------------------------------------------------------------ result model

class ResultModelTest : public ::testing::Test {
protected:
    void SetUp() override {
        model.setJob(test::syntheticJob(9, 7, {"attention", "saliency", "integrated_gradients"}, 3));
    }
    ResultModel model;
};

TEST_F(ResultModelTest, DefaultsAndWindowBounds) {
    EXPECT_EQ(model.promptLength(), 9);
    EXPECT_EQ(model.outputLength(), 7);
    ASSERT_EQ(model.methods().size(), 3u);
    EXPECT_EQ(model.methods()[0].id, "attention"); // registry order
    // Attention and integrated gradients start active.
    EXPECT_EQ(model.activeMethods(), (std::vector<int>{0, 2}));
    EXPECT_EQ(model.maxWindow(), 3); // ⌊min(9,7)/2⌋
    model.setWindow(0);
    EXPECT_EQ(model.window(), 1);
    model.setWindow(99);
    EXPECT_EQ(model.window(), 3);
}

TEST_F(ResultModelTest, ColoursFollowTheAggregationFunctions) {
    const int64_t n = 9, t = 7;
    model.setWindow(2);
    const auto active = model.activeMethods();
    const auto colours = model.activeColours();
    // The views aggregate the display-normalised matrix (eq. 7 on the prompt block).
    auto normalized = [&](int m) { return an::normalize(model.methodResult(m).raw, an::NormScope::Matrix, n); };
    auto expectBlend = [&](const Colouring& col, const std::vector<std::vector<double>>& intensities) {
        for (int64_t k = 0; k < n + t; ++k) {
            std::vector<double> v;
            for (const auto& iv : intensities) v.push_back(iv[static_cast<size_t>(k)]);
            EXPECT_EQ(col.fills[static_cast<size_t>(k)], blendIntensities(v, colours)) << "token " << k;
        }
    };
    // No focus: token importance (eq. 6), inputs and outputs scaled separately.
    {
        std::vector<std::vector<double>> want;
        for (int m : active) {
            const auto imp = an::tokenImportance(normalized(m), n);
            auto v = vectorIntensity(imp.input);
            const auto o = vectorIntensity(imp.output);
            v.insert(v.end(), o.begin(), o.end());
            want.push_back(v);
        }
        expectBlend(model.colouring(-1), want);
    }
    // Prompt token 4: output tokens by the input-centred window (eq. 4).
    {
        std::vector<std::vector<double>> want;
        for (int m : active) {
            const auto w = vectorIntensity(an::inputCentredWindow(normalized(m), n, 4, 2));
            std::vector<double> v(static_cast<size_t>(n), NAN);
            v.insert(v.end(), w.begin(), w.end());
            want.push_back(v);
        }
        const Colouring col = model.colouring(4);
        EXPECT_EQ(col.mode, ColourMode::InputWindow);
        EXPECT_EQ(col.windowFirst, 2);
        EXPECT_EQ(col.windowLast, 6);
        expectBlend(col, want);
    }
    // Output token 3: context by the output-centred window (eq. 5).
    {
        std::vector<std::vector<double>> want;
        for (int m : active) {
            want.push_back(vectorIntensity(an::outputCentredWindow(normalized(m), n, 3, 2, true)));
        }
        const Colouring col = model.colouring(n + 3);
        EXPECT_EQ(col.mode, ColourMode::OutputWindow);
        EXPECT_EQ(col.windowFirst, n + 1);
        EXPECT_EQ(col.windowLast, n + 5);
        expectBlend(col, want);
    }
}

TEST_F(ResultModelTest, ScopeChangesTheColours) {
    const auto before = model.colouring(-1).fills;
    model.setScope(an::NormScope::ColumnL1);
    const auto after = model.colouring(-1).fills;
    EXPECT_NE(before, after);
    // Per-column L1: every output column sums to 1 over the prompt, so the
    // outputs' importance is constant and they are not coloured.
    for (int64_t j = 0; j < 7; ++j) EXPECT_EQ(after[static_cast<size_t>(9 + j)].alpha(), 0);
}

TEST_F(ResultModelTest, DetailsAndStatistics) {
    const TokenDetails d = model.details(9 + 2, -1);
    EXPECT_TRUE(d.output);
    EXPECT_EQ(d.position, 2);
    EXPECT_EQ(d.id, 5002);
    EXPECT_DOUBLE_EQ(d.stepProbability, 0.5);
    ASSERT_EQ(d.scores.size(), 2u);
    const auto imp = an::tokenImportance(model.methodResult(0).raw, 9);
    EXPECT_DOUBLE_EQ(d.scores[0].importance, imp.output[2]);
    EXPECT_EQ(d.scores[0].rank, an::rank(std::span<const double>(imp.output))[2]);

    const Statistics s = model.statistics(-1, 3);
    ASSERT_EQ(s.top.size(), 3u);
    std::vector<AttributionMatrix> raws{model.methodResult(0).raw, model.methodResult(2).raw};
    const auto mm = an::multiMethod(raws, an::NormScope::Matrix, 9);
    ASSERT_TRUE(mm.ok());
    const auto want = an::tokenImportance(mm.value(), 9).input;
    EXPECT_EQ(s.top, an::topK(std::span<const double>(want), 3));
}

TEST(ResultModel, SampleWithTwoModels) {
    const LoadedFile f = loadFile(test::sampleResultPath());
    ASSERT_TRUE(f.ok());
    ResultModel model;
    model.setJob(f.result);
    ASSERT_EQ(model.models().size(), 2u);
    EXPECT_EQ(model.models()[0], "tiny-gpt2");
    EXPECT_EQ(model.promptLength(), 7);
    model.setCurrentModel(1);
    EXPECT_EQ(model.promptLength(), 8); // tiny-llama adds BOS
    EXPECT_EQ(model.activeMethods().size(), 2u);
    const QImage img = model.heatmapImage(Qt::white);
    EXPECT_EQ(img.width(), 5);
    EXPECT_EQ(img.height(), 13);
    EXPECT_EQ(qAlpha(img.pixel(0, 12)), 0);   // y_4 predicting y_0: future, NaN
    EXPECT_EQ(qAlpha(img.pixel(0, 0)), 255); // a prompt cell
}

TEST(DisplayToken, ControlCharactersAreVisible) {
    EXPECT_EQ(displayToken("\n"), QStringLiteral("↵"));
    EXPECT_EQ(displayToken(" a\tb"), QStringLiteral(" a⇥b"));
    EXPECT_EQ(displayToken(""), QStringLiteral("∅"));
    EXPECT_EQ(newlineCount("\n\n"), 2);
    EXPECT_EQ(tokenSymbol(3, 7), QStringLiteral("x₃"));
    EXPECT_EQ(tokenSymbol(12, 7), QStringLiteral("y₅"));
}

} // namespace
} // namespace tokenlens::gui
