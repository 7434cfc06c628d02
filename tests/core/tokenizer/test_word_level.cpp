// WordLevel tokenizers built in memory (TokenLens builds such tokenizers for
// its demo models) with the Whitespace and WhitespaceSplit pre-tokenizers.

#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace tokenlens;
using Offsets = std::vector<std::pair<size_t, size_t>>;

namespace {

nlohmann::json wordLevelJson(const char* preTokenizer) {
    auto j = nlohmann::json::parse(R"({
      "version": "1.0",
      "added_tokens": [
        {"id": 0, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 1, "content": "[BOS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
      ],
      "normalizer": {"type": "Lowercase"},
      "pre_tokenizer": null,
      "post_processor": {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [],
        "special_tokens": {"[BOS]": {"id": "[BOS]", "ids": [1], "tokens": ["[BOS]"]}}
      },
      "decoder": null,
      "model": {"type": "WordLevel", "unk_token": "[UNK]",
                "vocab": {"[UNK]": 0, "[BOS]": 1, "hello": 2, "world": 3, ",": 4, "!": 5, "hello,": 6}}
    })");
    j["pre_tokenizer"] = {{"type", preTokenizer}};
    return j;
}

std::shared_ptr<Tokenizer> make(const char* preTokenizer, const char* config = "") {
    auto r = Tokenizer::fromJson(wordLevelJson(preTokenizer).dump(), config, "demo tokenizer");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : nullptr;
}

} // namespace

TEST(WordLevel, WhitespacePreTokenizer) {
    auto tok = make("Whitespace");
    ASSERT_TRUE(tok);
    EXPECT_EQ(tok->modelType(), "WordLevel");
    EXPECT_EQ(tok->vocabSize(), 7u);
    EXPECT_TRUE(tok->addsBos());
    const std::string text = "Hello, World!  foo";
    auto e = tok->encode(text);
    ASSERT_TRUE(e.ok()) << e.error().message;
    EXPECT_EQ(e->ids, (std::vector<int32_t>{1, 2, 4, 3, 5, 0}));
    EXPECT_EQ(e->tokens, (std::vector<std::string>{"[BOS]", "hello", ",", "world", "!", "[UNK]"}));
    EXPECT_EQ(e->offsets, (Offsets{{0, 0}, {0, 5}, {5, 6}, {7, 12}, {12, 13}, {15, 18}}));
    EXPECT_EQ(e->special, (std::vector<bool>{true, false, false, false, false, false}));

    auto plain = tok->encode(text, false);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->ids, (std::vector<int32_t>{2, 4, 3, 5, 0}));

    // No decoder: tokens joined by spaces.
    EXPECT_EQ(tok->decode(e->ids), "[BOS] hello , world ! [UNK]");
    EXPECT_EQ(tok->decode(e->ids, true), "hello , world !");
    EXPECT_EQ(tok->decode(e->ids, true, true), "hello, world!");
    EXPECT_EQ(tok->displayToken(2), "hello");
}

TEST(WordLevel, WhitespaceSplitPreTokenizer) {
    auto tok = make("WhitespaceSplit");
    ASSERT_TRUE(tok);
    auto e = tok->encode("Hello, world!\tHELLO", false);
    ASSERT_TRUE(e.ok()) << e.error().message;
    EXPECT_EQ(e->ids, (std::vector<int32_t>{6, 0, 2}));
    EXPECT_EQ(e->offsets, (Offsets{{0, 6}, {7, 13}, {14, 19}}));
}

TEST(WordLevel, AddedTokensAndSpecialTokensFromConfig) {
    auto tok = make("Whitespace", R"({"bos_token": {"content": "[BOS]"}, "unk_token": "[UNK]", "eos_token": null,
                                      "clean_up_tokenization_spaces": true})");
    ASSERT_TRUE(tok);
    EXPECT_EQ(tok->specialTokens().bos, 1);
    EXPECT_EQ(tok->specialTokens().unk, 0);
    EXPECT_FALSE(tok->specialTokens().eos.has_value());
    EXPECT_EQ(tok->specialTokenList(), (std::vector<std::pair<int32_t, std::string>>{{0, "[UNK]"}, {1, "[BOS]"}}));
    auto e = tok->encode("hello[BOS]world", false);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->ids, (std::vector<int32_t>{2, 1, 3}));
    EXPECT_EQ(e->offsets, (Offsets{{0, 5}, {5, 10}, {10, 15}}));
    EXPECT_EQ(tok->decode(std::vector<int32_t>{2, 4}), "hello,"); // cleanup on by config
}

TEST(WordLevel, MissingUnkTokenIsAnEncodeError) {
    auto j = wordLevelJson("Whitespace");
    j["model"]["unk_token"] = "<nope>";
    auto r = Tokenizer::fromJson(j.dump(), "", "demo");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.value()->encode("hello").ok());
    auto e = r.value()->encode("unknown");
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().message.find("unknown"), std::string::npos);
}
