// context_cite (Cohen-Wang et al., NeurIPS 2024): which segments of the
// prompt (sentences by default; the job's segments when it sets a
// granularity, AttributionInput::promptGroups) an output token rests on. Random ablations
// keep each segment with probability 1/2 (removed tokens get the baseline
// embedding, through the perturbation methods' model scorer); the response
// is the output token's log-odds log(p/(1−p)); per output token a LASSO on
// the keep/remove indicators gives the segment scores, spread evenly over
// each segment's tokens. estimator=leave_one_out scores each segment by the
// exact drop when it alone is removed.

#include "analysis/lasso.h"
#include "analysis/segments.h"
#include "attribution/perturbation.h"

#include <cctype>
#include <cmath>
#include <sstream>

namespace tokenlens::attr {

Segments sentenceSegments(const std::vector<std::string>& tokens) {
    // The sentences of the job option granularity (analysis/segments.h), found
    // in the tokens' display texts joined.
    const auto [text, offsets] = analysis::joinTokens(tokens);
    analysis::GranularitySpec sentences;
    sentences.kind = analysis::Granularity::Sentence;
    auto segs = analysis::segmentPrompt(text, offsets, {}, sentences);
    if (!segs) { // offsets made from the text itself always fit it
        Segments one;
        if (!tokens.empty()) one.emplace_back(0, static_cast<int64_t>(tokens.size()));
        return one;
    }
    return analysis::tokenRanges(*segs);
}

int64_t contextCiteRows(const Segments& segments, const ContextCiteSettings& s) {
    return s.leaveOneOut ? static_cast<int64_t>(segments.size()) + 1 : s.ablations;
}

namespace {

// log(p/(1−p)) from log p; p is kept below 1 − 1e-12 so the odds stay finite.
double logOdds(double logP) {
    const double lp = std::min(logP, std::log1p(-1e-12));
    return lp - std::log(-std::expm1(lp));
}

} // namespace

Estimate contextCiteEstimate(const FeatureLayout& layout, const Segments& segments, const ContextCiteSettings& s,
                             const MaskScorer& score, at::Tensor* segmentScores) {
    Estimate e;
    const int64_t t = layout.columns(), k = static_cast<int64_t>(segments.size());
    const int64_t rows = contextCiteRows(segments, s);
    e.values = torch::zeros({t, layout.width}, torch::kFloat64);
    auto keep = torch::ones({rows, k}, torch::kBool); // which segments each row keeps
    if (s.leaveOneOut) {
        for (int64_t c = 0; c < k; ++c) keep[c + 1][c] = false; // row 0 keeps everything
    } else {
        Rng rng(s.seed);
        auto acc = keep.accessor<bool, 2>();
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < k; ++c) acc[r][c] = rng.uniform() < 0.5;
        }
    }
    auto masks = torch::ones({rows, layout.width}, torch::kBool);
    for (int64_t c = 0; c < k; ++c) {
        const auto [a, b] = segments[static_cast<size_t>(c)];
        masks.slice(1, a, b).copy_(keep.slice(1, c, c + 1).expand({rows, b - a}));
    }
    at::Tensor scores;
    if (!score(masks, scores)) {
        e.cancelled = true;
        return e;
    }
    auto sc = scores.to(torch::kFloat64).contiguous();
    auto sacc = sc.accessor<double, 2>();
    Eigen::MatrixXd X(rows, k);
    auto kacc = keep.accessor<bool, 2>();
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < k; ++c) X(r, c) = kacc[r][c] ? 1.0 : 0.0;
    }
    auto perSegment = torch::zeros({t, k}, torch::kFloat64);
    auto pacc = perSegment.accessor<double, 2>();
    auto vacc = e.values.accessor<double, 2>();
    int unconverged = 0;
    for (int64_t j = 0; j < t; ++j) {
        Eigen::VectorXd y(rows);
        for (int64_t r = 0; r < rows; ++r) y[r] = logOdds(sacc[r][j]);
        if (s.leaveOneOut) {
            for (int64_t c = 0; c < k; ++c) pacc[j][c] = y[0] - y[c + 1];
        } else {
            auto fit = analysis::fitLasso(X, y, s.lambdaRatio * analysis::lassoLambdaMax(X, y));
            if (!fit.converged) ++unconverged;
            for (int64_t c = 0; c < k; ++c) pacc[j][c] = fit.weights[c];
        }
        for (int64_t c = 0; c < k; ++c) {
            const auto [a, b] = segments[static_cast<size_t>(c)];
            for (int64_t i = a; i < b; ++i) vacc[j][i] = pacc[j][c] / static_cast<double>(b - a);
        }
    }
    if (unconverged) {
        e.warnings.push_back("context_cite: the LASSO did not converge for " + std::to_string(unconverged) +
                             " output token(s); their scores are approximate");
    }
    if (segmentScores) *segmentScores = perSegment;
    return e;
}

namespace {

Result<Segments> parseSpans(const std::string& text, int64_t n) {
    Segments out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        const auto dash = item.find('-');
        try {
            const int64_t a = std::stoll(item.substr(0, dash));
            const int64_t b = dash == std::string::npos ? a : std::stoll(item.substr(dash + 1));
            if (a < 0 || b < a || b >= n) throw std::out_of_range("span");
            out.emplace_back(a, b + 1);
        } catch (const std::exception&) {
            return makeError(ErrorCode::InvalidArgument,
                             "context_cite: option 'spans' item '" + item + "' is not a token range a-b within 0.." +
                                 std::to_string(n - 1));
        }
    }
    for (size_t i = 1; i < out.size(); ++i) {
        if (out[i].first < out[i - 1].second) {
            return makeError(ErrorCode::InvalidArgument,
                             "context_cite: option 'spans' has overlapping or unordered ranges");
        }
    }
    if (out.empty()) return makeError(ErrorCode::InvalidArgument, "context_cite: option 'spans' gives no range");
    return out;
}

class ContextCite final : public NamedMethod {
public:
    ContextCite()
        : NamedMethod("context_cite",
                      "Scores of the prompt's sentences (or other segments) from a sparse linear model fitted to the "
                      "output token's log-odds over random removals of segments (ContextCite).") {}

    std::vector<OptionSpec> options() const override {
        std::vector<OptionSpec> o;
        o.push_back(baselineOption());
        for (const auto& spec : perturbationOptions()) {
            if (spec.name == "memory_budget_mb" || spec.name == "chunk_seconds" || spec.name == "seed") o.push_back(spec);
        }
        o.push_back({"segments", "choice", "sentence", {}, {}, {"sentence", "token", "spans"},
                     "the features: the prompt's sentences, its tokens, or the token ranges of 'spans'"});
        o.push_back({"spans", "text", "", {}, {}, {},
                     "with segments=spans: prompt token ranges a-b (inclusive, 0-based), comma-separated"});
        o.push_back({"ablations", "int", 64, 2, 100000, {}, "random ablations (each keeps a segment with probability 1/2)"});
        o.push_back({"lambda_ratio", "number", 0.01, 0, 1, {},
                     "LASSO penalty as a fraction of the smallest penalty that zeroes every score"});
        o.push_back({"estimator", "choice", "lasso", {}, {}, {"lasso", "leave_one_out"},
                     "lasso over the random ablations, or the exact leave-one-out drop (one pass per segment)"});
        return o;
    }

    int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& r) const override {
        const int64_t rows = r.value("estimator", std::string("lasso")) == "leave_one_out"
                                 ? n + 1
                                 : r.value("ablations", int64_t{64});
        return rows * layoutFor(n, t).width;
    }

    Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& r,
                             const RunControl& control) const override {
        const auto n = static_cast<int64_t>(input.promptIds.size());
        Segments segments;
        std::vector<std::string> warnings;
        const std::string kind = r.value("segments", std::string("sentence"));
        const bool grouped = !input.promptGroups.empty();
        if (grouped) {
            // The job's granularity: runPerturbation makes each of its segments
            // one feature, so the estimator's segments are those features.
            for (int64_t g = 0; g < static_cast<int64_t>(input.promptGroups.size()); ++g) segments.emplace_back(g, g + 1);
        } else if (kind == "spans") {
            auto parsed = parseSpans(r.value("spans", std::string()), n);
            if (!parsed) return parsed.error();
            segments = std::move(*parsed);
        } else if (kind == "sentence" && static_cast<int64_t>(input.promptTokens.size()) == n) {
            segments = sentenceSegments(input.promptTokens);
        } else {
            if (kind == "sentence") warnings.push_back("context_cite: no token texts to find sentences in; "
                                                       "every prompt token is a segment");
            for (int64_t i = 0; i < n; ++i) segments.emplace_back(i, i + 1);
        }
        ContextCiteSettings s;
        s.ablations = r.value("ablations", s.ablations);
        s.lambdaRatio = r.value("lambda_ratio", s.lambdaRatio);
        s.leaveOneOut = r.value("estimator", std::string("lasso")) == "leave_one_out";
        s.seed = r.value("seed", uint64_t{0});
        nlohmann::json scored = r;
        scored["target_fn"] = "log_probability"; // turned into log-odds by the estimator
        const auto t = static_cast<int64_t>(input.outputIds.size());
        const int64_t work = grouped ? groupedWork(*this, n, static_cast<int64_t>(segments.size()), t, r)
                                     : contextCiteRows(segments, s) * layoutFor(n, t).width;
        auto out = runPerturbation(input, scored, control, work, [&](const FeatureLayout& layout, const MaskScorer& score) {
            return contextCiteEstimate(layout, segments, s, score);
        });
        if (!out) return out;
        out->targetFn = "log_odds";
        out->featureSegments = grouped ? input.promptGroups : segments;
        out->warnings.insert(out->warnings.begin(), warnings.begin(), warnings.end());
        return out;
    }
};

} // namespace

TOKENLENS_METHOD_ACCESSOR(ContextCite, contextCiteMethod)

} // namespace tokenlens::attr
