#include "analysis/segment_text.h"
#include "analysis/segments.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace tokenlens::analysis {

const char* granularityName(Granularity g) {
    switch (g) {
    case Granularity::Token: return "token";
    case Granularity::Word: return "word";
    case Granularity::Sentence: return "sentence";
    case Granularity::Line: return "line";
    case Granularity::Paragraph: return "paragraph";
    case Granularity::Spans: return "spans";
    }
    return "token";
}

namespace {

Error bad(const std::string& message) { return makeError(ErrorCode::InvalidArgument, message); }

const char* kSpansExample = R"([{"start": 0, "end": 120, "label": "doc 1"}, ...])";

} // namespace

Result<GranularitySpec> granularityFromOptions(const nlohmann::json& options) {
    GranularitySpec spec;
    if (!options.is_object()) return spec;
    bool named = false;
    if (auto it = options.find("granularity"); it != options.end() && !it->is_null()) {
        static const std::map<std::string, Granularity> kinds = {
            {"token", Granularity::Token}, {"word", Granularity::Word},           {"sentence", Granularity::Sentence},
            {"line", Granularity::Line},   {"paragraph", Granularity::Paragraph}, {"spans", Granularity::Spans}};
        const auto found = it->is_string() ? kinds.find(it->get<std::string>()) : kinds.end();
        if (found == kinds.end()) {
            return bad("option 'granularity' is " + it->dump() +
                       "; it must be one of token, word, sentence, line, paragraph, spans");
        }
        spec.kind = found->second;
        named = true;
    }
    const auto seg = options.find("segments");
    const bool haveSpans = seg != options.end() && seg->is_array();
    if (!haveSpans) {
        if (spec.kind == Granularity::Spans) {
            return bad(std::string("option 'granularity' is 'spans' but option 'segments' gives no spans: give ") +
                       kSpansExample + " (character ranges of the prompt)");
        }
        return spec;
    }
    if (named && spec.kind != Granularity::Spans) {
        return bad(std::string("option 'segments' lists spans, but option 'granularity' is '") +
                   granularityName(spec.kind) + "': use granularity 'spans' (or leave it out)");
    }
    spec.kind = Granularity::Spans;
    if (seg->empty()) return bad(std::string("option 'segments' is empty; give ") + kSpansExample);
    for (size_t i = 0; i < seg->size(); ++i) {
        const auto& s = (*seg)[i];
        const std::string at = "option 'segments[" + std::to_string(i) + "]";
        if (!s.is_object()) return bad(at + "' must be an object {\"start\", \"end\", \"label\"}");
        for (const auto& [k, v] : s.items()) {
            if (k != "start" && k != "end" && k != "label") {
                return bad(at + "' has the unknown key '" + k + "' (start, end, label)");
            }
        }
        UserSpan u;
        for (const char* key : {"start", "end"}) {
            if (!s.contains(key)) return bad(at + "' has no '" + key + "'");
            const auto& v = s[key];
            if (!v.is_number_integer() && !(v.is_number_float() && v.get<double>() == std::floor(v.get<double>()))) {
                return bad(at + "." + key + "' must be a whole number of characters, not " + v.dump());
            }
            const double d = v.get<double>();
            if (d < 0 || d > 9007199254740992.0) return bad(at + "." + key + "' is " + v.dump() + "; it must be >= 0");
            (std::string(key) == "start" ? u.start : u.end) = static_cast<int64_t>(d);
        }
        if (u.end <= u.start) {
            return bad(at + "' is empty or reversed: end " + std::to_string(u.end) + " must be greater than start " +
                       std::to_string(u.start));
        }
        if (s.contains("label")) {
            if (!s["label"].is_string()) return bad(at + ".label' must be text");
            u.label = s["label"].get<std::string>();
        }
        spec.spans.push_back(std::move(u));
    }
    // Overlaps, in text order.
    std::vector<size_t> order(spec.spans.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return spec.spans[a].start < spec.spans[b].start; });
    for (size_t k = 1; k < order.size(); ++k) {
        const auto& prev = spec.spans[order[k - 1]];
        const auto& cur = spec.spans[order[k]];
        if (cur.start < prev.end) {
            return bad("option 'segments[" + std::to_string(order[k]) + "]' (" + std::to_string(cur.start) + ".." +
                       std::to_string(cur.end) + ") overlaps 'segments[" + std::to_string(order[k - 1]) + "]' (" +
                       std::to_string(prev.start) + ".." + std::to_string(prev.end) + ")");
        }
    }
    return spec;
}

nlohmann::json toJson(const GranularitySpec& spec) {
    nlohmann::json o = nlohmann::json::object();
    o["granularity"] = granularityName(spec.kind);
    if (spec.kind == Granularity::Spans) {
        auto a = nlohmann::json::array();
        for (const auto& s : spec.spans) a.push_back({{"start", s.start}, {"end", s.end}, {"label", s.label}});
        o["segments"] = std::move(a);
    }
    return o;
}

namespace {

bool isSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool isContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// A range [begin, end) of the text (bytes), with the user span it is (-1: none).
struct Range {
    size_t begin = 0, end = 0;
    int span = -1;
};

// Starts of the ranges (bytes), 0 first, ascending.
std::vector<size_t> cutsFor(const std::string& s, Granularity kind) {
    std::vector<size_t> cuts{0};
    const size_t n = s.size();
    auto add = [&](size_t at) {
        if (at > 0 && at < n && at > cuts.back()) cuts.push_back(at);
    };
    auto nextNonSpace = [&](size_t i) {
        while (i < n && isSpace(static_cast<unsigned char>(s[i]))) ++i;
        return i;
    };
    auto startsWith = [&](size_t i, const char* lit) { return s.compare(i, std::char_traits<char>::length(lit), lit) == 0; };
    switch (kind) {
    case Granularity::Word:
        for (size_t i = 1; i < n; ++i) {
            if (!isSpace(static_cast<unsigned char>(s[i])) && isSpace(static_cast<unsigned char>(s[i - 1]))) add(i);
        }
        break;
    case Granularity::Line:
        for (size_t i = 0; i < n; ++i) {
            if (s[i] == '\n') add(i + 1);
        }
        break;
    case Granularity::Paragraph:
        for (size_t i = 0; i < n;) {
            if (!isSpace(static_cast<unsigned char>(s[i]))) {
                ++i;
                continue;
            }
            size_t j = i, newlines = 0, lastNewline = 0;
            for (; j < n && isSpace(static_cast<unsigned char>(s[j])); ++j) {
                if (s[j] == '\n') {
                    ++newlines;
                    lastNewline = j;
                }
            }
            if (newlines >= 2) add(lastNewline + 1);
            i = j;
        }
        break;
    case Granularity::Sentence:
        for (size_t i = 0; i < n;) {
            const unsigned char c = static_cast<unsigned char>(s[i]);
            if (c == '\n') {
                add(nextNonSpace(i));
                ++i;
                continue;
            }
            // Full-width terminators end a sentence without a space after them.
            for (const char* wide : {"\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F"}) { // 。！？
                if (startsWith(i, wide)) {
                    size_t j = i + 3;
                    add(nextNonSpace(j));
                }
            }
            if (c == '.' || c == '!' || c == '?' || startsWith(i, "\xE2\x80\xA6")) { // …
                size_t j = i;
                // The terminators, then closing quotes and brackets.
                while (j < n) {
                    if (s[j] == '.' || s[j] == '!' || s[j] == '?') ++j;
                    else if (startsWith(j, "\xE2\x80\xA6")) j += 3;
                    else break;
                }
                while (j < n) {
                    if (s[j] == '"' || s[j] == '\'' || s[j] == ')' || s[j] == ']') ++j;
                    else if (startsWith(j, "\xE2\x80\x9D") || startsWith(j, "\xE2\x80\x99") || startsWith(j, "\xC2\xBB")) j += startsWith(j, "\xC2\xBB") ? 2 : 3; // ” ’ »
                    else break;
                }
                if (j >= n || isSpace(static_cast<unsigned char>(s[j]))) add(nextNonSpace(j));
                i = std::max(j, i + 1);
                continue;
            }
            ++i;
        }
        break;
    default:
        break;
    }
    return cuts;
}

} // namespace

Result<std::vector<PromptSegment>> segmentPrompt(const std::string& text,
                                                 const std::vector<std::pair<size_t, size_t>>& offsets,
                                                 const std::vector<bool>& special, const GranularitySpec& spec) {
    const size_t bytes = text.size();
    // charAt[b]: the characters before byte b.
    std::vector<int64_t> charAt(bytes + 1, 0);
    for (size_t b = 0; b < bytes; ++b) charAt[b + 1] = charAt[b] + (isContinuation(static_cast<unsigned char>(text[b])) ? 0 : 1);
    const int64_t chars = charAt[bytes];
    for (size_t i = 0; i < offsets.size(); ++i) {
        if (offsets[i].first > offsets[i].second || offsets[i].second > bytes) {
            return bad("token " + std::to_string(i) + " spans bytes " + std::to_string(offsets[i].first) + ".." +
                       std::to_string(offsets[i].second) + ", outside the prompt's " + std::to_string(bytes) + " bytes");
        }
    }
    // The ranges in text order.
    std::vector<Range> ranges;
    if (spec.kind == Granularity::Spans) {
        // Byte of each character start (and the end).
        std::vector<size_t> byteOf;
        byteOf.reserve(static_cast<size_t>(chars) + 1);
        for (size_t b = 0; b < bytes; ++b) {
            if (!isContinuation(static_cast<unsigned char>(text[b]))) byteOf.push_back(b);
        }
        byteOf.push_back(bytes);
        std::vector<int> order(spec.spans.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
        std::sort(order.begin(), order.end(), [&](int a, int b) { return spec.spans[a].start < spec.spans[b].start; });
        size_t at = 0;
        for (int k : order) {
            const auto& u = spec.spans[static_cast<size_t>(k)];
            if (u.end > chars) {
                return bad("option 'segments[" + std::to_string(k) + "]' (" + std::to_string(u.start) + ".." +
                           std::to_string(u.end) + ") ends past the prompt, which has " + std::to_string(chars) +
                           " characters");
            }
            const size_t a = byteOf[static_cast<size_t>(u.start)], b = byteOf[static_cast<size_t>(u.end)];
            if (a < at) {
                return bad("option 'segments[" + std::to_string(k) + "]' overlaps another span");
            }
            if (a > at) ranges.push_back({at, a, -1});
            ranges.push_back({a, b, k});
            at = b;
        }
        if (at < bytes || ranges.empty()) ranges.push_back({at, bytes, -1});
    } else {
        const auto cuts = cutsFor(text, spec.kind == Granularity::Token ? Granularity::Token : spec.kind);
        for (size_t k = 0; k < cuts.size(); ++k) ranges.push_back({cuts[k], k + 1 < cuts.size() ? cuts[k + 1] : bytes, -1});
    }
    // The ranges partition [0, bytes) in order: the last one starting at or before the anchor.
    auto rangeOf = [&](size_t anchor) {
        const auto it = std::upper_bound(ranges.begin(), ranges.end(), anchor,
                                         [](size_t a, const Range& r) { return a < r.begin; });
        return it == ranges.begin() ? size_t{0} : static_cast<size_t>(it - ranges.begin() - 1);
    };
    std::vector<PromptSegment> out;
    std::vector<bool> spanUsed(spec.spans.size(), false);
    int64_t lastRange = -2;
    const auto n = static_cast<int64_t>(offsets.size());
    for (int64_t i = 0; i < n; ++i) {
        const auto [b, e] = offsets[static_cast<size_t>(i)];
        const bool standalone = spec.kind == Granularity::Token ||
                                (b == e && static_cast<size_t>(i) < special.size() && special[static_cast<size_t>(i)]);
        int64_t range = -1;
        if (!standalone) {
            size_t anchor = b;
            while (anchor < e && isSpace(static_cast<unsigned char>(text[anchor]))) ++anchor;
            if (anchor == e) anchor = b;
            range = static_cast<int64_t>(rangeOf(anchor));
        }
        if (standalone || range != lastRange) {
            PromptSegment s;
            s.tokenStart = i;
            if (standalone) {
                s.charStart = charAt[b];
                s.charEnd = charAt[e];
            } else {
                // The characters of its tokens; a user span's own range.
                const Range& r = ranges[static_cast<size_t>(range)];
                s.charStart = charAt[b];
                s.charEnd = charAt[e];
                if (r.span >= 0) {
                    const auto& u = spec.spans[static_cast<size_t>(r.span)];
                    s.label = u.label;
                    s.charStart = u.start;
                    s.charEnd = u.end;
                    spanUsed[static_cast<size_t>(r.span)] = true;
                }
            }
            out.push_back(std::move(s));
        } else if (ranges[static_cast<size_t>(range)].span < 0) {
            out.back().charEnd = std::max(out.back().charEnd, charAt[e]);
        }
        out.back().tokenEnd = i + 1;
        lastRange = standalone ? -2 : range;
    }
    for (size_t k = 0; k < spanUsed.size(); ++k) {
        if (!spanUsed[k]) {
            const auto& u = spec.spans[k];
            return bad("option 'segments[" + std::to_string(k) + "]' (" + std::to_string(u.start) + ".." +
                       std::to_string(u.end) + (u.label.empty() ? "" : ", '" + u.label + "'") +
                       ") holds no token's start: widen it to cover at least one whole token");
        }
    }
    return out;
}

std::pair<std::string, std::vector<std::pair<size_t, size_t>>> joinTokens(const std::vector<std::string>& tokens) {
    std::pair<std::string, std::vector<std::pair<size_t, size_t>>> out;
    for (const auto& t : tokens) {
        const size_t b = out.first.size();
        out.first += t;
        out.second.emplace_back(b, out.first.size());
    }
    return out;
}

Status checkSegments(const std::vector<PromptSegment>& segments, int64_t n) {
    int64_t at = 0;
    for (size_t k = 0; k < segments.size(); ++k) {
        const auto& s = segments[k];
        if (s.tokenStart != at || s.tokenEnd <= s.tokenStart) {
            return bad("segment " + std::to_string(k) + " covers tokens " + std::to_string(s.tokenStart) + ".." +
                       std::to_string(s.tokenEnd) + "; segments must cover the prompt's tokens in order from " +
                       std::to_string(at));
        }
        at = s.tokenEnd;
    }
    if (at != n) {
        return bad("the segments cover " + std::to_string(at) + " prompt tokens, not the prompt's " + std::to_string(n));
    }
    return {};
}

std::vector<std::pair<int64_t, int64_t>> tokenRanges(const std::vector<PromptSegment>& segments) {
    std::vector<std::pair<int64_t, int64_t>> out;
    out.reserve(segments.size());
    for (const auto& s : segments) out.emplace_back(s.tokenStart, s.tokenEnd);
    return out;
}

AttributionMatrix sumIntoSegments(const AttributionMatrix& m, const std::vector<PromptSegment>& segments) {
    const int64_t t = m.cols, n = m.rows - m.cols, k = static_cast<int64_t>(segments.size());
    AttributionMatrix out = AttributionMatrix::filled(k + t, t);
    for (int64_t s = 0; s < k; ++s) {
        const auto& seg = segments[static_cast<size_t>(s)];
        for (int64_t j = 0; j < t; ++j) {
            double sum = 0;
            bool any = false;
            for (int64_t r = std::max<int64_t>(seg.tokenStart, 0); r < std::min(seg.tokenEnd, n); ++r) {
                const float v = m.at(r, j);
                if (std::isnan(v)) continue;
                sum += v;
                any = true;
            }
            if (any) out.at(s, j) = static_cast<float>(sum);
        }
    }
    for (int64_t r = 0; r < t; ++r) {
        for (int64_t j = 0; j < t; ++j) out.at(k + r, j) = m.at(n + r, j);
    }
    return out;
}

std::string segmentText(const std::string& text, const PromptSegment& segment) {
    if (segment.charEnd <= segment.charStart || segment.charStart < 0) return {};
    // Byte range of the characters: count lead bytes (a continuation byte never starts one).
    int64_t ch = 0;
    size_t begin = std::string::npos, end = std::string::npos;
    for (size_t b = 0; b <= text.size(); ++b) {
        if (b < text.size() && isContinuation(static_cast<unsigned char>(text[b]))) continue;
        if (ch == segment.charStart) begin = b;
        if (ch == segment.charEnd) {
            end = b;
            break;
        }
        ++ch;
    }
    if (begin == std::string::npos || end == std::string::npos) return {};
    std::string out;
    bool space = false;
    for (size_t b = begin; b < end; ++b) {
        const char c = text[b];
        if (isSpace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

} // namespace tokenlens::analysis
