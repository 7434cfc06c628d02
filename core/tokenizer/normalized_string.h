#pragma once
// A piece of text on its way through the pipeline, with an alignment that maps
// every byte of the current (normalized) text to the [begin, end) byte span of
// the original input it came from. Normalizers and pre-tokenizers rewrite it;
// the model's tokens take their offsets from it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenlens::tok {

struct Span {
    size_t begin = 0;
    size_t end = 0;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// [begin, end) byte range of a NormalizedString, flagged when it is a match of
// the pattern the string is being split with.
struct MatchRange {
    size_t begin = 0;
    size_t end = 0;
    bool isMatch = false;
};

class NormalizedString {
public:
    NormalizedString() = default;
    // The original text `text`, which starts at byte `offset` of the input.
    static NormalizedString fromOriginal(std::string_view text, size_t offset);

    const std::string& text() const { return m_text; }
    const std::vector<Span>& alignment() const { return m_align; }
    bool empty() const { return m_text.empty(); }
    size_t size() const { return m_text.size(); }

    // Original span of the normalized bytes [b, e). An empty range maps to an
    // empty span at the corresponding original position.
    Span originalSpan(size_t b, size_t e) const;
    // Original span of the whole string (empty at its anchor when empty).
    Span originalSpan() const { return originalSpan(0, m_text.size()); }
    // The bytes [b, e) with their alignment.
    NormalizedString slice(size_t b, size_t e) const;

    // Building: bytes appended with one span for all of them, or copied with
    // the alignment of bytes [b, e) of `from`.
    void append(std::string_view bytes, Span span);
    void appendFrom(const NormalizedString& from, size_t b, size_t e);
    void reserve(size_t n);
    // An empty string keeps a position: where, in the original, it sits.
    void setAnchor(size_t anchor) { m_anchor = anchor; }
    size_t anchor() const { return m_anchor; }
    // A new, empty string anchored where this one begins.
    NormalizedString emptyLike() const;

    // Inserts `bytes` at the front, aligned to an empty span where the
    // original text of this string begins.
    void prepend(std::string_view bytes);

    // Splits according to the HF `SplitDelimiterBehavior`. `ranges` covers the
    // whole string in order (see matchesToRanges); empty pieces are dropped.
    void split(std::vector<MatchRange> ranges, SplitBehavior behavior, bool invert,
               std::vector<NormalizedString>& out) const;

private:
    std::string m_text;
    std::vector<Span> m_align; // one per byte of m_text
    size_t m_anchor = 0;
};

// Turns sorted non-overlapping matches [b, e) into ranges covering [0, size)
// with the gaps as non-matches (the HF Pattern::find_matches format).
std::vector<MatchRange> matchesToRanges(const std::vector<std::pair<size_t, size_t>>& matches, size_t size);

// Every character satisfying `pred` is its own match (HF's `Fn(char) -> bool` pattern).
template <class Pred>
std::vector<MatchRange> charMatches(std::string_view s, Pred pred);

} // namespace tokenlens::tok

#include "util/utf8.h"

namespace tokenlens::tok {

template <class Pred>
std::vector<MatchRange> charMatches(std::string_view s, Pred pred) {
    std::vector<MatchRange> out;
    if (s.empty()) {
        out.push_back({0, 0, false});
        return out;
    }
    size_t last = 0;
    size_t pos = 0;
    while (pos < s.size()) {
        const size_t b = pos;
        const char32_t c = utf8::next(s, pos);
        if (pred(c)) {
            if (last < b) out.push_back({last, b, false});
            out.push_back({b, pos, true});
            last = pos;
        }
    }
    if (last < s.size()) out.push_back({last, s.size(), false});
    return out;
}

} // namespace tokenlens::tok
