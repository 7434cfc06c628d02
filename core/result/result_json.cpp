#include "result/result_json.h"

#include "analysis/segments.h"
#include "analysis/token_importance.h"
#include "result/result_sidecar.h"
#include "util/clock.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>

namespace tokenlens {

const char* runStatusName(RunStatus s) {
    switch (s) {
    case RunStatus::Completed: return "completed";
    case RunStatus::Failed: return "failed";
    case RunStatus::Cancelled: return "cancelled";
    }
    return "failed";
}

std::string isoNow() { return utcNow("%Y-%m-%dT%H:%M:%SZ"); }

namespace {

using nlohmann::json;

// The shortest decimal that reads back as the same float32; NaN -> null.
json floatValue(float v) {
    if (!std::isfinite(v)) return nullptr;
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::strtod(std::string(buf, res.ptr).c_str(), nullptr);
}

json doubleValue(double v) {
    if (!std::isfinite(v)) return nullptr;
    return v;
}

json doubles(const std::vector<double>& v) {
    json a = json::array();
    for (double d : v) a.push_back(doubleValue(d));
    return a;
}

// The matrix with the rows of the chat template's own tokens left out (NaN),
// as the aggregations skip them by default.
AttributionMatrix withoutTemplateRows(const MethodResult& r) {
    AttributionMatrix m = r.raw;
    const int64_t rows = std::min<int64_t>(m.rows, static_cast<int64_t>(r.segments.size()));
    for (int64_t i = 0; i < rows; ++i) {
        if (r.segments[static_cast<size_t>(i)].role != "template") continue;
        for (int64_t c = 0; c < m.cols; ++c) m.at(i, c) = std::numeric_limits<float>::quiet_NaN();
    }
    return m;
}

json sequenceJson(const TokenSequence& s) { return {{"text", s.text}, {"tokens", s.tokens}, {"ids", s.ids}}; }

// ---- reading ---------------------------------------------------------------

struct Reader {
    std::string source;
    std::string error;
    const MatrixSource* matrices = nullptr;

    bool fail(const std::string& key, const std::string& what) {
        if (error.empty()) error = source + ": key '" + key + "' " + what;
        return false;
    }
    const json* need(const json& obj, const std::string& path, const char* key) {
        if (!obj.is_object()) {
            fail(path, "must be an object");
            return nullptr;
        }
        auto it = obj.find(key);
        if (it == obj.end()) {
            fail(path.empty() ? key : path + "." + key, "is missing");
            return nullptr;
        }
        return &*it;
    }
    bool str(const json& obj, const std::string& path, const char* key, std::string& out, bool nullable = false) {
        const json* v = need(obj, path, key);
        if (!v) return false;
        if (nullable && v->is_null()) return true;
        if (!v->is_string()) return fail(join(path, key), "must be a string");
        out = v->get<std::string>();
        return true;
    }
    static std::string join(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }
    bool strings(const json& v, const std::string& path, std::vector<std::string>& out) {
        if (!v.is_array()) return fail(path, "must be an array of strings");
        out.clear();
        for (size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_string()) return fail(path + "[" + std::to_string(i) + "]", "must be a string");
            out.push_back(v[i].get<std::string>());
        }
        return true;
    }
    bool ints(const json& v, const std::string& path, std::vector<int64_t>& out) {
        if (!v.is_array()) return fail(path, "must be an array of integers");
        out.clear();
        for (size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_number_integer()) return fail(path + "[" + std::to_string(i) + "]", "must be an integer");
            out.push_back(v[i].get<int64_t>());
        }
        return true;
    }
    bool numbers(const json& v, const std::string& path, std::vector<double>& out) {
        if (!v.is_array()) return fail(path, "must be an array of numbers");
        out.clear();
        for (size_t i = 0; i < v.size(); ++i) {
            if (v[i].is_null()) {
                out.push_back(std::nan(""));
            } else if (v[i].is_number()) {
                out.push_back(v[i].get<double>());
            } else {
                return fail(path + "[" + std::to_string(i) + "]", "must be a number or null");
            }
        }
        return true;
    }
    bool sequence(const json& obj, const std::string& path, TokenSequence& s) {
        if (!obj.is_object()) return fail(path, "must be an object with text, tokens and ids");
        const json *tokens = need(obj, path, "tokens"), *ids = need(obj, path, "ids");
        if (!str(obj, path, "text", s.text) || !tokens || !ids) return false;
        if (!strings(*tokens, path + ".tokens", s.tokens) || !ints(*ids, path + ".ids", s.ids)) return false;
        if (s.tokens.size() != s.ids.size()) return fail(path + ".tokens", "must have as many entries as ids");
        return true;
    }
    bool matrix(const json& v, const std::string& path, AttributionMatrix& m) {
        if (!v.is_array()) return fail(path, "must be an array of rows");
        m = {};
        m.rows = static_cast<int64_t>(v.size());
        for (size_t r = 0; r < v.size(); ++r) {
            const std::string rp = path + "[" + std::to_string(r) + "]";
            if (!v[r].is_array()) return fail(rp, "must be an array of numbers");
            if (r == 0) m.cols = static_cast<int64_t>(v[r].size());
            if (static_cast<int64_t>(v[r].size()) != m.cols) {
                return fail(rp, "has " + std::to_string(v[r].size()) + " columns, row 0 has " +
                                    std::to_string(m.cols));
            }
            for (size_t c = 0; c < v[r].size(); ++c) {
                const json& x = v[r][c];
                if (x.is_null()) {
                    m.data.push_back(std::nanf(""));
                } else if (x.is_number()) {
                    m.data.push_back(static_cast<float>(x.get<double>()));
                } else {
                    return fail(rp + "[" + std::to_string(c) + "]", "must be a number or null");
                }
            }
        }
        return true;
    }
    // "raw_ref": {"tensor", "shape": [rows, cols], "dtype": "F32"}, read through `matrices`.
    bool matrixRef(const json& v, const std::string& path, AttributionMatrix& m) {
        if (!v.is_object() || !v.contains("tensor") || !v["tensor"].is_string() || !v.contains("shape") ||
            !v["shape"].is_array() || v["shape"].size() != 2 || !v["shape"][0].is_number_integer() ||
            !v["shape"][1].is_number_integer()) {
            return fail(path, "must be {\"tensor\": name, \"shape\": [rows, columns], \"dtype\": \"F32\"}");
        }
        if (v.contains("dtype") && v["dtype"] != "F32") return fail(path + ".dtype", "must be \"F32\"");
        const int64_t rows = v["shape"][0].get<int64_t>(), cols = v["shape"][1].get<int64_t>();
        if (rows < 0 || cols < 0 || (cols > 0 && rows > (int64_t{1} << 40) / cols)) {
            return fail(path + ".shape", "must be two counts of at most 2^40 cells in all");
        }
        if (!matrices || !*matrices) {
            return fail(path, "names a tensor kept outside the JSON, but no sidecar file was given to read it from");
        }
        auto got = (*matrices)(v["tensor"].get<std::string>(), rows, cols);
        if (!got) {
            if (error.empty()) error = got.error().message;
            return false;
        }
        m = std::move(got.value());
        if (m.rows != rows || m.cols != cols) return fail(path + ".shape", "does not match the stored tensor");
        return true;
    }
    bool methodResult(const json& r, const std::string& path, MethodResult& out) {
        if (!r.is_object()) return fail(path, "must be an object");
        std::string status;
        if (!str(r, path, "model", out.model) || !str(r, path, "method", out.method) ||
            !str(r, path, "status", status)) {
            return false;
        }
        if (status == "completed") out.status = RunStatus::Completed;
        else if (status == "failed") out.status = RunStatus::Failed;
        else if (status == "cancelled") out.status = RunStatus::Cancelled;
        else return fail(path + ".status", "must be completed, failed or cancelled (got '" + status + "')");
        if (auto it = r.find("error"); it != r.end() && !it->is_null()) {
            if (!it->is_string()) return fail(path + ".error", "must be a string or null");
            out.error = it->get<std::string>();
        }
        if (r.contains("options")) {
            if (!r["options"].is_object()) return fail(path + ".options", "must be an object");
            out.options = r["options"];
        }
        if (r.contains("warnings") && !strings(r["warnings"], path + ".warnings", out.warnings)) return false;
        if (r.contains("seconds") && r["seconds"].is_number()) out.seconds = r["seconds"].get<double>();
        if (auto it = r.find("peak_rss_bytes"); it != r.end() && !it->is_null()) {
            if (!it->is_number_integer() || it->get<int64_t>() < 0) {
                return fail(path + ".peak_rss_bytes", "must be a whole number of bytes, 0 or more");
            }
            out.peakRssBytes = it->get<int64_t>();
        }
        if (auto it = r.find("faithfulness"); it != r.end() && !it->is_null()) {
            if (!it->is_object() || !it->contains("mean")) {
                return fail(path + ".faithfulness", "must be an object with the stage's \"mean\" figures, or null");
            }
            out.faithfulness = *it;
        }
        if (r.contains("input") && !sequence(r["input"], path + ".input", out.input)) return false;
        if (r.contains("output_continuation") && !r["output_continuation"].is_null() &&
            !str(r, path, "output_continuation", out.outputContinuation)) {
            return false;
        }
        if (r.contains("messages") && !r["messages"].is_null()) {
            if (!r["messages"].is_array()) return fail(path + ".messages", "must be an array of messages");
            out.messages = r["messages"];
        }
        if (r.contains("chat_template") && r["chat_template"].is_object()) {
            ChatTemplateRef t;
            if (!str(r["chat_template"], path + ".chat_template", "name", t.name) ||
                !str(r["chat_template"], path + ".chat_template", "sha256", t.sha256)) {
                return false;
            }
            out.chatTemplate = std::move(t);
        }
        if (r.contains("segments") && !r["segments"].is_null()) {
            const json& segs = r["segments"];
            if (!segs.is_array()) return fail(path + ".segments", "must be an array of {role, message}");
            for (size_t i = 0; i < segs.size(); ++i) {
                const std::string sp = path + ".segments[" + std::to_string(i) + "]";
                if (!segs[i].is_object() || !segs[i].contains("role") || !segs[i]["role"].is_string() ||
                    !segs[i].contains("message") || !segs[i]["message"].is_number_integer()) {
                    return fail(sp, "must be {\"role\": string, \"message\": integer}");
                }
                out.segments.push_back({segs[i]["role"].get<std::string>(),
                                        static_cast<int>(std::clamp<int64_t>(segs[i]["message"].get<int64_t>(), -1, 1 << 20))});
            }
        }
        if (r.contains("granularity") && !r["granularity"].is_null() &&
            !str(r, path, "granularity", out.granularity)) {
            return false;
        }
        if (r.contains("prompt_segments") && !r["prompt_segments"].is_null()) {
            const json& segs = r["prompt_segments"];
            const char* shape = "must be {\"tokens\": [start, end], \"chars\": [start, end], \"label\": text}";
            if (!segs.is_array()) return fail(path + ".prompt_segments", "must be an array of segments");
            auto range = [](const json& a, int64_t& from, int64_t& to) {
                if (!a.is_array() || a.size() != 2 || !a[0].is_number_integer() || !a[1].is_number_integer()) return false;
                from = a[0].get<int64_t>();
                to = a[1].get<int64_t>();
                return from >= 0 && to >= from;
            };
            for (size_t i = 0; i < segs.size(); ++i) {
                const std::string sp = path + ".prompt_segments[" + std::to_string(i) + "]";
                const json& g = segs[i];
                PromptSegment seg;
                if (!g.is_object() || !g.contains("tokens") || !range(g["tokens"], seg.tokenStart, seg.tokenEnd) ||
                    (g.contains("chars") && !range(g["chars"], seg.charStart, seg.charEnd)) ||
                    (g.contains("label") && !g["label"].is_string())) {
                    return fail(sp, shape);
                }
                if (g.contains("label")) seg.label = g["label"].get<std::string>();
                out.promptSegments.push_back(std::move(seg));
            }
        }
        // A failed or cancelled pair may carry no matrix (and no output).
        if (out.status != RunStatus::Completed && !r.contains("attribution")) {
            if (r.contains("output") && !sequence(r["output"], path + ".output", out.output)) return false;
            if (r.contains("context_tokens") &&
                !strings(r["context_tokens"], path + ".context_tokens", out.contextTokens)) {
                return false;
            }
            if (r.contains("step_scores") && r["step_scores"].is_object()) {
                const auto& st = r["step_scores"];
                if (st.contains("probability") &&
                    !numbers(st["probability"], path + ".step_scores.probability", out.stepProbability)) {
                    return false;
                }
                if (st.contains("entropy") && !numbers(st["entropy"], path + ".step_scores.entropy", out.stepEntropy)) {
                    return false;
                }
            }
            return true;
        }
        const json* output = need(r, path, "output");
        const json* context = need(r, path, "context_tokens");
        const json* attribution = need(r, path, "attribution");
        const json* steps = need(r, path, "step_scores");
        if (!output || !context || !attribution || !steps) return false;
        if (!sequence(*output, path + ".output", out.output)) return false;
        if (!strings(*context, path + ".context_tokens", out.contextTokens)) return false;
        const std::string ap = path + ".attribution";
        if (attribution->is_object() && attribution->contains("raw_ref") && !attribution->contains("raw")) {
            if (!matrixRef((*attribution)["raw_ref"], ap + ".raw_ref", out.raw)) return false;
        } else {
            const json* raw = need(*attribution, ap, "raw");
            if (!raw || !matrix(*raw, ap + ".raw", out.raw)) return false;
        }
        if (attribution->contains("target_fn") && !(*attribution)["target_fn"].is_null() &&
            !str(*attribution, ap, "target_fn", out.targetFn)) {
            return false;
        }
        if (attribution->contains("reduction") && !(*attribution)["reduction"].is_null() &&
            !str(*attribution, ap, "reduction", out.reduction)) {
            return false;
        }
        for (auto [key, vec] : {std::pair{"convergence_delta", &out.convergenceDelta},
                                std::pair{"f_input", &out.fInput}, std::pair{"f_baseline", &out.fBaseline}}) {
            if (attribution->contains(key) && !numbers((*attribution)[key], ap + "." + key, *vec)) return false;
        }
        if (attribution->contains("feature_segments")) {
            const json& fs = (*attribution)["feature_segments"];
            const std::string fp = ap + ".feature_segments";
            if (!fs.is_array()) return fail(fp, "must be an array of [start, end] pairs");
            for (const auto& pair : fs) {
                if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_integer() ||
                    !pair[1].is_number_integer() || pair[0].get<int64_t>() < 0 ||
                    pair[1].get<int64_t>() <= pair[0].get<int64_t>()) {
                    return fail(fp, "must be an array of [start, end] pairs with 0 <= start < end");
                }
                out.featureSegments.emplace_back(pair[0].get<int64_t>(), pair[1].get<int64_t>());
            }
        }
        const json* prob = need(*steps, path + ".step_scores", "probability");
        const json* ent = need(*steps, path + ".step_scores", "entropy");
        if (!prob || !ent) return false;
        if (!numbers(*prob, path + ".step_scores.probability", out.stepProbability) ||
            !numbers(*ent, path + ".step_scores.entropy", out.stepEntropy)) {
            return false;
        }
        const auto t = static_cast<int64_t>(out.output.ids.size());
        if (out.raw.cols != t && !(out.raw.rows == 0 && t == 0)) {
            return fail(ap + ".raw", "has " + std::to_string(out.raw.cols) + " columns but the output has " +
                                         std::to_string(t) + " tokens");
        }
        if (!out.segments.empty() && static_cast<int64_t>(out.segments.size()) != out.raw.rows) {
            return fail(path + ".segments", "has " + std::to_string(out.segments.size()) +
                                                " entries but attribution.raw has " + std::to_string(out.raw.rows) + " rows");
        }
        if (!out.promptSegments.empty()) {
            if (auto st = analysis::checkSegments(out.promptSegments, out.raw.rows - out.raw.cols); !st) {
                return fail(path + ".prompt_segments", "does not fit the prompt: " + st.error().message);
            }
        }
        if (static_cast<int64_t>(out.contextTokens.size()) != out.raw.rows) {
            return fail(path + ".context_tokens", "has " + std::to_string(out.contextTokens.size()) +
                                                      " entries but attribution.raw has " +
                                                      std::to_string(out.raw.rows) + " rows");
        }
        return true;
    }
};

} // namespace

std::string rawTensorName(size_t index) { return "results." + std::to_string(index) + ".raw"; }

nlohmann::json toJson(const MethodResult& r, const std::string& rawRef) {
    json j;
    j["model"] = r.model;
    j["method"] = r.method;
    j["status"] = runStatusName(r.status);
    j["error"] = r.error ? json(*r.error) : json(nullptr);
    j["options"] = r.options;
    j["warnings"] = r.warnings;
    j["seconds"] = r.seconds;
    if (r.peakRssBytes > 0) j["peak_rss_bytes"] = r.peakRssBytes;
    if (!r.faithfulness.is_null()) j["faithfulness"] = r.faithfulness;
    if (!r.messages.is_null()) j["messages"] = r.messages;
    if (r.chatTemplate) j["chat_template"] = {{"name", r.chatTemplate->name}, {"sha256", r.chatTemplate->sha256}};
    if (!r.segments.empty()) {
        json segs = json::array();
        for (const auto& seg : r.segments) segs.push_back({{"role", seg.role}, {"message", seg.message}});
        j["segments"] = std::move(segs);
    }
    if (r.granularity != "token" || !r.promptSegments.empty()) {
        j["granularity"] = r.granularity;
        json segs = json::array();
        for (const auto& seg : r.promptSegments) {
            segs.push_back({{"tokens", {seg.tokenStart, seg.tokenEnd}},
                            {"chars", {seg.charStart, seg.charEnd}},
                            {"label", seg.label}});
        }
        j["prompt_segments"] = std::move(segs);
    }
    if (!r.output.ids.empty() || r.status == RunStatus::Completed) {
        j["input"] = sequenceJson(r.input);
        j["output"] = sequenceJson(r.output);
        if (!r.outputContinuation.empty()) j["output_continuation"] = r.outputContinuation;
        j["context_tokens"] = r.contextTokens;
        j["step_scores"] = {{"probability", doubles(r.stepProbability)}, {"entropy", doubles(r.stepEntropy)}};
    }
    if (r.status != RunStatus::Completed && r.raw.empty()) return j;
    json a;
    if (!rawRef.empty()) {
        a["raw_ref"] = {{"tensor", rawRef}, {"shape", {r.raw.rows, r.raw.cols}}, {"dtype", "F32"}};
    } else {
        json raw = json::array();
        for (int64_t i = 0; i < r.raw.rows; ++i) {
            json row = json::array();
            for (int64_t c = 0; c < r.raw.cols; ++c) row.push_back(floatValue(r.raw.at(i, c)));
            raw.push_back(std::move(row));
        }
        a["raw"] = std::move(raw);
    }
    a["target_fn"] = r.targetFn.empty() ? json(nullptr) : json(r.targetFn);
    a["reduction"] = r.reduction.empty() ? json(nullptr) : json(r.reduction);
    if (!r.convergenceDelta.empty()) a["convergence_delta"] = doubles(r.convergenceDelta);
    if (!r.fInput.empty()) a["f_input"] = doubles(r.fInput);
    if (!r.fBaseline.empty()) a["f_baseline"] = doubles(r.fBaseline);
    if (!r.featureSegments.empty()) {
        json fs = json::array();
        for (const auto& [start, end] : r.featureSegments) fs.push_back({start, end});
        a["feature_segments"] = std::move(fs);
    }
    const auto imp = analysis::tokenImportance(withoutTemplateRows(r), r.raw.rows - r.raw.cols);
    a["aggregated"] = {{"token_importance", {{"input", doubles(imp.input)}, {"output", doubles(imp.output)}}}};
    if (!r.segments.empty()) {
        // The switch: the same aggregation with the template's own tokens.
        const auto all = analysis::tokenImportance(r.raw, r.raw.rows - r.raw.cols);
        a["aggregated"]["token_importance_with_template"] = {{"input", doubles(all.input)},
                                                             {"output", doubles(all.output)}};
    }
    j["attribution"] = std::move(a);
    return j;
}

nlohmann::json toJson(const JobResult& job, int64_t inlineMaxCells) {
    json j;
    bool chat = false, outside = false;
    for (const auto& r : job.results) {
        chat = chat || !r.segments.empty() || !r.messages.is_null();
        outside = outside || r.raw.rows * r.raw.cols > inlineMaxCells;
    }
    // A chat result needs a reader of /2; a plain one stays readable by /1
    // readers; matrices outside the JSON need a reader of /3.
    j["schema"] = outside ? std::string("tokenlens.job/3")
                  : chat && job.schema == "tokenlens.job/1" ? std::string("tokenlens.job/2")
                                                            : job.schema;
    j["job_id"] = job.jobId;
    j["created_at"] = job.createdAt;
    j["completed_at"] = job.completedAt;
    j["input"] = sequenceJson(job.input);
    j["options"] = job.options;
    j["results"] = json::array();
    for (size_t i = 0; i < job.results.size(); ++i) {
        const MethodResult& r = job.results[i];
        j["results"].push_back(toJson(r, r.raw.rows * r.raw.cols > inlineMaxCells ? rawTensorName(i) : std::string()));
    }
    return j;
}

std::string writeResultJson(const JobResult& job, int indent) {
    return toJson(job).dump(indent, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<JobResult> jobFromJson(const nlohmann::json& j, const std::string& source, const MatrixSource* matrices) {
    Reader rd{source, {}, matrices};
    JobResult job;
    auto bad = [&]() -> Result<JobResult> { return makeError(ErrorCode::Corrupt, rd.error); };
    if (!j.is_object()) return makeError(ErrorCode::Corrupt, source + ": the result must be a JSON object");
    if (!rd.str(j, "", "schema", job.schema)) return bad();
    if (job.schema.rfind("tokenlens.job/", 0) != 0) {
        return makeError(ErrorCode::Unsupported, source + ": key 'schema' is '" + job.schema +
                                                     "', expected 'tokenlens.job/1'");
    }
    if (job.schema != "tokenlens.job/1" && job.schema != "tokenlens.job/2" && job.schema != "tokenlens.job/3") {
        return makeError(ErrorCode::Unsupported, source + ": schema '" + job.schema +
                                                     "' is newer than this TokenLens reads (tokenlens.job/1 to /3)");
    }
    if (!rd.str(j, "", "job_id", job.jobId) || !rd.str(j, "", "created_at", job.createdAt) ||
        !rd.str(j, "", "completed_at", job.completedAt, /*nullable=*/true)) {
        return bad();
    }
    const json* input = rd.need(j, "", "input");
    if (!input || !rd.sequence(*input, "input", job.input)) return bad();
    const json* options = rd.need(j, "", "options");
    if (!options) return bad();
    if (!options->is_object()) {
        rd.fail("options", "must be an object");
        return bad();
    }
    job.options = *options;
    const json* results = rd.need(j, "", "results");
    if (!results) return bad();
    if (!results->is_array()) {
        rd.fail("results", "must be an array");
        return bad();
    }
    for (size_t i = 0; i < results->size(); ++i) {
        MethodResult r;
        if (!rd.methodResult((*results)[i], "results[" + std::to_string(i) + "]", r)) return bad();
        job.results.push_back(std::move(r));
    }
    return job;
}

Result<JobResult> readResultJson(const std::string& text, const std::string& source, const std::filesystem::path& dir) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        // Re-parse with exceptions only to get the position for the message
        // (a parse error, or a number beyond double: out_of_range).
        try {
            json again = json::parse(text);
        } catch (const json::exception& e) {
            return makeError(ErrorCode::Corrupt, source + ": not valid JSON (" + e.what() + ")");
        }
        return makeError(ErrorCode::Corrupt, source + ": not valid JSON");
    }
    auto matrices = sidecarSource(j, source, dir);
    if (!matrices) return matrices.error();
    return jobFromJson(j, source, &matrices.value());
}

Result<JobResult> readResultFile(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return makeError(ErrorCode::NotFound, file.string() + ": cannot open the result file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return readResultJson(ss.str(), file.string(), file.has_parent_path() ? file.parent_path() : std::filesystem::path("."));
}

} // namespace tokenlens
