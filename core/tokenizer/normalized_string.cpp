#include "tokenizer/normalized_string.h"

#include <algorithm>

namespace tokenlens::tok {

NormalizedString NormalizedString::fromOriginal(std::string_view text, size_t offset) {
    NormalizedString ns;
    ns.m_text.assign(text);
    ns.m_align.resize(text.size());
    for (size_t i = 0; i < text.size(); ++i) ns.m_align[i] = Span{offset + i, offset + i + 1};
    ns.m_anchor = offset;
    return ns;
}

Span NormalizedString::originalSpan(size_t b, size_t e) const {
    e = std::min(e, m_align.size());
    if (b >= e) {
        size_t at = m_anchor;
        if (b < m_align.size()) at = m_align[b].begin;
        else if (!m_align.empty()) at = m_align.back().end;
        return Span{at, at};
    }
    Span s = m_align[b];
    for (size_t i = b + 1; i < e; ++i) {
        s.begin = std::min(s.begin, m_align[i].begin);
        s.end = std::max(s.end, m_align[i].end);
    }
    return s;
}

NormalizedString NormalizedString::slice(size_t b, size_t e) const {
    NormalizedString ns;
    e = std::min(e, m_text.size());
    b = std::min(b, e);
    ns.m_text.assign(m_text, b, e - b);
    ns.m_align.assign(m_align.begin() + static_cast<std::ptrdiff_t>(b),
                      m_align.begin() + static_cast<std::ptrdiff_t>(e));
    ns.m_anchor = originalSpan(b, e).begin;
    return ns;
}

void NormalizedString::append(std::string_view bytes, Span span) {
    m_text.append(bytes);
    m_align.insert(m_align.end(), bytes.size(), span);
}

void NormalizedString::appendFrom(const NormalizedString& from, size_t b, size_t e) {
    m_text.append(from.m_text, b, e - b);
    m_align.insert(m_align.end(), from.m_align.begin() + static_cast<std::ptrdiff_t>(b),
                   from.m_align.begin() + static_cast<std::ptrdiff_t>(e));
}

void NormalizedString::reserve(size_t n) {
    m_text.reserve(n);
    m_align.reserve(n);
}

NormalizedString NormalizedString::emptyLike() const {
    NormalizedString ns;
    ns.m_anchor = originalSpan().begin;
    return ns;
}

void NormalizedString::prepend(std::string_view bytes) {
    const size_t at = originalSpan().begin;
    m_text.insert(0, bytes);
    m_align.insert(m_align.begin(), bytes.size(), Span{at, at});
}

std::vector<MatchRange> matchesToRanges(const std::vector<std::pair<size_t, size_t>>& matches, size_t size) {
    std::vector<MatchRange> out;
    if (size == 0) {
        out.push_back({0, 0, false});
        return out;
    }
    out.reserve(matches.size() * 2 + 1);
    size_t prev = 0;
    for (const auto& [b, e] : matches) {
        if (prev != b) out.push_back({prev, b, false});
        out.push_back({b, e, true});
        prev = e;
    }
    if (prev != size) out.push_back({prev, size, false});
    return out;
}

void NormalizedString::split(std::vector<MatchRange> ranges, SplitBehavior behavior, bool invert,
                             std::vector<NormalizedString>& out) const {
    if (invert) {
        for (auto& r : ranges) r.isMatch = !r.isMatch;
    }
    // After this step `isMatch` means "drop this piece".
    std::vector<MatchRange> pieces;
    pieces.reserve(ranges.size());
    switch (behavior) {
    case SplitBehavior::Removed:
        pieces = std::move(ranges);
        break;
    case SplitBehavior::Isolated:
        for (auto r : ranges) pieces.push_back({r.begin, r.end, false});
        break;
    case SplitBehavior::MergedWithPrevious: {
        bool previousMatch = false;
        for (const auto& r : ranges) {
            if (r.isMatch && !previousMatch && !pieces.empty()) pieces.back().end = r.end;
            else pieces.push_back({r.begin, r.end, false});
            previousMatch = r.isMatch;
        }
        break;
    }
    case SplitBehavior::MergedWithNext: {
        bool previousMatch = false;
        for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
            if (it->isMatch && !previousMatch && !pieces.empty()) pieces.back().begin = it->begin;
            else pieces.push_back({it->begin, it->end, false});
            previousMatch = it->isMatch;
        }
        std::reverse(pieces.begin(), pieces.end());
        break;
    }
    case SplitBehavior::Contiguous: {
        bool previousMatch = false;
        bool first = true;
        for (const auto& r : ranges) {
            if (!first && r.isMatch == previousMatch) pieces.back().end = r.end;
            else pieces.push_back({r.begin, r.end, false});
            previousMatch = r.isMatch;
            first = false;
        }
        break;
    }
    }
    for (const auto& p : pieces) {
        if (p.isMatch || p.begin >= p.end) continue;
        out.push_back(slice(p.begin, p.end));
    }
}

} // namespace tokenlens::tok
