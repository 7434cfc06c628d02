#include "result/inseq_file.h"

#include "io/safetensors.h"
#include "result/result_json.h"

#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tokenlens {

namespace {

using nlohmann::json;

static_assert(std::endian::native == std::endian::little, "safetensors data are little-endian");

// Largest decompressed Inseq file accepted.
constexpr size_t kMaxInseqBytes = size_t{512} << 20;

json instance(const char* module, const char* cls, json attributes) {
    return json{{"__instance_type__", json::array({module, cls})}, {"attributes", std::move(attributes)}};
}

// One float32 tensor as the bytes safetensors' save({"attribution": t}) writes:
// header length, JSON header padded with spaces to 8 bytes, data.
std::string safetensorBytes(const std::vector<int64_t>& shape, const std::vector<float>& data) {
    json header;
    header["attribution"] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {0, data.size() * sizeof(float)}}};
    std::string text = header.dump();
    while (text.size() % 8 != 0) text += ' ';
    std::string out(8, '\0');
    uint64_t n = text.size();
    std::memcpy(out.data(), &n, 8);
    out += text;
    out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
    return out;
}

json bytesValue(const std::string& bytes) {
    return json{{"__bytes_b64__", base64Encode(std::as_bytes(std::span(bytes.data(), bytes.size())))}};
}

json tokensWithIds(const std::vector<std::string>& tokens, const std::vector<int64_t>& ids) {
    json out = json::array();
    for (size_t i = 0; i < tokens.size(); ++i) {
        out.push_back(instance("inseq.utils.typing", "TokenWithId",
                               {{"token", tokens[i]}, {"id", i < ids.size() ? ids[i] : int64_t{-1}}}));
    }
    return out;
}

// json-tricks' compact numpy form (Inseq's ndarray_encode with
// ndarray_compact=True): the raw float32 bytes in C order behind "b64:", the
// dtype and shape, and "Corder" for two or more dimensions. Inseq gzips the
// array ("b64.gz:") only when the file itself is not compressed and that saves
// 10 %; writing it uncompressed is always read back.
json ndarrayValue(const std::vector<int64_t>& shape, const std::vector<float>& data) {
    json out = {{"__ndarray__", "b64:" + base64Encode(std::as_bytes(std::span(data.data(), data.size())))},
                {"dtype", "float32"},
                {"shape", shape}};
    if (shape.size() > 1) out["Corder"] = true;
    return out;
}

json tensorValue(const std::vector<int64_t>& shape, const std::vector<float>& data, InseqTensors how) {
    return how == InseqTensors::Ndarray ? ndarrayValue(shape, data) : bytesValue(safetensorBytes(shape, data));
}

json vectorTensor(const std::vector<double>& v, InseqTensors how) {
    std::vector<float> f(v.begin(), v.end());
    return tensorValue({static_cast<int64_t>(f.size())}, f, how);
}

// A decoded tensor: shape and row-major values.
struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> data;
};

// Objects of the json-tricks encoding stand for their attributes.
const json& unwrap(const json& j) {
    if (j.is_object()) {
        auto it = j.find("attributes");
        if (j.contains("__instance_type__") && it != j.end()) return *it;
    }
    return j;
}

Result<Tensor> tensorFromSafetensors(std::span<const std::byte> bytes, const std::string& what) {
    auto header = parseSafetensorsHeader(bytes, bytes.size(), what);
    if (!header) return header.error();
    if (header->tensors.empty()) return makeError(ErrorCode::Corrupt, what + ": the safetensors payload holds no tensor");
    const TensorInfo* t = &header->tensors.front();
    for (const auto& info : header->tensors) {
        if (info.name == "attribution") t = &info;
    }
    if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16 && t->dtype != DType::F64) {
        return makeError(ErrorCode::Unsupported,
                         what + ": tensor dtype " + dtypeName(t->dtype) +
                             " is not read (float32, float16, bfloat16 and float64 are; save with "
                             "scores_precision=\"float32\" or \"float16\")");
    }
    Tensor out;
    out.shape = t->shape;
    out.data.resize(static_cast<size_t>(t->numel()));
    const uint64_t offset = 8 + header->headerLength;
    const auto data = bytes.subspan(offset + t->dataBegin, t->dataEnd - t->dataBegin);
    if (!convertToFloat32(t->dtype, data, out.data.data(), out.data.size())) {
        return makeError(ErrorCode::Corrupt, what + ": the tensor's data are shorter than its shape");
    }
    return out;
}

// json-tricks' compact numpy array: "b64:" or "b64.gz:" (gzip) before the
// base64 of the raw data, with "dtype" and "shape"; "Corder": false (Fortran
// order) is refused, as Inseq's own bin_str_to_ndarray refuses it.
Result<Tensor> tensorFromNdarray(const json& j, const std::string& what) {
    const std::string& text = j["__ndarray__"].get_ref<const std::string&>();
    if (!j.contains("dtype") || !j["dtype"].is_string() || !j.contains("shape") || !j["shape"].is_array()) {
        return makeError(ErrorCode::Corrupt, what + ": a numpy array needs \"dtype\" and \"shape\"");
    }
    if (j.contains("Corder") && j["Corder"].is_boolean() && !j["Corder"].get<bool>()) {
        return makeError(ErrorCode::Unsupported, what + ": Fortran-order arrays are not read");
    }
    Tensor out;
    int64_t count = 1;
    for (const auto& d : j["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 32)) {
            return makeError(ErrorCode::Corrupt, what + ": bad shape");
        }
        out.shape.push_back(d.get<int64_t>());
        count *= out.shape.back();
        if (count > (int64_t{1} << 32)) return makeError(ErrorCode::Corrupt, what + ": bad shape");
    }
    const std::string& dtype = j["dtype"].get_ref<const std::string&>();
    DType type;
    if (dtype == "float32") type = DType::F32;
    else if (dtype == "float16") type = DType::F16;
    else if (dtype == "float64") type = DType::F64;
    else {
        return makeError(ErrorCode::Unsupported,
                         what + ": numpy dtype " + dtype + " is not read (float32, float16 and float64 are)");
    }
    std::string_view payload = text;
    const bool gz = payload.starts_with("b64.gz:");
    if (gz) payload.remove_prefix(7);
    else if (payload.starts_with("b64:")) payload.remove_prefix(4);
    else return makeError(ErrorCode::Corrupt, what + ": a numpy array string must start with b64: or b64.gz:");
    auto bytes = base64Decode(payload, what);
    if (!bytes) return bytes.error();
    std::string raw(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    if (gz) {
        auto d = gzipDecompress(raw, what, kMaxInseqBytes);
        if (!d) return d.error();
        raw = std::move(d.value());
    }
    const size_t width = type == DType::F16 ? 2 : type == DType::F64 ? 8 : 4;
    if (raw.size() != static_cast<size_t>(count) * width) {
        return makeError(ErrorCode::Corrupt, what + ": the array holds " + std::to_string(raw.size()) +
                                                 " bytes, its shape and dtype need " +
                                                 std::to_string(static_cast<size_t>(count) * width));
    }
    out.data.resize(static_cast<size_t>(count));
    if (!convertToFloat32(type, std::as_bytes(std::span(raw.data(), raw.size())), out.data.data(), out.data.size())) {
        return makeError(ErrorCode::Corrupt, what + ": the array's data are shorter than its shape");
    }
    return out;
}

// Nested lists of numbers (use_primitives files, or __ndarray__ lists); null is NaN.
bool nestedList(const json& j, size_t depth, Tensor& t) {
    if (depth > 3) return false; // attributions have 2 or 3 dimensions, step scores 1
    if (!j.is_array()) {
        if (depth != t.shape.size()) return false;
        if (j.is_null()) t.data.push_back(NAN);
        else if (j.is_number()) t.data.push_back(j.get<float>());
        else return false;
        return true;
    }
    if (depth == t.shape.size()) t.shape.push_back(static_cast<int64_t>(j.size()));
    else if (depth > t.shape.size() || t.shape[depth] != static_cast<int64_t>(j.size())) return false;
    for (const auto& e : j) {
        if (!nestedList(e, depth + 1, t)) return false;
    }
    return true;
}

// A tensor field: null (absent), a safetensors byte string or nested lists.
Result<std::optional<Tensor>> readTensor(const json& j, const std::string& what) {
    if (j.is_null()) return std::optional<Tensor>();
    if (j.is_object() && j.contains("__bytes_b64__") && j["__bytes_b64__"].is_string()) {
        auto bytes = base64Decode(j["__bytes_b64__"].get_ref<const std::string&>(), what);
        if (!bytes) return bytes.error();
        auto t = tensorFromSafetensors(bytes.value(), what);
        if (!t) return t.error();
        return std::optional<Tensor>(std::move(t.value()));
    }
    if (j.is_object() && j.contains("__bytes_utf8__") && j["__bytes_utf8__"].is_string()) {
        const auto& s = j["__bytes_utf8__"].get_ref<const std::string&>();
        auto t = tensorFromSafetensors(std::as_bytes(std::span(s.data(), s.size())), what);
        if (!t) return t.error();
        return std::optional<Tensor>(std::move(t.value()));
    }
    if (j.is_object() && j.contains("__ndarray__") && j["__ndarray__"].is_string()) {
        auto t = tensorFromNdarray(j, what);
        if (!t) return t.error();
        return std::optional<Tensor>(std::move(t.value()));
    }
    const json& list = j.is_object() && j.contains("__ndarray__") ? j["__ndarray__"] : j;
    Tensor t;
    if (list.is_array() && nestedList(list, 0, t)) return std::optional<Tensor>(std::move(t));
    return makeError(ErrorCode::Corrupt, what + ": expected a tensor (safetensors bytes or a list of numbers)");
}

// (rows, cols[, hidden]) → rows × cols; a granular last dimension is reduced
// to its L2 norm, as Inseq's default aggregation does before showing.
Result<AttributionMatrix> matrixOf(const Tensor& t, const std::string& what) {
    if (t.shape.size() != 2 && t.shape.size() != 3) {
        return makeError(ErrorCode::Unsupported, what + ": expected 2 or 3 dimensions, found " +
                                                     std::to_string(t.shape.size()));
    }
    const int64_t h = t.shape.size() == 3 ? t.shape[2] : 1;
    AttributionMatrix m = AttributionMatrix::filled(t.shape[0], t.shape[1]);
    for (int64_t i = 0; i < m.rows * m.cols; ++i) {
        if (h == 1) {
            m.data[static_cast<size_t>(i)] = t.data[static_cast<size_t>(i)];
            continue;
        }
        double s = 0;
        for (int64_t k = 0; k < h; ++k) {
            const double v = t.data[static_cast<size_t>(i * h + k)];
            s += v * v;
        }
        m.data[static_cast<size_t>(i)] = static_cast<float>(std::sqrt(s));
    }
    return m;
}

bool readTokens(const json& list, std::vector<std::string>& tokens, std::vector<int64_t>& ids) {
    if (!list.is_array()) return false;
    for (const auto& e : list) {
        const json& a = unwrap(e);
        if (!a.is_object() || !a.contains("token") || !a["token"].is_string()) return false;
        tokens.push_back(a["token"].get<std::string>());
        ids.push_back(a.contains("id") && a["id"].is_number_integer() ? a["id"].get<int64_t>() : -1);
    }
    return true;
}

std::string textAt(const json& info, const char* key, size_t k) {
    auto it = info.find(key);
    if (it == info.end()) return {};
    if (it->is_string()) return it->get<std::string>();
    if (it->is_array() && k < it->size() && (*it)[k].is_string()) return (*it)[k].get<std::string>();
    return {};
}

std::string joined(const std::vector<std::string>& tokens, size_t from, size_t to) {
    std::string s;
    for (size_t i = from; i < to && i < tokens.size(); ++i) s += tokens[i];
    return s;
}

} // namespace

bool looksLikeInseq(std::string_view bytes) {
    if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b) {
        return true;
    }
    const std::string_view head = bytes.substr(0, 4096);
    return head.find("FeatureAttributionOutput") != std::string_view::npos ||
           (head.find("\"sequence_attributions\"") != std::string_view::npos && head.find("\"info\"") != std::string_view::npos);
}

Result<std::string> writeInseq(const JobResult& job, size_t pair, const InseqWriteOptions& options) {
    if (pair >= job.results.size()) return makeError(ErrorCode::InvalidArgument, "no result " + std::to_string(pair));
    const MethodResult& r = job.results[pair];
    if (r.status != RunStatus::Completed || r.raw.empty()) {
        return makeError(ErrorCode::InvalidArgument, r.model + " / " + r.method + ": the result did not complete (" +
                                                         runStatusName(r.status) + "), nothing to export");
    }
    const int64_t n = static_cast<int64_t>(r.input.tokens.size());
    const int64_t t = static_cast<int64_t>(r.output.tokens.size());
    std::vector<int64_t> ids = r.input.ids;
    ids.insert(ids.end(), r.output.ids.begin(), r.output.ids.end());

    json stepScores = json::object();
    json stepNames = json::array();
    auto addScore = [&](const char* name, const std::vector<double>& v) {
        if (v.empty()) return;
        stepScores[name] = vectorTensor(v, options.tensors);
        stepNames.push_back(name);
    };
    addScore("probability", r.stepProbability);
    addScore("entropy", r.stepEntropy);
    addScore("deltas", r.convergenceDelta);

    json seq = {
        {"source", tokensWithIds(r.input.tokens, r.input.ids)},
        {"target", tokensWithIds(r.contextTokens, ids)},
        {"source_attributions", nullptr},
        {"target_attributions", tensorValue({r.raw.rows, r.raw.cols}, r.raw.data, options.tensors)},
        {"step_scores", stepScores.empty() ? json(nullptr) : stepScores},
        {"sequence_scores", nullptr},
        {"attr_pos_start", n},
        {"attr_pos_end", n + t},
        // No "_aggregator" / "_dict_aggregate_fn": Inseq's TensorWrapper
        // encodes to_dict(), which leaves out every field starting with "_",
        // and load() falls back to the class defaults of the running Inseq.
    };
    // What Inseq's info has no key for rides along under "tokenlens".
    json own = {{"job_id", job.jobId},
                {"created_at", job.createdAt},
                {"completed_at", job.completedAt},
                {"method", r.method},
                {"target_fn", r.targetFn},
                {"reduction", r.reduction},
                {"options", r.options},
                {"job_options", job.options},
                {"warnings", r.warnings},
                {"input_text", r.input.text},
                {"output_text", r.output.text},
                {"output_continuation", r.outputContinuation},
                {"f_input", r.fInput},
                {"f_baseline", r.fBaseline},
                {"faithfulness", r.faithfulness}};
    // Segments (the job's granularity, context_cite's features): the matrices
    // above stay per token, which is all Inseq represents; the segments ride
    // along in the result JSON's own form (prompt_segments, feature_segments).
    {
        const json mine = toJson(r, "-"); // a raw_ref instead of the matrix's numbers
        for (const char* key : {"granularity", "prompt_segments"}) {
            if (mine.contains(key)) own[key] = mine[key];
        }
        if (mine.contains("attribution") && mine["attribution"].contains("feature_segments")) {
            own["feature_segments"] = mine["attribution"]["feature_segments"];
        }
    }
    json info = {
        {"model_name", r.model},
        {"model_class", nullptr},
        {"tokenizer_name", r.model},
        {"tokenizer_class", nullptr},
        {"attribution_method", r.method},
        {"attributed_fn", r.targetFn.empty() ? json(nullptr) : json(r.targetFn)},
        {"attribution_args", r.options},
        {"attributed_fn_args", json::object()},
        {"step_scores", stepNames},
        {"generation_args", job.options.contains("max_new_tokens")
                                ? json{{"max_new_tokens", job.options["max_new_tokens"]}}
                                : json::object()},
        {"generate", true},
        {"constrained_decoding", false},
        {"include_eos_baseline", false},
        {"attribute_target", true},
        {"attr_pos_start", n},
        {"attr_pos_end", n + t},
        {"input_texts", json::array({r.input.text})},
        {"generated_texts", json::array({r.input.text + (r.outputContinuation.empty() ? r.output.text
                                                                                      : r.outputContinuation)})},
        {"exec_time", r.seconds},
        {"tokenlens", own},
    };
    json out = instance("inseq.data.attribution", "FeatureAttributionOutput",
                        {{"sequence_attributions",
                          json::array({instance("inseq.data.attribution", "FeatureAttributionSequenceOutput", seq)})},
                         {"step_attributions", nullptr},
                         {"info", info}});
    std::string text = out.dump(4, ' ', false, json::error_handler_t::replace);
    if (!options.compress) return text;
    return gzipCompress(text);
}

Result<JobResult> readInseq(std::string_view bytes, const std::string& source, size_t sequence) {
    std::string inflated;
    if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b) {
        auto d = gzipDecompress(bytes, source, kMaxInseqBytes);
        if (!d) return d.error();
        inflated = std::move(d.value());
        bytes = inflated;
    }
    const json root = json::parse(bytes, nullptr, false);
    if (root.is_discarded()) return makeError(ErrorCode::Corrupt, source + ": not valid JSON");
    const json& out = unwrap(root);
    auto bad = [&](const std::string& what) -> Result<JobResult> {
        return makeError(ErrorCode::Corrupt, source + ": " + what);
    };
    if (!out.is_object() || !out.contains("sequence_attributions")) {
        return bad("not an Inseq attribution file (no 'sequence_attributions')");
    }
    const json& seqs = out["sequence_attributions"];
    if (!seqs.is_array() || seqs.empty()) return bad("'sequence_attributions' must be a non-empty list");
    if (sequence >= seqs.size()) {
        return makeError(ErrorCode::InvalidArgument, source + ": there is no sequence " + std::to_string(sequence) +
                                                         " (the file has " + std::to_string(seqs.size()) + ")");
    }
    const json emptyInfo = json::object();
    const json& info = out.contains("info") && out["info"].is_object() ? out["info"] : emptyInfo;
    const json& seq = unwrap(seqs[sequence]);
    const std::string where = "sequence_attributions[" + std::to_string(sequence) + "]";
    if (!seq.is_object()) return bad(where + " must be an object");

    std::vector<std::string> srcTokens, tgtTokens;
    std::vector<int64_t> srcIds, tgtIds;
    if (!seq.contains("target") || !readTokens(seq["target"], tgtTokens, tgtIds)) {
        return bad(where + ".target must be a list of tokens with ids");
    }
    if (seq.contains("source") && !seq["source"].is_null() && !readTokens(seq["source"], srcTokens, srcIds)) {
        return bad(where + ".source must be a list of tokens with ids");
    }
    auto srcT = readTensor(seq.value("source_attributions", json()), source + ": " + where + ".source_attributions");
    if (!srcT) return srcT.error();
    auto tgtT = readTensor(seq.value("target_attributions", json()), source + ": " + where + ".target_attributions");
    if (!tgtT) return tgtT.error();

    MethodResult r;
    r.model = info.value("model_name", json("")).is_string() ? info.value("model_name", std::string()) : "";
    if (r.model.empty()) r.model = "inseq";
    r.method = info.contains("attribution_method") && info["attribution_method"].is_string()
                   ? info["attribution_method"].get<std::string>()
                   : "inseq";
    if (info.contains("attributed_fn") && info["attributed_fn"].is_string()) r.targetFn = info["attributed_fn"];

    if (!srcT->has_value()) {
        // Decoder-only: target = prompt ⊕ output, prompt length attr_pos_start.
        if (!tgtT->has_value()) return bad(where + " holds neither source_attributions nor target_attributions");
        auto m = matrixOf(**tgtT, source + ": " + where + ".target_attributions");
        if (!m) return m.error();
        const int64_t total = static_cast<int64_t>(tgtTokens.size());
        int64_t n = seq.contains("attr_pos_start") && seq["attr_pos_start"].is_number_integer()
                        ? seq["attr_pos_start"].get<int64_t>()
                        : static_cast<int64_t>(srcTokens.size());
        if (m->rows != total || n < 0 || n > total || m->cols != total - n) {
            return makeError(ErrorCode::Mismatch,
                             source + ": " + where + ".target_attributions is " + std::to_string(m->rows) + " × " +
                                 std::to_string(m->cols) + ", expected " + std::to_string(total) + " × " +
                                 std::to_string(total - n) + " (target tokens × generated tokens from attr_pos_start " +
                                 std::to_string(n) + ")");
        }
        r.raw = std::move(m.value());
        r.input.tokens.assign(tgtTokens.begin(), tgtTokens.begin() + n);
        r.input.ids.assign(tgtIds.begin(), tgtIds.begin() + n);
        r.output.tokens.assign(tgtTokens.begin() + n, tgtTokens.end());
        r.output.ids.assign(tgtIds.begin() + n, tgtIds.end());
    } else {
        // Encoder-decoder: the source is the prompt; rows are source then target.
        auto s = matrixOf(**srcT, source + ": " + where + ".source_attributions");
        if (!s) return s.error();
        const int64_t n = static_cast<int64_t>(srcTokens.size()), t = static_cast<int64_t>(tgtTokens.size());
        if (s->rows != n || s->cols != t) {
            return makeError(ErrorCode::Mismatch, source + ": " + where + ".source_attributions is " +
                                                      std::to_string(s->rows) + " × " + std::to_string(s->cols) +
                                                      ", expected source × target tokens (" + std::to_string(n) +
                                                      " × " + std::to_string(t) + ")");
        }
        r.raw = AttributionMatrix::filled(n + t, t);
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < t; ++j) r.raw.at(i, j) = s->at(i, j);
        }
        if (tgtT->has_value()) {
            auto m = matrixOf(**tgtT, source + ": " + where + ".target_attributions");
            if (!m) return m.error();
            for (int64_t i = 0; i < std::min(m->rows, t); ++i) {
                for (int64_t j = 0; j < std::min(m->cols, t); ++j) r.raw.at(n + i, j) = i < j ? m->at(i, j) : NAN;
            }
        }
        r.input.tokens = srcTokens;
        r.input.ids = srcIds;
        r.output.tokens = tgtTokens;
        r.output.ids = tgtIds;
    }
    if (r.raw.cols == 0) return bad(where + " holds no generated tokens");
    r.contextTokens = r.input.tokens;
    r.contextTokens.insert(r.contextTokens.end(), r.output.tokens.begin(), r.output.tokens.end());
    const size_t t = r.output.tokens.size();

    if (seq.contains("step_scores") && seq["step_scores"].is_object()) {
        for (const auto& [name, value] : seq["step_scores"].items()) {
            auto v = readTensor(value, source + ": " + where + ".step_scores." + name);
            if (!v) return v.error();
            if (!v->has_value()) continue;
            std::vector<double> d((*v)->data.begin(), (*v)->data.end());
            if (d.size() != t) {
                return makeError(ErrorCode::Mismatch, source + ": " + where + ".step_scores." + name + " has " +
                                                          std::to_string(d.size()) + " values for " +
                                                          std::to_string(t) + " generated tokens");
            }
            if (name == "probability") r.stepProbability = std::move(d);
            else if (name == "entropy") r.stepEntropy = std::move(d);
            else if (name == "deltas") r.convergenceDelta = std::move(d);
            else r.warnings.push_back("Inseq step score '" + name + "' is not shown by TokenLens and was left out.");
        }
    }
    if (seq.contains("sequence_scores") && !seq["sequence_scores"].is_null()) {
        r.warnings.push_back("Inseq sequence scores are not shown by TokenLens and were left out.");
    }
    if (seqs.size() > 1) {
        r.warnings.push_back("The Inseq file holds " + std::to_string(seqs.size()) + " sequences; this is sequence " +
                             std::to_string(sequence) + ".");
    }

    JobResult job;
    job.jobId = "inseq-import";
    job.createdAt = isoNow();
    job.completedAt = job.createdAt;
    r.input.text = textAt(info, "input_texts", sequence);
    if (r.input.text.empty()) r.input.text = joined(r.input.tokens, 0, r.input.tokens.size());
    const std::string generated = textAt(info, "generated_texts", sequence);
    r.output.text = generated.rfind(r.input.text, 0) == 0 ? generated.substr(r.input.text.size()) : generated;
    if (r.output.text.empty()) r.output.text = joined(r.output.tokens, 0, t);
    if (info.contains("exec_time") && info["exec_time"].is_number()) r.seconds = info["exec_time"].get<double>();
    if (info.contains("attribution_args") && info["attribution_args"].is_object()) r.options = info["attribution_args"];

    // Our own file: what Inseq has no key for comes back exactly.
    if (info.contains("tokenlens") && info["tokenlens"].is_object()) {
        const json& own = info["tokenlens"];
        auto str = [&](const char* key, std::string& into) {
            if (own.contains(key) && own[key].is_string()) into = own[key].get<std::string>();
        };
        auto nums = [&](const char* key, std::vector<double>& into) {
            if (!own.contains(key) || !own[key].is_array()) return;
            into.clear();
            for (const auto& v : own[key]) into.push_back(v.is_number() ? v.get<double>() : NAN);
        };
        str("job_id", job.jobId);
        str("created_at", job.createdAt);
        str("completed_at", job.completedAt);
        str("method", r.method);
        str("target_fn", r.targetFn);
        str("reduction", r.reduction);
        str("input_text", r.input.text);
        str("output_text", r.output.text);
        str("output_continuation", r.outputContinuation);
        nums("f_input", r.fInput);
        nums("f_baseline", r.fBaseline);
        if (own.contains("options") && own["options"].is_object()) r.options = own["options"];
        if (own.contains("job_options") && own["job_options"].is_object()) job.options = own["job_options"];
        if (own.contains("faithfulness")) r.faithfulness = own["faithfulness"];
        if (own.contains("warnings") && own["warnings"].is_array()) {
            for (const auto& w : own["warnings"]) {
                if (w.is_string()) r.warnings.push_back(w.get<std::string>());
            }
        }
    } else {
        r.warnings.push_back("Imported from an Inseq file: the matrix is Inseq's, shown as TokenLens shows its own.");
    }
    job.input = r.input;
    job.results.push_back(std::move(r));
    // The reader of our own JSON checks shapes, ids and NaN placement once
    // more, and reads our own file's segments (checked against the prompt).
    json whole = toJson(job);
    if (info.contains("tokenlens") && info["tokenlens"].is_object()) {
        const json& own = info["tokenlens"];
        json& first = whole["results"][0];
        for (const char* key : {"granularity", "prompt_segments"}) {
            if (own.contains(key)) first[key] = own[key];
        }
        if (own.contains("feature_segments") && first.contains("attribution")) {
            first["attribution"]["feature_segments"] = own["feature_segments"];
        }
    }
    auto checked = jobFromJson(whole, source);
    if (!checked) return checked.error();
    return checked;
}

Result<JobResult> readInseqFile(const std::filesystem::path& file, size_t sequence) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return makeError(ErrorCode::NotFound, file.string() + ": cannot open the Inseq file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return readInseq(ss.str(), file.string(), sequence);
}

} // namespace tokenlens
