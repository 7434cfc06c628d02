#pragma once
// The dashboard's state around one loaded result, as a value type without
// widgets: which model and methods are shown, the context window c, the
// normalisation scope, and everything the views compute from them with the
// aggregation functions of core/analysis (docs/aggregations.md):
//   - token colours: token importance (eq. 6) by default; hovering or pinning
//     an input token colours the output tokens by the input-centred window
//     (eq. 4), an output token colours the context by the output-centred
//     window (eq. 5); every vector is turned into intensities (eq. 7, min–max
//     over its finite values) and the methods' intensities are blended
//     (palette.h);
//   - details of one token (raw scores, ranks, step scores);
//   - statistics (top tokens, histogram, concentration) on what is shown;
//   - the heatmap's cell image.
//
// All aggregations run on N = normalize(A, scope, n): the matrix normalised on
// its prompt block (the contract's convention), so that the scope selector
// changes every view consistently. With the default scope (eq. 7, whole
// matrix) N is an increasing affine map of A on the prompt block, so the
// colours equal those of the raw matrix.
//
// Token positions are context indices k of X ⊕ Y: k < n is the prompt token
// x_k, k ≥ n the output token y_{k−n}.

#include "analysis/aggregations.h"
#include "result/job_result.h"

#include <QColor>
#include <QImage>
#include <QString>

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens::gui {

// One (model, method) result of the current model that the views can show.
struct ShownMethod {
    size_t resultIndex = 0; // into JobResult::results
    std::string id;         // "attention", ...
    QColor colour;
};

enum class ColourMode {
    Importance,   // eq. 6 on every token
    InputWindow,  // focus is a prompt token: output tokens by eq. 4
    OutputWindow, // focus is an output token: context tokens by eq. 5
};

struct Colouring {
    ColourMode mode = ColourMode::Importance;
    int64_t focus = -1;  // context index the colours belong to (-1: none)
    int64_t window = 0;  // c used
    // Context indices [windowFirst, windowLast] averaged around the focus
    // (empty when windowFirst > windowLast).
    // At a segment granularity a prompt focus's window is whole segments:
    // the tokens of the segments g−c..g+c around the focus's segment g.
    int64_t windowFirst = 0, windowLast = -1;
    std::vector<int> methods;                  // active methods (indices into methods())
    std::vector<std::vector<double>> intensity; // per active method: n+t intensities in [0,1], NaN = none
    std::vector<QColor> fills;                 // n+t blended colours (with alpha)
    // At a segment granularity (ResultModel::promptSegments), one entry per
    // prompt segment: the segment's own value on the segment scale
    // (analysis/segment_scale.h) turned into intensities like a token's —
    // token importance of the segment matrix, or its output-centred window,
    // min–max over the segments — and blended. What a folded chip shows.
    // NaN in InputWindow mode (prompt tokens are not coloured there).
    std::vector<std::vector<double>> segmentIntensity; // per active method: one per segment
    std::vector<QColor> segmentFills;                  // one per segment
};

struct MethodScore {
    int method = -1;        // index into methods()
    double importance = NAN; // raw token importance I (eq. 6)
    int64_t rank = 0;       // rank of the importance in its block (1 = largest, 0 = none)
    int64_t rankOf = 0;     // tokens ranked in that block
    double toFocus = NAN;   // raw window value (eq. 4/5) of this token w.r.t. the focus, NaN if none
};

struct TokenDetails {
    int64_t index = -1; // context index
    bool output = false;
    int64_t position = 0; // i for x_i, j for y_j
    std::string text;
    int64_t id = -1;
    std::vector<MethodScore> scores; // one per active method
    double stepProbability = NAN;    // output tokens only
    double stepEntropy = NAN;
};

struct Statistics {
    QString basis;                 // what the values are, for a title
    bool outputs = false;          // the values belong to output tokens (else prompt tokens)
    std::vector<int64_t> top;      // context indices, largest first (a segment: its first token)
    std::vector<int64_t> topEnd;   // one past each entry's last context index (a token: top + 1)
    std::vector<double> topValues; // their values
    bool segments = false;         // prompt values summed per segment (the job's granularity)
    analysis::Histogram histogram;
    double gini = NAN;
    double entropy = NAN; // normalised Shannon entropy
};

// Everything statistics need, detached from the ResultModel so that they can
// run on a worker thread (the job is shared, never copied).
struct StatisticsRequest {
    std::shared_ptr<const JobResult> job;
    std::vector<size_t> results; // active methods' results
    std::vector<std::string> methodLabels;
    analysis::NormScope scope = analysis::NormScope::Matrix;
    int64_t n = 0, t = 0, window = 1, focus = -1, topCount = 10, bins = 0;
    std::string focusToken;
    // Rows left out (NaN) before aggregating: a chat's template tokens,
    // unless the user included them. Empty: none.
    std::vector<bool> leftOutRows;
    // The job's segments (ResultModel::promptSegments; empty: none): prompt
    // values are summed per segment (additive), as the chips show them.
    std::vector<PromptSegment> segments;
    int64_t cells() const { return (n + t) * t * static_cast<int64_t>(results.size()); }
};
Statistics computeStatistics(const StatisticsRequest& request);
// The displayed matrix of the request's methods: raw for one, eq. 10 for several.
AttributionMatrix displayedMatrix(const StatisticsRequest& request, QString* what = nullptr);
// The same at the request's segments (result_model_segments.cpp): the raw
// matrix summed into segments for one method, eq. 10's mean of the methods'
// segment-scaled matrices (analysis/segment_scale.h) for several;
// (segments + t) × t.
AttributionMatrix displayedSegmentMatrix(const StatisticsRequest& request, QString* what = nullptr);
// Index of the segment holding prompt token k (segments cover the prompt in
// token order), -1 if none.
int segmentOfToken(const std::vector<PromptSegment>& segments, int64_t k);
// `raw` with the given rows NaN (left out of every aggregation).
AttributionMatrix withoutRows(const AttributionMatrix& raw, const std::vector<bool>& rows);

class ResultModel {
public:
    // Replaces the result: selects the first model and activates up to two of
    // its methods (attention and integrated gradients when it has them).
    void setJob(JobResult job);
    bool hasJob() const { return m_hasJob; }
    const JobResult& job() const { return *m_job; }
    std::shared_ptr<const JobResult> sharedJob() const { return m_job; }

    const std::vector<std::string>& models() const { return m_models; }
    int currentModel() const { return m_model; }
    // Selects a model; keeps the active methods that model also has (the
    // default ones when none is left).
    void setCurrentModel(int model);

    // Completed methods of the current model whose matrices fit its tokens, in
    // registry order.
    const std::vector<ShownMethod>& methods() const { return m_methods; }
    const MethodResult& methodResult(int m) const { return m_job->results[m_methods[static_cast<size_t>(m)].resultIndex]; }
    int methodIndex(const std::string& id) const;
    bool isActive(int m) const;
    void setActive(int m, bool on);
    std::vector<int> activeMethods() const;
    std::vector<QColor> activeColours() const;

    // Results of the current model not shown (failed, cancelled, malformed),
    // with the reason.
    struct Hidden {
        size_t resultIndex;
        std::string reason;
    };
    const std::vector<Hidden>& hiddenResults() const { return m_hidden; }

    int64_t promptLength() const { return m_n; }
    int64_t outputLength() const { return m_t; }
    int64_t contextLength() const { return m_n + m_t; }
    const std::vector<std::string>& contextTokens() const { return m_tokens; }
    int64_t tokenId(int64_t k) const;
    bool isOutput(int64_t k) const { return k >= m_n; }

    // 1 ≤ c ≤ ⌊min(n,t)/2⌋ (analysis::maxWindow); 0 when no window is admissible.
    // At a segment granularity (promptSegments()) the window counts segments,
    // not tokens: n is then the number of segments (windowInSegments()).
    int64_t maxWindow() const;
    // The window c counts prompt segments (the job's granularity): eq. 4 and
    // 5 run on the segment-level matrix, whose rows are the segments; output
    // tokens still count one each.
    bool windowInSegments() const { return !m_promptSegments.empty(); }
    int64_t window() const { return m_window; }
    // Clamped (analysis::clampWindow); the value asked for is remembered for
    // the next result or model, which may admit a larger window.
    void setWindow(int64_t c);

    analysis::NormScope scope() const { return m_scope; }
    void setScope(analysis::NormScope scope);

    // A chat result: each context token's role and message index (the
    // current model's segments, one per context token; empty for plain text).
    const std::vector<TokenSegment>& segments() const { return m_segments; }
    // The prompt's segments of the job's granularity (the current model's
    // first result that has them; empty at token granularity): the token
    // view folds each into one chip and the heatmap can show a row per segment.
    const std::vector<PromptSegment>& promptSegments() const { return m_promptSegments; }
    // The prompt's own text of the segment starting at token `first` (its
    // characters in the input text, whitespace runs as single spaces), or ""
    // when the result does not say (display tokens may have lost spaces).
    QString segmentSourceText(int64_t first) const;
    bool isTemplateToken(int64_t k) const;
    // Off (the default): the chat template's own tokens are left out of every
    // aggregation and of the colour scale (their rows are NaN), as the
    // result's token_importance leaves them out; on: they count like any token.
    bool includeTemplate() const { return m_includeTemplate; }
    void setIncludeTemplate(bool on);

    // normalize(raw, scope, n) of method m (cached).
    const AttributionMatrix& normalized(int m) const;

    // The colours with `focus` (context index) hovered or pinned; -1 = none.
    Colouring colouring(int64_t focus) const;

    TokenDetails details(int64_t k, int64_t focus) const;
    // bins ≤ 0: about 2·√(values), between 4 and 20.
    Statistics statistics(int64_t focus, int64_t topCount = 10, int64_t bins = 0) const;
    StatisticsRequest statisticsRequest(int64_t focus, int64_t topCount = 10, int64_t bins = 0) const;

    // What the heatmap shows: one value per cell and active method
    // (normalized(m), clamped to [0,1]) blended like the tokens, composited
    // over `base`; NaN cells (in every active method) stay transparent.
    // Premultiplied ARGB32, one pixel per cell (cols wide, rows high).
    // segmentRows (with promptSegments()): one row per segment, then the
    // output rows, from segmentNormalized(m) — one scale for both.
    QImage heatmapImage(const QColor& base, bool segmentRows = false) const;
    // The segment-level matrix of method m on the current Scale
    // (analysis::normalizedSegments of the shown raw matrix; cached):
    // (segments + t) × t. Empty without segments.
    const AttributionMatrix& segmentNormalized(int m) const;
    // The shown raw matrix of method m summed into the prompt segments
    // (analysis::sumIntoSegments, additivity; cached): (segments + t) × t,
    // the matrix the statistics panel ranks one method's segments on. Empty
    // without segments.
    const AttributionMatrix& segmentRaw(int m) const;
    // Raw token importance (eq. 6) of each prompt segment for method m: the
    // sum of its tokens' (additivity), as the details panel reads it out.
    std::vector<double> segmentImportance(int m) const;
    // Index into promptSegments() of the segment holding prompt token k, -1 if none.
    int promptSegmentOf(int64_t k) const;
    // The displayed matrix as numbers: the raw matrix with one active method,
    // the multi-method matrix (eq. 10) with several.
    AttributionMatrix displayedMatrix(QString* what = nullptr) const;

private:
    void selectModel(int model);
    void setDefaultActive();
    void invalidate();

    std::shared_ptr<const JobResult> m_job = std::make_shared<const JobResult>();
    bool m_hasJob = false;
    std::vector<std::string> m_models;
    int m_model = -1;
    std::vector<ShownMethod> m_methods;
    std::vector<Hidden> m_hidden;
    std::vector<bool> m_active;
    std::vector<std::string> m_tokens;
    std::vector<int64_t> m_ids;
    int64_t m_n = 0, m_t = 0;
    int64_t m_window = 1;
    int64_t m_preferredWindow = 1; // what the user chose; results that admit less get less
    analysis::NormScope m_scope = analysis::NormScope::Matrix;
    std::vector<TokenSegment> m_segments;
    std::vector<PromptSegment> m_promptSegments;
    bool m_includeTemplate = false;
    // Rows left out of the aggregations (template tokens), empty when none.
    std::vector<bool> leftOutRows() const;
    // The raw matrix of method m with the left-out rows NaN (cached).
    const AttributionMatrix& shownRaw(int m) const;

    // Caches (per method): normalised matrix, its token importance
    // intensities, raw importance and ranks.
    struct Cache {
        bool shownValid = false;
        AttributionMatrix shown;
        bool normalizedValid = false;
        AttributionMatrix normalized;
        bool segmentValid = false;
        AttributionMatrix segmentNormalized;
        bool segmentRawValid = false;
        AttributionMatrix segmentRaw;
        bool importanceValid = false;
        std::vector<double> importanceIntensity; // n+t
        bool rawValid = false;
        analysis::TokenImportance raw;
        std::vector<int64_t> rawRankInput, rawRankOutput;
    };
    mutable std::vector<Cache> m_cache;
    const Cache& rawCache(int m) const;
    const std::vector<double>& importanceIntensity(int m) const;
    // Fills Colouring::segmentIntensity and segmentFills (result_model_segments.cpp).
    void colourSegments(Colouring& col) const;
    // Rows the window counts: the prompt segments, or the prompt tokens.
    int64_t windowRows() const;
};

// Intensities (eq. 7) of a vector: min–max over its finite values; a vector
// whose values agree to 1e-5 (relative) counts as constant (all 0).
std::vector<double> vectorIntensity(const std::vector<double>& values);

// Token text as the views show it: newline → "↵", tab → "⇥", other control
// characters → "·", an empty token → "∅".
QString displayToken(const std::string& token);
// Number of line breaks the token ends with (its newlines).
int newlineCount(const std::string& token);
// "x₃" for prompt token 3, "y₂" for output token 2 (context index k, prompt length n).
QString tokenSymbol(int64_t k, int64_t n);
// Name of a normalisation scope for people ("whole matrix (eq. 7)").
QString scopeLabel(analysis::NormScope scope);

} // namespace tokenlens::gui
