// The new exports of a real dashboard on the offscreen platform: SVG and PDF
// drawn by the views' own painting (each token box's fill in the SVG is the
// colour the token view computes; tokens and labels are text), the Inseq file
// of the current model and method, the HTML page and the importance tables;
// and Inseq files opening like results.

#include "test_util.h"

#include "files/file_loader.h"
#include "result/inseq_file.h"
#include "result/result_json.h"
#include "results/dashboard.h"
#include "results/heatmap_view.h"
#include "results/result_exporter.h"
#include "results/selection_model.h"
#include "results/token_view.h"

#include <gtest/gtest.h>

#include <QFile>
#include <QTemporaryDir>

#include <cmath>

namespace tokenlens::gui {
namespace {

QByteArray readFile(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

class Exports : public ::testing::Test {
protected:
    void SetUp() override {
        auto job = readResultFile(test::sampleResultPath().toStdString());
        ASSERT_TRUE(job.ok()) << job.error().message;
        original = job.value();
        dash = std::make_unique<Dashboard>();
        dash->resize(1200, 900);
        dash->setJob(original, test::sampleResultPath());
        dash->show();
        QCoreApplication::processEvents();
    }
    QString write(ExportKind kind, const char* name) {
        const QString path = tmp.filePath(QString::fromLatin1(name));
        EXPECT_EQ(ResultExporter(*dash).write(kind, path, 2), QString());
        return path;
    }
    JobResult original;
    std::unique_ptr<Dashboard> dash;
    QTemporaryDir tmp;
};

TEST_F(Exports, SvgTokenViewHasTheScreensColoursAndText) {
    const int64_t n = dash->model().promptLength();
    dash->selection()->setHovered(n + 2); // what output y2 drew on
    const QByteArray svg = readFile(write(ExportKind::TokenViewSvg, "tokens.svg"));
    ASSERT_TRUE(svg.contains("<svg")) << svg.left(200).toStdString();
    EXPECT_TRUE(svg.contains(dash->title().toUtf8().replace("“", "&#8220;")) || svg.contains(dash->title().toUtf8()));
    int filled = 0;
    for (int64_t k = 0; k < dash->model().contextLength(); ++k) {
        const QColor fill = dash->tokenView()->fillOf(k);
        if (fill.alpha() == 0) continue;
        ++filled;
        // Qt's SVG generator writes a brush as fill="#rrggbb" fill-opacity="a".
        const QByteArray attr = "fill=\"" + fill.name().toLatin1() + "\" fill-opacity=\"" +
                                QByteArray::number(fill.alphaF(), 'g', 6);
        EXPECT_TRUE(svg.contains(attr)) << "token " << k << ": " << attr.toStdString();
    }
    EXPECT_GE(filled, n);
    // Tokens stay text.
    EXPECT_TRUE(svg.contains(">The</text>"));
    EXPECT_TRUE(svg.contains("mat</text>"));
}

TEST_F(Exports, SvgAndPdfHeatmapsAreVectors) {
    const QByteArray svg = readFile(write(ExportKind::HeatmapSvg, "heatmap.svg"));
    // One rectangle per cell with a value: the 12 × 5 lower triangle has 7·5 + 4+3+2+1 = 45.
    int cells = 0;
    for (qsizetype p = svg.indexOf("fill-opacity=\""); p >= 0; p = svg.indexOf("fill-opacity=\"", p + 1)) ++cells;
    EXPECT_GE(cells, 45);
    EXPECT_FALSE(svg.contains("<image")) << "cells were written as a picture";
    EXPECT_TRUE(svg.contains("mat</text>"));
    const QByteArray pdf = readFile(write(ExportKind::HeatmapPdf, "heatmap.pdf"));
    EXPECT_TRUE(pdf.startsWith("%PDF-"));
    EXPECT_TRUE(readFile(write(ExportKind::TokenViewPdf, "tokens.pdf")).startsWith("%PDF-"));
}

TEST_F(Exports, InseqFileOfTheCurrentModelAndMethodReadsBack) {
    const QString path = write(ExportKind::InseqJson, "inseq.json");
    const LoadedFile f = loadFile(path);
    ASSERT_TRUE(f.ok()) << f.message.toStdString();
    EXPECT_EQ(f.kind, FileKind::Result);
    ASSERT_EQ(f.result.results.size(), 1u);
    const MethodResult& r = f.result.results[0];
    const std::string model = dash->model().models()[static_cast<size_t>(dash->model().currentModel())];
    const std::string method = dash->model().methods()[static_cast<size_t>(dash->model().activeMethods().front())].id;
    EXPECT_EQ(r.model, model);
    EXPECT_EQ(r.method, method);
    for (const auto& o : original.results) {
        if (o.model != model || o.method != method) continue;
        EXPECT_EQ(r.raw, o.raw); // float32 exact
        EXPECT_EQ(r.contextTokens, o.contextTokens);
        EXPECT_EQ(r.input.ids, o.input.ids);
    }
    // And it opens in the dashboard like a result of ours.
    Dashboard other;
    other.setJob(f.result, path);
    EXPECT_TRUE(other.hasJob());
    EXPECT_EQ(other.model().contextLength(), static_cast<int64_t>(r.contextTokens.size()));
}

TEST_F(Exports, CompressedAndDamagedInseqFiles) {
    auto bytes = writeInseq(original, 4, {true});
    ASSERT_TRUE(bytes.ok());
    const QString gz = tmp.filePath(QStringLiteral("out.json.gz"));
    QFile f(gz);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write(QByteArray::fromStdString(bytes.value()));
    f.close();
    const LoadedFile ok = loadFile(gz);
    ASSERT_TRUE(ok.ok()) << ok.message.toStdString();
    EXPECT_EQ(ok.result.results[0].raw, original.results[4].raw);

    QFile bad(tmp.filePath(QStringLiteral("bad.json")));
    ASSERT_TRUE(bad.open(QIODevice::WriteOnly));
    bad.write("{\"__instance_type__\": [\"inseq.data.attribution\", \"FeatureAttributionOutput\"], \"attributes\": {}}");
    bad.close();
    const LoadedFile b = loadFile(bad.fileName());
    EXPECT_FALSE(b.ok());
    EXPECT_TRUE(b.message.contains(QStringLiteral("bad.json")));
    EXPECT_TRUE(b.message.contains(QStringLiteral("sequence_attributions"))) << b.message.toStdString();
}

TEST_F(Exports, PageAndTables) {
    const QByteArray html = readFile(write(ExportKind::HtmlPage, "page.html"));
    EXPECT_TRUE(html.startsWith("<!DOCTYPE html>"));
    EXPECT_TRUE(html.contains("id=\"tl-data\""));
    const QByteArray md = readFile(write(ExportKind::ImportanceMarkdown, "t.md"));
    EXPECT_TRUE(md.contains("| x0 | The |")) << md.toStdString();
    const QByteArray tex = readFile(write(ExportKind::ImportanceLatex, "t.tex"));
    EXPECT_TRUE(tex.contains("\\begin{tabular}"));
    EXPECT_EQ(ResultExporter::suggestedFileName(QStringLiteral("/a/run.json"), ExportKind::HeatmapSvg),
              QStringLiteral("run-heatmap.svg"));
}

} // namespace
} // namespace tokenlens::gui
