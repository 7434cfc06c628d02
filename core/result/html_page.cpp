#include "result/html_page.h"

#include "analysis/segment_scale.h"
#include "analysis/segment_text.h"
#include "analysis/segments.h"
#include "result/method_style.h"
#include "util/html.h"

#include <cmath>
#include <cstdio>

namespace tokenlens {

// The page's style sheet and script (html_page_assets.cpp).
extern const char* const kHtmlPageStyle;
extern const char* const kHtmlPageScript;

namespace {

using nlohmann::json;

std::string hexColour(uint32_t rgb) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%06x", rgb & 0xFFFFFF);
    return buf;
}

} // namespace

json htmlPageData(const JobResult& job, const std::string& title) {
    json results = json::array();
    for (const auto& r : job.results) {
        if (r.status != RunStatus::Completed || r.raw.empty()) continue;
        const MethodStyle* style = findMethodStyle(r.method);
        json raw = json::array();
        for (float v : r.raw.data) raw.push_back(std::isfinite(v) ? json(v) : json(nullptr));
        std::vector<int64_t> ids = r.input.ids;
        ids.insert(ids.end(), r.output.ids.begin(), r.output.ids.end());
        json prob = json::array();
        for (double p : r.stepProbability) prob.push_back(std::isfinite(p) ? json(p) : json(nullptr));
        // The prompt's segments (job option granularity): the page folds them
        // into chips and gives each one heatmap row, as the app does.
        json segments = json::array();
        json segmentMatrix = json::array();
        const auto n = static_cast<int64_t>(r.input.tokens.size());
        if (n == r.raw.rows - r.raw.cols && analysis::checkSegments(r.promptSegments, n).ok()) {
            for (const auto& g : r.promptSegments) {
                segments.push_back({{"tokens", {g.tokenStart, g.tokenEnd}},
                                    {"label", g.label},
                                    {"text", analysis::segmentText(r.input.text, g)}});
            }
            // Chips and segment rows are coloured on the segment scale, the
            // app's whole-matrix one (analysis/segment_scale.h).
            const AttributionMatrix s =
                analysis::normalizedSegments(r.raw, r.promptSegments, analysis::NormScope::Matrix);
            for (float v : s.data) segmentMatrix.push_back(std::isfinite(v) ? json(v) : json(nullptr));
        }
        results.push_back({{"model", r.model},
                           {"method", r.method},
                           {"label", style ? style->label : r.method},
                           {"colour", hexColour(style ? style->rgb : kUnknownMethodRgb)},
                           {"n", r.input.tokens.size()},
                           {"tokens", r.contextTokens},
                           {"ids", ids},
                           {"rows", r.raw.rows},
                           {"cols", r.raw.cols},
                           {"raw", raw},
                           {"probability", prob},
                           {"segments", segments},
                           {"segment_matrix", segmentMatrix}});
    }
    return {{"title", title}, {"job", job.jobId}, {"maxAlpha", kMaxFillAlpha}, {"results", results}};
}

std::string writeHtmlPage(const JobResult& job, const std::string& title) {
    std::string data = htmlPageData(job, title).dump(-1, ' ', false, json::error_handler_t::replace);
    // Inside <script>: no "</script>" or "<!--" may appear; '<' only occurs in strings.
    std::string safe;
    for (char c : data) {
        if (c == '<') safe += "\\u003c";
        else safe += c;
    }
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n<title>" +
                      htmlEscape(title) + "</title>\n<style>\n" + kHtmlPageStyle + "</style>\n</head>\n<body>\n";
    out += "<header><h1>" + htmlEscape(title) + "</h1><div id=\"controls\"></div></header>\n"
           "<main><section id=\"tokens-section\"><h2>Tokens</h2><p id=\"mode\"></p><div id=\"tokens\"></div>"
           "<p id=\"details\"></p></section>\n"
           "<section id=\"heatmap-section\"><h2>Heatmap</h2><div id=\"heatmap-wrap\"><canvas id=\"heatmap\">"
           "</canvas></div></section></main>\n"
           "<footer>Written by TokenLens. Hover a token to see what it drew on (an output token) or what drew on it "
           "(a prompt token); click to pin, Esc or click again to unpin; a folded segment (\u25b8) opens on click. "
           "Colours: each method's colour, blended by strength; opacity is the methods' mean intensity.</footer>\n";
    out += "<script type=\"application/json\" id=\"tl-data\">" + safe + "</script>\n<script>\n" + kHtmlPageScript +
           "</script>\n</body>\n</html>\n";
    return out;
}

} // namespace tokenlens
