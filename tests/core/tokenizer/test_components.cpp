// Pipeline stages on their own: split behaviours, normalizers, pre-tokenizers,
// BPE options, decoders, clean-up and display strings.

#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/decoders.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer_test_util.h"

#include <thread>

using namespace tokenlens;
using namespace tokenlens::tok;

namespace {

std::vector<std::string> texts(const std::vector<NormalizedString>& pieces) {
    std::vector<std::string> out;
    for (const auto& p : pieces) out.push_back(p.text());
    return out;
}

std::vector<std::string> splitDash(SplitBehavior behavior, bool invert = false) {
    SplitPreTokenizer split(Regex::literal("-"), behavior, invert);
    std::vector<NormalizedString> pieces{NormalizedString::fromOriginal("a-b--c", 0)};
    split.preTokenize(pieces);
    return texts(pieces);
}

using Strings = std::vector<std::string>;

} // namespace

TEST(SplitBehaviors, AllBehaviours) {
    EXPECT_EQ(splitDash(SplitBehavior::Removed), (Strings{"a", "b", "c"}));
    EXPECT_EQ(splitDash(SplitBehavior::Isolated), (Strings{"a", "-", "b", "-", "-", "c"}));
    EXPECT_EQ(splitDash(SplitBehavior::MergedWithPrevious), (Strings{"a-", "b-", "-", "c"}));
    EXPECT_EQ(splitDash(SplitBehavior::MergedWithNext), (Strings{"a", "-b", "-", "-c"}));
    EXPECT_EQ(splitDash(SplitBehavior::Contiguous), (Strings{"a", "-", "b", "--", "c"}));
    EXPECT_EQ(splitDash(SplitBehavior::Removed, true), (Strings{"-", "-", "-"}));
}

TEST(SplitBehaviors, PiecesKeepOriginalOffsets) {
    SplitPreTokenizer split(Regex::literal("-"), SplitBehavior::Removed, false);
    std::vector<NormalizedString> pieces{NormalizedString::fromOriginal("a-b--c", 10)};
    split.preTokenize(pieces);
    ASSERT_EQ(pieces.size(), 3u);
    EXPECT_EQ(pieces[2].originalSpan().begin, 15u);
    EXPECT_EQ(pieces[2].originalSpan().end, 16u);
}

TEST(Normalizers, ReplaceAndPrependKeepAlignment) {
    NormalizedString s = NormalizedString::fromOriginal("a b", 0);
    PrependNormalizer("\u2581").normalize(s);
    ReplaceNormalizer(Regex::literal(" "), "\u2581").normalize(s);
    EXPECT_EQ(s.text(), "\u2581a\u2581b");
    EXPECT_EQ(s.originalSpan(0, 3).begin, 0u); // prepended: empty span at 0
    EXPECT_EQ(s.originalSpan(0, 3).end, 0u);
    EXPECT_EQ(s.originalSpan(4, 7).begin, 1u); // the replaced space
    EXPECT_EQ(s.originalSpan(4, 7).end, 2u);
}

TEST(Normalizers, UnicodeFormsLowercaseStrip) {
    NormalizedString s = NormalizedString::fromOriginal("Cafe\xCC\x81 \xC3\x85ngstr\xC3\xB6m", 0);
    UnicodeNormalizer(unicode::Form::NFC).normalize(s);
    EXPECT_EQ(s.text(), "Caf\xC3\xA9 \xC3\x85ngstr\xC3\xB6m");
    UnicodeNormalizer(unicode::Form::NFD).normalize(s);
    EXPECT_EQ(s.text(), "Cafe\xCC\x81 A\xCC\x8Angstro\xCC\x88m");
    StripAccentsNormalizer().normalize(s);
    LowercaseNormalizer().normalize(s);
    EXPECT_EQ(s.text(), "cafe angstrom");

    NormalizedString k = NormalizedString::fromOriginal("\xEF\xAC\x81", 0); // ﬁ ligature
    UnicodeNormalizer(unicode::Form::NFKC).normalize(k);
    EXPECT_EQ(k.text(), "fi");
    EXPECT_EQ(k.originalSpan(1, 2).end, 3u);

    NormalizedString w = NormalizedString::fromOriginal("  hi \t", 5);
    StripNormalizer(true, true).normalize(w);
    EXPECT_EQ(w.text(), "hi");
    EXPECT_EQ(w.originalSpan().begin, 7u);
}

TEST(PreTokenizers, MetaspaceAndDigits) {
    MetaspacePreTokenizer meta(U'\u2581', PrependScheme::Always, true);
    std::vector<NormalizedString> pieces{NormalizedString::fromOriginal("Hey  you", 0)};
    meta.preTokenize(pieces);
    EXPECT_EQ(texts(pieces), (Strings{"\u2581Hey", "\u2581", "\u2581you"}));

    MetaspacePreTokenizer first(U'\u2581', PrependScheme::First, false);
    std::vector<NormalizedString> later{NormalizedString::fromOriginal("x", 3)};
    first.preTokenize(later);
    EXPECT_EQ(texts(later), (Strings{"x"})); // not at the start of the text: no prefix

    DigitsPreTokenizer digits(true);
    std::vector<NormalizedString> d{NormalizedString::fromOriginal("ab12c", 0)};
    digits.preTokenize(d);
    EXPECT_EQ(texts(d), (Strings{"ab", "1", "2", "c"}));

    ByteLevelPreTokenizer bl(true, true);
    std::vector<NormalizedString> b{NormalizedString::fromOriginal("Hi there", 0)};
    bl.preTokenize(b);
    EXPECT_EQ(texts(b), (Strings{"\xC4\xA0Hi", "\xC4\xA0there"}));
}

TEST(Bpe, ContinuingSubwordPrefixSuffixAndUnk) {
    Vocab v;
    int32_t id = 0;
    for (const char* t : {"<unk>", "a", "##b", "##c", "ab", "abc</w>", "##c</w>", "c</w>"}) v.add(t, id++);
    BpeOptions o;
    o.unkToken = "<unk>";
    o.continuingSubwordPrefix = "##";
    o.endOfWordSuffix = "</w>";
    o.fuseUnk = true;
    BpeModel bpe(std::move(v), {{"a", "##b"}, {"ab", "##c</w>"}}, o);
    std::vector<ModelToken> out;
    ASSERT_TRUE(bpe.tokenize("abc", out).ok());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].id, 5);
    out.clear();
    ASSERT_TRUE(bpe.tokenize("xyc", out).ok()); // x, ##y unknown: fused into one unk; ##c</w> known
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].id, 0);
    EXPECT_EQ(out[0].end, 2u);
    EXPECT_EQ(out[1].id, 6);
}

TEST(Decoders, ByteFallbackFuseStrip) {
    std::vector<std::string> t{"\u2581Hi", "<0xE2>", "<0x82>", "<0xFF>", "x"};
    ReplaceDecoder(Regex::literal("\u2581"), " ").decodeChain(t);
    ByteFallbackDecoder().decodeChain(t);
    // E2 82 FF is not UTF-8: one U+FFFD per byte token
    EXPECT_EQ(t, (Strings{" Hi", "\xEF\xBF\xBD", "\xEF\xBF\xBD", "\xEF\xBF\xBD", "x"}));
    t = {"\u2581Hi", "<0xE2>", "<0x82>", "<0xAC>", "x", "<0xFF>"};
    ByteFallbackDecoder().decodeChain(t);
    EXPECT_EQ(t, (Strings{"\u2581Hi", "\xE2\x82\xAC", "x", "\xEF\xBF\xBD"}));
    FuseDecoder().decodeChain(t);
    ASSERT_EQ(t.size(), 1u);
    t = {"  a ", " b"};
    StripDecoder(U' ', 1, 1).decodeChain(t);
    EXPECT_EQ(t, (Strings{" a", "b"}));
}

TEST(Decoders, MetaspaceAndCleanup) {
    Strings t{"\u2581Hello", "\u2581world", "!"};
    MetaspaceDecoder(U'\u2581', PrependScheme::Always).decodeChain(t);
    EXPECT_EQ(t, (Strings{"Hello", " world", "!"}));
    EXPECT_EQ(cleanUpTokenizationSpaces("a , b . c ! d ? I 'm it 's we 're they 've don n't ' x"),
              "a, b. c! d? I'm it's we're they've donn't'x");
}

TEST(Decoders, ByteLevelIsLossyOnBrokenBytes) {
    Strings t{"\xC4\xA0\xC3\xB0\xC5\x81\xC4\xBA"}; // " " + F0 9F 98: an incomplete emoji
    ByteLevelDecoder().decodeChain(t);
    EXPECT_EQ(t, (Strings{" \xEF\xBF\xBD"}));
}

TEST(DisplayToken, ReadableStrings) {
    auto gpt2 = test::loadFamily("gpt2");
    auto llama = test::loadFamily("llama2");
    ASSERT_TRUE(gpt2 && llama);
    EXPECT_EQ(gpt2->displayToken(995), " world");                // Ġworld
    EXPECT_EQ(gpt2->displayToken(30325), " \\xF0\\x9F\\x98");    // ĠðŁĺ: first bytes of an emoji
    EXPECT_EQ(gpt2->displayToken(50256), "<|endoftext|>");
    EXPECT_EQ(gpt2->displayToken(198), "\n");
    EXPECT_EQ(llama->displayToken(22557), " Hello");              // ▁Hello
    EXPECT_EQ(llama->displayToken(13), "<0x0A>");
    EXPECT_EQ(llama->displayToken(1), "<s>");
    EXPECT_EQ(llama->displayToken(-5), "");
    EXPECT_EQ(llama->idToToken(999999), "");
}

TEST(TokenizerInfo, VocabularyAndSpecialTokens) {
    auto qwen = test::loadFamily("qwen3");
    auto llama = test::loadFamily("llama2");
    auto llama3 = test::loadFamily("llama3");
    auto gpt2 = test::loadFamily("gpt2");
    ASSERT_TRUE(qwen && llama && llama3 && gpt2);
    EXPECT_EQ(qwen->vocabSize(), 151669u);
    EXPECT_EQ(gpt2->vocabSize(), 50257u);
    EXPECT_EQ(llama3->vocabSize(), 128256u);
    EXPECT_EQ(llama->modelType(), "BPE");
    EXPECT_TRUE(llama->addsBos());
    EXPECT_FALSE(gpt2->addsBos());
    EXPECT_FALSE(llama3->addsBos());
    EXPECT_EQ(llama->specialTokens().bos, 1);
    EXPECT_EQ(llama->specialTokens().eos, 2);
    EXPECT_EQ(llama->specialTokens().unk, 0);
    EXPECT_FALSE(llama->specialTokens().pad.has_value());
    EXPECT_EQ(qwen->specialTokens().eos, 151645);
    EXPECT_EQ(qwen->specialTokens().pad, 151643);
    EXPECT_FALSE(qwen->specialTokens().bos.has_value());
    EXPECT_EQ(gpt2->specialTokens().bos, 50256);
    EXPECT_EQ(llama3->specialTokens().bos, 128000);
    EXPECT_EQ(llama3->specialTokenList().size(), 256u);
    EXPECT_EQ(qwen->tokenToId("<think>"), 151667);
    EXPECT_EQ(gpt2->tokenToId("\xC4\xA0world"), 995);
    // skipSpecialTokens drops special added tokens only.
    EXPECT_EQ(qwen->decode(std::vector<int32_t>{151644, 872, 151667}, true), "user<think>");
}

TEST(TokenizerThreads, ConcurrentEncodesAgree) {
    auto tok = test::loadFamily("qwen3");
    ASSERT_TRUE(tok);
    const std::vector<std::string> inputs = {"Hello world, it's 2024!", "Caf\xC3\xA9 e\xCC\x81 \xE4\xB8\xAD\xE6\x96\x87",
                                             "<|im_start|>user\nHi<|im_end|>", "   spaces   ", "x"};
    std::vector<std::vector<int32_t>> expected;
    for (const auto& s : inputs) expected.push_back(tok->encode(s)->ids);
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int k = 0; k < 300; ++k) {
                const size_t i = static_cast<size_t>(k + t) % inputs.size();
                auto e = tok->encode(inputs[i] + std::to_string(k % 7));
                auto ref = tok->encode(inputs[i] + std::to_string(k % 7));
                if (!e.ok() || e->ids != ref->ids) ++mismatches;
                if (tok->encode(inputs[i])->ids != expected[i]) ++mismatches;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(mismatches.load(), 0);
}
