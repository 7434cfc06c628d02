#include "viewmodel/conversation.h"

#include "analysis/alignment.h"
#include "jobs/backend/job_backend.h"

#include <algorithm>
#include <map>
#include <set>

namespace tokenlens::gui {

std::vector<std::string> conversationChain(const JobBackend& backend, const std::string& id) {
    const auto self = backend.job(id);
    if (!self) return {};
    std::set<std::string> seen{id};
    std::vector<std::string> ancestors;
    std::optional<std::string> parent = self->spec.parentJob;
    while (parent && !parent->empty() && !seen.count(*parent) &&
           static_cast<int>(ancestors.size()) < kMaxConversationTurns) {
        const auto rec = backend.job(*parent);
        if (!rec) break; // a deleted parent: the chain starts after it
        seen.insert(*parent);
        ancestors.push_back(*parent);
        parent = rec->spec.parentJob;
    }
    std::vector<std::string> chain(ancestors.rbegin(), ancestors.rend());
    chain.push_back(id);

    std::string current = id;
    while (static_cast<int>(chain.size()) < kMaxConversationTurns) {
        std::string latest;
        int64_t latestSeq = -1;
        for (const std::string& c : backend.followUps(current)) {
            if (seen.count(c)) continue;
            const auto rec = backend.job(c);
            if (!rec || !rec->spec.parentJob || *rec->spec.parentJob != current) continue;
            if (rec->seq >= latestSeq) {
                latestSeq = rec->seq;
                latest = c;
            }
        }
        if (latest.empty()) break;
        seen.insert(latest);
        chain.push_back(latest);
        current = latest;
    }
    return chain;
}

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// analysis::locateTokens, and where a token does not match at the cursor,
// two more tries for word-level tokenizers whose display tokens leave out the
// spaces between words ("anna", "has"): after the spaces at the cursor; and a
// token still unmatched ("[UNK]") whose next token does not match there
// either covers the word at the cursor (BOS, followed by a matching token,
// keeps its empty span).
std::vector<analysis::Span> locate(const std::string& text, const std::vector<std::string>& tokens) {
    const std::vector<analysis::Span> found = analysis::locateTokens(text, tokens);
    std::vector<analysis::Span> spans = found;
    bool exact = true;
    for (size_t k = 0; k < tokens.size() && exact; ++k)
        if (spans[k].empty() && !tokens[k].empty()) exact = false;
    if (exact) return spans;
    auto matchAt = [&](size_t at, const std::string& token) -> size_t {
        const std::string_view rest = std::string_view(text).substr(std::min(at, text.size()));
        std::string_view piece(token);
        if (!piece.empty() && !rest.starts_with(piece) && piece.front() == ' ') piece.remove_prefix(1);
        return !piece.empty() && rest.starts_with(piece) ? piece.size() : 0;
    };
    auto skipSpaces = [&](size_t at) {
        while (at < text.size() && isSpace(text[at])) ++at;
        return at;
    };
    size_t cursor = 0;
    for (size_t k = 0; k < tokens.size(); ++k) {
        size_t begin = cursor, length = matchAt(cursor, tokens[k]);
        if (length == 0 && !found[k].empty() && found[k].begin == static_cast<int64_t>(cursor))
            length = static_cast<size_t>(found[k].end - found[k].begin); // a byte-fallback piece
        if (length == 0) {
            begin = skipSpaces(cursor);
            length = matchAt(begin, tokens[k]);
        }
        if (length == 0) {
            const bool nextMatches = k + 1 < tokens.size() && matchAt(begin, tokens[k + 1]) > 0;
            if (!nextMatches && begin < text.size()) {
                size_t end = begin;
                while (end < text.size() && !isSpace(text[end])) ++end;
                length = end - begin;
            }
        }
        spans[k] = {static_cast<int64_t>(begin), static_cast<int64_t>(begin + length)};
        cursor = begin + length;
    }
    return spans;
}

} // namespace

TokenTurns tokenTurns(const std::string& prompt, const std::vector<std::string>& tokens,
                      const std::vector<jobs::Turn>& segments) {
    TokenTurns out;
    out.turn.assign(tokens.size(), 0);
    out.reply.assign(tokens.size(), false);
    if (segments.empty()) {
        out.turns = tokens.empty() ? 0 : 1;
        return out;
    }
    // Turn index of each segment: its job's position among the segments' jobs.
    std::vector<int> segTurn(segments.size(), 0);
    std::vector<std::string> jobsSeen;
    for (size_t s = 0; s < segments.size(); ++s) {
        auto it = std::find(jobsSeen.begin(), jobsSeen.end(), segments[s].job);
        if (it == jobsSeen.end()) {
            jobsSeen.push_back(segments[s].job);
            it = jobsSeen.end() - 1;
        }
        segTurn[s] = static_cast<int>(it - jobsSeen.begin());
    }
    out.turns = static_cast<int>(jobsSeen.size());
    const auto spans = locate(prompt, tokens);
    for (size_t k = 0; k < tokens.size(); ++k) {
        const int64_t at = spans[k].begin;
        size_t seg = segments.size() - 1; // past every segment: the last one
        for (size_t s = 0; s < segments.size(); ++s) {
            if (at < segments[s].end) {
                seg = s;
                break;
            }
        }
        out.turn[k] = segTurn[seg];
        out.reply[k] = segments[seg].role == "output";
    }
    return out;
}

TokenTurns tokenTurnsFromMessages(const std::vector<TokenSegment>& segments, const std::vector<int>& messageCounts,
                                  size_t promptTokens) {
    TokenTurns out;
    out.turn.assign(promptTokens, 0);
    out.reply.assign(promptTokens, false);
    const int jobs = static_cast<int>(messageCounts.size());
    bool growing = jobs > 0;
    for (int t = 1; t < jobs; ++t) growing = growing && messageCounts[t] > messageCounts[t - 1];
    if (!growing) {
        out.turns = promptTokens == 0 ? 0 : 1;
        return out;
    }
    out.turns = jobs;
    std::fill(out.turn.begin(), out.turn.end(), jobs - 1);
    auto turnOf = [&](int message, bool* reply) {
        *reply = false;
        for (int t = 0; t < jobs; ++t) {
            if (message < messageCounts[static_cast<size_t>(t)]) {
                if (t > 0 && message == messageCounts[static_cast<size_t>(t - 1)]) {
                    *reply = true;
                    return t - 1;
                }
                return t;
            }
        }
        *reply = message == messageCounts.back(); // the last job's reply (not in its own prompt)
        return jobs - 1;
    };
    const size_t n = std::min(promptTokens, segments.size());
    int next = jobs - 1; // the turn of the next message token, walking backwards
    for (size_t k = n; k-- > 0;) {
        const TokenSegment& seg = segments[k];
        if (seg.message >= 0) {
            bool reply = false;
            next = turnOf(seg.message, &reply);
            out.reply[k] = reply;
        }
        out.turn[k] = next;
    }
    return out;
}

TurnShares turnShares(const AttributionMatrix& a, int64_t n, const TokenTurns& turns, int64_t column) {
    TurnShares s;
    const auto k = static_cast<size_t>(std::max(turns.turns, 0));
    s.input.assign(k, 0.0);
    s.reply.assign(k, 0.0);
    s.share.assign(k, NAN);
    if (a.data.size() != static_cast<size_t>(a.rows * a.cols)) return s;
    const int64_t rows = std::min({n, a.rows, static_cast<int64_t>(turns.turn.size())});
    const int64_t c0 = column < 0 ? 0 : column, c1 = column < 0 ? a.cols : std::min(column + 1, a.cols);
    for (int64_t r = 0; r < rows; ++r) {
        const int t = turns.turn[static_cast<size_t>(r)];
        if (t < 0 || static_cast<size_t>(t) >= k) continue;
        double m = 0.0;
        for (int64_t j = c0; j < c1; ++j) {
            const double v = a.at(r, j);
            if (std::isfinite(v)) m += std::fabs(v);
        }
        (turns.reply[static_cast<size_t>(r)] ? s.reply : s.input)[static_cast<size_t>(t)] += m;
        s.total += m;
    }
    if (s.total > 0)
        for (size_t t = 0; t < k; ++t) s.share[t] = (s.input[t] + s.reply[t]) / s.total;
    return s;
}

Rgb turnColour(int turn) {
    // ColorBrewer "Dark2": distinct, legible on light and dark backgrounds.
    static const Rgb colours[] = {{0x1B, 0x9E, 0x77}, {0xD9, 0x5F, 0x02}, {0x75, 0x70, 0xB3}, {0xE7, 0x29, 0x8A},
                                  {0x66, 0xA6, 0x1E}, {0xE6, 0xAB, 0x02}, {0xA6, 0x76, 0x1D}, {0x66, 0x66, 0x66}};
    return colours[static_cast<size_t>(((turn % 8) + 8) % 8)];
}

} // namespace tokenlens::gui
