// Segments of the job's granularity in the dashboard: the token view folds
// each segment of several tokens into one chip that a click unfolds (and the
// API folds again), and the heatmap shows one row per segment whose cells sum
// the segment's token rows. The SVG and PDF figures show the same (folded
// chips, segment rows): they are drawn by the views' own painting.

#include "test_util.h"

#include "results/dashboard.h"
#include "results/heatmap_view.h"
#include "results/result_exporter.h"
#include "results/selection_model.h"
#include "results/token_view.h"

#include <gtest/gtest.h>

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

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

TEST_F(SegmentView, GroupedImageOfSingleRowsIsTheTokenImage) {
    const ResultModel& m = dash.model();
    const QColor base(Qt::white);
    std::vector<std::pair<int64_t, int64_t>> singles;
    for (int64_t k = 0; k < m.contextLength(); ++k) singles.emplace_back(k, k + 1);
    EXPECT_EQ(m.heatmapImage(base, singles), m.heatmapImage(base));
    // Segment rows, then the output rows exactly as in the token image.
    const QImage tokens = m.heatmapImage(base);
    const QImage grouped = m.heatmapImage(base, {{0, 6}, {6, 8}, {8, 9}, {9, 10}, {10, 11}});
    ASSERT_EQ(grouped.height(), 5);
    for (int r = 2; r < 5; ++r) {
        for (int c = 0; c < grouped.width(); ++c) EXPECT_EQ(grouped.pixel(c, r), tokens.pixel(c, r + 6)) << r << "," << c;
    }
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

} // namespace
} // namespace tokenlens::gui
