#include "attribution/faithfulness.h"
#include "util/cancellation.h"

#include "attribution/engine.h"

#include <torch/torch.h>

#include <set>

namespace tokenlens {
namespace {

struct Column {
    int64_t length = 0;               // p_j + 1 context positions
    std::vector<int64_t> candidates;  // positions that may be removed
};

Column columnOf(int64_t n, int64_t j, const std::set<int64_t>& protectedSet) {
    Column c;
    c.length = n + j;
    for (int64_t i = 0; i < c.length; ++i) {
        if (!protectedSet.count(i)) c.candidates.push_back(i);
    }
    return c;
}

} // namespace

Result<FaithfulnessOptions> faithfulnessOptionsFromJson(const nlohmann::json& j) {
    FaithfulnessOptions o;
    if (j.is_null()) return o;
    if (!j.is_object()) return makeError(ErrorCode::InvalidArgument, "faithfulness options must be a JSON object");
    static const std::set<std::string> known = {"baseline", "fractions", "max_curve_points", "curves",
                                                "leave_one_out", "keep_special_tokens", "max_batch"};
    for (const auto& [key, value] : j.items()) {
        if (!known.count(key)) return makeError(ErrorCode::InvalidArgument, "faithfulness: unknown option '" + key + "'");
    }
    auto boolKey = [&](const char* key, bool& out) -> Status {
        if (!j.contains(key)) return {};
        if (!j[key].is_boolean()) return makeError(ErrorCode::InvalidArgument, std::string("faithfulness: '") + key + "' must be true or false");
        out = j[key].get<bool>();
        return {};
    };
    if (j.contains("baseline")) {
        if (!j["baseline"].is_string() || (j["baseline"] != "zero" && j["baseline"] != "unk")) {
            return makeError(ErrorCode::InvalidArgument, "faithfulness: 'baseline' must be 'zero' or 'unk'");
        }
        o.baseline = j["baseline"].get<std::string>();
    }
    if (j.contains("fractions")) {
        const auto& f = j["fractions"];
        if (!f.is_array() || f.empty()) return makeError(ErrorCode::InvalidArgument, "faithfulness: 'fractions' must be a non-empty list");
        o.settings.fractions.clear();
        for (const auto& x : f) {
            if (!x.is_number() || x.get<double>() <= 0 || x.get<double>() > 1) {
                return makeError(ErrorCode::InvalidArgument, "faithfulness: every fraction must be in (0, 1]");
            }
            o.settings.fractions.push_back(x.get<double>());
        }
    }
    for (const auto& [key, out, min] : {std::tuple<const char*, int64_t*, int64_t>{"max_curve_points", &o.settings.maxCurvePoints, 0},
                                        {"max_batch", &o.maxBatch, 1}}) {
        if (!j.contains(key)) continue;
        if (!j[key].is_number_integer() || j[key].get<int64_t>() < min) {
            return makeError(ErrorCode::InvalidArgument, std::string("faithfulness: '") + key + "' must be an integer >= " + std::to_string(min));
        }
        *out = j[key].get<int64_t>();
    }
    if (auto st = boolKey("curves", o.settings.curves); !st) return st.error();
    if (auto st = boolKey("leave_one_out", o.settings.leaveOneOut); !st) return st.error();
    if (auto st = boolKey("keep_special_tokens", o.keepSpecialTokens); !st) return st.error();
    return o;
}

int64_t estimateFaithfulnessWork(int64_t n, int64_t t, const FaithfulnessOptions& o) {
    int64_t w = 0;
    for (int64_t j = 0; j < t; ++j) w += analysis::columnMaskCount(n + j, o.settings) * (n + j);
    return w;
}

Result<analysis::FaithfulnessReport> computeFaithfulness(const CausalLM& model, const std::vector<int64_t>& promptIds,
                                                         const std::vector<int64_t>& outputIds,
                                                         const AttributionMatrix& matrix,
                                                         const std::vector<int64_t>& protectedPositions,
                                                         std::optional<int64_t> unkId,
                                                         const FaithfulnessOptions& o, const RunControl& control) {
    const auto n = static_cast<int64_t>(promptIds.size());
    const auto t = static_cast<int64_t>(outputIds.size());
    if (n == 0 || t == 0) return makeError(ErrorCode::InvalidArgument, "faithfulness: empty prompt or output");
    if (matrix.rows != n + t || matrix.cols != t) {
        return makeError(ErrorCode::Mismatch, "faithfulness: the matrix is " + std::to_string(matrix.rows) + " x " +
                                                  std::to_string(matrix.cols) + ", the sequence needs " +
                                                  std::to_string(n + t) + " x " + std::to_string(t));
    }
    if (o.baseline == "unk" && !unkId) {
        return makeError(ErrorCode::InvalidArgument, "faithfulness: baseline 'unk' needs an unk, pad or eos token, and the model has none");
    }
    torch::NoGradGuard noGrad;
    std::vector<int64_t> all = promptIds;
    all.insert(all.end(), outputIds.begin(), outputIds.end());
    const auto dev = model.embeddingMatrix().device();
    const auto ids = torch::tensor(all, torch::kInt64).to(dev);
    const auto embeds = model.embed(ids.unsqueeze(0)).squeeze(0); // (L, hidden)
    const auto baselineRow = o.baseline == "unk"
                                 ? model.embed(torch::full({1, 1}, *unkId, torch::kInt64).to(dev)).view({-1})
                                 : torch::zeros({embeds.size(1)}, embeds.options());
    const std::set<int64_t> protectedSet(protectedPositions.begin(), protectedPositions.end());

    analysis::FaithfulnessReport report;
    report.baseline = o.baseline;
    report.settings = o.settings;
    int64_t total = 0; // exact: the masks each column asks for, times its length
    for (int64_t j = 0; j < t; ++j) {
        const Column col = columnOf(n, j, protectedSet);
        if (!col.candidates.empty()) {
            total += analysis::columnMaskCount(static_cast<int64_t>(col.candidates.size()), o.settings) * col.length;
        }
    }
    total = std::max<int64_t>(total, 1);
    int64_t done = 0;
    for (int64_t j = 0; j < t; ++j) {
        const Column col = columnOf(n, j, protectedSet);
        if (col.candidates.empty()) continue;
        std::vector<double> scores;
        for (int64_t i : col.candidates) scores.push_back(matrix.at(i, j));
        const int64_t target = outputIds[static_cast<size_t>(j)];
        const auto context = embeds.slice(0, 0, col.length); // (len, hidden)
        const auto candidateIdx = torch::tensor(col.candidates, torch::kInt64).to(dev);
        analysis::MaskScorer scorer = [&](const std::vector<analysis::RemovalMask>& masks)
            -> std::optional<std::vector<double>> {
            std::vector<double> out;
            out.reserve(masks.size());
            const auto m = static_cast<int64_t>(col.candidates.size());
            for (size_t b0 = 0; b0 < masks.size(); b0 += static_cast<size_t>(o.maxBatch)) {
                if (control.isCancelled && control.isCancelled()) return std::nullopt;
                const size_t b1 = std::min(masks.size(), b0 + static_cast<size_t>(o.maxBatch));
                const auto rows = static_cast<int64_t>(b1 - b0);
                auto removedCand = torch::zeros({rows, m}, torch::kBool);
                auto acc = removedCand.accessor<bool, 2>();
                for (int64_t r = 0; r < rows; ++r) {
                    const auto& mask = masks[b0 + static_cast<size_t>(r)];
                    for (int64_t i = 0; i < m; ++i) acc[r][i] = mask[static_cast<size_t>(i)] != 0;
                }
                auto removed = torch::zeros({rows, col.length}, torch::kBool).to(dev);
                removed.index_copy_(1, candidateIdx, removedCand.to(dev));
                auto inputs = torch::where(removed.unsqueeze(-1), baselineRow.view({1, 1, -1}),
                                           context.unsqueeze(0)); // (rows, len, hidden)
                ForwardOptions fo;
                fo.computeLogits = false;
                auto h = model.forward(inputs, fo).finalHidden.select(1, col.length - 1); // (rows, hidden)
                auto p = torch::softmax(model.lmHead(h).to(torch::kFloat32), -1).select(1, target).to(torch::kCPU);
                for (int64_t r = 0; r < rows; ++r) out.push_back(p[r].item<double>());
                done += rows * col.length;
                if (control.progress) control.progress(std::min(done, total), total);
            }
            return out;
        };
        auto c = analysis::columnFaithfulness(scores, scorer, o.settings);
        if (!c) return makeError(ErrorCode::Cancelled, "faithfulness: cancelled");
        c->column = j;
        report.columns.push_back(std::move(*c));
    }
    report.mean = analysis::summarize(report.columns, o.settings.fractions.size());
    return report;
}

Result<analysis::FaithfulnessReport> computeFaithfulness(const LoadedModel& model, const MethodResult& result,
                                                         const FaithfulnessOptions& options, const RunControl& control) {
    if (result.status != RunStatus::Completed) {
        return makeError(ErrorCode::InvalidArgument, "faithfulness: the " + result.method + " result did not complete");
    }
    std::vector<int64_t> protectedPositions;
    if (options.keepSpecialTokens && model.tokenizer) {
        std::set<int64_t> special;
        for (const auto& [id, text] : model.tokenizer->specialTokenList()) special.insert(id);
        for (size_t i = 0; i < result.input.ids.size(); ++i) {
            if (special.count(result.input.ids[i])) protectedPositions.push_back(static_cast<int64_t>(i));
        }
        for (size_t j = 0; j < result.output.ids.size(); ++j) {
            if (special.count(result.output.ids[j])) {
                protectedPositions.push_back(static_cast<int64_t>(result.input.ids.size() + j));
            }
        }
    }
    auto r = computeFaithfulness(*model.model, result.input.ids, result.output.ids, result.raw, protectedPositions,
                                 unkBaselineToken(model), options, control);
    if (r) r->method = result.method;
    return r;
}

Result<std::optional<FaithfulnessOptions>> jobFaithfulnessOptions(const nlohmann::json& jobOptions) {
    if (!jobOptions.is_object() || !jobOptions.contains("faithfulness")) return std::optional<FaithfulnessOptions>{};
    const auto& f = jobOptions["faithfulness"];
    if (f.is_null() || (f.is_boolean() && !f.get<bool>())) return std::optional<FaithfulnessOptions>{};
    if (f.is_boolean()) return std::optional<FaithfulnessOptions>{FaithfulnessOptions{}};
    if (!f.is_object()) {
        return makeError(ErrorCode::InvalidArgument,
                         "option 'faithfulness' must be true, false or an object of the stage's options");
    }
    auto o = faithfulnessOptionsFromJson(f);
    if (!o) return makeError(o.error().code, "option 'faithfulness': " + o.error().message);
    return std::optional<FaithfulnessOptions>{std::move(o.value())};
}

bool attachFaithfulness(const LoadedModel& model, MethodResult& result, const FaithfulnessOptions& options,
                        const RunControl& control) {
    if (result.status != RunStatus::Completed || result.output.ids.empty()) return true;
    Result<analysis::FaithfulnessReport> report = makeError(ErrorCode::Cancelled, "faithfulness: cancelled");
    // A cancel inside one of its passes ends the stage like one between them.
    runCancellable(control.isCancelled, [&] { report = computeFaithfulness(model, result, options, control); });
    if (report) {
        result.faithfulness = analysis::toJson(*report);
        return true;
    }
    if (report.error().code == ErrorCode::Cancelled) {
        result.warnings.push_back("The faithfulness metrics were cancelled; the attribution itself is complete. "
                                  "Re-run the job to compute them.");
        return false;
    }
    result.warnings.push_back("The faithfulness metrics could not be computed: " + report.error().message);
    return true;
}

} // namespace tokenlens
