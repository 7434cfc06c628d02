// Segments of the job's granularity in the dashboard: the token view folds
// each segment of several tokens into one chip that a click unfolds (and the
// API folds again), and the heatmap shows one row per segment; chips and
// segment rows are coloured on the segment scale (analysis/segment_scale.h:
// the raw matrix summed into segments, then normalised). The SVG and PDF figures show the same (folded
// chips, segment rows): they are drawn by the views' own painting.

#include "test_util.h"

#include "results/dashboard.h"
#include "results/heatmap_view.h"
#include "results/result_exporter.h"
#include "results/selection_model.h"
#include "results/token_view.h"
#include "viewmodel/palette.h"
#include "analysis/window.h"

#include <gtest/gtest.h>

#include <QFile>
#include <QLabel>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {
namespace {

using test::waitFor;

// The synthetic prompt "The cat sat on mat.\n a" (8 tokens) in two segments:
// the sentence (tokens 0..5) and a labelled span (6..7).
JobResult segmentedJob() {
    JobResult job = test::syntheticJob(8, 3, {"occlusion", "saliency"});
    for (auto& r : job.results) {
        r.granularity = "spans";
        r.promptSegments = {{0, 6, 0, 19, ""}, {6, 8, 19, 22, "doc"}};
    }
    return job;
}

struct SegmentView : ::testing::Test {
    Dashboard dash;
    void SetUp() override {
        dash.resize(1200, 800);
        dash.show();
        ASSERT_TRUE(QTest::qWaitForWindowExposed(&dash));
        dash.setJob(segmentedJob(), QStringLiteral("segments"));
        waitFor([] { return false; }, 50);
    }
};

TEST_F(SegmentView, ChipsFoldAndUnfoldOnClick) {
    TokenView* view = dash.tokenView();
    ASSERT_EQ(view->segmentCount(), 2u);
    EXPECT_TRUE(view->segmentFolded(0));
    EXPECT_TRUE(view->isChip(0));
    EXPECT_TRUE(view->isFoldedAway(3));
    EXPECT_FALSE(view->isChip(8)); // output tokens are never folded
    EXPECT_TRUE(view->chipText(0).contains(QStringLiteral("The cat sat on mat.")));
    EXPECT_TRUE(view->chipText(1).contains(QStringLiteral("doc: ")));
    // Folded: the chip holds the whole sentence, the other tokens take no room.
    const QRectF chip = view->tokenRect(0);
    EXPECT_EQ(view->tokenRect(3).width(), 0.0);
    const QRectF output = view->tokenRect(8);
    EXPECT_GT(output.width(), 0.0);

    // A click on the chip unfolds it: every token has its own box again, and nothing got pinned.
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, chip.center().toPoint());
    EXPECT_FALSE(view->segmentFolded(0));
    EXPECT_TRUE(view->segmentFolded(1));
    EXPECT_FALSE(view->isChip(0));
    EXPECT_EQ(dash.selection()->pinned(), -1);
    for (int64_t k = 0; k < 6; ++k) EXPECT_GT(view->tokenRect(k).width(), 0.0) << k;
    EXPECT_LT(view->tokenRect(0).width(), chip.width()); // "The" alone is narrower than the sentence
    // A click on an unfolded token pins it as before.
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->tokenRect(2).center().toPoint());
    EXPECT_EQ(dash.selection()->pinned(), 2);

    // Folding again, and all at once.
    view->setSegmentFolded(0, true);
    EXPECT_TRUE(view->isChip(0));
    EXPECT_EQ(view->tokenRect(3).width(), 0.0);
    view->setAllSegmentsFolded(false);
    EXPECT_FALSE(view->segmentFolded(0));
    EXPECT_FALSE(view->segmentFolded(1));
    view->setAllSegmentsFolded(true);
    EXPECT_TRUE(view->segmentFolded(1));
}

TEST_F(SegmentView, HeatmapShowsOneRowPerSegment) {
    HeatmapView* heat = dash.heatmapView();
    ASSERT_TRUE(heat->segmentRows());
    EXPECT_EQ(heat->displayRows(), 2 + 3); // two segments, three output tokens
    EXPECT_EQ(heat->geometry().rows(), 5);
    EXPECT_EQ(heat->firstTokenOfRow(1), 6);
    EXPECT_EQ(heat->displayRowOf(4), 0);
    EXPECT_EQ(heat->displayRowOf(9), 3); // output token 1
    EXPECT_TRUE(heat->rowText(1).startsWith(QStringLiteral("doc: ")));
    // Token rows again on request.
    heat->setSegmentRows(false);
    EXPECT_EQ(heat->displayRows(), 11);
    EXPECT_EQ(heat->displayRowOf(4), 4);
    heat->setSegmentRows(true);
    EXPECT_EQ(heat->displayRows(), 5);
}

// Ten prompt tokens in three segments and three output tokens, one method
// (occlusion) with a signed matrix: segment A (tokens 0..5) holds 0.1
// everywhere, segment B (6..7) only zeros, segment C (8..9) +2 and −1; the
// output rows hold 0.25 where they have a value. Summed into segments every
// column reads A 0.6, B 0, C 1, so on the segment scale (min 0, max 1) A's
// intensity is 0.6, B's 0 and C's 1, and an output cell's 0.25. (Summing the
// tokens' own intensities, min −1 and max 2, gave B 2 × ⅓ and A 6 × 0.37,
// capped at 1.)
JobResult scaledJob() {
    JobResult job = test::syntheticJob(10, 3, {"occlusion"});
    auto& r = job.results.at(0);
    r.granularity = "spans";
    r.promptSegments = {{0, 6, 0, 0, ""}, {6, 8, 0, 0, ""}, {8, 10, 0, 0, ""}};
    for (int64_t i = 0; i < 13; ++i) {
        for (int64_t j = 0; j < 3; ++j) {
            float v = 0.1f;
            if (i >= 6 && i < 8) v = 0.0f;
            else if (i == 8) v = 2.0f;
            else if (i == 9) v = -1.0f;
            else if (i >= 10) v = i - 10 < j ? 0.25f : NAN; // an output row: the token itself or later has none
            r.raw.at(i, j) = v;
        }
    }
    return job;
}

struct SegmentScale : ::testing::Test {
    Dashboard dash;
    void SetUp() override {
        dash.resize(1200, 800);
        dash.show();
        ASSERT_TRUE(QTest::qWaitForWindowExposed(&dash));
        dash.setJob(scaledJob(), QStringLiteral("segment scale"));
        waitFor([] { return false; }, 50);
        ASSERT_EQ(dash.model().activeMethods(), std::vector<int>{0});
    }
    // The blend of one method at intensity v over white, as the heatmap draws it.
    QRgb expected(double v) const {
        const QColor c = dash.model().methods()[0].colour;
        const double a = v * kMaxFillAlpha;
        auto ch = [&](double x) { return static_cast<int>(std::lround((x * a + (1 - a)) * 255)); };
        return qRgb(ch(c.redF()), ch(c.greenF()), ch(c.blueF()));
    }
};

void expectPixel(QRgb got, QRgb want, const char* what) {
    EXPECT_NEAR(qRed(got), qRed(want), 1) << what;
    EXPECT_NEAR(qGreen(got), qGreen(want), 1) << what;
    EXPECT_NEAR(qBlue(got), qBlue(want), 1) << what;
}

TEST_F(SegmentScale, ChipsShowTheSegmentsOwnStrength) {
    TokenView* view = dash.tokenView();
    ASSERT_EQ(view->segmentCount(), 3u);
    const double step = 1.0 / 255;
    // The long segment of small values: not at full strength.
    EXPECT_NEAR(view->chipFill(0).alphaF(), 0.6 * kMaxFillAlpha, step);
    // The segment of zeros: no colour.
    EXPECT_EQ(view->chipFill(1).alpha(), 0);
    // The strongest segment: full strength.
    EXPECT_NEAR(view->chipFill(2).alphaF(), kMaxFillAlpha, step);
    // Pinning output y₂ colours the chips by its window (columns 1..2): the same ratios.
    dash.selection()->setPinned(12);
    EXPECT_NEAR(view->chipFill(0).alphaF(), 0.6 * kMaxFillAlpha, step);
    EXPECT_EQ(view->chipFill(1).alpha(), 0);
    EXPECT_NEAR(view->chipFill(2).alphaF(), kMaxFillAlpha, step);
}

TEST_F(SegmentScale, HeatmapSegmentRowsAndOutputRowsShareTheSegmentScale) {
    const QImage img = dash.model().heatmapImage(Qt::white, true);
    ASSERT_EQ(img.height(), 3 + 3);
    ASSERT_EQ(img.width(), 3);
    for (int c = 0; c < 3; ++c) {
        expectPixel(img.pixel(c, 0), expected(0.6), "segment A");
        EXPECT_EQ(img.pixel(c, 1), qRgb(255, 255, 255)) << "segment B, all zeros, column " << c;
        expectPixel(img.pixel(c, 2), expected(1.0), "segment C");
    }
    expectPixel(img.pixel(1, 3), expected(0.25), "output y0 on the segment scale");
    EXPECT_EQ(qAlpha(img.pixel(0, 3)), 0) << "the token itself has no value";
    // The token image keeps the token scale (min −1, max 2): a zero there is ⅓.
    const QImage tokens = dash.model().heatmapImage(Qt::white);
    ASSERT_EQ(tokens.height(), 13);
    expectPixel(tokens.pixel(0, 6), expected(1.0 / 3), "a zero token on the token scale");
    // The view draws the segment image.
    EXPECT_EQ(dash.heatmapView()->displayRows(), 6);
}

TEST_F(SegmentScale, DetailsAndStatisticsReadOutTheSegments) {
    // Raw token importance (eq. 6) of the segments: sums of their tokens' rows.
    const auto imp = dash.model().segmentImportance(0);
    ASSERT_EQ(imp.size(), 3u);
    EXPECT_NEAR(imp[0], 6 * 3 * 0.1, 1e-5);
    EXPECT_EQ(imp[1], 0.0);
    EXPECT_NEAR(imp[2], 3 * (2.0 - 1.0), 1e-5);
    EXPECT_EQ(dash.model().promptSegmentOf(7), 1);
    EXPECT_EQ(dash.model().promptSegmentOf(10), -1); // an output token
    // The statistics rank what the chips show: the segments, largest first.
    const Statistics st = dash.model().statistics(-1);
    EXPECT_TRUE(st.segments);
    ASSERT_EQ(st.top.size(), 3u);
    EXPECT_EQ(st.top, (std::vector<int64_t>{8, 0, 6}));
    EXPECT_EQ(st.topEnd, (std::vector<int64_t>{10, 6, 8}));
    EXPECT_NEAR(st.topValues[0], 3.0, 1e-5);
    EXPECT_NEAR(st.topValues[1], 1.8, 1e-5);
    EXPECT_EQ(st.topValues[2], 0.0);
    EXPECT_TRUE(st.basis.startsWith(QStringLiteral("Prompt segment importance"))) << st.basis.toStdString();
}

QByteArray exported(Dashboard& dash, ExportKind kind, const QTemporaryDir& tmp, const char* name) {
    const QString path = tmp.filePath(QString::fromLatin1(name));
    EXPECT_EQ(ResultExporter(dash).write(kind, path, 2), QString());
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

TEST_F(SegmentView, SvgAndPdfFiguresShowChipsAndSegmentRows) {
    // Prompt tokens " sat" and " on" lie in the first segment; the outputs
    // are " cat", " mat" and " a", so " sat" and " on" appear as a text of
    // their own only where a prompt token is drawn on its own.
    QTemporaryDir tmp;
    const QByteArray folded = exported(dash, ExportKind::TokenViewSvg, tmp, "folded.svg");
    ASSERT_TRUE(folded.contains("<svg"));
    EXPECT_TRUE(folded.contains("The cat sat on mat.</text>")) << "no chip of the first segment";
    EXPECT_TRUE(folded.contains("doc: a</text>")) << "no chip of the labelled span";
    EXPECT_FALSE(folded.contains("> sat</text>"));
    EXPECT_FALSE(folded.contains("> on</text>"));
    dash.tokenView()->setAllSegmentsFolded(false);
    const QByteArray open = exported(dash, ExportKind::TokenViewSvg, tmp, "open.svg");
    EXPECT_TRUE(open.contains("> sat</text>"));
    EXPECT_TRUE(open.contains("> on</text>"));
    EXPECT_FALSE(open.contains("doc: a</text>"));

    const QByteArray heat = exported(dash, ExportKind::HeatmapSvg, tmp, "heatmap.svg");
    EXPECT_TRUE(heat.contains("doc: a</text>")) << "no row of the labelled span";
    EXPECT_FALSE(heat.contains("> sat</text>")) << "a token row inside a segment";
    EXPECT_FALSE(heat.contains("<image")) << "cells were written as a picture";
    dash.heatmapView()->setSegmentRows(false);
    const QByteArray tokens = exported(dash, ExportKind::HeatmapSvg, tmp, "heatmap-tokens.svg");
    EXPECT_TRUE(tokens.contains("> sat</text>"));
    EXPECT_FALSE(tokens.contains("doc: a</text>"));
    dash.heatmapView()->setSegmentRows(true);
    EXPECT_TRUE(exported(dash, ExportKind::HeatmapPdf, tmp, "heatmap.pdf").startsWith("%PDF-"));
    EXPECT_TRUE(exported(dash, ExportKind::TokenViewPdf, tmp, "tokens.pdf").startsWith("%PDF-"));
}

// The context window at a segment granularity counts segments: 10 prompt
// tokens in four segments A 0..2, B 3, C 4..7, D 8..9 and 8 output tokens,
// one method. c ≤ ⌊min(4 segments, 8)/2⌋ = 2 (tokens would allow 4).
JobResult windowJob(bool segments) {
    JobResult job = test::syntheticJob(10, 8, {"occlusion"}, 3);
    if (segments) {
        auto& r = job.results.at(0);
        r.granularity = "spans";
        r.promptSegments = {{0, 3, 0, 0, ""}, {3, 4, 0, 0, ""}, {4, 8, 0, 0, ""}, {8, 10, 0, 0, ""}};
    }
    return job;
}

struct SegmentWindow : ::testing::Test {
    Dashboard dash;
    void SetUp() override {
        dash.resize(1200, 800);
        dash.show();
        ASSERT_TRUE(QTest::qWaitForWindowExposed(&dash));
        dash.setJob(windowJob(true), QStringLiteral("segment window"));
        waitFor([] { return false; }, 50);
        dash.setWindow(1);
    }
    // Eq. 4 at the segment level, by hand: for each output column, the mean
    // over segments lo..hi of the segment's summed raw rows.
    std::vector<double> segmentWindow(size_t lo, size_t hi) const {
        const auto& a = dash.model().methodResult(0).raw;
        const auto& segs = dash.model().promptSegments();
        std::vector<double> out;
        for (int64_t j = 0; j < a.cols; ++j) {
            double total = 0;
            for (size_t g = lo; g <= hi; ++g)
                for (int64_t i = segs[g].tokenStart; i < segs[g].tokenEnd; ++i) total += a.at(i, j);
            out.push_back(total / static_cast<double>(hi - lo + 1));
        }
        return out;
    }
};

TEST_F(SegmentWindow, WindowCountsSegmentsAroundTheFocus) {
    const ResultModel& model = dash.model();
    ASSERT_TRUE(model.windowInSegments());
    EXPECT_EQ(model.maxWindow(), 2);
    EXPECT_EQ(model.window(), 1);
    // Hovering x5 (in segment C): c = 1 spans segments B..D, tokens 3..9.
    Colouring col = model.colouring(5);
    EXPECT_EQ(col.mode, ColourMode::InputWindow);
    EXPECT_EQ(col.window, 1);
    EXPECT_EQ(col.windowFirst, 3);
    EXPECT_EQ(col.windowLast, 9);
    // The first token of a segment and an inner one have the same window.
    EXPECT_EQ(model.colouring(4).windowFirst, 3);
    EXPECT_EQ(model.colouring(7).windowLast, 9);
    // x0 (segment A): A and B, tokens 0..3.
    col = model.colouring(0);
    EXPECT_EQ(col.windowFirst, 0);
    EXPECT_EQ(col.windowLast, 3);
    // x3 alone is segment B: one segment each side is A..C, tokens 0..7.
    EXPECT_EQ(model.colouring(3).windowFirst, 0);
    EXPECT_EQ(model.colouring(3).windowLast, 7);

    // The output tokens' colours: eq. 4 over segments B..D, min–max over the outputs.
    const auto want = segmentWindow(1, 3);
    const double lo = *std::min_element(want.begin(), want.end()), hi = *std::max_element(want.begin(), want.end());
    col = model.colouring(5);
    for (size_t j = 0; j < want.size(); ++j)
        EXPECT_NEAR(col.intensity[0][10 + j], (want[j] - lo) / (hi - lo), 1e-4) << "y" << j;
    // The details panel's raw window value and the statistics panel's ranking read the same.
    const TokenDetails d = model.details(10 + 2, 5);
    ASSERT_EQ(d.scores.size(), 1u);
    EXPECT_NEAR(d.scores[0].toFocus, want[2], 1e-5);
    const Statistics st = model.statistics(5);
    EXPECT_TRUE(st.outputs);
    ASSERT_FALSE(st.topValues.empty());
    EXPECT_NEAR(st.topValues[0], hi, 1e-5);
    EXPECT_TRUE(st.basis.contains(QStringLiteral("c = 1 segment"))) << st.basis.toStdString();
    dash.selection()->setHovered(5);
    EXPECT_TRUE(dash.tokenView()->modeDescription().contains(QStringLiteral("c = 1 segment")));
    dash.selection()->setHovered(-1);

    // c = 2: every segment.
    dash.setWindow(2);
    EXPECT_EQ(model.colouring(5).windowFirst, 0);
    EXPECT_EQ(model.colouring(5).windowLast, 9);
    // c beyond ⌊min(segments, t)/2⌋ is lowered to it.
    dash.setWindow(4);
    EXPECT_EQ(model.window(), 2);
    // An output token's window still counts output tokens (one each): y4 ± 2,
    // the chips and the tokens with the same c.
    col = model.colouring(10 + 4);
    EXPECT_EQ(col.mode, ColourMode::OutputWindow);
    EXPECT_EQ(col.window, 2);
    EXPECT_EQ(col.windowFirst, 10 + 2);
    EXPECT_EQ(col.windowLast, 10 + 6);
}

TEST_F(SegmentWindow, TheWindowsSegmentsAreUnderlined) {
    // Folded: A and C and D are chips (on tokens 0, 4, 8), B is the single token 3.
    TokenView* view = dash.tokenView();
    ASSERT_TRUE(view->isChip(0) && view->isChip(4) && view->isChip(8));
    ASSERT_FALSE(view->isChip(3));
    const QColor accent = view->palette().color(QPalette::Highlight);
    auto underlined = [&](const QImage& shot, int64_t k) {
        const QRectF r = view->tokenRect(k);
        const qreal dpr = shot.devicePixelRatio();
        const QColor px = shot.pixelColor(static_cast<int>(r.center().x() * dpr), static_cast<int>((r.bottom() + 2) * dpr));
        return std::abs(px.red() - accent.red()) < 8 && std::abs(px.green() - accent.green()) < 8 &&
               std::abs(px.blue() - accent.blue()) < 8;
    };
    // (The hovered chip's own outline covers its underline, as a hovered token's does.)
    // Hovering chip C with c = 1: B, C and D underlined (the whole chips), A not.
    dash.selection()->setHovered(4);
    QImage shot = view->viewport()->grab().toImage();
    EXPECT_FALSE(underlined(shot, 0)) << "chip A is outside the window";
    EXPECT_TRUE(underlined(shot, 3)) << "token B";
    EXPECT_TRUE(underlined(shot, 8)) << "chip D";
    // Hovering B: A, B and C, not D.
    dash.selection()->setHovered(3);
    shot = view->viewport()->grab().toImage();
    EXPECT_TRUE(underlined(shot, 0)) << "chip A";
    EXPECT_TRUE(underlined(shot, 4)) << "chip C";
    EXPECT_FALSE(underlined(shot, 8)) << "chip D is outside the window";
    // The header counts the window in segments.
    bool label = false;
    for (const QLabel* l : dash.findChildren<QLabel*>()) label = label || l->text() == QStringLiteral("c = 1 of 2 seg.");
    EXPECT_TRUE(label);
}

TEST_F(SegmentWindow, TokenResultsKeepTheTokenWindow) {
    dash.setJob(windowJob(false), QStringLiteral("token window"));
    const ResultModel& model = dash.model();
    EXPECT_FALSE(model.windowInSegments());
    EXPECT_EQ(model.maxWindow(), 4);
    dash.setWindow(1);
    const Colouring col = model.colouring(5);
    EXPECT_EQ(col.windowFirst, 4);
    EXPECT_EQ(col.windowLast, 6);
    const auto w = analysis::inputCentredWindow(model.normalized(0), 10, 5, 1);
    const auto want = vectorIntensity(w);
    for (size_t j = 0; j < want.size(); ++j) EXPECT_NEAR(col.intensity[0][10 + j], want[j], 1e-12);
    dash.setWindow(4);
    EXPECT_EQ(model.window(), 4);
}

} // namespace
} // namespace tokenlens::gui
