// The exported HTML page in a real headless Chromium (Debian's `chromium`,
// installed by scripts/setup.sh --with-test-tools). The page's #selftest mode
// moves the mouse onto the last output token, clicks, leaves, toggles a
// method, and writes what it highlighted into <pre id="selftest">; the test
// checks each token's opacity against the blend computed here from the result
// file's matrices (whole-matrix min–max per method, mean intensity × 0.88),
// a heatmap pixel against the same blend over white, and that Chromium
// logged no console message at all.

#include "result/html_page.h"
#include "result/result_json.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace tokenlens;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string readAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string unescapeHtml(std::string s) {
    const std::pair<const char*, const char*> entities[] = {{"&quot;", "\""}, {"&lt;", "<"}, {"&gt;", ">"},
                                                            {"&#39;", "'"},   {"&amp;", "&"}};
    for (const auto& [from, to] : entities) {
        for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + 1)) s.replace(p, strlen(from), to);
    }
    return s;
}

std::string findChromium() {
    for (const char* c : {"chromium", "chromium-browser", "google-chrome"}) {
        if (std::system((std::string("command -v ") + c + " >/dev/null 2>&1").c_str()) == 0) return c;
    }
    return {};
}

// The palette of docs/gui.md (IBM / Okabe–Ito), written out here.
std::array<double, 3> colourOf(const std::string& method) {
    if (method == "attention") return {0x64, 0x8F, 0xFF};
    if (method == "saliency") return {0xFE, 0x61, 0x00};
    if (method == "integrated_gradients") return {0xDC, 0x26, 0x7F};
    ADD_FAILURE() << "no colour for " << method;
    return {128, 128, 128};
}

// Intensity of cell (i, j) of one result: min–max over the finite entries.
double intensity(const MethodResult& r, int64_t i, int64_t j) {
    const float v = r.raw.at(i, j);
    if (!std::isfinite(v)) return NAN;
    float lo = INFINITY, hi = -INFINITY;
    for (float x : r.raw.data) {
        if (std::isfinite(x)) {
            lo = std::min(lo, x);
            hi = std::max(hi, x);
        }
    }
    return hi > lo ? (static_cast<double>(v) - lo) / (static_cast<double>(hi) - lo) : 0.0;
}

// {r, g, b, alpha} of the app's blend of one intensity per result (NaN ones
// skipped), at most 1 each.
std::array<double, 4> blend(const std::vector<const MethodResult*>& rs, const std::vector<double>& vs) {
    double sum = 0, count = 0;
    std::array<double, 3> c{0, 0, 0};
    for (size_t m = 0; m < rs.size(); ++m) {
        if (!std::isfinite(vs[m])) continue;
        const double w = std::clamp(vs[m], 0.0, 1.0);
        ++count;
        sum += w;
        const auto col = colourOf(rs[m]->method);
        for (int k = 0; k < 3; ++k) c[static_cast<size_t>(k)] += w * col[static_cast<size_t>(k)];
    }
    if (count == 0 || sum <= 0) return {0, 0, 0, 0};
    return {c[0] / sum, c[1] / sum, c[2] / sum, sum / count * 0.88};
}

// The blend of the results' intensities of cell (i, j).
std::array<double, 4> blendAt(const std::vector<const MethodResult*>& rs, int64_t i, int64_t j) {
    std::vector<double> vs;
    for (const auto* r : rs) vs.push_back(intensity(*r, i, j));
    return blend(rs, vs);
}

// The segment scale worked out here from the raw matrix: the segment-level
// matrix (each segment's token rows summed, NaN skipped; then the output
// rows), min–max normalised over the segment rows' finite cells; row-major,
// (segments + t) × t.
std::vector<double> segmentScaled(const MethodResult& r) {
    const int64_t t = r.raw.cols, n = r.raw.rows - t, g = static_cast<int64_t>(r.promptSegments.size());
    std::vector<double> m;
    for (const auto& seg : r.promptSegments) {
        for (int64_t j = 0; j < t; ++j) {
            double v = NAN;
            for (int64_t i = seg.tokenStart; i < seg.tokenEnd; ++i) {
                const float x = r.raw.at(i, j);
                if (std::isfinite(x)) v = std::isfinite(v) ? v + x : x;
            }
            m.push_back(v);
        }
    }
    double lo = INFINITY, hi = -INFINITY;
    for (double v : m) {
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    for (int64_t i = n; i < n + t; ++i) {
        for (int64_t j = 0; j < t; ++j) m.push_back(r.raw.at(i, j));
    }
    for (double& v : m) v = std::isfinite(v) ? (hi > lo ? (v - lo) / (hi - lo) : 0.0) : NAN;
    EXPECT_EQ(static_cast<int64_t>(m.size()), (g + t) * t);
    return m;
}

JobResult sampleJob() {
    auto job = readResultFile(std::string(TOKENLENS_TEST_DATA_DIR) + "/results/two-models.json");
    EXPECT_TRUE(job.ok()) << job.error().message;
    return job.ok() ? job.value() : JobResult{};
}

// The page of `job` loaded in headless Chromium with #selftest: what the
// page wrote into <pre id="selftest"> (null when it did not run). Fails the
// test on any console message.
json selftestInChromium(const JobResult& job, const std::string& title, const std::string& tag) {
    const std::string chromium = findChromium();
    if (chromium.empty()) {
        ADD_FAILURE() << "chromium is not installed: run scripts/setup.sh --with-test-tools";
        return nullptr;
    }
    const fs::path dir = fs::temp_directory_path() / ("tokenlens-html-" + tag + "-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path page = dir / "page.html";
    {
        std::ofstream out(page, std::ios::binary);
        out << writeHtmlPage(job, title);
    }
    const std::string cmd = chromium + " --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" +
                            (dir / "profile").string() + " --enable-logging=stderr --v=0 --virtual-time-budget=5000" +
                            " --dump-dom 'file://" + page.string() + "#selftest' > " + (dir / "dom.html").string() +
                            " 2> " + (dir / "stderr.txt").string();
    const int rc = std::system(cmd.c_str());
    const std::string dom = readAll(dir / "dom.html");
    const std::string log = readAll(dir / "stderr.txt");
    fs::remove_all(dir);
    if (rc != 0) {
        ADD_FAILURE() << "chromium failed: " << log;
        return nullptr;
    }
    // No console message of any kind (errors, warnings, logs): Chromium logs
    // them as "INFO:CONSOLE:<line>] ..." (older versions "CONSOLE(<line>)").
    EXPECT_EQ(log.find("CONSOLE"), std::string::npos) << log;
    const size_t a = dom.find("<pre id=\"selftest\">");
    if (a == std::string::npos) {
        ADD_FAILURE() << "the page did not run its self-test:\n" << dom.substr(0, 2000) << log;
        return nullptr;
    }
    const size_t b = dom.find("</pre>", a);
    json st = json::parse(unescapeHtml(dom.substr(a + 19, b - a - 19)));
    EXPECT_TRUE(st.at("errors").empty()) << st.dump();
    return st;
}

} // namespace

TEST(HtmlPage, HoverPinAndTogglesWorkInChromium) {
    const JobResult job = sampleJob();
    const json st = selftestInChromium(job, "The cat </script> <b>sat</b>", "tokens");
    ASSERT_FALSE(st.is_null());

    // The first model with all its methods on; the last output token hovered.
    std::vector<const MethodResult*> rs;
    for (const auto& r : job.results) {
        if (r.model == st.at("model").get<std::string>()) rs.push_back(&r);
    }
    ASSERT_EQ(rs.size(), 3u);
    ASSERT_EQ(st.at("methods").size(), 3u);
    const int64_t n = static_cast<int64_t>(rs[0]->input.tokens.size());
    const int64_t rows = rs[0]->raw.rows, j = rs[0]->raw.cols - 1;
    ASSERT_EQ(st.at("hovered"), rows - 1);
    ASSERT_EQ(st.at("n"), n);
    const auto& after = st.at("after");
    ASSERT_EQ(static_cast<int64_t>(after.size()), rows);
    int64_t lit = 0;
    for (int64_t i = 0; i < rows; ++i) {
        const double expected = blendAt(rs, i, j)[3];
        EXPECT_NEAR(after[static_cast<size_t>(i)].get<double>(), expected, 0.0015) << "token " << i;
        lit += expected > 0 ? 1 : 0;
    }
    // y_j drew on the tokens before it only: the token itself and later are dark.
    EXPECT_EQ(after[static_cast<size_t>(rows - 1)].get<double>(), 0.0);
    EXPECT_GE(lit, n);
    EXPECT_NE(st.at("before"), after) << "hovering did not change the highlighted tokens";
    EXPECT_TRUE(st.at("focusClass").get<bool>());
    // Pinned: leaving the token keeps its colours; clicking again unpins.
    EXPECT_EQ(st.at("pinned"), rows - 1);
    EXPECT_EQ(st.at("pinnedAfterLeave"), after);
    EXPECT_TRUE(st.at("unpinned").get<bool>());
    EXPECT_TRUE(st.at("backgroundsChanged").get<bool>()) << "switching a method off changed no colour";

    // Heatmap: cell (0, j) in the blend over white; a NaN cell grey.
    const auto c = blendAt(rs, 0, j);
    const auto& px = st.at("heatmapFocusPixel");
    for (size_t k = 0; k < 3; ++k) {
        EXPECT_NEAR(px[k].get<double>(), c[k] * c[3] + 255 * (1 - c[3]), 3.0) << "channel " << k;
    }
    EXPECT_EQ(st.at("heatmapNaNPixel"), json::array({236, 236, 236}));
    EXPECT_EQ(st.at("heatmapRows"), rows);
    EXPECT_TRUE(st.at("chips").empty());
}

TEST(HtmlPage, SegmentsFoldIntoChipsAndHeatmapRowsInChromium) {
    // The first model's prompt "The cat sat on the mat." (7 tokens) in two
    // segments, as a job with granularity spans records them.
    JobResult job = sampleJob();
    const std::string model = job.results.at(0).model;
    for (auto& r : job.results) {
        if (r.model != model) continue;
        r.granularity = "spans";
        r.promptSegments = {{0, 3, 0, 11, "first"}, {3, 7, 11, 23, ""}};
    }
    const json data = htmlPageData(job, "segments");
    ASSERT_EQ(data["results"][0]["segments"].size(), 2u);
    EXPECT_EQ(data["results"][0]["segments"][1]["text"], "on the mat."); // the prompt's own text

    const json st = selftestInChromium(job, "segments", "segments");
    ASSERT_FALSE(st.is_null());
    ASSERT_EQ(st.at("model"), model);
    std::vector<const MethodResult*> rs;
    for (const auto& r : job.results) {
        if (r.model == model) rs.push_back(&r);
    }
    const int64_t rows = rs[0]->raw.rows, t = rs[0]->raw.cols, j = t - 1;
    // Two chips with the segments' texts, then the output tokens.
    EXPECT_EQ(st.at("chips"), json({"\u25b8 first: The cat sat", "\u25b8 on the mat."}));
    json shown = {0, 3};
    for (int64_t k = 7; k < rows; ++k) shown.push_back(k);
    EXPECT_EQ(st.at("tokenElements"), shown);
    // The segment scale of each method (worked out here from the raw matrix).
    std::vector<std::vector<double>> scaled;
    for (const auto* r : rs) scaled.push_back(segmentScaled(*r));
    auto segmentBlend = [&](int64_t row, int64_t col) {
        std::vector<double> vs;
        for (const auto& m : scaled) vs.push_back(m[static_cast<size_t>(row * t + col)]);
        return blend(rs, vs);
    };
    // Before any hover (token importance): a chip's intensity is its row sum
    // on the segment scale, min–max over the two segments: one 0, one 1.
    const auto& before = st.at("before");
    ASSERT_EQ(before.size(), shown.size());
    std::vector<double> first, second; // per method: the two chips' intensities
    for (const auto& m : scaled) {
        double s0 = 0, s1 = 0;
        for (int64_t c = 0; c < t; ++c) {
            if (std::isfinite(m[static_cast<size_t>(c)])) s0 += m[static_cast<size_t>(c)];
            if (std::isfinite(m[static_cast<size_t>(t + c)])) s1 += m[static_cast<size_t>(t + c)];
        }
        first.push_back(s0 > s1 ? 1.0 : 0.0);
        second.push_back(s1 > s0 ? 1.0 : 0.0);
    }
    EXPECT_NEAR(before[0].get<double>(), blend(rs, first)[3], 0.0015);
    EXPECT_NEAR(before[1].get<double>(), blend(rs, second)[3], 0.0015);
    // Hovering the last output token: a chip's opacity is the blend of its
    // segment's cell in that column on the segment scale, as in the app.
    const auto& after = st.at("after");
    ASSERT_EQ(after.size(), shown.size());
    EXPECT_NEAR(after[0].get<double>(), segmentBlend(0, j)[3], 0.0015);
    EXPECT_NEAR(after[1].get<double>(), segmentBlend(1, j)[3], 0.0015);
    EXPECT_GT(after[1].get<double>(), 0.0);
    for (size_t e = 2; e < after.size(); ++e) {
        EXPECT_NEAR(after[e].get<double>(), blendAt(rs, shown[e].get<int64_t>(), j)[3], 0.0015) << "element " << e;
    }
    // The heatmap: one row per segment, then the output rows, all on the
    // segment scale; the first segment's cell is that blend over white.
    EXPECT_EQ(st.at("heatmapRows"), 2 + t);
    const auto c = segmentBlend(0, j);
    const auto& px = st.at("heatmapFocusPixel");
    for (size_t k = 0; k < 3; ++k) {
        EXPECT_NEAR(px[k].get<double>(), c[k] * c[3] + 255 * (1 - c[3]), 3.0) << "channel " << k;
    }
    EXPECT_EQ(st.at("heatmapNaNPixel"), json::array({236, 236, 236}));
    // A click unfolds the first chip into its tokens; its marker folds it again.
    json unfolded = {0, 1, 2, 3};
    for (int64_t k = 7; k < rows; ++k) unfolded.push_back(k);
    EXPECT_EQ(st.at("unfolded"), unfolded);
    EXPECT_EQ(st.at("refolded"), 2);
}
