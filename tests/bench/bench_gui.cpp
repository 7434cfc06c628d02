// GUI benchmark (prints figures; not a test). Runs the real main window on
// the offscreen platform unless QT_QPA_PLATFORM says otherwise.
//
//  1. Hover sweep: a synthetic result (prompt 512, output 256, three methods
//     active); the mouse moves over every token of the token view in turn.
//     Time from sending the hover event to the end of the repaint it causes
//     (token view, heatmap crosshair, details panel, status bar): p50/p99.
//     Goal: p99 ≤ 8 ms.
//  2. Opening a 4096 × 1024 result (4096 context rows, 1024 output columns):
//     reading + parsing the JSON file, then showing it (layout, cell image,
//     first paint). Goal: < 300 ms.
//  3. Panning that matrix in the heatmap: time per pan step to finished repaint.
//  4. With --large-hover (or --large-hover-only): the hover sweep on a
//     4,096-row result (prompt 3,072, output 1,024) with five methods active,
//     every 8th token (every 32nd with --quick). Goal: p99 ≤ 8 ms.
//
//   build/<dir>/tests/bench/bench_gui [--quick] [--hover-only] [--large-hover | --large-hover-only]

#include "shell/mainwindow.h"
#include "result/result_json.h"
#include "result/result_sidecar.h"
#include "files/file_loader.h"
#include "results/dashboard.h"
#include "results/heatmap_view.h"
#include "results/panels.h"
#include "results/selection_model.h"
#include "results/token_view.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QMouseEvent>
#include <QScrollBar>
#include <QTemporaryDir>
#include <QWheelEvent>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

using namespace tokenlens;
using namespace tokenlens::gui;

namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// CPU time of this thread (ms): what the work costs without the other
// processes competing for the cores.
double cpuMs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Percentiles {
    double p50, p99, max;
};

Percentiles percentiles(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))]; };
    return {at(0.50), at(0.99), v.back()};
}

// Counts paints of a widget.
class PaintCounter : public QObject {
public:
    int paints = 0;
    bool eventFilter(QObject* o, QEvent* e) override {
        if (e->type() == QEvent::Paint) ++paints;
        return QObject::eventFilter(o, e);
    }
};

JobResult synthetic(int64_t n, int64_t t, const std::vector<std::string>& methods) {
    JobResult job;
    job.jobId = "bench";
    job.createdAt = job.completedAt = "2026-01-01T00:00:00Z";
    const char* words[] = {" the", " cat", " sat", " on", " a", " warm", " mat", ".", "\n", " and"};
    TokenSequence in, out;
    for (int64_t i = 0; i < n; ++i) {
        in.tokens.push_back(words[i % 10]);
        in.ids.push_back(i % 50000);
        in.text += in.tokens.back();
    }
    for (int64_t j = 0; j < t; ++j) {
        out.tokens.push_back(words[(j * 7 + 3) % 10]);
        out.ids.push_back(j % 50000);
        out.text += out.tokens.back();
    }
    job.input = in;
    uint32_t state = 12345;
    for (const auto& m : methods) {
        MethodResult r;
        r.model = "synthetic";
        r.method = m;
        r.input = in;
        r.output = out;
        r.contextTokens = in.tokens;
        r.contextTokens.insert(r.contextTokens.end(), out.tokens.begin(), out.tokens.end());
        r.raw = AttributionMatrix::filled(n + t, t);
        for (int64_t i = 0; i < n + t; ++i) {
            for (int64_t j = 0; j < t; ++j) {
                state = state * 1664525u + 1013904223u;
                if (i <= n + j - 1) r.raw.at(i, j) = static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
            }
        }
        r.targetFn = m == "attention" ? "" : "probability";
        r.reduction = m == "attention" ? "" : "l2";
        r.stepProbability.assign(static_cast<size_t>(t), 0.5);
        r.stepEntropy.assign(static_cast<size_t>(t), 2.0);
        job.results.push_back(std::move(r));
    }
    return job;
}

void flush() {
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents();
}

struct HoverSize {
    int64_t prompt = 512, output = 256;
    std::vector<std::string> methods = {"attention", "saliency", "integrated_gradients"};
    int64_t stride = 1; // every stride-th token (times 7 with --quick)
};

void hoverSweep(MainWindow& w, bool quick, const HoverSize& size = {}) {
    Dashboard* d = w.dashboard();
    d->setJob(synthetic(size.prompt, size.output, size.methods), QStringLiteral("synthetic"));
    for (const auto& m : size.methods) d->setMethodActive(m, true);
    d->setWindow(4);
    flush();
    TokenView* tv = d->tokenView();
    PaintCounter counter;
    tv->viewport()->installEventFilter(&counter);
    const int64_t K = d->model().contextLength();
    std::vector<double> times, cpu;
    const int64_t stride = size.stride * (quick ? (size.stride > 1 ? 4 : 7) : 1);
    for (int64_t k = 0; k < K; k += stride) {
        tv->ensureTokenVisible(k);
        flush(); // scrolling is not part of the hover
        const QPointF pos = tv->tokenRect(k).center();
        const int before = counter.paints;
        const double c0 = cpuMs();
        const auto t0 = Clock::now();
        QMouseEvent ev(QEvent::MouseMove, pos, tv->viewport()->mapToGlobal(pos), Qt::NoButton, Qt::NoButton,
                       Qt::NoModifier);
        QApplication::sendEvent(tv->viewport(), &ev);
        flush();
        const auto t1 = Clock::now();
        if (counter.paints == before) std::fprintf(stderr, "warning: no repaint after hovering token %lld\n", static_cast<long long>(k));
        times.push_back(ms(t1 - t0));
        cpu.push_back(cpuMs() - c0);
    }
    tv->viewport()->removeEventFilter(&counter);
    const auto p = percentiles(times);
    const auto pcpu = percentiles(cpu);
    std::printf("hover sweep: %zu tokens (prompt %lld, output %lld, %zu methods, c = 4), window %dx%d\n", times.size(),
                static_cast<long long>(size.prompt), static_cast<long long>(size.output), size.methods.size(), w.width(),
                w.height());
    std::printf("  hover event -> repaint done: p50 %.2f ms, p99 %.2f ms, max %.2f ms (goal p99 <= 8 ms)\n", p.p50, p.p99,
                p.max);
    std::printf("  (CPU time of the GUI thread: p50 %.2f ms, p99 %.2f ms)\n", pcpu.p50, pcpu.p99);
    // Where the time goes: each widget repainted on its own after a hover
    // (CPU time of the GUI thread, so that other processes do not count).
    {
        std::vector<double> token, heat, details;
        for (int64_t k = 0; k < K; k += stride * 3) {
            d->selection()->setHovered(k);
            double c0 = cpuMs();
            tv->viewport()->repaint();
            double c1 = cpuMs();
            d->heatmapView()->repaint();
            double c2 = cpuMs();
            d->detailsPanel()->repaint();
            double c3 = cpuMs();
            token.push_back(c1 - c0);
            heat.push_back(c2 - c1);
            details.push_back(c3 - c2);
            flush();
        }
        const auto a = percentiles(token), b = percentiles(heat), c = percentiles(details);
        std::printf("  CPU per widget repaint: token view p50 %.2f / p99 %.2f ms, heatmap %.2f / %.2f ms, "
                    "details %.2f / %.2f ms\n",
                    a.p50, a.p99, b.p50, b.p99, c.p50, c.p99);
    }
    // The colour computation alone (eq. 4/5 for 3 methods + blending).
    std::vector<double> compute;
    for (int64_t k = 0; k < K; k += stride * 3) {
        const auto t0 = Clock::now();
        const auto c = d->model().colouring(k);
        compute.push_back(ms(Clock::now() - t0));
        if (c.fills.empty()) std::fprintf(stderr, "no colours\n");
    }
    const auto pc = percentiles(compute);
    std::printf("  of which colouring (aggregations + blend): p50 %.3f ms, p99 %.3f ms\n", pc.p50, pc.p99);
}

void openLarge(MainWindow& w) {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("large.json"));
    {
        const auto t0 = Clock::now();
        const JobResult job = synthetic(3072, 1024, {"attention"});
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly)) {
            std::fprintf(stderr, "cannot write %s\n", qPrintable(path));
            return;
        }
        f.write(QByteArray::fromStdString(writeResultJson(job, -1)));
        std::printf("open 4096 x 1024: wrote %s of JSON in %.0f ms (not timed below)\n", qPrintable(humanBytes(f.size())),
                    ms(Clock::now() - t0));
    }
    Dashboard* d = w.dashboard();
    const double c0 = cpuMs();
    const auto t0 = Clock::now();
    LoadedFile loaded = loadFile(path);
    const auto t1 = Clock::now();
    if (!loaded.ok()) {
        std::fprintf(stderr, "load failed: %s\n", qPrintable(loaded.message));
        return;
    }
    d->setJob(std::move(loaded.result), path);
    const auto t2 = Clock::now();
    w.repaint();
    flush(); // statistics, deferred to the event loop
    const auto t3 = Clock::now();
    std::printf("  read + check + parse + validate (worker thread): %.0f ms\n", ms(t1 - t0));
    std::printf("  show: set result %.0f ms + first paint (layout, cell image, tiles) %.0f ms = %.0f ms\n", ms(t2 - t1),
                ms(t3 - t2), ms(t3 - t1));
    std::printf("  total %.0f ms (goal < 300 ms; CPU %.0f ms)\n", ms(t3 - t0), cpuMs() - c0);
    {
        QFile f(path);
        f.open(QIODevice::ReadOnly);
        const std::string text = f.readAll().toStdString();
        const auto p0 = Clock::now();
        const auto j = nlohmann::json::parse(text);
        const auto p1 = Clock::now();
        const auto job = jobFromJson(j, "large.json");
        const auto p2 = Clock::now();
        std::printf("    of which nlohmann::json::parse %.0f ms, jobFromJson %.0f ms (core/result)\n", ms(p1 - p0),
                    ms(p2 - p1));
        if (!job.ok()) std::fprintf(stderr, "parse failed\n");
    }
    // The same result written with its matrix in a sidecar (result_sidecar.h).
    {
        const QString sidecarPath = dir.filePath(QStringLiteral("large-sidecar.json"));
        const JobResult job = synthetic(3072, 1024, {"attention"});
        if (auto st = writeResultFiles(sidecarPath.toStdString(), toJson(job, kInlineMaxCells), job); !st) {
            std::fprintf(stderr, "cannot write %s: %s\n", qPrintable(sidecarPath), st.error().message.c_str());
        } else {
            const auto s0 = Clock::now();
            LoadedFile again = loadFile(sidecarPath);
            const auto s1 = Clock::now();
            if (!again.ok()) std::fprintf(stderr, "load failed: %s\n", qPrintable(again.message));
            d->setJob(std::move(again.result), sidecarPath);
            w.repaint();
            flush();
            const auto s2 = Clock::now();
            std::printf("  with a sidecar: read + check + parse %.0f ms, show %.0f ms, total %.0f ms (goal < 300 ms)\n",
                        ms(s1 - s0), ms(s2 - s1), ms(s2 - s0));
        }
    }


    // The same matrix with three methods, in memory (a job finished by the
    // engine reaches the dashboard without JSON).
    {
        JobResult three = synthetic(3072, 1024, {"attention", "saliency", "integrated_gradients"});
        const double cs = cpuMs();
        const auto s0 = Clock::now();
        d->setJob(std::move(three), QStringLiteral("in memory"));
        for (const char* m : {"attention", "saliency", "integrated_gradients"}) d->setMethodActive(m, true);
        w.repaint();
        flush();
        const auto s1 = Clock::now();
        std::printf("  in memory (a finished job, no JSON), 3 methods active: show %.0f ms (CPU %.0f ms)\n",
                    ms(s1 - s0), cpuMs() - cs);
    }

    // Panning at two zoom levels.
    HeatmapView* hm = d->heatmapView();
    for (const char* zoom : {"fit", "zoomed in"}) {
        if (std::strcmp(zoom, "fit") == 0) hm->fitAll();
        else hm->resetZoom();
        if (std::strcmp(zoom, "fit") != 0) {
            for (int i = 0; i < 12 && hm->geometry().cellW() < 22; ++i) hm->zoomIn();
        }
        flush();
        std::vector<double> times, cpu;
        const QPointF at = hm->geometry().plot().center();
        for (int i = 0; i < 200; ++i) {
            const int dy = (i / 50) % 2 == 0 ? -120 : 120;
            const double cs = cpuMs();
            const auto s0 = Clock::now();
            QWheelEvent ev(at, hm->mapToGlobal(at), QPoint(), QPoint(i % 3 == 0 ? -120 : 0, dy), Qt::NoButton,
                           Qt::NoModifier, Qt::NoScrollPhase, false);
            QApplication::sendEvent(hm, &ev);
            hm->repaint();
            times.push_back(ms(Clock::now() - s0));
            cpu.push_back(cpuMs() - cs);
        }
        const auto p = percentiles(times);
        const auto pc = percentiles(cpu);
        std::printf("  pan heatmap (%s, %.2f x %.2f px per cell): p50 %.2f ms, p99 %.2f ms (CPU p50 %.2f, p99 %.2f ms)\n",
                    zoom, hm->geometry().cellW(), hm->geometry().cellH(), p.p50, p.p99, pc.p50, pc.p99);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (!std::getenv("QT_QPA_PLATFORM")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
    QTemporaryDir config;
    setenv("XDG_CONFIG_HOME", config.path().toLocal8Bit().constData(), 1);
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("TokenLensBench"));
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    MainWindow w;
    w.setTheme(Theme::Light);
    w.resize(1440, 900);
    w.show();
    flush();
    std::printf("platform %s, Qt %s\n", qPrintable(QGuiApplication::platformName()), qVersion());
    bool hoverOnly = false, largeHover = false, largeOnly = false;
    for (int i = 1; i < argc; ++i) {
        hoverOnly = hoverOnly || std::strcmp(argv[i], "--hover-only") == 0;
        largeHover = largeHover || std::strcmp(argv[i], "--large-hover") == 0;
        largeOnly = largeOnly || std::strcmp(argv[i], "--large-hover-only") == 0;
    }
    if (!largeOnly) {
        hoverSweep(w, quick);
        if (!hoverOnly) openLarge(w);
    }
    if (largeHover || largeOnly) {
        HoverSize large;
        large.prompt = 3072;
        large.output = 1024;
        large.methods = {"attention", "saliency", "input_x_gradient", "integrated_gradients", "occlusion"};
        large.stride = 8;
        hoverSweep(w, quick, large);
    }
    return 0;
}
