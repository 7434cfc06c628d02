// Offsets: every token carries the [begin, end) byte span of the original
// text it came from, through normalization, pre-tokenization and BPE.
//
// Convention for inserted text (llama2's prepended "▁", ByteLevel's
// add_prefix_space): it maps to an empty span where the text segment begins,
// so "▁Hello" spans "Hello" and a lone leading "▁" is (0, 0).

#include "tokenizer_test_util.h"

#include <nlohmann/json.hpp>

#include <fstream>

using namespace tokenlens;
using Offsets = std::vector<std::pair<size_t, size_t>>;

namespace {

Encoding encodeOk(const std::string& family, std::string_view text, bool special = false) {
    auto tok = test::loadFamily(family);
    if (!tok) return {};
    auto r = tok->encode(text, special);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : Encoding{};
}

bool isAscii(const std::string& s) {
    for (unsigned char c : s) {
        if (c >= 0x80) return false;
    }
    return true;
}

} // namespace

TEST(TokenizerOffsets, Gpt2HelloWorld) {
    auto e = encodeOk("gpt2", "Hello world");
    EXPECT_EQ(e.offsets, (Offsets{{0, 5}, {5, 11}}));
}

TEST(TokenizerOffsets, Llama2PrependedMetaspaceIsEmptyAtSegmentStart) {
    auto e = encodeOk("llama2", "Hello world", true);
    ASSERT_EQ(e.ids, (std::vector<int32_t>{1, 22557, 1526}));
    EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 5}, {5, 11}})); // <s> added by the post-processor: (0, 0)
    EXPECT_EQ(e.special, (std::vector<bool>{true, false, false}));

    auto lead = encodeOk("llama2", " leading");
    ASSERT_EQ(lead.tokens, (std::vector<std::string>{"\u2581", "\u2581leading"}));
    EXPECT_EQ(lead.offsets, (Offsets{{0, 0}, {0, 8}}));

    // After a special token the new segment starts at its end.
    auto after = encodeOk("llama2", "</s> after");
    ASSERT_EQ(after.tokens, (std::vector<std::string>{"</s>", "\u2581", "\u2581after"}));
    EXPECT_EQ(after.offsets, (Offsets{{0, 4}, {4, 4}, {4, 10}}));
}

TEST(TokenizerOffsets, AsciiGoldenTextsAreCoveredInOrder) {
    for (const std::string family : {"gpt2", "llama2", "qwen3", "llama3"}) {
        std::ifstream in(test::dataDir() / "golden" / ("tokenize-" + family + ".json"));
        const auto golden = nlohmann::json::parse(in);
        for (const auto& c : golden) {
            const std::string text = c.at("text").get<std::string>();
            if (!isAscii(text)) continue;
            SCOPED_TRACE(family + ": " + ::testing::PrintToString(text));
            auto e = encodeOk(family, text);
            size_t at = 0;
            for (size_t i = 0; i < e.offsets.size(); ++i) {
                EXPECT_EQ(e.offsets[i].first, at) << "token " << i << " " << e.tokens[i];
                EXPECT_LE(e.offsets[i].first, e.offsets[i].second);
                at = e.offsets[i].second;
            }
            EXPECT_EQ(at, text.size());
        }
    }
}

TEST(TokenizerOffsets, ByteLevelTokensSpanTheBytesTheyCover) {
    // "😀" is F0 9F 98 80; GPT-2 has "Ġ" + first three bytes as one token, the last byte as another.
    auto e = encodeOk("gpt2", "a \xF0\x9F\x98\x80");
    ASSERT_EQ(e.tokens, (std::vector<std::string>{"a", "\xC4\xA0\xC3\xB0\xC5\x81\xC4\xBA", "\xC4\xA2"}));
    EXPECT_EQ(e.offsets, (Offsets{{0, 1}, {1, 5}, {5, 6}}));
}

TEST(TokenizerOffsets, ByteFallbackTokensSpanTheirByte) {
    // U+1F1EB (regional indicator F) has no piece in llama2: four <0xNN> tokens.
    auto e = encodeOk("llama2", "\xF0\x9F\x87\xAB");
    ASSERT_EQ(e.tokens, (std::vector<std::string>{"\u2581", "<0xF0>", "<0x9F>", "<0x87>", "<0xAB>"}));
    EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 1}, {1, 2}, {2, 3}, {3, 4}}));
}

TEST(TokenizerOffsets, NfcCompositionMapsToTheWholeDecomposedRun) {
    // "e" + U+0301 becomes "é" (2 bytes, one token "Ã©" after a space) spanning bytes [1, 4).
    auto e = encodeOk("qwen3", " e\xCC\x81");
    ASSERT_EQ(e.tokens, (std::vector<std::string>{"\xC4\xA0\xC3\x83\xC2\xA9"}));
    EXPECT_EQ(e.offsets, (Offsets{{0, 4}}));
    auto two = encodeOk("qwen3", "x e\xCC\x81");
    ASSERT_EQ(two.offsets.size(), 2u);
    EXPECT_EQ(two.offsets[1], (std::pair<size_t, size_t>{1, 5}));
}

TEST(TokenizerOffsets, SpecialTokensInTextKeepTheirSpan) {
    const std::string text = "Hi<|im_end|>there";
    auto e = encodeOk("qwen3", text);
    ASSERT_EQ(e.ids.size(), 3u);
    EXPECT_EQ(e.ids[1], 151645);
    EXPECT_TRUE(e.special[1]);
    EXPECT_EQ(e.offsets, (Offsets{{0, 2}, {2, 12}, {12, 17}}));
}

TEST(TokenizerOffsets, Llama3NumbersAndIgnoreMerges) {
    auto e = encodeOk("llama3", "x 1234567");
    // \p{N}{1,3}: 123 456 7
    ASSERT_EQ(e.tokens, (std::vector<std::string>{"x", "\xC4\xA0", "123", "456", "7"}));
    EXPECT_EQ(e.offsets, (Offsets{{0, 1}, {1, 2}, {2, 5}, {5, 8}, {8, 9}}));
}
