#include "io/safetensors.h"

#include "io_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace tokenlens;
using namespace tokenlens::testing;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

std::span<const std::byte> asBytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

Result<SafetensorsHeader> parse(const std::string& file, const std::string& name = "test.safetensors") {
    return parseSafetensorsHeader(asBytes(file), file.size(), name);
}

std::string errorOf(const Result<SafetensorsHeader>& r) { return r.ok() ? std::string("<ok>") : r.error().message; }

std::string f32Bytes(std::initializer_list<float> values) {
    std::string s;
    for (float v : values) {
        char b[4];
        std::memcpy(b, &v, 4);
        s.append(b, 4);
    }
    return s;
}

std::string u16Bytes(std::initializer_list<uint16_t> values) {
    std::string s;
    for (uint16_t v : values) {
        s += static_cast<char>(v & 0xff);
        s += static_cast<char>(v >> 8);
    }
    return s;
}

float bitsToFloat(uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

} // namespace

// --- the fixtures -------------------------------------------------------------

TEST(Safetensors, OpensTinyGpt2) {
    auto f = SafetensorsFile::open(fixture("tiny-gpt2") / "model.safetensors");
    ASSERT_TRUE(f.ok()) << f.error().message;
    const auto& h = (*f)->header();
    EXPECT_EQ(h.headerLength, 2592u);
    EXPECT_EQ(h.tensors.size(), 28u);
    EXPECT_EQ(h.metadata.at("format"), "pt");
    for (size_t i = 1; i < h.tensors.size(); ++i) EXPECT_LE(h.tensors[i - 1].dataEnd, h.tensors[i].dataBegin);
    const TensorInfo* wte = (*f)->find("transformer.wte.weight");
    ASSERT_NE(wte, nullptr);
    EXPECT_EQ(wte->dtype, DType::F32);
    EXPECT_EQ(wte->shape, (std::vector<int64_t>{50257, 32}));
    EXPECT_EQ(wte->numel(), 50257 * 32);
    EXPECT_EQ((*f)->find("lm_head.weight"), nullptr);
    auto bytes = (*f)->bytes(*wte);
    ASSERT_EQ(bytes.size(), 50257u * 32u * 4u);
    float v[4];
    ASSERT_TRUE(convertToFloat32(DType::F32, bytes, v, 4));
    // Bit patterns read independently from the file with Python's struct module.
    EXPECT_EQ(v[0], bitsToFloat(0x3f169fbf));
    EXPECT_EQ(v[1], bitsToFloat(0xbda5dcc7));
    EXPECT_EQ(v[3], bitsToFloat(0x3e950f1d));
}

TEST(Safetensors, OpensTinyLlamaFloat16) {
    auto f = SafetensorsFile::open(fixture("tiny-llama") / "model.safetensors");
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ((*f)->header().tensors.size(), 21u);
    const TensorInfo* emb = (*f)->find("model.embed_tokens.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->dtype, DType::F16);
    float v[4];
    ASSERT_TRUE(convertToFloat32(DType::F16, (*f)->bytes(*emb), v, 4));
    EXPECT_EQ(v[0], 0.87109375f);
    EXPECT_EQ(v[1], 0.398193359375f);
    EXPECT_EQ(v[2], 0.1630859375f);
    EXPECT_EQ(v[3], 1.0419921875f);
}

TEST(Safetensors, OpensTinyQwen2Bfloat16Shard) {
    auto f = SafetensorsFile::open(fixture("tiny-qwen2") / "model-00001-of-00002.safetensors");
    ASSERT_TRUE(f.ok()) << f.error().message;
    const TensorInfo* emb = (*f)->find("model.embed_tokens.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->dtype, DType::BF16);
    EXPECT_EQ(emb->shape, (std::vector<int64_t>{151669, 32}));
    float v[4];
    ASSERT_TRUE(convertToFloat32(DType::BF16, (*f)->bytes(*emb), v, 4));
    EXPECT_EQ(v[0], 0.91796875f);
    EXPECT_EQ(v[1], 0.296875f);
    EXPECT_EQ(v[2], 0.11474609375f);
    EXPECT_EQ(v[3], -0.0693359375f);
}

// --- converters ---------------------------------------------------------------

TEST(Convert, HalfBitPatterns) {
    EXPECT_EQ(halfBitsToFloat(0x0000), 0.0f);
    EXPECT_FALSE(std::signbit(halfBitsToFloat(0x0000)));
    EXPECT_EQ(halfBitsToFloat(0x8000), 0.0f);
    EXPECT_TRUE(std::signbit(halfBitsToFloat(0x8000)));
    EXPECT_EQ(halfBitsToFloat(0x3C00), 1.0f);
    EXPECT_EQ(halfBitsToFloat(0xC000), -2.0f);
    EXPECT_EQ(halfBitsToFloat(0x3555), 0.333251953125f);
    EXPECT_EQ(halfBitsToFloat(0x7BFF), 65504.0f);      // largest finite
    EXPECT_EQ(halfBitsToFloat(0x0400), std::ldexp(1.0f, -14)); // smallest normal
    EXPECT_EQ(halfBitsToFloat(0x0001), std::ldexp(1.0f, -24)); // smallest subnormal
    EXPECT_EQ(halfBitsToFloat(0x8001), -std::ldexp(1.0f, -24));
    EXPECT_EQ(halfBitsToFloat(0x03FF), std::ldexp(1023.0f, -24)); // largest subnormal
    EXPECT_EQ(halfBitsToFloat(0x0200), std::ldexp(1.0f, -15));
    EXPECT_EQ(halfBitsToFloat(0x7C00), std::numeric_limits<float>::infinity());
    EXPECT_EQ(halfBitsToFloat(0xFC00), -std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(halfBitsToFloat(0x7E00)));
    EXPECT_TRUE(std::isnan(halfBitsToFloat(0x7C01))); // signalling NaN stays NaN, not inf
    EXPECT_TRUE(std::isnan(halfBitsToFloat(0xFE00)));
}

TEST(Convert, HalfMatchesExhaustiveReference) {
    // Every finite half equals sign * mant * 2^(exp - 25) computed with ldexp.
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
        if (e == 0x1f) continue;
        const float mag = e == 0 ? std::ldexp(static_cast<float>(m), -24)
                                 : std::ldexp(static_cast<float>(m | 0x400), static_cast<int>(e) - 25);
        const float expected = (h & 0x8000) ? -mag : mag;
        ASSERT_EQ(halfBitsToFloat(static_cast<uint16_t>(h)), expected) << std::hex << h;
    }
}

TEST(Convert, Bfloat16BitPatterns) {
    EXPECT_EQ(bfloat16BitsToFloat(0x3F80), 1.0f);
    EXPECT_EQ(bfloat16BitsToFloat(0xC049), -3.140625f);
    EXPECT_EQ(bfloat16BitsToFloat(0x7F7F), bitsToFloat(0x7F7F0000)); // largest finite
    EXPECT_EQ(bfloat16BitsToFloat(0x0001), bitsToFloat(0x00010000)); // subnormal
    EXPECT_GT(bfloat16BitsToFloat(0x0001), 0.0f);
    EXPECT_TRUE(std::signbit(bfloat16BitsToFloat(0x8000)));
    EXPECT_EQ(bfloat16BitsToFloat(0x7F80), std::numeric_limits<float>::infinity());
    EXPECT_EQ(bfloat16BitsToFloat(0xFF80), -std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(bfloat16BitsToFloat(0x7FC0)));
}

TEST(Convert, Float16AndBfloat16Buffers) {
    const std::string half = u16Bytes({0x3C00, 0x0001, 0xFC00, 0x3555});
    float out[4];
    ASSERT_TRUE(convertToFloat32(DType::F16, asBytes(half), out, 4));
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[1], std::ldexp(1.0f, -24));
    EXPECT_EQ(out[2], -std::numeric_limits<float>::infinity());
    EXPECT_EQ(out[3], 0.333251953125f);
    const std::string bf = u16Bytes({0x3F80, 0xC049, 0x7F80, 0x0000});
    ASSERT_TRUE(convertToFloat32(DType::BF16, asBytes(bf), out, 4));
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[1], -3.140625f);
    EXPECT_EQ(out[2], std::numeric_limits<float>::infinity());
    EXPECT_EQ(out[3], 0.0f);
}

TEST(Convert, Float32FromUnalignedBytes) {
    const std::string payload = f32Bytes({1.5f, -0.0f, 3.0e38f, std::ldexp(1.0f, -149)});
    for (size_t shift = 0; shift < 4; ++shift) {
        std::string buf(shift, '\x55');
        buf += payload;
        float out[4] = {};
        ASSERT_TRUE(convertToFloat32(DType::F32, asBytes(buf).subspan(shift), out, 4));
        EXPECT_EQ(out[0], 1.5f);
        EXPECT_TRUE(std::signbit(out[1]));
        EXPECT_EQ(out[2], 3.0e38f);
        EXPECT_EQ(out[3], std::ldexp(1.0f, -149));
    }
}

TEST(Convert, Float64Narrows) {
    const double in[] = {1.5,
                         -0.1,
                         1e300,
                         -1e300,
                         static_cast<double>(FLT_MAX),
                         std::nextafter(static_cast<double>(FLT_MAX), 1e300), // rounds down to FLT_MAX
                         std::ldexp(1.0, 128),                                   // rounds to inf
                         1e-50,
                         std::numeric_limits<double>::quiet_NaN(),
                         -std::numeric_limits<double>::infinity()};
    constexpr size_t n = std::size(in);
    std::string buf(1, '\0'); // misalign on purpose
    buf.append(reinterpret_cast<const char*>(in), sizeof in);
    float out[n];
    ASSERT_TRUE(convertToFloat32(DType::F64, asBytes(buf).subspan(1), out, n));
    EXPECT_EQ(out[0], 1.5f);
    EXPECT_EQ(out[1], -0.1f);
    EXPECT_EQ(out[2], std::numeric_limits<float>::infinity());
    EXPECT_EQ(out[3], -std::numeric_limits<float>::infinity());
    EXPECT_EQ(out[4], FLT_MAX);
    EXPECT_EQ(out[5], FLT_MAX);
    EXPECT_EQ(out[6], std::numeric_limits<float>::infinity());
    EXPECT_EQ(out[7], 0.0f);
    EXPECT_TRUE(std::isnan(out[8]));
    EXPECT_EQ(out[9], -std::numeric_limits<float>::infinity());
}

TEST(Convert, RefusesIntegersAndShortBuffers) {
    const std::string four(4, '\0');
    float out[4];
    EXPECT_FALSE(convertToFloat32(DType::I32, asBytes(four), out, 1));
    EXPECT_FALSE(convertToFloat32(DType::U8, asBytes(four), out, 1));
    EXPECT_FALSE(convertToFloat32(DType::F32, asBytes(four), out, 2));
    EXPECT_FALSE(convertToFloat32(DType::F16, asBytes(four), out, 3));
    EXPECT_TRUE(convertToFloat32(DType::F16, asBytes(four), out, 2));
    EXPECT_TRUE(convertToFloat32(DType::F32, asBytes(four), out, 0));
}

// --- header parsing ------------------------------------------------------------

TEST(SafetensorsHeader, ParsesHandMadeFile) {
    const std::string file = makeSafetensors(
        R"({"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},)"
        R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
        R"("empty":{"dtype":"I64","shape":[0,3],"data_offsets":[12,12]},)"
        R"("scalar":{"dtype":"U8","shape":[],"data_offsets":[12,13]},)"
        R"("__metadata__":{"format":"pt"}})",
        f32Bytes({1, 2}) + u16Bytes({0x3C00, 0x4000}) + "x");
    auto h = parse(file);
    ASSERT_TRUE(h.ok()) << h.error().message;
    ASSERT_EQ(h->tensors.size(), 4u);
    EXPECT_EQ(h->tensors[0].name, "a"); // sorted by offset
    EXPECT_EQ(h->tensors[1].name, "b");
    EXPECT_EQ(h->tensors[3].name, "scalar");
    EXPECT_EQ(h->tensors[3].numel(), 1);
    EXPECT_EQ(h->metadata.at("format"), "pt");
    EXPECT_EQ(h->headerLength % 8, 0u);
}

TEST(SafetensorsHeader, AcceptsSpacePaddingAndTrailingBytes) {
    std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})" + std::string(37, ' ');
    auto h = parse(makeSafetensors(header, f32Bytes({1}) + "trailing", false));
    EXPECT_TRUE(h.ok()) << errorOf(h);
}

TEST(SafetensorsHeader, FileShorterThanEightBytes) {
    for (size_t n : {0u, 1u, 7u}) {
        std::string file(n, '\x01');
        auto h = parse(file, "tiny.safetensors");
        ASSERT_FALSE(h.ok());
        EXPECT_EQ(h.error().code, ErrorCode::Corrupt);
        EXPECT_THAT(h.error().message, AllOf(HasSubstr("tiny.safetensors"), HasSubstr("too short")));
    }
}

TEST(SafetensorsHeader, HeaderLengthBeyondFile) {
    std::string file = makeSafetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f32Bytes({1}));
    file[0] = static_cast<char>(0xf0); // N grows past the end
    file[1] = static_cast<char>(0x10);
    auto h = parse(file, "x.safetensors");
    ASSERT_FALSE(h.ok());
    EXPECT_THAT(h.error().message, AllOf(HasSubstr("x.safetensors"), HasSubstr("header length 4336"),
                                         HasSubstr("runs past the end of the file")));
}

TEST(SafetensorsHeader, HeaderLengthAboveCap) {
    std::string file(16, ' ');
    const uint64_t n = kMaxSafetensorsHeader + 1;
    for (int i = 0; i < 8; ++i) file[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    auto h = parseSafetensorsHeader(asBytes(file), 1ull << 40, "big.safetensors");
    ASSERT_FALSE(h.ok());
    EXPECT_THAT(h.error().message, AllOf(HasSubstr("big.safetensors"), HasSubstr("larger than")));
    // The all-ones length of a random / text file.
    std::string ones(64, '\xff');
    EXPECT_FALSE(parse(ones).ok());
}

TEST(SafetensorsHeader, HeaderNotJson) {
    auto h = parse(makeSafetensors("{\"a\": nope}", ""), "bad.safetensors");
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code, ErrorCode::Corrupt);
    EXPECT_THAT(h.error().message, AllOf(HasSubstr("bad.safetensors"), HasSubstr("not valid JSON")));
    h = parse(makeSafetensors("[1, 2, 3]", ""), "arr.safetensors");
    ASSERT_FALSE(h.ok());
    EXPECT_THAT(h.error().message, AllOf(HasSubstr("arr.safetensors"), HasSubstr("not a JSON object")));
    h = parse(makeSafetensors("", "abc"));
    EXPECT_FALSE(h.ok());
    h = parse(makeSafetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}} x", ""));
    EXPECT_FALSE(h.ok()) << "garbage after the object";
}

TEST(SafetensorsHeader, RejectsInvalidUtf8AndDeepNesting) {
    auto h = parse(makeSafetensors("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", ""));
    ASSERT_FALSE(h.ok());
    EXPECT_THAT(h.error().message, HasSubstr("not valid JSON"));
    std::string deep = "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
    h = parse(makeSafetensors(deep, ""));
    ASSERT_FALSE(h.ok());
    EXPECT_THAT(h.error().message, HasSubstr("nested"));
}

TEST(SafetensorsHeader, BadDtype) {
    auto h = parse(makeSafetensors(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", "1234"), "m.safetensors");
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code, ErrorCode::Corrupt);
    EXPECT_THAT(h.error().message, AllOf(HasSubstr("m.safetensors"), HasSubstr("tensor 'w'"), HasSubstr("'F33'")));
    h = parse(makeSafetensors(R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", "1234"));
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code, ErrorCode::Unsupported);
    EXPECT_THAT(h.error().message, AllOf(HasSubstr("tensor 'w'"), HasSubstr("F8_E4M3")));
    h = parse(makeSafetensors(R"({"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", "1234"));
    ASSERT_FALSE(h.ok());
    EXPECT_THAT(h.error().message, AllOf(HasSubstr("tensor 'w'"), HasSubstr("dtype")));
    h = parse(makeSafetensors(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "1234"));
    ASSERT_FALSE(h.ok());
    EXPECT_THAT(h.error().message, AllOf(HasSubstr("tensor 'w'"), HasSubstr("no dtype")));
}

TEST(SafetensorsHeader, BadShapes) {
    const char* cases[] = {
        R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
        R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})",
        R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})",
        R"({"w":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}})",
        R"({"w":{"dtype":"F32","data_offsets":[0,4]}})",
        R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
        R"({"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}})",
        R"({"w":{"dtype":"F64","shape":[3074457345618258602,3],"data_offsets":[0,4]}})",
        R"({"w":{"dtype":"F64","shape":[1152921504606846976, 8],"data_offsets":[0,4]}})",
    };
    for (const char* c : cases) {
        auto h = parse(makeSafetensors(c, "1234"), "s.safetensors");
        ASSERT_FALSE(h.ok()) << c;
        EXPECT_THAT(h.error().message, AllOf(HasSubstr("s.safetensors"), HasSubstr("tensor 'w'"))) << c;
    }
    auto h = parse(makeSafetensors(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
                                   "1234"));
    EXPECT_THAT(errorOf(h), HasSubstr("overflows"));
}

TEST(SafetensorsHeader, OffsetsOutOfRange) {
    auto h = parse(makeSafetensors(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", "12345678"),
                   "o.safetensors");
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code, ErrorCode::Corrupt);
    EXPECT_THAT(h.error().message, AllOf(HasSubstr("o.safetensors"), HasSubstr("tensor 'w'"),
                                         HasSubstr("data_offsets [4, 12]"), HasSubstr("beyond the end")));
    h = parse(makeSafetensors(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", "12345678"));
    EXPECT_THAT(errorOf(h), AllOf(HasSubstr("tensor 'w'"), HasSubstr("end before they begin")));
    for (const char* bad : {R"([0])", R"([0,4,8])", R"("0,4")", R"([-4,0])", R"([0,4.0])",
                            R"([0,18446744073709551616])"}) {
        std::string header = std::string(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":)") + bad + "}}";
        h = parse(makeSafetensors(header, "1234"));
        EXPECT_THAT(errorOf(h), AllOf(HasSubstr("tensor 'w'"), HasSubstr("data_offsets"))) << bad;
    }
}

TEST(SafetensorsHeader, ShapeOffsetMismatchMessage) {
    // The message of the brief: file, tensor, offsets, shape, dtype and byte count.
    const std::string data(100, '\0');
    auto h = parse(makeSafetensors(R"({"transformer.wte.weight":{"dtype":"F32","shape":[50257,32],)"
                                   R"("data_offsets":[0,100]}})",
                                   data),
                   "model.safetensors");
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().message, "model.safetensors: tensor 'transformer.wte.weight' data_offsets [0, 100] do not "
                                 "match shape [50257, 32] of F32 (6432896 bytes)");
}

TEST(SafetensorsHeader, OverlappingTensorsNameBoth) {
    auto h = parse(makeSafetensors(R"({"first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("second":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                   std::string(12, '\0')),
                   "ov.safetensors");
    ASSERT_FALSE(h.ok());
    EXPECT_THAT(h.error().message,
                AllOf(HasSubstr("ov.safetensors"), HasSubstr("'first'"), HasSubstr("'second'"), HasSubstr("overlap")));
    // Identical ranges overlap too; a contained range as well.
    h = parse(makeSafetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                              "1234"));
    EXPECT_THAT(errorOf(h), HasSubstr("overlap"));
    h = parse(makeSafetensors(R"({"big":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                              R"("small":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                              R"("after":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}})",
                              std::string(20, '\0')));
    EXPECT_THAT(errorOf(h), AllOf(HasSubstr("'big'"), HasSubstr("'small'")));
    // Empty tensors at any offset overlap nothing.
    h = parse(makeSafetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                              std::string(8, '\0')));
    EXPECT_TRUE(h.ok()) << errorOf(h);
}

TEST(SafetensorsHeader, DuplicateNamesAndBadMetadata) {
    auto h = parse(makeSafetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                   R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                   std::string(8, '\0')));
    EXPECT_THAT(errorOf(h), AllOf(HasSubstr("'a'"), HasSubstr("twice")));
    h = parse(makeSafetensors(R"({"__metadata__":["pt"]})", ""));
    EXPECT_THAT(errorOf(h), HasSubstr("__metadata__"));
    h = parse(makeSafetensors(R"({"__metadata__":{"format":1}})", ""));
    EXPECT_THAT(errorOf(h), AllOf(HasSubstr("__metadata__"), HasSubstr("'format'")));
    h = parse(makeSafetensors(R"({"w":[1,2]})", ""));
    EXPECT_THAT(errorOf(h), HasSubstr("tensor 'w'"));
}

TEST(SafetensorsHeader, ControlCharactersInNamesStayOneLine) {
    auto h = parse(makeSafetensors("{\"a\\nb\":{\"dtype\":\"X\",\"shape\":[1],\"data_offsets\":[0,4]}}", "1234"));
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().message.find('\n'), std::string::npos);
    EXPECT_THAT(h.error().message, HasSubstr("a\\x0ab"));
}

// --- files on disk -------------------------------------------------------------

TEST(SafetensorsFileErrors, TruncatedFixture) {
    TempDir tmp;
    const std::string full = readFile(fixture("tiny-gpt2") / "model.safetensors");
    const fs::path p = tmp / "model.safetensors";
    writeFile(p, full.substr(0, full.size() / 2));
    auto f = SafetensorsFile::open(p);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code, ErrorCode::Corrupt);
    EXPECT_THAT(f.error().message, AllOf(HasSubstr(p.string()), HasSubstr("truncated")));
    // Cut inside the header.
    writeFile(p, full.substr(0, 100));
    f = SafetensorsFile::open(p);
    ASSERT_FALSE(f.ok());
    EXPECT_THAT(f.error().message, AllOf(HasSubstr(p.string()), HasSubstr("runs past the end")));
    writeFile(p, "");
    f = SafetensorsFile::open(p);
    ASSERT_FALSE(f.ok());
    EXPECT_THAT(f.error().message, AllOf(HasSubstr(p.string()), HasSubstr("too short")));
}

TEST(SafetensorsFileErrors, MissingDirectoryAndUnreadable) {
    TempDir tmp;
    auto f = SafetensorsFile::open(tmp / "nope.safetensors");
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code, ErrorCode::NotFound);
    EXPECT_THAT(f.error().message, HasSubstr("nope.safetensors"));

    fs::create_directories(tmp / "dir.safetensors");
    f = SafetensorsFile::open(tmp / "dir.safetensors");
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code, ErrorCode::Unreadable);
    EXPECT_THAT(f.error().message, AllOf(HasSubstr("dir.safetensors"), HasSubstr("directory")));

    if (::geteuid() != 0) { // root reads files whatever their mode
        const fs::path p = tmp / "locked.safetensors";
        writeFile(p, readFile(fixture("tiny-qwen2") / "model-00002-of-00002.safetensors"));
        ASSERT_EQ(::chmod(p.c_str(), 0), 0);
        f = SafetensorsFile::open(p);
        ASSERT_FALSE(f.ok());
        EXPECT_EQ(f.error().code, ErrorCode::Unreadable);
        EXPECT_THAT(f.error().message, AllOf(HasSubstr("locked.safetensors"), HasSubstr("ermission")));
    }
}

TEST(SafetensorsFileErrors, CorruptHeadersOnDisk) {
    TempDir tmp;
    const fs::path p = tmp / "model.safetensors";
    writeFile(p, makeSafetensors(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(12, '\0')));
    auto f = SafetensorsFile::open(p);
    ASSERT_FALSE(f.ok());
    EXPECT_THAT(f.error().message, AllOf(HasSubstr(p.string()), HasSubstr("tensor 'w'"), HasSubstr("do not match")));
}
