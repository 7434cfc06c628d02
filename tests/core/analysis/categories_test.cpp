// Linguistic categories per word, on hand-made texts and on real
// tokenizations of the tests/data tokenizers (GPT-2, Llama-family, Qwen3).

#include "analysis/categories.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

using namespace tokenlens;
using namespace tokenlens::analysis;

namespace {

std::shared_ptr<Tokenizer> loadTokenizer(const std::string& model) {
    auto t = Tokenizer::fromFolder(std::string(TOKENLENS_TEST_DATA_DIR) + "/models/" + model);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    return t.ok() ? *t : nullptr;
}

struct Tokenized {
    Encoding enc;
    std::vector<Span> spans;
};
Tokenized tokenize(const Tokenizer& tok, const std::string& text) {
    auto e = tok.encode(text);
    EXPECT_TRUE(e.ok());
    Tokenized t{e.ok() ? *e : Encoding{}, {}};
    for (auto [b, en] : t.enc.offsets) t.spans.push_back({static_cast<int64_t>(b), static_cast<int64_t>(en)});
    return t;
}

std::string spanText(const std::string& text, Span s) {
    return text.substr(static_cast<size_t>(s.begin), static_cast<size_t>(s.end - s.begin));
}

} // namespace

TEST(SplitWords, HandSplit) {
    const std::string text = "Don't stop: 3.14, the END!\n";
    const auto words = splitWords(text);
    std::vector<std::pair<std::string, Category>> got;
    for (const Word& w : words) got.emplace_back(spanText(text, w.span), w.category);
    const std::vector<std::pair<std::string, Category>> expected{
        {"Don't", Category::FunctionWord}, {" ", Category::Whitespace}, {"stop", Category::Content},
        {":", Category::Punctuation},      {" ", Category::Whitespace}, {"3.14", Category::Number},
        {",", Category::Punctuation},      {" ", Category::Whitespace}, {"the", Category::FunctionWord},
        {" ", Category::Whitespace},       {"END", Category::Capitalised}, {"!\n", Category::Punctuation},
    };
    // "!\n" is not one run: '!' is punctuation, '\n' whitespace.
    ASSERT_EQ(got.size(), expected.size() + 1);
    for (size_t k = 0; k + 1 < expected.size(); ++k) { EXPECT_EQ(got[k], expected[k]) << k; }
    EXPECT_EQ(got[11], (std::pair<std::string, Category>{"!", Category::Punctuation}));
    EXPECT_EQ(got[12], (std::pair<std::string, Category>{"\n", Category::Whitespace}));
    EXPECT_TRUE(splitWords("").empty());
}

TEST(SplitWords, CoversTheTextWithoutGaps) {
    const std::string text = "  a,b 1,000.5 héllo\t\t--x_y ";
    int64_t at = 0;
    for (const Word& w : splitWords(text)) {
        EXPECT_EQ(w.span.begin, at);
        EXPECT_GT(w.span.end, w.span.begin);
        at = w.span.end;
    }
    EXPECT_EQ(at, static_cast<int64_t>(text.size()));
    // "a,b" is not a number: the comma between letters splits it.
    const auto words = splitWords("a,b");
    ASSERT_EQ(words.size(), 3u);
    EXPECT_EQ(words[1].category, Category::Punctuation);
}

TEST(FunctionWords, ClosedClassCaseInsensitive) {
    for (const char* w : {"the", "The", "OF", "and", "would", "themselves", "between"}) { EXPECT_TRUE(isFunctionWord(w)) << w; }
    for (const char* w : {"cat", "mat", "Paris", "run", ""}) { EXPECT_FALSE(isFunctionWord(w)) << w; }
}

TEST(Categorize, Gpt2FixturePrompt) {
    const std::string text = "The cat sat on the mat.";
    auto tok = loadTokenizer("tiny-gpt2");
    ASSERT_TRUE(tok);
    const auto t = tokenize(*tok, text);
    ASSERT_EQ(t.spans.size(), 7u); // The| cat| sat| on| the| mat|.
    auto c = categorize(text, t.spans, t.enc.special);
    ASSERT_TRUE(c.ok()) << c.error().message;
    const std::vector<Category> expected{Category::FunctionWord, Category::Content,      Category::Content,
                                         Category::FunctionWord, Category::FunctionWord, Category::Content,
                                         Category::Punctuation};
    EXPECT_EQ(c->builtin, expected);
}

TEST(Categorize, LlamaBosIsSpecialAndDigitsShareTheNumber) {
    // Llama-family SentencePiece: BOS first, "2024" one token per digit.
    const std::string text = "In 2024 Paris had 12 cats.";
    auto tok = loadTokenizer("tiny-llama");
    ASSERT_TRUE(tok);
    const auto t = tokenize(*tok, text);
    auto c = categorize(text, t.spans, t.enc.special);
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_FALSE(c->builtin.empty());
    EXPECT_EQ(c->builtin[0], Category::Special);
    int digitTokens = 0;
    for (size_t k = 0; k < t.spans.size(); ++k) {
        const std::string s = spanText(text, t.spans[k]);
        if (!s.empty() && s.find_first_of("0123456789") != std::string::npos) {
            ++digitTokens;
            EXPECT_EQ(c->builtin[k], Category::Number) << "token " << k << " \"" << s << "\"";
        }
        if (s == " Paris" || s == "Paris") { EXPECT_EQ(c->builtin[k], Category::Capitalised); }
        if (s == "In") { EXPECT_EQ(c->builtin[k], Category::FunctionWord); }
        if (s == ".") { EXPECT_EQ(c->builtin[k], Category::Punctuation); }
    }
    EXPECT_GE(digitTokens, 6); // 2,0,2,4,1,2 one per token
}

TEST(Categorize, EverySubTokenOfAWordGetsItsCategory) {
    // Long words that each tokenizer splits into several pieces.
    const std::string text = "Internationalization of photosynthesis, extraordinarily\nwell-documented.";
    for (const char* model : {"tiny-gpt2", "tiny-llama", "tiny-qwen2"}) {
        auto tok = loadTokenizer(model);
        ASSERT_TRUE(tok);
        const auto t = tokenize(*tok, text);
        auto c = categorize(text, t.spans, t.enc.special);
        ASSERT_TRUE(c.ok()) << c.error().message;
        const auto words = splitWords(text);
        std::map<int64_t, std::vector<size_t>> tokensOfWord;
        for (size_t k = 0; k < t.spans.size(); ++k) {
            if (c->word[k] < 0) {
                EXPECT_EQ(c->builtin[k], Category::Special) << model << " token " << k;
                continue;
            }
            tokensOfWord[c->word[k]].push_back(k);
            EXPECT_EQ(c->builtin[k], words[static_cast<size_t>(c->word[k])].category) << model << " token " << k;
        }
        // At least one word is split into several sub-tokens, all with one category.
        size_t maxPieces = 0;
        for (const auto& [w, toks] : tokensOfWord) maxPieces = std::max(maxPieces, toks.size());
        EXPECT_GE(maxPieces, 2u) << model;
        // The sub-tokens of "Internationalization" are capitalised, those of
        // "photosynthesis" content words.
        for (const auto& [w, toks] : tokensOfWord) {
            const std::string word = spanText(text, words[static_cast<size_t>(w)].span);
            if (word == "Internationalization")
                for (size_t k : toks) { EXPECT_EQ(c->builtin[k], Category::Capitalised) << model; }
            if (word == "photosynthesis")
                for (size_t k : toks) { EXPECT_EQ(c->builtin[k], Category::Content) << model; }
            if (word == "of")
                for (size_t k : toks) { EXPECT_EQ(c->builtin[k], Category::FunctionWord) << model; }
        }
    }
}

TEST(Categorize, NewlineTokenIsWhitespace) {
    const std::string text = "cat\n\nsat";
    // Hand-made spans: "cat", "\n\n", "sat".
    auto c = categorize(text, {{0, 3}, {3, 5}, {5, 8}});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->builtin[1], Category::Whitespace);
    EXPECT_EQ(c->builtin[0], Category::Content);
}

TEST(Categorize, UserCategoriesFromWordsAndPattern) {
    const std::string text = "The cat sat on the mat near a bat.";
    auto tok = loadTokenizer("tiny-gpt2");
    ASSERT_TRUE(tok);
    const auto t = tokenize(*tok, text);
    std::vector<UserCategory> user{{"animals", {"CAT", "bat"}, ""}, {"-at words", {}, "[a-z]at"}};
    auto c = categorize(text, t.spans, t.enc.special, user);
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_EQ(c->user.size(), 2u);
    std::vector<std::string> animals, at;
    for (size_t k = 0; k < t.spans.size(); ++k) {
        if (c->user[0][k]) animals.push_back(spanText(text, t.spans[k]));
        if (c->user[1][k]) at.push_back(spanText(text, t.spans[k]));
    }
    EXPECT_EQ(animals, (std::vector<std::string>{" cat", " bat"}));
    // Whole-word match: "cat", "sat", "mat", "bat"; not "The" (capital T).
    EXPECT_EQ(at, (std::vector<std::string>{" cat", " sat", " mat", " bat"}));

    auto bad = categorize(text, t.spans, t.enc.special, {{"broken", {}, "[a-"}});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(bad.error().message.find("broken"), std::string::npos);
    EXPECT_NE(bad.error().message.find("[a-"), std::string::npos);
    auto unnamed = categorize(text, t.spans, t.enc.special, {{"", {"x"}, ""}});
    EXPECT_FALSE(unnamed.ok());
}

TEST(Categorize, BadSpansAreErrors) {
    auto r = categorize("abc", {{0, 2}, {2, 9}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Mismatch);
    auto f = categorize("abc", {{0, 3}}, {true, false});
    EXPECT_FALSE(f.ok());
}

TEST(CategoryMass, HandComputed) {
    // Tokens: "The"(function) " cat"(content) " sat"(content) "."(punct), user "cat" on token 1.
    const std::string text = "The cat sat.";
    auto c = categorize(text, {{0, 3}, {3, 7}, {7, 11}, {11, 12}}, {}, {{"cats", {"cat"}, ""}});
    ASSERT_TRUE(c.ok());
    // Values 1, −3, 2, NaN → |·| = 1, 3, 2; total 6.
    auto m = categoryMass(*c, {1.0, -3.0, 2.0, NAN});
    ASSERT_TRUE(m.ok());
    ASSERT_EQ(m->names.size(), static_cast<size_t>(kBuiltinCategories + 1));
    const auto fw = static_cast<size_t>(Category::FunctionWord), ct = static_cast<size_t>(Category::Content),
               pu = static_cast<size_t>(Category::Punctuation);
    EXPECT_DOUBLE_EQ(m->mass[fw], 1.0);
    EXPECT_DOUBLE_EQ(m->mass[ct], 5.0);
    EXPECT_DOUBLE_EQ(m->mass[pu], 0.0);
    EXPECT_EQ(m->tokens[pu], 0); // its value is NaN
    EXPECT_DOUBLE_EQ(m->share[ct], 5.0 / 6.0);
    EXPECT_DOUBLE_EQ(m->mass[kBuiltinCategories], 3.0);
    EXPECT_DOUBLE_EQ(m->share[kBuiltinCategories], 0.5);
    double sum = 0;
    for (int k = 0; k < kBuiltinCategories; ++k) sum += m->share[static_cast<size_t>(k)];
    EXPECT_NEAR(sum, 1.0, 1e-12);
    EXPECT_EQ(m->names[ct], "content word");

    auto zero = categoryMass(*c, {0, 0, 0, 0});
    ASSERT_TRUE(zero.ok());
    EXPECT_TRUE(std::isnan(zero->share[ct]));
    EXPECT_FALSE(categoryMass(*c, {1, 2}).ok());
}
