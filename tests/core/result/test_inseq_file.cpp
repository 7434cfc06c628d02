// Inseq files: what writeInseq produces is decoded here by a decoder of the
// test's own, written from Inseq's save() (json-tricks objects, safetensors
// bytes in base64): no call into our reader. Round trips keep tokens, ids and
// matrices; files written the way Inseq writes them (by hand here: a granular
// hidden dimension, a float16 payload, an encoder-decoder result) are read;
// damaged files fail with the file named.

#include "result/inseq_file.h"
#include "result/result_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

using namespace tokenlens;
using nlohmann::json;

namespace {

const std::string kResults = std::string(TOKENLENS_TEST_DATA_DIR) + "/results/two-models.json";

// --- the independent decoder -------------------------------------------

std::string decodeBase64(const std::string& s) {
    std::map<char, int> value;
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < alphabet.size(); ++i) value[alphabet[i]] = static_cast<int>(i);
    std::string out;
    for (size_t i = 0; i + 3 < s.size(); i += 4) {
        int q[4];
        int pads = 0;
        for (int k = 0; k < 4; ++k) {
            if (s[i + k] == '=') {
                q[k] = 0;
                ++pads;
            } else {
                q[k] = value.at(s[i + k]);
            }
        }
        const unsigned v = (q[0] << 18) | (q[1] << 12) | (q[2] << 6) | q[3];
        out += static_cast<char>((v >> 16) & 0xFF);
        if (pads < 2) out += static_cast<char>((v >> 8) & 0xFF);
        if (pads < 1) out += static_cast<char>(v & 0xFF);
    }
    return out;
}

struct Decoded {
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<float> values;
};

// safetensors: u64 little-endian header length, JSON header, data block.
Decoded decodeSafetensors(const std::string& bytes) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
    const json header = json::parse(bytes.substr(8, n));
    const json& t = header.at("attribution");
    Decoded d;
    d.dtype = t.at("dtype");
    d.shape = t.at("shape").get<std::vector<int64_t>>();
    const size_t begin = t.at("data_offsets")[0], end = t.at("data_offsets")[1];
    EXPECT_EQ(8 + n + end, bytes.size());
    for (size_t off = 8 + n + begin; off + 4 <= 8 + n + end; off += 4) {
        uint32_t bits = 0;
        for (int k = 3; k >= 0; --k) bits = (bits << 8) | static_cast<unsigned char>(bytes[off + static_cast<size_t>(k)]);
        float f;
        std::memcpy(&f, &bits, 4);
        d.values.push_back(f);
    }
    return d;
}

// json-tricks object: {"__instance_type__": [module, class], "attributes": {...}}.
const json& attributesOf(const json& j, const std::string& cls) {
    EXPECT_TRUE(j.contains("__instance_type__")) << j.dump().substr(0, 200);
    EXPECT_EQ(j["__instance_type__"][1], cls);
    return j.at("attributes");
}

Decoded tensorField(const json& j) { return decodeSafetensors(decodeBase64(j.at("__bytes_b64__").get<std::string>())); }

// json-tricks' compact numpy array (Inseq <= 0.5, inseq/utils/serialization.py
// ndarray_encode + misc.py ndarray_to_bin_str): "b64:" + base64 of the raw
// C-order float32 data, "dtype", "shape", and "Corder": true for 2+ dims.
Decoded ndarrayField(const json& j) {
    Decoded d;
    const std::string s = j.at("__ndarray__");
    EXPECT_EQ(s.substr(0, 4), "b64:");
    d.dtype = j.at("dtype");
    d.shape = j.at("shape").get<std::vector<int64_t>>();
    if (d.shape.size() > 1) {
        EXPECT_EQ(j.at("Corder"), true);
    }
    const std::string bytes = decodeBase64(s.substr(4));
    EXPECT_EQ(bytes.size() % 4, 0u);
    for (size_t off = 0; off + 4 <= bytes.size(); off += 4) {
        uint32_t bits = 0;
        for (int k = 3; k >= 0; --k) bits = (bits << 8) | static_cast<unsigned char>(bytes[off + static_cast<size_t>(k)]);
        float f;
        std::memcpy(&f, &bits, 4);
        d.values.push_back(f);
    }
    return d;
}

// --- files written the way Inseq writes them --------------------------------

std::string safetensorsOf(const std::string& dtype, std::vector<int64_t> shape, const std::string& data) {
    json h;
    h["attribution"] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {0, data.size()}}};
    std::string text = h.dump();
    while (text.size() % 8) text += ' ';
    std::string out;
    for (int i = 0; i < 8; ++i) out += static_cast<char>((text.size() >> (8 * i)) & 0xFF);
    return out + text + data;
}

std::string floatBytes(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

json b64(const std::string& bytes) {
    return {{"__bytes_b64__", base64Encode(std::as_bytes(std::span(bytes.data(), bytes.size())))}};
}

json token(const std::string& t, int64_t id) {
    return {{"__instance_type__", {"inseq.utils.typing", "TokenWithId"}}, {"attributes", {{"token", t}, {"id", id}}}};
}

json inseqFile(json seq, json info) {
    return {{"__instance_type__", {"inseq.data.attribution", "FeatureAttributionOutput"}},
            {"attributes",
             {{"sequence_attributions",
               {{{"__instance_type__", {"inseq.data.attribution", "FeatureAttributionSequenceOutput"}},
                 {"attributes", seq}}}},
              {"step_attributions", nullptr},
              {"info", info}}}};
}

JobResult sample() {
    auto job = readResultFile(kResults);
    EXPECT_TRUE(job.ok()) << (job.ok() ? "" : job.error().message);
    return job.value();
}

} // namespace

TEST(InseqFile, DecodesWithAnIndependentDecoder) {
    const JobResult job = sample();
    for (size_t pair = 0; pair < job.results.size(); ++pair) {
        const MethodResult& r = job.results[pair];
        auto text = writeInseq(job, pair);
        ASSERT_TRUE(text.ok()) << text.error().message;
        const json root = json::parse(text.value());
        const json& out = attributesOf(root, "FeatureAttributionOutput");
        EXPECT_EQ(root["__instance_type__"][0], "inseq.data.attribution");
        ASSERT_EQ(out.at("sequence_attributions").size(), 1u);
        const json& seq = attributesOf(out["sequence_attributions"][0], "FeatureAttributionSequenceOutput");
        const size_t n = r.input.tokens.size(), t = r.output.tokens.size();
        // Decoder-only: source is the prompt, target the prompt and the output.
        ASSERT_EQ(seq.at("source").size(), n);
        ASSERT_EQ(seq.at("target").size(), n + t);
        for (size_t k = 0; k < n + t; ++k) {
            const json& tok = attributesOf(seq["target"][k], "TokenWithId");
            EXPECT_EQ(tok.at("token"), r.contextTokens[k]);
            EXPECT_EQ(tok.at("id"), k < n ? r.input.ids[k] : r.output.ids[k - n]);
        }
        EXPECT_EQ(seq.at("attr_pos_start"), n);
        EXPECT_EQ(seq.at("attr_pos_end"), n + t);
        EXPECT_TRUE(seq.at("source_attributions").is_null());
        const Decoded m = tensorField(seq.at("target_attributions"));
        EXPECT_EQ(m.dtype, "F32");
        ASSERT_EQ(m.shape, (std::vector<int64_t>{static_cast<int64_t>(n + t), static_cast<int64_t>(t)}));
        ASSERT_EQ(m.values.size(), r.raw.data.size());
        for (size_t i = 0; i < m.values.size(); ++i) {
            ASSERT_EQ(std::isnan(m.values[i]), std::isnan(r.raw.data[i])) << i;
            if (!std::isnan(m.values[i])) {
                EXPECT_NEAR(m.values[i], r.raw.data[i], 1e-6) << i;
            }
        }
        const Decoded p = tensorField(seq.at("step_scores").at("probability"));
        ASSERT_EQ(p.values.size(), t);
        for (size_t j = 0; j < t; ++j) EXPECT_NEAR(p.values[j], r.stepProbability[j], 1e-6);
        EXPECT_EQ(out.at("info").at("model_name"), r.model);
        EXPECT_EQ(out.at("info").at("attribution_method"), r.method);
        EXPECT_EQ(out.at("info").at("input_texts")[0], r.input.text);
    }
}

TEST(InseqFile, NdarrayFilesDecodeAsInseq05WritesThem) {
    // --inseq-tensors ndarray: every tensor as json-tricks' compact numpy form,
    // decoded here without our reader.
    const JobResult job = sample();
    for (size_t pair = 0; pair < job.results.size(); ++pair) {
        const MethodResult& r = job.results[pair];
        auto text = writeInseq(job, pair, {false, InseqTensors::Ndarray});
        ASSERT_TRUE(text.ok()) << text.error().message;
        const json root = json::parse(text.value());
        const json& out = attributesOf(root, "FeatureAttributionOutput");
        const json& seq = attributesOf(out["sequence_attributions"][0], "FeatureAttributionSequenceOutput");
        EXPECT_FALSE(seq.contains("__bytes_b64__"));
        const Decoded m = ndarrayField(seq.at("target_attributions"));
        EXPECT_EQ(m.dtype, "float32");
        const size_t n = r.input.tokens.size(), t = r.output.tokens.size();
        ASSERT_EQ(m.shape, (std::vector<int64_t>{static_cast<int64_t>(n + t), static_cast<int64_t>(t)}));
        ASSERT_EQ(m.values.size(), r.raw.data.size());
        for (size_t i = 0; i < m.values.size(); ++i) {
            ASSERT_EQ(std::isnan(m.values[i]), std::isnan(r.raw.data[i])) << i;
            if (!std::isnan(m.values[i])) {
                EXPECT_NEAR(m.values[i], r.raw.data[i], 1e-6) << i;
            }
        }
        const Decoded p = ndarrayField(seq.at("step_scores").at("probability"));
        ASSERT_EQ(p.shape, (std::vector<int64_t>{static_cast<int64_t>(t)}));
        EXPECT_FALSE(seq.at("step_scores").at("probability").contains("Corder")); // 1-D: no Corder
        for (size_t j = 0; j < t; ++j) EXPECT_NEAR(p.values[j], r.stepProbability[j], 1e-6);
    }
}

TEST(InseqFile, WritesNoPrivateFields) {
    // Inseq's TensorWrapper.__json_encode__ saves to_dict(), which drops every
    // attribute starting with "_" (_aggregator, _dict_aggregate_fn).
    const JobResult job = sample();
    for (auto how : {InseqTensors::Safetensors, InseqTensors::Ndarray}) {
        const json root = json::parse(writeInseq(job, 0, {false, how}).value());
        const json& seq = root["attributes"]["sequence_attributions"][0]["attributes"];
        for (const auto& [key, value] : seq.items()) EXPECT_NE(key[0], '_') << key;
    }
}

TEST(InseqFile, ReadsNdarrayPayloadsOfInseq05) {
    // Prompt "a b", output " c": target_attributions 3 x 1 as "b64.gz:" float64
    // (gzip inside the array, as Inseq writes it for uncompressed files), step
    // score probability as "b64:" float32; a Fortran-order array is refused.
    const std::vector<double> m = {0.25, -0.5, std::nan("")};
    const std::string raw(reinterpret_cast<const char*>(m.data()), m.size() * 8);
    const std::string gz = gzipCompress(raw).value();
    const std::string p = floatBytes({0.75f});
    json seq = {{"source", {token("a", 10), token(" b", 11)}},
                {"target", {token("a", 10), token(" b", 11), token(" c", 12)}},
                {"source_attributions", nullptr},
                {"target_attributions",
                 {{"Corder", true},
                  {"__ndarray__", "b64.gz:" + base64Encode(std::as_bytes(std::span(gz.data(), gz.size())))},
                  {"dtype", "float64"},
                  {"shape", {3, 1}}}},
                {"step_scores",
                 {{"probability",
                   {{"__ndarray__", "b64:" + base64Encode(std::as_bytes(std::span(p.data(), p.size())))},
                    {"dtype", "float32"},
                    {"shape", {1}}}}}},
                {"sequence_scores", nullptr},
                {"attr_pos_start", 2},
                {"attr_pos_end", 3}};
    json info = {{"model_name", "gpt2"}, {"attribution_method", "saliency"}};
    auto job = readInseq(inseqFile(seq, info).dump(4), "inseq05.json");
    ASSERT_TRUE(job.ok()) << job.error().message;
    const MethodResult& r = job->results[0];
    ASSERT_EQ(r.raw.rows, 3);
    ASSERT_EQ(r.raw.cols, 1);
    EXPECT_FLOAT_EQ(r.raw.at(0, 0), 0.25f);
    EXPECT_FLOAT_EQ(r.raw.at(1, 0), -0.5f);
    EXPECT_TRUE(std::isnan(r.raw.at(2, 0)));
    ASSERT_EQ(r.stepProbability.size(), 1u);
    EXPECT_DOUBLE_EQ(r.stepProbability[0], 0.75);

    json fortran = seq;
    fortran["target_attributions"]["Corder"] = false;
    auto f = readInseq(inseqFile(fortran, info).dump(), "inseq05.json");
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("inseq05.json"), std::string::npos);
    EXPECT_NE(f.error().message.find("Fortran"), std::string::npos);
    json shortData = seq;
    shortData["target_attributions"]["shape"] = {4, 1};
    auto s = readInseq(inseqFile(shortData, info).dump(), "inseq05.json");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("target_attributions"), std::string::npos) << s.error().message;
    json noHeader = seq;
    noHeader["target_attributions"]["__ndarray__"] = "AAAA";
    auto h = readInseq(inseqFile(noHeader, info).dump(), "inseq05.json");
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.error().message.find("b64:"), std::string::npos) << h.error().message;
}

TEST(InseqFile, RoundTripKeepsTokensIdsAndMatrices) {
    const JobResult job = sample();
    for (auto how : {InseqTensors::Safetensors, InseqTensors::Ndarray})
    for (bool compress : {false, true}) {
        for (size_t pair = 0; pair < job.results.size(); ++pair) {
            const MethodResult& r = job.results[pair];
            auto text = writeInseq(job, pair, {compress, how});
            ASSERT_TRUE(text.ok()) << text.error().message;
            EXPECT_EQ(static_cast<unsigned char>(text.value()[0]) == 0x1f, compress);
            EXPECT_TRUE(looksLikeInseq(text.value()));
            auto back = readInseq(text.value(), "file.json");
            ASSERT_TRUE(back.ok()) << back.error().message;
            ASSERT_EQ(back->results.size(), 1u);
            const MethodResult& b = back->results[0];
            EXPECT_EQ(b.input, r.input);
            EXPECT_EQ(b.output, r.output);
            EXPECT_EQ(b.contextTokens, r.contextTokens);
            EXPECT_EQ(b.model, r.model);
            EXPECT_EQ(b.method, r.method);
            EXPECT_EQ(b.targetFn, r.targetFn);
            ASSERT_EQ(b.raw.rows, r.raw.rows);
            ASSERT_EQ(b.raw.cols, r.raw.cols);
            for (size_t i = 0; i < r.raw.data.size(); ++i) {
                ASSERT_EQ(std::isnan(b.raw.data[i]), std::isnan(r.raw.data[i]));
                if (!std::isnan(r.raw.data[i])) {
                    EXPECT_NEAR(b.raw.data[i], r.raw.data[i], 1e-6);
                }
            }
            ASSERT_EQ(b.stepEntropy.size(), r.stepEntropy.size());
            for (size_t j = 0; j < r.stepEntropy.size(); ++j) EXPECT_NEAR(b.stepEntropy[j], r.stepEntropy[j], 1e-6);
            EXPECT_EQ(back->jobId, job.jobId);
        }
    }
}

TEST(InseqFile, SegmentsStayOursAndTheMatrixStaysPerToken) {
    // A result with segments (granularity "spans"; context_cite's features):
    // Inseq gets the per-token matrix (its format has tokens only), decoded
    // here without our reader; the segments ride in info.tokenlens and come
    // back when we read the file.
    JobResult job = sample();
    MethodResult& r = job.results[0]; // "The cat sat on the mat." in 7 tokens
    ASSERT_EQ(r.input.tokens.size(), 7u);
    r.granularity = "spans";
    r.promptSegments = {{0, 3, 0, 11, "first"}, {3, 7, 11, 23, ""}};
    r.featureSegments = {{0, 3}, {3, 7}};
    auto text = writeInseq(job, 0);
    ASSERT_TRUE(text.ok()) << text.error().message;
    const json root = json::parse(text.value());
    const json& out = attributesOf(root, "FeatureAttributionOutput");
    const json& seq = attributesOf(out["sequence_attributions"][0], "FeatureAttributionSequenceOutput");
    const Decoded m = tensorField(seq.at("target_attributions"));
    EXPECT_EQ(m.shape, (std::vector<int64_t>{r.raw.rows, r.raw.cols})); // token rows, not segment rows
    EXPECT_EQ(seq.at("source").size(), 7u);
    const json& own = out.at("info").at("tokenlens");
    EXPECT_EQ(own.at("granularity"), "spans");
    ASSERT_EQ(own.at("prompt_segments").size(), 2u);
    EXPECT_EQ(own["prompt_segments"][0].at("tokens"), json({0, 3}));
    EXPECT_EQ(own["prompt_segments"][0].at("label"), "first");
    EXPECT_EQ(own.at("feature_segments"), json({{0, 3}, {3, 7}}));

    auto back = readInseq(text.value(), "segments.json");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->results[0].granularity, "spans");
    EXPECT_EQ(back->results[0].promptSegments, r.promptSegments);
    EXPECT_EQ(back->results[0].featureSegments, r.featureSegments);
    // Segments that do not fit the prompt are refused like in our own files.
    json bad = root;
    bad["attributes"]["info"]["tokenlens"]["prompt_segments"][1]["tokens"] = {3, 9};
    auto refused = readInseq(bad.dump(), "bad-segments.json");
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("prompt_segments"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("bad-segments.json"), std::string::npos) << refused.error().message;
}

TEST(InseqFile, ReadsAGranularFloat16FileAsInseqWritesIt) {
    // Prompt "a b" (2 tokens), output "c" (1): target_attributions 3 x 1 x 2
    // (hidden 2), float16. Row 0: (3, 4) -> L2 5; row 1: (0.5, 0) -> 0.5; row 2: NaN.
    const uint16_t h3 = 0x4200, h4 = 0x4400, hHalf = 0x3800, h0 = 0, hNan = 0x7E00;
    std::vector<uint16_t> halves = {h3, h4, hHalf, h0, hNan, hNan};
    std::string data(reinterpret_cast<const char*>(halves.data()), halves.size() * 2);
    json seq = {{"source", {token("a", 10), token(" b", 11)}},
                {"target", {token("a", 10), token(" b", 11), token(" c", 12)}},
                {"source_attributions", nullptr},
                {"target_attributions", b64(safetensorsOf("F16", {3, 1, 2}, data))},
                {"step_scores", {{"probability", b64(safetensorsOf("F32", {1}, floatBytes({0.75f})))},
                                 {"perplexity", b64(safetensorsOf("F32", {1}, floatBytes({1.5f})))}}},
                {"sequence_scores", nullptr},
                {"attr_pos_start", 2},
                {"attr_pos_end", 3}};
    json info = {{"model_name", "gpt2"}, {"attribution_method", "saliency"}, {"attributed_fn", "probability"},
                 {"input_texts", {"a b"}}, {"generated_texts", {"a b c"}}};
    auto job = readInseq(inseqFile(seq, info).dump(4), "inseq.json");
    ASSERT_TRUE(job.ok()) << job.error().message;
    const MethodResult& r = job->results[0];
    EXPECT_EQ(r.model, "gpt2");
    EXPECT_EQ(r.method, "saliency");
    EXPECT_EQ(r.input.tokens, (std::vector<std::string>{"a", " b"}));
    EXPECT_EQ(r.output.ids, (std::vector<int64_t>{12}));
    EXPECT_EQ(r.output.text, " c");
    ASSERT_EQ(r.raw.rows, 3);
    ASSERT_EQ(r.raw.cols, 1);
    EXPECT_FLOAT_EQ(r.raw.at(0, 0), 5.0f);
    EXPECT_FLOAT_EQ(r.raw.at(1, 0), 0.5f);
    EXPECT_TRUE(std::isnan(r.raw.at(2, 0)));
    ASSERT_EQ(r.stepProbability.size(), 1u);
    EXPECT_DOUBLE_EQ(r.stepProbability[0], 0.75);
    // The step score TokenLens has no place for is named in a warning.
    bool warned = false;
    for (const auto& w : r.warnings) warned = warned || w.find("perplexity") != std::string::npos;
    EXPECT_TRUE(warned);
}

TEST(InseqFile, ReadsAnEncoderDecoderFileWithTheSourceAsPrompt) {
    // source 2 tokens, target 2 tokens: source_attributions 2 x 2, target 2 x 2.
    json seq = {{"source", {token("Hallo", 1), token("Welt", 2)}},
                {"target", {token("Hello", 3), token(" world", 4)}},
                {"source_attributions", b64(safetensorsOf("F32", {2, 2}, floatBytes({0.9f, 0.1f, 0.2f, 0.7f})))},
                {"target_attributions", b64(safetensorsOf("F32", {2, 2}, floatBytes({NAN, 0.4f, NAN, NAN})))},
                {"attr_pos_start", 0},
                {"attr_pos_end", 2}};
    auto job = readInseq(inseqFile(seq, {{"model_name", "opus-mt"}}).dump(), "mt.json");
    ASSERT_TRUE(job.ok()) << job.error().message;
    const MethodResult& r = job->results[0];
    ASSERT_EQ(r.raw.rows, 4);
    EXPECT_FLOAT_EQ(r.raw.at(0, 0), 0.9f);
    EXPECT_FLOAT_EQ(r.raw.at(1, 1), 0.7f);
    EXPECT_FLOAT_EQ(r.raw.at(2, 1), 0.4f); // target token 0 for step 1
    EXPECT_TRUE(std::isnan(r.raw.at(3, 1)));
}

TEST(InseqFile, DamagedFilesFailNamingTheFile) {
    const JobResult job = sample();
    const std::string good = writeInseq(job, 0).value();
    auto expectError = [](const Result<JobResult>& r, const std::string& part) {
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("bad.json"), std::string::npos) << r.error().message;
        EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
    };
    expectError(readInseq("{not json", "bad.json"), "not valid JSON");
    expectError(readInseq("{\"info\": {}}", "bad.json"), "sequence_attributions");
    // A cut payload: base64 shortened.
    json root = json::parse(good);
    auto& seq = root["attributes"]["sequence_attributions"][0]["attributes"];
    std::string payload = seq["target_attributions"]["__bytes_b64__"];
    seq["target_attributions"]["__bytes_b64__"] = payload.substr(0, payload.size() / 2);
    expectError(readInseq(root.dump(), "bad.json"), "target_attributions");
    // A matrix of the wrong shape for the tokens.
    root = json::parse(good);
    root["attributes"]["sequence_attributions"][0]["attributes"]["attr_pos_start"] = 1;
    expectError(readInseq(root.dump(), "bad.json"), "expected");
    // gzip magic, garbage after it.
    expectError(readInseq(std::string("\x1f\x8b\x08\x00garbage", 11), "bad.json"), "gzip");
    // Not base64 at all.
    root = json::parse(good);
    root["attributes"]["sequence_attributions"][0]["attributes"]["target_attributions"]["__bytes_b64__"] = "@@@@";
    expectError(readInseq(root.dump(), "bad.json"), "base64");
    // Nothing generated: a 1 x 0 matrix (nested lists, as use_primitives files hold them).
    json empty = {{"source", {token("a", 1)}}, {"target", {token("a", 1)}}, {"source_attributions", nullptr},
                  {"target_attributions", json::array({json::array()})}, {"attr_pos_start", 1}};
    expectError(readInseq(inseqFile(empty, json::object()).dump(), "bad.json"), "no generated tokens");
    // Arrays nested deeper than any attribution tensor.
    json deep = empty;
    deep["target_attributions"] = json::parse("[[[[[1]]]]]");
    expectError(readInseq(inseqFile(deep, json::object()).dump(), "bad.json"), "expected a tensor");
    // A sequence the file does not have.
    auto r = readInseq(good, "bad.json", 3);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("no sequence 3"), std::string::npos);
}

TEST(InseqFile, Base64MatchesKnownVectors) {
    // RFC 4648 §10 test vectors.
    const std::pair<const char*, const char*> cases[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, coded] : cases) {
        const std::string p = plain;
        EXPECT_EQ(base64Encode(std::as_bytes(std::span(p.data(), p.size()))), coded);
        auto d = base64Decode(coded, "x");
        ASSERT_TRUE(d.ok());
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(d->data()), d->size()), p);
    }
}
