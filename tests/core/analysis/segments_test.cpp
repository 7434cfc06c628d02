// Prompt segments (job option "granularity"): words, sentences, lines,
// paragraphs and user spans mapped onto the tokens of the real tokenizers of
// tests/data (GPT-2's byte-level BPE, tiny-llama's SentencePiece-style BPE
// with a BOS token, Qwen2's, Llama 3's),
// the options' errors, and the segment sums of a matrix.

#include "analysis/segment_text.h"
#include "analysis/segments.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using namespace tokenlens;
using namespace tokenlens::analysis;
using S = std::vector<std::string>;

namespace {

std::shared_ptr<Tokenizer> load(const std::string& path) {
    auto t = Tokenizer::fromFolder(std::string(TOKENLENS_TEST_DATA_DIR) + "/" + path);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    return t.ok() ? *t : nullptr;
}

GranularitySpec spec(const std::string& options) {
    auto g = granularityFromOptions(nlohmann::json::parse(options));
    EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message);
    return g.ok() ? *g : GranularitySpec{};
}

struct Segmented {
    Encoding enc;
    std::vector<PromptSegment> segments;
    S texts; // each segment's tokens' text, from their offsets
};

Segmented segment(const Tokenizer& tok, const std::string& text, const GranularitySpec& g) {
    Segmented out;
    auto enc = tok.encode(text);
    EXPECT_TRUE(enc.ok());
    out.enc = *enc;
    auto segs = segmentPrompt(text, out.enc.offsets, out.enc.special, g);
    EXPECT_TRUE(segs.ok()) << (segs.ok() ? "" : segs.error().message);
    if (!segs.ok()) return out;
    out.segments = *segs;
    EXPECT_TRUE(checkSegments(out.segments, static_cast<int64_t>(out.enc.ids.size())).ok());
    for (const auto& s : out.segments) {
        const size_t b = out.enc.offsets[static_cast<size_t>(s.tokenStart)].first;
        const size_t e = out.enc.offsets[static_cast<size_t>(s.tokenEnd - 1)].second;
        out.texts.push_back(text.substr(b, e - b));
    }
    return out;
}

std::string errorOf(const std::string& options, const std::string& text = "", const Tokenizer* tok = nullptr) {
    auto g = granularityFromOptions(nlohmann::json::parse(options));
    if (!g) return g.error().message;
    if (!tok) return "";
    auto enc = tok->encode(text);
    auto segs = segmentPrompt(text, enc->offsets, enc->special, *g);
    return segs ? "" : segs.error().message;
}

} // namespace

TEST(Segments, WordsOnGpt2KeepPunctuationWithTheirWord) {
    auto tok = load("models/tiny-gpt2");
    ASSERT_TRUE(tok);
    auto s = segment(*tok, "Hello world, how are you?", spec(R"({"granularity": "word"})"));
    EXPECT_EQ(s.texts, (S{"Hello", " world,", " how", " are", " you?"}));
    EXPECT_EQ(s.segments[1].charStart, 5); // the characters of its tokens: " world,"
    EXPECT_EQ(s.segments[1].charEnd, 12);
}

TEST(Segments, WordsOnLlama3) {
    auto tok = load("tokenizers/llama3");
    ASSERT_TRUE(tok);
    auto s = segment(*tok, "Don't stop-believing, ok?", spec(R"({"granularity": "word"})"));
    EXPECT_EQ(s.texts, (S{"Don't", " stop-believing,", " ok?"}));
}

TEST(Segments, SentencesOnGpt2) {
    auto tok = load("models/tiny-gpt2");
    ASSERT_TRUE(tok);
    auto s = segment(*tok, "The cat sat. It was happy! Was it? Pi is 3.14 here", spec(R"({"granularity": "sentence"})"));
    EXPECT_EQ(s.texts, (S{"The cat sat.", " It was happy!", " Was it?", " Pi is 3.14 here"}));
}

TEST(Segments, LinesKeepEmptyLinesWithTheLineTheyEnd) {
    auto tok = load("models/tiny-gpt2");
    ASSERT_TRUE(tok);
    // GPT-2 splits "\n\n" before a word into two tokens: the empty line is a segment of its own.
    auto s = segment(*tok, "first line\n\nthird line\nlast", spec(R"({"granularity": "line"})"));
    EXPECT_EQ(s.texts, (S{"first line\n", "\n", "third line\n", "last"}));
    // Before a space it writes "\n\n" as one token: the empty line then goes with the line it ends.
    auto joined = segment(*tok, "first line\n\n third line", spec(R"({"granularity": "line"})"));
    EXPECT_EQ(joined.texts, (S{"first line\n\n", " third line"}));
    // A line of spaces only is a line of its own when its tokens start on it.
    auto t = segment(*tok, "a\n \nb", spec(R"({"granularity": "line"})"));
    ASSERT_FALSE(t.texts.empty());
    EXPECT_EQ(t.texts.front().substr(0, 1), "a");
    EXPECT_EQ(t.texts.back(), "b");
    std::string all;
    for (const auto& x : t.texts) all += x;
    EXPECT_EQ(all, "a\n \nb");
}

TEST(Segments, ParagraphsSplitAtBlankLines) {
    auto tok = load("models/tiny-qwen2");
    ASSERT_TRUE(tok);
    const std::string text = "Para one, line one.\nLine two.\n\nPara two.\n\n\n  Para three.";
    auto s = segment(*tok, text, spec(R"({"granularity": "paragraph"})"));
    ASSERT_EQ(s.texts.size(), 3u);
    EXPECT_EQ(s.texts[0].rfind("Para one, line one.\nLine two.", 0), 0u);
    EXPECT_EQ(s.texts[1].find("Para two."), 0u);
    EXPECT_NE(s.texts[2].find("Para three."), std::string::npos);
    EXPECT_EQ(s.texts[0] + s.texts[1] + s.texts[2], text);
}

TEST(Segments, UnicodeCharactersAreCodePoints) {
    auto tok = load("models/tiny-qwen2");
    ASSERT_TRUE(tok);
    // 13 characters ("é" is 2 bytes), a space, then two Japanese sentences of 6 and 4 characters.
    const std::string text = "Caf\xC3\xA9 au lait. \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xA7\xE3\x81\x99\xE3\x80\x82"
                             "\xE6\xAC\xA1\xE3\x81\xAE\xE6\x96\x87\xE3\x80\x82";
    auto s = segment(*tok, text, spec(R"({"granularity": "sentence"})"));
    ASSERT_EQ(s.segments.size(), 3u);
    // The characters of each segment's tokens (Qwen2 puts the space into the next token).
    EXPECT_EQ(s.segments[0].charStart, 0);
    EXPECT_EQ(s.segments[0].charEnd, 13);
    EXPECT_EQ(s.segments[1].charStart, 13);
    EXPECT_EQ(s.segments[1].charEnd, 20);
    EXPECT_EQ(s.segments[2].charStart, 20);
    EXPECT_EQ(s.segments[2].charEnd, 24);
    EXPECT_EQ(s.texts[0], "Caf\xC3\xA9 au lait.");
}

TEST(Segments, BosIsASegmentOfItsOwn) {
    auto tok = load("models/tiny-llama");
    ASSERT_TRUE(tok);
    auto s = segment(*tok, "Hello big world", spec(R"({"granularity": "word"})"));
    ASSERT_TRUE(s.enc.special.at(0)) << "the tiny-llama tokenizer adds <s>";
    ASSERT_EQ(s.segments.size(), 4u);
    EXPECT_EQ(s.segments[0].tokenStart, 0);
    EXPECT_EQ(s.segments[0].tokenEnd, 1);
    EXPECT_EQ(s.texts[1], "Hello");
    EXPECT_EQ(s.texts[3], " world");
}

TEST(Segments, UserSpansWithLabelsAndTheRestBetweenThem) {
    auto tok = load("models/tiny-gpt2");
    ASSERT_TRUE(tok);
    const std::string a = "Doc A: apples are red.", b = "Doc B: bananas are yellow.";
    const std::string text = a + "\n" + b + "\nQuestion: what is red?";
    const auto bStart = static_cast<int64_t>(a.size() + 1);
    nlohmann::json o = {{"granularity", "spans"},
                        {"segments",
                         {{{"start", bStart}, {"end", bStart + static_cast<int64_t>(b.size())}, {"label", "bananas"}},
                          {{"start", 0}, {"end", a.size()}, {"label", "apples"}}}}};
    auto g = granularityFromOptions(o);
    ASSERT_TRUE(g.ok()) << g.error().message;
    auto s = segment(*tok, text, *g);
    ASSERT_EQ(s.segments.size(), 4u);
    EXPECT_EQ(s.segments[0].label, "apples");
    EXPECT_EQ(s.texts[0], a);
    EXPECT_EQ(s.segments[0].charStart, 0);
    EXPECT_EQ(s.segments[0].charEnd, static_cast<int64_t>(a.size()));
    EXPECT_EQ(s.segments[1].label, ""); // the line break between the documents
    EXPECT_EQ(s.segments[2].label, "bananas");
    EXPECT_EQ(s.texts[2], b);
    EXPECT_EQ(s.segments[3].label, "");
    EXPECT_EQ(s.texts[3].find("Question"), 1u);
    // An array of segments alone means spans; the spec writes back as it was read.
    nlohmann::json implied = {{"segments", o["segments"]}};
    auto g2 = granularityFromOptions(implied);
    ASSERT_TRUE(g2.ok());
    EXPECT_EQ(g2->kind, Granularity::Spans);
    EXPECT_EQ(toJson(*g2)["segments"], o["segments"]);
}

TEST(Segments, BadOptionsNameTheField) {
    auto tok = load("models/tiny-gpt2");
    ASSERT_TRUE(tok);
    EXPECT_NE(errorOf(R"({"granularity": "chapter"})").find("option 'granularity' is \"chapter\""), std::string::npos);
    EXPECT_NE(errorOf(R"({"granularity": 3})").find("option 'granularity'"), std::string::npos);
    EXPECT_NE(errorOf(R"({"granularity": "spans"})").find("option 'segments' gives no spans"), std::string::npos);
    EXPECT_NE(errorOf(R"({"granularity": "word", "segments": [{"start": 0, "end": 2}]})")
                  .find("option 'segments' lists spans, but option 'granularity' is 'word'"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"segments": []})").find("option 'segments' is empty"), std::string::npos);
    EXPECT_NE(errorOf(R"({"segments": [{"start": 0, "end": 4}, {"start": 3, "end": 6}]})")
                  .find("option 'segments[1]' (3..6) overlaps 'segments[0]' (0..4)"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"segments": [{"start": 5, "end": 5}]})").find("'segments[0]' is empty or reversed"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"segments": [{"start": -1, "end": 5}]})").find("'segments[0].start'"), std::string::npos);
    EXPECT_NE(errorOf(R"({"segments": [{"start": 0, "end": "5"}]})").find("'segments[0].end' must be a whole number"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"segments": [{"start": 0, "end": 5, "name": "x"}]})").find("unknown key 'name'"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"segments": [{"start": 0, "end": 5, "label": 7}]})").find("'segments[0].label'"),
              std::string::npos);
    // Against the text: past its end (in characters, not bytes), or inside one token.
    EXPECT_NE(errorOf(R"({"segments": [{"start": 0, "end": 12}]})", "Hello world", tok.get())
                  .find("'segments[0]' (0..12) ends past the prompt, which has 11 characters"),
              std::string::npos);
    EXPECT_EQ(errorOf(R"({"segments": [{"start": 0, "end": 6}]})", "Caf\xC3\xA9 ok", tok.get()), "");
    EXPECT_NE(errorOf(R"({"segments": [{"start": 1, "end": 3, "label": "ell"}]})", "Hello world", tok.get())
                  .find("'segments[0]' (1..3, 'ell') holds no token's start"),
              std::string::npos);
    // context_cite's own "segments" choice is not a granularity.
    auto g = granularityFromOptions(nlohmann::json::parse(R"({"segments": "sentence"})"));
    ASSERT_TRUE(g.ok());
    EXPECT_TRUE(g->isToken());
}

TEST(Segments, TokenGranularityIsOneSegmentPerToken) {
    auto tok = load("models/tiny-gpt2");
    ASSERT_TRUE(tok);
    auto s = segment(*tok, "one two three", GranularitySpec{});
    ASSERT_EQ(s.segments.size(), s.enc.ids.size());
    for (size_t i = 0; i < s.segments.size(); ++i) EXPECT_EQ(s.segments[i].tokenStart, static_cast<int64_t>(i));
}

TEST(Segments, OffsetsOutsideTheTextAreAnError) {
    auto r = segmentPrompt("abc", {{0, 2}, {2, 9}}, {}, spec(R"({"granularity": "word"})"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("token 1 spans bytes 2..9"), std::string::npos);
}

TEST(Segments, SummedMatrixIsTheSumOfTheTokenRows) {
    // n = 4 prompt tokens, t = 2 outputs: rows 0..5; NaN where a row is in a column's future.
    const float nan = std::nanf("");
    AttributionMatrix m{6, 2, {0.5f, 1.f, -0.25f, 2.f, 1.f, nan, 3.f, 4.f, 0.1f, 0.2f, nan, nan}};
    std::vector<PromptSegment> segs{{0, 3, 0, 0, ""}, {3, 4, 0, 0, ""}};
    ASSERT_TRUE(checkSegments(segs, 4).ok());
    auto s = sumIntoSegments(m, segs);
    ASSERT_EQ(s.rows, 4);
    ASSERT_EQ(s.cols, 2);
    EXPECT_FLOAT_EQ(s.at(0, 0), 0.5f - 0.25f + 1.f);
    EXPECT_FLOAT_EQ(s.at(0, 1), 1.f + 2.f); // the NaN is skipped
    EXPECT_FLOAT_EQ(s.at(1, 0), 3.f);
    EXPECT_FLOAT_EQ(s.at(2, 1), 0.2f); // output rows as they are
    EXPECT_TRUE(std::isnan(s.at(3, 0)));
    EXPECT_FALSE(checkSegments({{0, 2, 0, 0, ""}, {3, 4, 0, 0, ""}}, 4).ok());
    EXPECT_FALSE(checkSegments({{0, 2, 0, 0, ""}}, 4).ok());
}

TEST(Segments, SegmentTextIsThePromptsOwnCharacters) {
    // "Grüße,\n  Welt." : characters (code points), not bytes; whitespace runs folded and trimmed.
    const std::string text = "Gr\xC3\xBC\xC3\x9F" "e,\n  Welt.";
    PromptSegment first{0, 2, 0, 6, ""}, second{2, 4, 6, 14, "doc"};
    EXPECT_EQ(segmentText(text, first), "Gr\xC3\xBC\xC3\x9F" "e,");
    EXPECT_EQ(segmentText(text, second), "Welt.");
    EXPECT_EQ(segmentText(text, {0, 4, 3, 10, ""}), "\xC3\x9F" "e, W");
    // No characters, or characters past the text: empty (the caller joins token texts).
    EXPECT_EQ(segmentText(text, {0, 1, 0, 0, ""}), "");
    EXPECT_EQ(segmentText(text, {0, 1, 10, 15, ""}), "");
    EXPECT_EQ(segmentText(text, {0, 1, 14, 14, ""}), "");
}
