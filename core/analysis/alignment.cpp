#include "analysis/alignment.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <string>

namespace tokenlens::analysis {

namespace {
int hexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
// The bytes a display token stands for: "<0x0A>" (byte fallback) is one byte;
// "\xNN" escapes (parts of a character) are their bytes. Empty when the token
// has neither form.
std::string escapedBytes(std::string_view token) {
    if (token.size() == 6 && token.starts_with("<0x") && token.back() == '>') {
        const int hi = hexDigit(token[3]), lo = hexDigit(token[4]);
        if (hi >= 0 && lo >= 0) return std::string(1, static_cast<char>(hi * 16 + lo));
        return {};
    }
    std::string out;
    bool any = false;
    for (size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '\\' && i + 3 < token.size() && token[i + 1] == 'x' && hexDigit(token[i + 2]) >= 0 &&
            hexDigit(token[i + 3]) >= 0) {
            out.push_back(static_cast<char>(hexDigit(token[i + 2]) * 16 + hexDigit(token[i + 3])));
            i += 3;
            any = true;
        } else {
            out.push_back(token[i]);
        }
    }
    return any ? out : std::string{};
}
} // namespace

std::vector<Span> locateTokens(std::string_view text, const std::vector<std::string>& tokens) {
    std::vector<Span> spans;
    spans.reserve(tokens.size());
    size_t cursor = 0;
    for (const std::string& token : tokens) {
        const std::string_view rest = text.substr(cursor);
        const std::string bytes = escapedBytes(token);
        size_t length = 0;
        for (std::string_view piece : {std::string_view(token), std::string_view(bytes)}) {
            if (!piece.empty() && !rest.starts_with(piece) && piece.front() == ' ') piece.remove_prefix(1);
            if (!piece.empty() && rest.starts_with(piece)) {
                length = piece.size();
                break;
            }
        }
        size_t skipped = 0;
        if (length == 0 && !token.empty() && !std::isspace(static_cast<unsigned char>(token.front()))) {
            // Word-level tokenizers keep no trace of the whitespace between
            // words: match the token after the whitespace at the cursor.
            while (skipped < rest.size() && std::isspace(static_cast<unsigned char>(rest[skipped]))) ++skipped;
            const std::string_view after = rest.substr(skipped);
            if (skipped == 0 || !after.starts_with(token)) {
                skipped = 0;
            } else {
                length = token.size();
            }
        }
        spans.push_back({static_cast<int64_t>(cursor + skipped), static_cast<int64_t>(cursor + skipped + length)});
        cursor += skipped + length;
    }
    return spans;
}

int64_t firstDivergence(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    const size_t m = std::min(a.size(), b.size());
    size_t p = 0;
    while (p < m && a[p] == b[p]) ++p;
    return static_cast<int64_t>(p);
}

std::vector<ColumnPair> alignOutputs(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    const int64_t p = firstDivergence(a, b);
    std::vector<ColumnPair> out;
    out.reserve(a.size() + b.size());
    for (int64_t k = 0; k < p; ++k) out.push_back({k, k});
    // LCS of the suffixes a[p..], b[p..]: L[i][j] = LCS length of a[p+i..], b[p+j..].
    const size_t na = a.size() - static_cast<size_t>(p), nb = b.size() - static_cast<size_t>(p);
    std::vector<int32_t> L((na + 1) * (nb + 1), 0);
    auto at = [&](size_t i, size_t j) -> int32_t& { return L[i * (nb + 1) + j]; };
    for (size_t i = na; i-- > 0;)
        for (size_t j = nb; j-- > 0;)
            at(i, j) = a[static_cast<size_t>(p) + i] == b[static_cast<size_t>(p) + j]
                           ? at(i + 1, j + 1) + 1
                           : std::max(at(i + 1, j), at(i, j + 1));
    size_t i = 0, j = 0;
    std::vector<int64_t> pendingB;
    while (i < na || j < nb) {
        if (i < na && j < nb && a[static_cast<size_t>(p) + i] == b[static_cast<size_t>(p) + j] &&
            at(i, j) == at(i + 1, j + 1) + 1) {
            for (int64_t q : pendingB) out.push_back({-1, q});
            pendingB.clear();
            out.push_back({p + static_cast<int64_t>(i), p + static_cast<int64_t>(j)});
            ++i, ++j;
        } else if (i < na && (j == nb || at(i + 1, j) >= at(i, j + 1))) {
            // Skipping a[i] keeps the LCS length: a's unmatched token first.
            out.push_back({p + static_cast<int64_t>(i), -1});
            ++i;
        } else {
            pendingB.push_back(p + static_cast<int64_t>(j));
            ++j;
        }
    }
    for (int64_t q : pendingB) out.push_back({-1, q});
    return out;
}

namespace {
bool overlaps(const Span& x, const Span& y) {
    return !x.empty() && !y.empty() && x.begin < y.end && y.begin < x.end;
}
} // namespace

RowAlignment alignPromptRows(const std::vector<Span>& spansA, const std::vector<Span>& spansB) {
    RowAlignment r;
    const size_t na = spansA.size(), nb = spansB.size();
    r.overlapOfB.resize(nb);
    // Union–find over A rows (0..na−1) and B rows (na..na+nb−1).
    std::vector<size_t> parent(na + nb);
    std::iota(parent.begin(), parent.end(), size_t{0});
    auto find = [&](size_t x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
    };
    for (size_t jb = 0; jb < nb; ++jb)
        for (size_t ia = 0; ia < na; ++ia)
            if (overlaps(spansA[ia], spansB[jb])) {
                r.overlapOfB[jb].push_back(static_cast<int64_t>(ia));
                parent[find(ia)] = find(na + jb);
            }
    std::vector<int64_t> segmentOf(na + nb, -1);
    auto addRow = [&](size_t node, bool isA, int64_t row, const Span& s) {
        const size_t root = find(node);
        if (segmentOf[root] < 0) {
            segmentOf[root] = static_cast<int64_t>(r.segments.size());
            r.segments.push_back({{}, {}, s});
        }
        Segment& seg = r.segments[static_cast<size_t>(segmentOf[root])];
        (isA ? seg.rowsA : seg.rowsB).push_back(row);
        seg.span.begin = std::min(seg.span.begin, s.begin);
        seg.span.end = std::max(seg.span.end, s.end);
    };
    std::vector<bool> matchedA(na, false), matchedB(nb, false);
    for (size_t jb = 0; jb < nb; ++jb)
        if (!r.overlapOfB[jb].empty()) {
            matchedB[jb] = true;
            for (int64_t ia : r.overlapOfB[jb]) matchedA[static_cast<size_t>(ia)] = true;
        }
    for (size_t ia = 0; ia < na; ++ia)
        if (matchedA[ia]) addRow(ia, true, static_cast<int64_t>(ia), spansA[ia]);
        else r.unmatchedA.push_back(static_cast<int64_t>(ia));
    for (size_t jb = 0; jb < nb; ++jb)
        if (matchedB[jb]) addRow(na + jb, false, static_cast<int64_t>(jb), spansB[jb]);
        else r.unmatchedB.push_back(static_cast<int64_t>(jb));
    std::stable_sort(r.segments.begin(), r.segments.end(),
                     [](const Segment& x, const Segment& y) { return x.span.begin < y.span.begin; });
    return r;
}

namespace {
// rows: per segment, the rows summed; columns: one matrix column per output.
Result<AttributionMatrix> segmentSums(const AttributionMatrix& m, const std::vector<Segment>& segments, bool useA,
                                      const std::vector<int64_t>& columns, const char* which) {
    AttributionMatrix s = AttributionMatrix::filled(static_cast<int64_t>(segments.size()),
                                                    static_cast<int64_t>(columns.size()));
    for (size_t g = 0; g < segments.size(); ++g) {
        const auto& rows = useA ? segments[g].rowsA : segments[g].rowsB;
        for (size_t c = 0; c < columns.size(); ++c) {
            const int64_t col = columns[c];
            if (col < 0 || col >= m.cols)
                return makeError(ErrorCode::Mismatch, std::string("alignedDifference: column ") +
                                                          std::to_string(col) + " outside matrix " + which);
            double sum = 0.0;
            bool any = false;
            for (int64_t r : rows) {
                if (r < 0 || r >= m.rows)
                    return makeError(ErrorCode::Mismatch, std::string("alignedDifference: row ") +
                                                              std::to_string(r) + " outside matrix " + which);
                const float v = m.at(r, col);
                if (std::isfinite(v)) sum += v, any = true;
            }
            if (any) s.at(static_cast<int64_t>(g), static_cast<int64_t>(c)) = static_cast<float>(sum);
        }
    }
    return s;
}
} // namespace

Result<AlignedDifference> alignedDifference(const AttributionMatrix& a, const AttributionMatrix& b,
                                            const RowAlignment& rows, const std::vector<ColumnPair>& columns,
                                            NormScope scope) {
    for (const auto* m : {&a, &b})
        if (m->rows < 0 || m->cols < 0 || m->data.size() != static_cast<size_t>(m->rows * m->cols))
            return makeError(ErrorCode::InvalidArgument, "alignedDifference: malformed matrix (data size is not rows x cols)");
    AlignedDifference out;
    std::vector<int64_t> colsA, colsB;
    for (const ColumnPair& p : columns)
        if (p.matched()) {
            out.columns.push_back(p);
            colsA.push_back(p.a);
            colsB.push_back(p.b);
        }
    auto sa = segmentSums(a, rows.segments, true, colsA, "A");
    if (!sa) return sa.error();
    auto sb = segmentSums(b, rows.segments, false, colsB, "B");
    if (!sb) return sb.error();
    out.a = normalize(*sa, scope);
    out.b = normalize(*sb, scope);
    out.difference = AttributionMatrix::filled(out.a.rows, out.a.cols);
    for (size_t k = 0; k < out.difference.data.size(); ++k) out.difference.data[k] = out.a.data[k] - out.b.data[k];
    return out;
}

} // namespace tokenlens::analysis
