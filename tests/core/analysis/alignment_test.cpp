// Alignment for model comparison: output columns (identical, divergent),
// prompt rows across tokenizers (real GPT-2 and Llama tokenizers of
// tests/data), and the difference matrix on the common row set.

#include "analysis/alignment.h"
#include "analysis/combine.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

using namespace tokenlens;
using namespace tokenlens::analysis;
using S = std::vector<std::string>;

namespace {

std::shared_ptr<Tokenizer> loadTokenizer(const std::string& model) {
    auto t = Tokenizer::fromFolder(std::string(TOKENLENS_TEST_DATA_DIR) + "/models/" + model);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    return t.ok() ? *t : nullptr;
}

std::vector<Span> spansOf(const Encoding& e) {
    std::vector<Span> s;
    for (auto [b, en] : e.offsets) s.push_back({static_cast<int64_t>(b), static_cast<int64_t>(en)});
    return s;
}

std::vector<std::string> displayTokens(const Tokenizer& tok, const Encoding& e) {
    std::vector<std::string> out;
    for (int32_t id : e.ids) out.push_back(tok.displayToken(id));
    return out;
}

AttributionMatrix matrix(int64_t rows, int64_t cols, std::vector<float> data) {
    return {rows, cols, std::move(data)};
}

} // namespace

TEST(AlignOutputs, IdenticalOutputsAlignByPosition) {
    const S a{" the", " cat", " sat", "."};
    const auto pairs = alignOutputs(a, a);
    ASSERT_EQ(pairs.size(), 4u);
    for (int64_t k = 0; k < 4; ++k) { EXPECT_EQ(pairs[static_cast<size_t>(k)], (ColumnPair{k, k})); }
    EXPECT_EQ(firstDivergence(a, a), 4);
}

TEST(AlignOutputs, SubstitutionThenCommonTail) {
    // a = x y z w, b = x q z w: prefix x by position; after it the LCS of
    // (y z w) and (q z w) is (z w); y and q are unmatched, a's first.
    const auto pairs = alignOutputs(S{"x", "y", "z", "w"}, S{"x", "q", "z", "w"});
    const std::vector<ColumnPair> expected{{0, 0}, {1, -1}, {-1, 1}, {2, 2}, {3, 3}};
    EXPECT_EQ(pairs, expected);
    EXPECT_EQ(firstDivergence(S{"x", "y", "z", "w"}, S{"x", "q", "z", "w"}), 1);
}

TEST(AlignOutputs, InsertionShiftsTheRest) {
    // b inserts "and" after the first token: positions differ from index 1 on,
    // the LCS re-pairs a's 1, 2 with b's 2, 3.
    const auto pairs = alignOutputs(S{" a", " b", " c"}, S{" a", " and", " b", " c"});
    const std::vector<ColumnPair> expected{{0, 0}, {-1, 1}, {1, 2}, {2, 3}};
    EXPECT_EQ(pairs, expected);
}

TEST(AlignOutputs, NothingInCommonAndEmptySides) {
    const auto pairs = alignOutputs(S{"p", "q"}, S{"r"});
    const std::vector<ColumnPair> expected{{0, -1}, {1, -1}, {-1, 0}};
    EXPECT_EQ(pairs, expected);
    EXPECT_TRUE(alignOutputs(S{}, S{}).empty());
    const std::vector<ColumnPair> onlyB{{-1, 0}, {-1, 1}};
    EXPECT_EQ(alignOutputs(S{}, S{"u", "v"}), onlyB);
}

TEST(AlignOutputs, EveryTokenAppearsOnceInOrder) {
    // Invariant on a longer divergent pair: each index of each side appears
    // exactly once, increasing, and matched pairs have equal texts.
    const S a{"a", "b", "c", "a", "b", "b", "a", "c"}, b{"a", "c", "b", "a", "b", "a", "c", "c"};
    const auto pairs = alignOutputs(a, b);
    int64_t na = 0, nb = 0, matched = 0;
    for (const auto& p : pairs) {
        if (p.a >= 0) { EXPECT_EQ(p.a, na++); }
        if (p.b >= 0) { EXPECT_EQ(p.b, nb++); }
        if (p.matched()) {
            EXPECT_EQ(a[static_cast<size_t>(p.a)], b[static_cast<size_t>(p.b)]);
            ++matched;
        }
    }
    EXPECT_EQ(na, 8);
    EXPECT_EQ(nb, 8);
    // The common prefix "a", then a longest common subsequence of the rest:
    // its length by brute force over every subsequence of a's suffix.
    const S ra(a.begin() + 1, a.end()), rb(b.begin() + 1, b.end());
    size_t best = 0;
    for (unsigned mask = 0; mask < (1u << ra.size()); ++mask) {
        size_t q = 0, len = 0;
        bool ok = true;
        for (size_t i = 0; i < ra.size() && ok; ++i) {
            if (!(mask & (1u << i))) continue;
            while (q < rb.size() && rb[q] != ra[i]) ++q;
            if (q == rb.size()) ok = false;
            else ++q, ++len;
        }
        if (ok) best = std::max(best, len);
    }
    EXPECT_EQ(matched, static_cast<int64_t>(1 + best));
}

TEST(LocateTokens, DisplayTokensOfStoredResults) {
    // GPT-2 display tokens of the fixture prompt.
    const std::string text = "The cat sat on the mat.";
    const auto g = locateTokens(text, S{"The", " cat", " sat", " on", " the", " mat", "."});
    const std::vector<Span> gs{{0, 3}, {3, 7}, {7, 11}, {11, 14}, {14, 18}, {18, 22}, {22, 23}};
    EXPECT_EQ(g, gs);
    // Llama: BOS covers nothing; the prepended space of " The" is not in the text.
    const auto l = locateTokens(text, S{"<s>", " The", " cat", " sat", " on", " the", " mat", "."});
    const std::vector<Span> ls{{0, 0}, {0, 3}, {3, 7}, {7, 11}, {11, 14}, {14, 18}, {18, 22}, {22, 23}};
    EXPECT_EQ(l, ls);
    // A token that is not in the text gets an empty span and the rest still matches.
    const auto x = locateTokens("ab", S{"<s>", "a", "zz", "b"});
    const std::vector<Span> xs{{0, 0}, {0, 1}, {1, 1}, {1, 2}};
    EXPECT_EQ(x, xs);
    // Byte-fallback pieces and escaped partial characters stand for their bytes:
    // "é" is C3 A9, "\n" is 0A.
    const auto y = locateTokens("a\n\xC3\xA9", S{"a", "<0x0A>", "\\xC3", "\\xA9"});
    const std::vector<Span> ys{{0, 1}, {1, 2}, {2, 3}, {3, 4}};
    EXPECT_EQ(y, ys);
    // Word-level tokens carry no whitespace: each word is found after the
    // spaces (or newline) before it, and its span leaves them out.
    const auto w = locateTokens("anna has  a\nball .", S{"[BOS]", "anna", "has", "a", "ball", "."});
    const std::vector<Span> ws{{0, 0}, {0, 4}, {5, 8}, {10, 11}, {12, 16}, {17, 18}};
    EXPECT_EQ(w, ws);
}

TEST(LocateTokens, AgreesWithTokenizerOffsets) {
    // On real tokenizations, locating the display strings recovers the
    // tokenizer's own byte offsets for every token that covers text.
    const std::string text = "Tokenization isn't unbelievable: 12345 apples,\nthen more.";
    for (const char* model : {"tiny-gpt2", "tiny-llama"}) {
        auto tok = loadTokenizer(model);
        ASSERT_TRUE(tok);
        auto enc = tok->encode(text);
        ASSERT_TRUE(enc.ok());
        const auto located = locateTokens(text, displayTokens(*tok, *enc));
        const auto offsets = spansOf(*enc);
        ASSERT_EQ(located.size(), offsets.size());
        for (size_t k = 0; k < offsets.size(); ++k)
            if (!offsets[k].empty()) { EXPECT_EQ(located[k], offsets[k]) << model << " token " << k; }
    }
}

TEST(AlignPromptRows, SameTokenizationIsOneRowPerSegment) {
    const std::vector<Span> s{{0, 3}, {3, 7}, {7, 11}};
    const auto r = alignPromptRows(s, s);
    ASSERT_EQ(r.segments.size(), 3u);
    for (int64_t k = 0; k < 3; ++k) {
        EXPECT_EQ(r.segments[static_cast<size_t>(k)].rowsA, std::vector<int64_t>{k});
        EXPECT_EQ(r.segments[static_cast<size_t>(k)].rowsB, std::vector<int64_t>{k});
    }
    EXPECT_TRUE(r.unmatchedA.empty());
    EXPECT_TRUE(r.unmatchedB.empty());
}

TEST(AlignPromptRows, HandMadeSplits) {
    // Text "unbelievable cat": A = "un|believable| cat", B = "unbel|ievable| cat|"
    // plus a BOS with an empty span. Segment 1 = "unbelievable" (A 0,1; B 1,2),
    // segment 2 = " cat" (A 2; B 3).
    const std::vector<Span> a{{0, 2}, {2, 12}, {12, 16}};
    const std::vector<Span> b{{0, 0}, {0, 5}, {5, 12}, {12, 16}};
    const auto r = alignPromptRows(a, b);
    ASSERT_EQ(r.segments.size(), 2u);
    EXPECT_EQ(r.segments[0].rowsA, (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(r.segments[0].rowsB, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(r.segments[0].span, (Span{0, 12}));
    EXPECT_EQ(r.segments[1].rowsA, std::vector<int64_t>{2});
    EXPECT_EQ(r.segments[1].rowsB, std::vector<int64_t>{3});
    EXPECT_EQ(r.unmatchedB, std::vector<int64_t>{0});
    EXPECT_TRUE(r.unmatchedA.empty());
    // B's row 2 ("ievable") overlaps only A's row 1 ("believable").
    EXPECT_EQ(r.overlapOfB[2], std::vector<int64_t>{1});
    EXPECT_EQ(r.overlapOfB[1], (std::vector<int64_t>{0, 1}));
    EXPECT_TRUE(r.overlapOfB[0].empty());
}

TEST(AlignPromptRows, DifferentRealTokenizers) {
    // GPT-2 (byte-level BPE) and the Llama-family SentencePiece tokenizer on
    // one prompt: Llama splits numbers one digit per token and adds a BOS.
    const std::string text = "In 2024 the unbelievable cat sat on the mat.";
    auto gpt2 = loadTokenizer("tiny-gpt2");
    auto llama = loadTokenizer("tiny-llama");
    ASSERT_TRUE(gpt2 && llama);
    auto ea = gpt2->encode(text);
    auto eb = llama->encode(text);
    ASSERT_TRUE(ea.ok() && eb.ok());
    // The spans as a stored result gives them (display tokens located in the text).
    const auto sa = locateTokens(text, displayTokens(*gpt2, *ea));
    const auto sb = locateTokens(text, displayTokens(*llama, *eb));
    const auto r = alignPromptRows(sa, sb);

    // Llama's BOS is the only unmatched row.
    EXPECT_TRUE(r.unmatchedA.empty());
    ASSERT_EQ(r.unmatchedB, std::vector<int64_t>{0});
    // Every other row is in exactly one segment; a segment's rows of A and of
    // B cover the same text (the segment's span), and segments are in order
    // without overlap.
    std::vector<int> seenA(sa.size(), 0), seenB(sb.size(), 0);
    int64_t previousEnd = 0;
    for (const Segment& g : r.segments) {
        ASSERT_FALSE(g.rowsA.empty());
        ASSERT_FALSE(g.rowsB.empty());
        EXPECT_GE(g.span.begin, previousEnd);
        previousEnd = g.span.end;
        const Span ua{sa[static_cast<size_t>(g.rowsA.front())].begin, sa[static_cast<size_t>(g.rowsA.back())].end};
        const Span ub{sb[static_cast<size_t>(g.rowsB.front())].begin, sb[static_cast<size_t>(g.rowsB.back())].end};
        EXPECT_EQ(ua, g.span);
        EXPECT_EQ(ub, g.span);
        for (int64_t k : g.rowsA) ++seenA[static_cast<size_t>(k)];
        for (int64_t k : g.rowsB) ++seenB[static_cast<size_t>(k)];
    }
    for (size_t k = 0; k < sa.size(); ++k) { EXPECT_EQ(seenA[k], 1) << "gpt2 row " << k; }
    for (size_t k = 1; k < sb.size(); ++k) { EXPECT_EQ(seenB[k], 1) << "llama row " << k; }

    // "2024": the four Llama digit tokens line up with GPT-2's token(s) of the number.
    auto segmentText = [&](const Segment& g) {
        return text.substr(static_cast<size_t>(g.span.begin), static_cast<size_t>(g.span.end - g.span.begin));
    };
    bool foundNumber = false;
    for (const Segment& g : r.segments) {
        std::string s = segmentText(g);
        if (s.find("2024") != std::string::npos) {
            foundNumber = true;
            EXPECT_EQ(s, " 2024");
            EXPECT_EQ(g.rowsB.size(), 5u); // "▁" then one token per digit
        }
    }
    EXPECT_TRUE(foundNumber);
    // The words both split into whole tokens keep one segment each: " cat",
    // " sat", " mat" are single tokens in both vocabularies.
    int wholeWords = 0;
    for (const Segment& g : r.segments) {
        const std::string s = segmentText(g);
        if (s == " cat" || s == " sat" || s == " mat") {
            ++wholeWords;
            EXPECT_EQ(g.rowsA.size(), 1u);
            EXPECT_EQ(g.rowsB.size(), 1u);
        }
    }
    EXPECT_EQ(wholeWords, 3);
}

TEST(AlignedDifference, IdenticalTokenizationEqualsDifferenceNormalized) {
    // n = 3 prompt rows, t = 2 outputs: contract matrix (n+t) × t.
    const float N = NAN;
    const auto a1 = matrix(5, 2, {1, 2, 3, 0, 5, 4, N, 1, N, N});
    const auto a2 = matrix(5, 2, {2, 2, 0, 1, 1, 6, N, 3, N, N});
    const std::vector<Span> s{{0, 3}, {3, 7}, {7, 11}};
    const auto rows = alignPromptRows(s, s);
    const auto cols = alignOutputs(S{"x", "y"}, S{"x", "y"});
    auto d = alignedDifference(a1, a2, rows, cols);
    ASSERT_TRUE(d.ok()) << d.error().message;
    auto ref = differenceNormalized(a1, a2, NormScope::Matrix, 3);
    ASSERT_TRUE(ref.ok());
    ASSERT_EQ(d->difference.rows, 3);
    ASSERT_EQ(d->difference.cols, 2);
    for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 2; ++j) { EXPECT_NEAR(d->difference.at(i, j), ref->at(i, j), 1e-6); }
    // Hand check of one cell: A1 prompt block range [0, 5] → A1[2,0] = 5 → 1;
    // A2 prompt block range [0, 6] → A2[2,0] = 1 → 1/6; difference 5/6.
    EXPECT_NEAR(d->difference.at(2, 0), 5.0 / 6.0, 1e-6);
    // The same matrix against itself: all zero.
    auto z = alignedDifference(a1, a1, rows, cols);
    ASSERT_TRUE(z.ok());
    for (float v : z->difference.data) { EXPECT_FLOAT_EQ(v, 0.0f); }
}

TEST(AlignedDifference, SegmentsSumRowsAndOnlyMatchedColumnsCount) {
    // A: rows "un", "believable", " cat" (n = 3); B: BOS, "unbel", "ievable", " cat" (n = 4).
    // Outputs: A = (p, q), B = (p, r, q): q matches B's column 2, r is unmatched.
    const float N = NAN;
    const auto a = matrix(5, 2, {1, 1, 2, 3, 3, 0, N, 4, N, N});
    const auto b = matrix(7, 3, {9, 9, 9, 1, 0, 2, 2, 0, 2, 4, 0, 1, N, 5, 5, N, N, 5, N, N, N});
    const std::vector<Span> sa{{0, 2}, {2, 12}, {12, 16}};
    const std::vector<Span> sb{{0, 0}, {0, 5}, {5, 12}, {12, 16}};
    const auto rows = alignPromptRows(sa, sb);
    const auto cols = alignOutputs(S{"p", "q"}, S{"p", "r", "q"});
    auto d = alignedDifference(a, b, rows, cols);
    ASSERT_TRUE(d.ok()) << d.error().message;
    ASSERT_EQ(d->difference.rows, 2); // segments "unbelievable", " cat"
    ASSERT_EQ(d->difference.cols, 2); // matched columns (0,0) and (1,2)
    // Segment sums by hand. A: "unbelievable" = rows 0+1 → (3, 4); " cat" = (3, 0).
    // Range [0, 4]: intensities (0.75, 1; 0.75, 0).
    // B (columns 0 and 2, BOS row ignored): rows 1+2 → (1+2, 2+2) = (3, 4); row 3 → (4, 1).
    // Range [1, 4]: intensities (2/3, 1; 1, 0).
    EXPECT_NEAR(d->a.at(0, 0), 0.75, 1e-6);
    EXPECT_NEAR(d->b.at(1, 1), 0.0, 1e-6);
    EXPECT_NEAR(d->difference.at(0, 0), 0.75 - 2.0 / 3.0, 1e-6);
    EXPECT_NEAR(d->difference.at(0, 1), 0.0, 1e-6);
    EXPECT_NEAR(d->difference.at(1, 0), 0.75 - 1.0, 1e-6);
    EXPECT_NEAR(d->difference.at(1, 1), 0.0, 1e-6);
    EXPECT_EQ(d->columns[1], (ColumnPair{1, 2}));
}

TEST(AlignedDifference, BadInputIsAnError) {
    const auto good = matrix(2, 1, {1, NAN});
    const auto bad = AttributionMatrix{2, 2, {1, 2, 3}};
    const std::vector<Span> s{{0, 1}};
    const auto rows = alignPromptRows(s, s);
    auto r = alignedDifference(good, bad, rows, alignOutputs(S{"x"}, S{"x"}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    // A column beyond the matrix (alignment made for other outputs).
    auto c = alignedDifference(good, good, rows, alignOutputs(S{"x", "y"}, S{"x", "y"}));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::Mismatch);
}
