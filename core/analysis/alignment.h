#pragma once
// Alignment of two results of the same job for model comparison
// (docs/aggregations.md, "Alignment"): prompt rows by character spans of the
// shared prompt text (so that models with different tokenizers line up), output
// columns by position up to the first divergence and then by a longest common
// subsequence of the decoded token texts.

#include "analysis/normalization.h"
#include "result/attribution_matrix.h"
#include "util/result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokenlens::analysis {

// [begin, end) byte range of a token in a text; begin = end for a token that
// covers no text (BOS and other inserted tokens).
struct Span {
    int64_t begin = 0, end = 0;
    bool empty() const { return end <= begin; }
    bool operator==(const Span&) const = default;
};

// Byte spans of display tokens (MethodResult::input.tokens: " world" for
// "Ġworld", " Hello" for "▁Hello") in `text`, for results that store no
// offsets. Walking left to right from a cursor, token k matches where its text
// occurs at the cursor; a leading space the text does not have there (the
// space SentencePiece prepends) is dropped and the rest matched; a token
// without leading whitespace matches after the whitespace at the cursor (the
// words of a word-level tokenizer), its span leaving the whitespace out; a token that
// still does not match (a special token such as "<s>", a byte-fallback piece
// "<0xE2>", an escaped partial character) gets an empty span at the cursor.
// The result always has tokens.size() spans, each inside [0, text.size()],
// non-decreasing and non-overlapping.
std::vector<Span> locateTokens(std::string_view text, const std::vector<std::string>& tokens);

// Output column alignment. Each entry pairs column a of the first result with
// column b of the second; -1 on one side marks a token the other result does
// not have (unmatched). Entries are in output order on both sides.
struct ColumnPair {
    int64_t a = -1, b = -1;
    bool matched() const { return a >= 0 && b >= 0; }
    bool operator==(const ColumnPair&) const = default;
};
// Columns align by position while the token texts are equal (the common
// prefix); after the first divergence the rest is aligned by a longest common
// subsequence of the token texts (exact string equality; among equally long
// subsequences the one that matches the earliest tokens of `a`), and every
// token outside it is unmatched: between two matches, a's unmatched tokens
// come before b's.
std::vector<ColumnPair> alignOutputs(const std::vector<std::string>& a, const std::vector<std::string>& b);
// Index of the first position where the texts differ (the common prefix
// length; min(|a|, |b|) when one is a prefix of the other).
int64_t firstDivergence(const std::vector<std::string>& a, const std::vector<std::string>& b);

// Prompt row alignment on the character spans of the shared prompt text.
// Rows whose spans overlap belong together; the segments are the connected
// groups of that overlap relation (a word split as "Ġun|believable" by one
// tokenizer and "▁unbel|ievable" by the other is one segment of 2 + 2 rows).
// Each segment covers whole tokens of both sides, so attribution summed over
// a segment is comparable across the models. Rows with empty spans (BOS,
// inserted tokens) belong to no segment and are listed as unmatched.
struct Segment {
    std::vector<int64_t> rowsA, rowsB; // ascending, both non-empty
    Span span;                        // union of the rows' spans
};
struct RowAlignment {
    std::vector<Segment> segments; // in text order
    std::vector<int64_t> unmatchedA, unmatchedB;
    // For each row of B, the rows of A whose span overlaps it (empty for an
    // empty span): the "row r of model 2 = rows … of model 1" view.
    std::vector<std::vector<int64_t>> overlapOfB;
};
RowAlignment alignPromptRows(const std::vector<Span>& spansA, const std::vector<Span>& spansB);

// A^1 − A^2 on the common row set (docs/aggregations.md, "Difference across
// models"): rows = the segments of `rows`, columns = the matched pairs of
// `columns` (in order). For each model, the prompt block of its raw matrix is
// summed per segment (NaN skipped; a segment with no finite entry is NaN),
// that segments × matched-columns matrix is normalised with `scope`
// (normalize(S, scope)), and the difference taken: values in [−1, 1] for the
// min–max scopes. With identical tokenizers and outputs every segment is one
// row and this is differenceNormalized(A1, A2, scope, n) on the prompt block.
// Errors: malformed matrix (InvalidArgument); a segment row or column index
// outside its matrix (Mismatch).
struct AlignedDifference {
    AttributionMatrix difference; // segments × matched columns
    AttributionMatrix a, b;       // each model's normalised segment matrix
    std::vector<ColumnPair> columns; // the matched pairs, one per column
};
Result<AlignedDifference> alignedDifference(const AttributionMatrix& a, const AttributionMatrix& b,
                                            const RowAlignment& rows, const std::vector<ColumnPair>& columns,
                                            NormScope scope = NormScope::Matrix);

} // namespace tokenlens::analysis
