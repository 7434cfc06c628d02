#include "viewmodel/result_model.h"

#include "analysis/segments.h"

#include "viewmodel/palette.h"

#include <algorithm>
#include <limits>
#include <span>

namespace tokenlens::gui {

namespace an = tokenlens::analysis;

namespace {

int64_t countFinite(const std::vector<double>& v) {
    return std::count_if(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

QString quoted(const std::string& token) { return QStringLiteral("“%1”").arg(displayToken(token)); }

} // namespace

std::vector<double> vectorIntensity(const std::vector<double>& values) {
    an::Range range = an::finiteRange(std::span<const double>(values));
    // A vector constant up to float32 rounding (e.g. column sums that are all
    // 1 under the per-column L1 scope) is constant: stretching its rounding
    // noise to [0, 1] would show colours that mean nothing.
    if (range.valid() && range.max - range.min <= 1e-5 * std::max(std::abs(range.max), std::abs(range.min))) {
        range.max = range.min;
    }
    std::vector<double> out(values.size());
    for (size_t i = 0; i < values.size(); ++i) out[i] = an::intensity(values[i], range);
    return out;
}

QString displayToken(const std::string& token) {
    if (token.empty()) return QStringLiteral("∅");
    const QString s = QString::fromStdString(token);
    QString out;
    out.reserve(s.size());
    for (QChar ch : s) {
        if (ch == u'\n') out += QChar(0x21B5);      // ↵
        else if (ch == u'\t') out += QChar(0x21E5); // ⇥
        else if (ch == u'\r') continue;
        else if (ch.unicode() < 0x20 || ch.unicode() == 0x7F) out += QChar(0x00B7);
        else out += ch;
    }
    return out.isEmpty() ? QStringLiteral("∅") : out;
}

QString tokenSymbol(int64_t k, int64_t n) {
    const bool out = k >= n;
    QString digits = QString::number(out ? k - n : k);
    for (auto& ch : digits) {
        if (ch.isDigit()) ch = QChar(0x2080 + ch.digitValue());
    }
    return (out ? QStringLiteral("y") : QStringLiteral("x")) + digits;
}

QString scopeLabel(an::NormScope scope) {
    switch (scope) {
    case an::NormScope::Matrix: return QStringLiteral("whole matrix (eq. 7)");
    case an::NormScope::ColumnMinMax: return QStringLiteral("per output, min–max");
    case an::NormScope::ColumnL1: return QStringLiteral("per output, sum 1 (Inseq)");
    }
    return {};
}

int newlineCount(const std::string& token) { return static_cast<int>(std::count(token.begin(), token.end(), '\n')); }

// ---------------------------------------------------------------- selection

void ResultModel::setJob(JobResult job) {
    m_job = std::make_shared<const JobResult>(std::move(job));
    m_hasJob = true;
    m_models.clear();
    for (const auto& r : m_job->results) {
        if (std::find(m_models.begin(), m_models.end(), r.model) == m_models.end()) m_models.push_back(r.model);
    }
    m_active.clear();
    selectModel(m_models.empty() ? -1 : 0);
    setDefaultActive();
}

void ResultModel::setDefaultActive() {
    // Two methods at most: five blended colours are hard to read. Attention
    // (blue) and integrated gradients (magenta) when present, which mix to
    // purple where they agree.
    m_active.assign(m_methods.size(), false);
    int count = 0;
    for (const char* id : {"integrated_gradients", "attention"}) {
        if (const int m = methodIndex(id); m >= 0) {
            m_active[static_cast<size_t>(m)] = true;
            ++count;
        }
    }
    for (size_t m = 0; m < m_methods.size() && count < 2; ++m) {
        if (!m_active[m]) {
            m_active[m] = true;
            ++count;
        }
    }
}

void ResultModel::setCurrentModel(int model) {
    if (model < 0 || model >= static_cast<int>(m_models.size()) || model == m_model) return;
    std::vector<std::string> wasActive;
    for (int m : activeMethods()) wasActive.push_back(m_methods[static_cast<size_t>(m)].id);
    selectModel(model);
    m_active.assign(m_methods.size(), false);
    bool any = false;
    for (size_t m = 0; m < m_methods.size(); ++m) {
        if (std::find(wasActive.begin(), wasActive.end(), m_methods[m].id) != wasActive.end()) {
            m_active[m] = true;
            any = true;
        }
    }
    if (!any) setDefaultActive();
}

void ResultModel::selectModel(int model) {
    m_model = model;
    m_methods.clear();
    m_hidden.clear();
    m_tokens.clear();
    m_ids.clear();
    m_segments.clear();
    m_promptSegments.clear();
    m_n = m_t = 0;
    if (model >= 0) {
        const std::string& name = m_models[static_cast<size_t>(model)];
        const MethodResult* ref = nullptr;
        size_t refIndex = 0;
        for (size_t i = 0; i < m_job->results.size(); ++i) {
            const auto& r = m_job->results[i];
            if (r.model != name) continue;
            if (r.status != RunStatus::Completed) {
                m_hidden.push_back({i, r.error ? *r.error : std::string(runStatusName(r.status))});
                continue;
            }
            const bool shapeOk = r.raw.rows >= r.raw.cols && static_cast<int64_t>(r.contextTokens.size()) == r.raw.rows &&
                                 r.raw.data.size() == static_cast<size_t>(r.raw.rows * r.raw.cols);
            if (!shapeOk) {
                m_hidden.push_back({i, "its attribution matrix does not fit its tokens"});
                continue;
            }
            if (!ref) {
                ref = &r;
                refIndex = i;
                m_t = r.raw.cols;
                m_n = r.raw.rows - r.raw.cols;
                m_tokens = r.contextTokens;
                if (static_cast<int64_t>(r.segments.size()) == r.raw.rows) m_segments = r.segments;
                if (!r.promptSegments.empty() && analysis::checkSegments(r.promptSegments, m_n).ok()) {
                    m_promptSegments = r.promptSegments;
                }
                m_ids = r.input.ids;
                m_ids.insert(m_ids.end(), r.output.ids.begin(), r.output.ids.end());
            } else if (r.raw.rows != ref->raw.rows || r.raw.cols != ref->raw.cols || r.output.ids != ref->output.ids ||
                       r.contextTokens != ref->contextTokens) {
                m_hidden.push_back({i, "its tokens differ from those of " + m_job->results[refIndex].method});
                continue;
            }
            m_methods.push_back({i, r.method, methodColour(r.method)});
        }
        std::stable_sort(m_methods.begin(), m_methods.end(), [](const ShownMethod& a, const ShownMethod& b) {
            const int oa = methodOrder(a.id), ob = methodOrder(b.id);
            return (oa < 0 ? 1000 : oa) < (ob < 0 ? 1000 : ob);
        });
    }
    m_window = an::clampWindow(m_preferredWindow, windowRows(), m_t);
    invalidate();
}

void ResultModel::invalidate() { m_cache.assign(m_methods.size(), Cache{}); }

int ResultModel::methodIndex(const std::string& id) const {
    for (size_t m = 0; m < m_methods.size(); ++m) {
        if (m_methods[m].id == id) return static_cast<int>(m);
    }
    return -1;
}

bool ResultModel::isActive(int m) const {
    return m >= 0 && static_cast<size_t>(m) < m_active.size() && m_active[static_cast<size_t>(m)];
}

void ResultModel::setActive(int m, bool on) {
    if (m >= 0 && static_cast<size_t>(m) < m_active.size()) m_active[static_cast<size_t>(m)] = on;
}

std::vector<int> ResultModel::activeMethods() const {
    std::vector<int> out;
    for (size_t m = 0; m < m_active.size(); ++m) {
        if (m_active[m]) out.push_back(static_cast<int>(m));
    }
    return out;
}

std::vector<QColor> ResultModel::activeColours() const {
    std::vector<QColor> out;
    for (int m : activeMethods()) out.push_back(m_methods[static_cast<size_t>(m)].colour);
    return out;
}

int64_t ResultModel::tokenId(int64_t k) const {
    return k >= 0 && static_cast<size_t>(k) < m_ids.size() ? m_ids[static_cast<size_t>(k)] : -1;
}

int64_t ResultModel::maxWindow() const { return an::maxWindow(windowRows(), m_t); }

void ResultModel::setWindow(int64_t c) {
    if (c >= 1) m_preferredWindow = c;
    m_window = an::clampWindow(c, windowRows(), m_t);
}

void ResultModel::setScope(an::NormScope scope) {
    if (scope == m_scope) return;
    m_scope = scope;
    for (auto& c : m_cache) {
        c.normalizedValid = false;
        c.segmentValid = false;
        c.importanceValid = false;
    }
}

bool ResultModel::isTemplateToken(int64_t k) const {
    return k >= 0 && static_cast<size_t>(k) < m_segments.size() && m_segments[static_cast<size_t>(k)].role == "template";
}

void ResultModel::setIncludeTemplate(bool on) {
    if (on == m_includeTemplate) return;
    m_includeTemplate = on;
    invalidate();
}

std::vector<bool> ResultModel::leftOutRows() const {
    std::vector<bool> rows;
    if (m_includeTemplate || m_segments.empty()) return rows;
    rows.resize(m_segments.size());
    bool any = false;
    for (size_t k = 0; k < m_segments.size(); ++k) any |= (rows[k] = m_segments[k].role == "template");
    if (!any) rows.clear();
    return rows;
}

// ------------------------------------------------------------------ caches

AttributionMatrix withoutRows(const AttributionMatrix& raw, const std::vector<bool>& rows) {
    AttributionMatrix m = raw;
    for (int64_t r = 0; r < m.rows && static_cast<size_t>(r) < rows.size(); ++r) {
        if (!rows[static_cast<size_t>(r)]) continue;
        for (int64_t c = 0; c < m.cols; ++c) m.at(r, c) = std::numeric_limits<float>::quiet_NaN();
    }
    return m;
}

const AttributionMatrix& ResultModel::shownRaw(int m) const {
    Cache& c = m_cache[static_cast<size_t>(m)];
    const auto rows = leftOutRows();
    if (rows.empty()) return methodResult(m).raw;
    if (!c.shownValid) {
        c.shown = withoutRows(methodResult(m).raw, rows);
        c.shownValid = true;
    }
    return c.shown;
}

const AttributionMatrix& ResultModel::normalized(int m) const {
    Cache& c = m_cache[static_cast<size_t>(m)];
    if (!c.normalizedValid) {
        c.normalized = an::normalize(shownRaw(m), m_scope, m_n);
        c.normalizedValid = true;
    }
    return c.normalized;
}

const ResultModel::Cache& ResultModel::rawCache(int m) const {
    Cache& c = m_cache[static_cast<size_t>(m)];
    if (!c.rawValid) {
        c.raw = an::tokenImportance(shownRaw(m), m_n);
        c.rawRankInput = an::rank(std::span<const double>(c.raw.input));
        c.rawRankOutput = an::rank(std::span<const double>(c.raw.output));
        c.rawValid = true;
    }
    return c;
}

const std::vector<double>& ResultModel::importanceIntensity(int m) const {
    Cache& c = m_cache[static_cast<size_t>(m)];
    if (!c.importanceValid) {
        const auto imp = an::tokenImportance(normalized(m), m_n);
        auto in = vectorIntensity(imp.input);
        auto out = vectorIntensity(imp.output);
        c.importanceIntensity = std::move(in);
        c.importanceIntensity.insert(c.importanceIntensity.end(), out.begin(), out.end());
        c.importanceIntensity.resize(static_cast<size_t>(m_n + m_t), NAN);
        c.importanceValid = true;
    }
    return c.importanceIntensity;
}

// ----------------------------------------------------------------- colours

Colouring ResultModel::colouring(int64_t focus) const {
    Colouring col;
    col.methods = activeMethods();
    // At a segment granularity c counts segments (m_window ≤ ⌊min(segments, t)/2⌋,
    // so the token-level calls below take the same c over the output columns).
    col.window = an::effectiveWindow(m_window, windowRows(), m_t);
    const int g = promptSegmentOf(focus); // -1 without segments
    const auto segs = static_cast<int64_t>(m_promptSegments.size());
    const int64_t K = m_n + m_t;
    const auto Ks = static_cast<size_t>(K);
    if (focus >= 0 && focus < K) {
        col.focus = focus;
        col.mode = focus < m_n ? ColourMode::InputWindow : ColourMode::OutputWindow;
    }
    const int64_t c = col.window;
    if (col.mode == ColourMode::InputWindow && g >= 0) { // the tokens of segments g−c..g+c
        col.windowFirst = m_promptSegments[static_cast<size_t>(std::max<int64_t>(0, g - c))].tokenStart;
        col.windowLast = m_promptSegments[static_cast<size_t>(std::min(segs - 1, g + c))].tokenEnd - 1;
    } else if (col.mode == ColourMode::InputWindow) {
        col.windowFirst = std::max<int64_t>(0, focus - c);
        col.windowLast = std::min(m_n - 1, focus + c);
    } else if (col.mode == ColourMode::OutputWindow) {
        const int64_t j = focus - m_n;
        col.windowFirst = m_n + std::max<int64_t>(0, j - c);
        col.windowLast = m_n + std::min(m_t - 1, j + c);
    }
    for (int m : col.methods) {
        switch (col.mode) {
        case ColourMode::Importance:
            col.intensity.push_back(importanceIntensity(m));
            break;
        case ColourMode::InputWindow: {
            // Segments: eq. 4 over the segment rows of the segment scale (analysis/segment_scale.h).
            const auto w = vectorIntensity(g >= 0 ? an::inputCentredWindow(segmentNormalized(m), segs, g, m_window)
                                                  : an::inputCentredWindow(normalized(m), m_n, focus, m_window));
            std::vector<double> v(Ks, NAN);
            for (size_t j = 0; j < w.size() && static_cast<int64_t>(j) < m_t; ++j) v[static_cast<size_t>(m_n) + j] = w[j];
            col.intensity.push_back(std::move(v));
            break;
        }
        case ColourMode::OutputWindow: {
            auto v = vectorIntensity(an::outputCentredWindow(normalized(m), m_n, focus - m_n, m_window, true));
            v.resize(Ks, NAN);
            col.intensity.push_back(std::move(v));
            break;
        }
        }
    }
    const std::vector<QColor> colours = activeColours();
    col.fills.resize(Ks);
    std::vector<double> vals(col.methods.size());
    for (size_t k = 0; k < Ks; ++k) {
        for (size_t a = 0; a < col.methods.size(); ++a) vals[a] = col.intensity[a][k];
        col.fills[k] = blendIntensities(vals, colours);
    }
    colourSegments(col);
    return col;
}

// ----------------------------------------------------------------- details

TokenDetails ResultModel::details(int64_t k, int64_t focus) const {
    TokenDetails d;
    if (k < 0 || k >= contextLength()) return d;
    d.index = k;
    d.output = k >= m_n;
    d.position = d.output ? k - m_n : k;
    d.text = m_tokens[static_cast<size_t>(k)];
    d.id = tokenId(k);
    const bool hasFocus = focus >= 0 && focus < contextLength() && focus != k;
    for (int m : activeMethods()) {
        MethodScore s;
        s.method = m;
        const Cache& c = rawCache(m);
        const auto& values = d.output ? c.raw.output : c.raw.input;
        const auto& ranks = d.output ? c.rawRankOutput : c.rawRankInput;
        const auto p = static_cast<size_t>(d.position);
        if (p < values.size()) {
            s.importance = values[p];
            s.rank = ranks[p];
            s.rankOf = countFinite(values);
        }
        if (hasFocus) {
            const auto& raw = methodResult(m).raw;
            if (focus < m_n && d.output) {
                const int g = promptSegmentOf(focus); // segments: the window of segments around its segment
                const auto w = g >= 0 ? an::inputCentredWindow(segmentRaw(m), windowRows(), g, m_window)
                                      : an::inputCentredWindow(raw, m_n, focus, m_window);
                if (p < w.size()) s.toFocus = w[p];
            } else if (focus >= m_n) {
                const auto w = an::outputCentredWindow(raw, m_n, focus - m_n, m_window, true);
                if (static_cast<size_t>(k) < w.size()) s.toFocus = w[static_cast<size_t>(k)];
            }
        }
        d.scores.push_back(s);
    }
    if (d.output) {
        const auto p = static_cast<size_t>(d.position);
        std::vector<int> order = activeMethods();
        for (size_t m = 0; m < m_methods.size(); ++m) order.push_back(static_cast<int>(m));
        for (int m : order) {
            const auto& r = methodResult(m);
            if (std::isnan(d.stepProbability) && p < r.stepProbability.size()) d.stepProbability = r.stepProbability[p];
            if (std::isnan(d.stepEntropy) && p < r.stepEntropy.size()) d.stepEntropy = r.stepEntropy[p];
        }
    }
    return d;
}

StatisticsRequest ResultModel::statisticsRequest(int64_t focus, int64_t topCount, int64_t bins) const {
    StatisticsRequest r;
    r.job = m_job;
    for (int m : activeMethods()) {
        r.results.push_back(m_methods[static_cast<size_t>(m)].resultIndex);
        r.methodLabels.push_back(methodLabel(m_methods[static_cast<size_t>(m)].id).toStdString());
    }
    r.scope = m_scope;
    r.n = m_n;
    r.t = m_t;
    r.window = m_window;
    r.focus = focus >= 0 && focus < contextLength() ? focus : -1;
    if (r.focus >= 0) r.focusToken = m_tokens[static_cast<size_t>(r.focus)];
    r.topCount = topCount;
    r.bins = bins;
    r.leftOutRows = leftOutRows();
    r.segments = m_promptSegments;
    return r;
}

AttributionMatrix ResultModel::displayedMatrix(QString* what) const {
    return gui::displayedMatrix(statisticsRequest(-1), what);
}

Statistics ResultModel::statistics(int64_t focus, int64_t topCount, int64_t bins) const {
    return computeStatistics(statisticsRequest(focus, topCount, bins));
}

AttributionMatrix displayedMatrix(const StatisticsRequest& rq, QString* what) {
    if (rq.results.empty() || !rq.job) {
        if (what) *what = QStringLiteral("no method");
        return {};
    }
    const QString leftOut = rq.leftOutRows.empty() ? QString() : QStringLiteral(", template tokens left out");
    if (rq.results.size() == 1) {
        if (what) *what = QStringLiteral("%1, raw%2").arg(QString::fromStdString(rq.methodLabels[0]), leftOut);
        return withoutRows(rq.job->results[rq.results[0]].raw, rq.leftOutRows);
    }
    std::vector<AttributionMatrix> raws;
    for (size_t i : rq.results) raws.push_back(withoutRows(rq.job->results[i].raw, rq.leftOutRows));
    auto mm = an::multiMethod(raws, rq.scope, rq.n);
    if (what) *what = QStringLiteral("mean of %1 methods (eq. 10)%2").arg(rq.results.size()).arg(leftOut);
    return mm ? std::move(mm.value()) : AttributionMatrix{};
}

Statistics computeStatistics(const StatisticsRequest& rq) {
    Statistics st;
    QString what;
    const int64_t n = rq.n, t = rq.t, focus = rq.focus;
    // A segmented job: the segment-level matrix, whose rows the window counts.
    // Prompt values are one per segment, on the segment scale the chips show
    // (the focus on a prompt token ranks output tokens, by its segment's window).
    const bool segmented = !rq.segments.empty();
    const bool bySegment = segmented && !(focus >= 0 && focus < n);
    const AttributionMatrix a = segmented ? displayedSegmentMatrix(rq, &what) : displayedMatrix(rq, &what);
    const int64_t rowsN = segmented ? static_cast<int64_t>(rq.segments.size()) : n;
    if (a.empty() || n == 0) {
        st.basis = QStringLiteral("Nothing to summarise");
        st.histogram = an::histogram(std::span<const double>(), 4);
        return st;
    }
    std::vector<double> values;
    const int64_t c = an::effectiveWindow(rq.window, rowsN, t);
    const QString cText = !segmented ? QString::number(c)
                                       : (c == 1 ? QStringLiteral("1 segment") : QStringLiteral("%1 segments").arg(c));
    if (focus >= 0 && focus < n) {
        values = an::inputCentredWindow(a, rowsN, segmented ? segmentOfToken(rq.segments, focus) : focus, rq.window);
        st.outputs = true;
        st.basis = QStringLiteral("Output tokens for %1 %2 (eq. 4, c = %3) — %4")
                       .arg(tokenSymbol(focus, n), quoted(rq.focusToken), cText, what);
    } else if (focus >= n && focus < n + t) {
        values = an::outputCentredWindow(a, rowsN, focus - n, rq.window, false);
        st.basis = QStringLiteral("Prompt tokens for %1 %2 (eq. 5, c = %3) — %4")
                       .arg(tokenSymbol(focus, n), quoted(rq.focusToken), QString::number(c), what);
    } else {
        values = an::tokenImportance(a, rowsN).input;
        st.basis = QStringLiteral("Prompt token importance (eq. 6) — %1").arg(what);
    }
    std::vector<std::pair<int64_t, int64_t>> entries; // context ranges of the values
    if (bySegment) {
        st.segments = true;
        st.basis.replace(QStringLiteral("Prompt token"), QStringLiteral("Prompt segment"));
        for (const auto& g : rq.segments) entries.emplace_back(g.tokenStart, g.tokenEnd);
    } else {
        for (int64_t i = 0; i < static_cast<int64_t>(values.size()); ++i) {
            const int64_t k = st.outputs ? n + i : i;
            entries.emplace_back(k, k + 1);
        }
    }
    const std::span<const double> v(values);
    for (int64_t i : an::topK(v, rq.topCount)) {
        st.top.push_back(entries[static_cast<size_t>(i)].first);
        st.topEnd.push_back(entries[static_cast<size_t>(i)].second);
        st.topValues.push_back(values[static_cast<size_t>(i)]);
    }
    int64_t bins = rq.bins;
    if (bins <= 0) {
        const auto count = static_cast<double>(
            std::count_if(values.begin(), values.end(), [](double x) { return std::isfinite(x); }));
        bins = std::clamp<int64_t>(std::llround(2 * std::sqrt(count)), 4, 20);
    }
    st.histogram = an::histogram(v, bins);
    st.gini = an::gini(v);
    st.entropy = an::normalizedEntropy(v);
    return st;
}

// ----------------------------------------------------------------- heatmap

QImage ResultModel::heatmapImage(const QColor& base, bool segmentRows) const {
    if (m_methods.empty() || m_t == 0) return {};
    const auto active = activeMethods();
    const bool grouped = segmentRows && !m_promptSegments.empty();
    const int rows = static_cast<int>((grouped ? static_cast<int64_t>(m_promptSegments.size()) : m_n) + m_t),
              cols = static_cast<int>(m_t);
    QImage img(cols, rows, QImage::Format_ARGB32_Premultiplied);
    img.fill(Qt::transparent);
    if (active.empty()) {
        // Nothing to colour: show the finite cells as plain background.
        const AttributionMatrix& raw = grouped ? segmentNormalized(0) : methodResult(0).raw;
        for (int r = 0; r < rows; ++r) {
            auto* line = reinterpret_cast<QRgb*>(img.scanLine(r));
            for (int c = 0; c < cols; ++c) {
                if (std::isfinite(raw.at(r, c))) line[c] = base.rgb();
            }
        }
        return img;
    }
    struct Src {
        const float* data;
        float r, g, b;
    };
    std::vector<Src> src;
    for (int m : active) {
        const AttributionMatrix* n = grouped ? &segmentNormalized(m) : &normalized(m);
        const QColor& c = m_methods[static_cast<size_t>(m)].colour;
        src.push_back({n->data.data(), c.redF(), c.greenF(), c.blueF()});
    }
    const float br = base.redF(), bg = base.greenF(), bb = base.blueF();
    const auto maxAlpha = static_cast<float>(kMaxFillAlpha);
    for (int r = 0; r < rows; ++r) {
        auto* line = reinterpret_cast<QRgb*>(img.scanLine(r));
        const size_t off = static_cast<size_t>(r) * static_cast<size_t>(cols);
        for (int c = 0; c < cols; ++c) {
            float sum = 0, cr = 0, cg = 0, cb = 0;
            int count = 0;
            for (const Src& s : src) {
                const float v = s.data[off + static_cast<size_t>(c)];
                if (!std::isfinite(v)) continue;
                const float w = std::clamp(v, 0.0f, 1.0f);
                ++count;
                sum += w;
                cr += w * s.r;
                cg += w * s.g;
                cb += w * s.b;
            }
            if (count == 0) continue; // transparent: the view hatches NaN cells
            float outR = br, outG = bg, outB = bb;
            if (sum > 0) {
                const float a = sum / static_cast<float>(count) * maxAlpha;
                outR = cr / sum * a + br * (1 - a);
                outG = cg / sum * a + bg * (1 - a);
                outB = cb / sum * a + bb * (1 - a);
            }
            line[c] = qRgb(static_cast<int>(outR * 255.0f + 0.5f), static_cast<int>(outG * 255.0f + 0.5f),
                           static_cast<int>(outB * 255.0f + 0.5f));
        }
    }
    return img;
}

} // namespace tokenlens::gui
