#include "viewmodel/role_bands.h"

#include <algorithm>
#include <cctype>

namespace tokenlens::gui {

namespace {

bool isTemplate(const TokenSegment& s) { return s.role == "template"; }

std::string lowered(const std::string& s) {
    std::string out = s;
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string trimmed(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e + 1 - b);
}

// "<|im_start|>", "[INST]", "<start_of_turn>": a special token's look.
bool looksSpecial(const std::string& token) {
    const std::string t = trimmed(token);
    return t.size() >= 3 && ((t.front() == '<' && t.back() == '>') || (t.front() == '[' && t.back() == ']'));
}

// Whether `token` names `role` ("user", "<|user|>", "model" for an assistant).
bool namesRole(const std::string& token, const std::string& role) {
    const std::string t = lowered(trimmed(token));
    if (t.empty()) return false;
    auto has = [&](const std::string& word) { return !word.empty() && t.find(word) != std::string::npos; };
    return has(lowered(role)) || (role == "assistant" && t == "model");
}

bool endsLine(const std::string& token) { return !token.empty() && token.back() == '\n'; }

// Where the header of the next message starts inside the template run
// [a, b): the last token naming its role (with the special token before a
// bare role word), else after the run's first line end, else the run's start.
int64_t headerStart(const std::vector<std::string>& tokens, int64_t a, int64_t b, const std::string& role) {
    for (int64_t i = b - 1; i >= a; --i) {
        if (!namesRole(tokens[static_cast<size_t>(i)], role)) continue;
        if (i > a && !looksSpecial(tokens[static_cast<size_t>(i)]) && looksSpecial(tokens[static_cast<size_t>(i - 1)])) {
            return i - 1;
        }
        return i;
    }
    for (int64_t i = a; i < b; ++i) {
        if (endsLine(tokens[static_cast<size_t>(i)])) return i + 1 < b ? i + 1 : a;
    }
    return a;
}

// Bands over the block [begin, end); `replyMessage` is the index of the
// message after the block's last one (the reply's header in the prompt).
void bandBlock(const std::vector<TokenSegment>& seg, const std::vector<std::string>& tokens, int64_t begin,
               int64_t end, int replyMessage, std::vector<RoleBand>& out) {
    const size_t firstBand = out.size();
    int64_t k = begin;
    int64_t pendingTemplate = -1; // start of a template run not yet given to a band
    while (k < end) {
        const TokenSegment& s = seg[static_cast<size_t>(k)];
        if (isTemplate(s)) {
            if (pendingTemplate < 0) pendingTemplate = k;
            ++k;
            continue;
        }
        int64_t start = k;
        if (pendingTemplate >= 0) {
            const bool sameMessage = out.size() > firstBand && out.back().message == s.message;
            if (sameMessage) {
                start = pendingTemplate; // a template token inside one message's content
            } else if (out.size() == firstBand) {
                start = pendingTemplate; // BOS and the first header open the first band
            } else {
                start = headerStart(tokens, pendingTemplate, k, s.role);
                out.back().end = start;
            }
            pendingTemplate = -1;
        }
        if (out.size() > firstBand && out.back().message == s.message) {
            out.back().end = k + 1;
        } else {
            out.push_back({start, k + 1, s.role, s.message});
        }
        ++k;
    }
    if (pendingTemplate < 0) return;
    if (out.size() == firstBand) { // no message at all in the block
        out.push_back({pendingTemplate, end, "template", -1});
        return;
    }
    // After the last message: its closing tokens, then the reply's header.
    const int64_t header = headerStart(tokens, pendingTemplate, end, "assistant");
    out.back().end = header;
    if (header < end) out.push_back({header, end, "assistant", replyMessage});
}

} // namespace

std::vector<RoleBand> roleBands(const std::vector<TokenSegment>& segments, const std::vector<std::string>& tokens,
                                int64_t n) {
    std::vector<RoleBand> out;
    const auto K = static_cast<int64_t>(segments.size());
    if (segments.empty() || segments.size() != tokens.size() || n < 0 || n > K) return out;
    int last = -1; // the prompt's last message; the reply is the next
    for (int64_t k = 0; k < n; ++k) {
        if (!isTemplate(segments[static_cast<size_t>(k)])) last = std::max(last, segments[static_cast<size_t>(k)].message);
    }
    bandBlock(segments, tokens, 0, n, last + 1, out);
    const size_t outputFirst = out.size();
    bandBlock(segments, tokens, n, K, last + 1, out);
    // A reply whose tokens all came from the template (an end-of-turn token
    // alone) is still the assistant's.
    for (size_t i = outputFirst; i < out.size(); ++i) {
        if (out[i].role == "template") out[i] = {out[i].first, out[i].end, "assistant", last + 1};
    }
    // Bands left empty by a header that took a whole run go.
    out.erase(std::remove_if(out.begin(), out.end(), [](const RoleBand& b) { return b.end <= b.first; }), out.end());
    return out;
}

QColor roleColour(const std::string& role) {
    if (role == "system") return QColor(0x88, 0x88, 0x88);
    if (role == "user") return QColor(0x00, 0x9E, 0x73);
    if (role == "assistant") return QColor(0xE6, 0x9F, 0x00);
    return QColor(0xCC, 0x79, 0xA7);
}

} // namespace tokenlens::gui
