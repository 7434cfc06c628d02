#include "tokenizer/decoders.h"

#include "util/utf8.h"

namespace tokenlens::tok {

namespace {

void replaceAllLiteral(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty()) return;
    std::string out;
    size_t prev = 0;
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, prev)) {
        out.append(s, prev, at - prev);
        out.append(to);
        prev = at + from.size();
    }
    if (prev == 0) return;
    out.append(s, prev, std::string::npos);
    s = std::move(out);
}

std::optional<unsigned char> byteToken(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return std::nullopt;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned char>(hi * 16 + lo);
}

} // namespace

std::string ReplaceDecoder::replace(const std::string& s) const {
    const auto matches = m_pattern->findAll(s);
    if (matches.empty()) return s;
    std::string out;
    size_t prev = 0;
    for (const auto& [b, e] : matches) {
        out.append(s, prev, b - prev);
        out += m_content;
        prev = e;
    }
    out.append(s, prev, std::string::npos);
    return out;
}

void ReplaceDecoder::decodeChain(std::vector<std::string>& tokens) const {
    for (auto& t : tokens) t = replace(t);
}

std::string ReplaceDecoder::displayPiece(std::string piece) const { return replace(piece); }

void ByteFallbackDecoder::decodeChain(std::vector<std::string>& tokens) const {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string bytes;
    size_t count = 0;
    auto flush = [&] {
        if (count == 0) return;
        if (utf8::isValid(bytes)) out.push_back(bytes);
        else out.insert(out.end(), count, "\xEF\xBF\xBD");
        bytes.clear();
        count = 0;
    };
    for (auto& t : tokens) {
        if (auto b = byteToken(t)) {
            bytes.push_back(static_cast<char>(*b));
            ++count;
        } else {
            flush();
            out.push_back(std::move(t));
        }
    }
    flush();
    tokens = std::move(out);
}

void FuseDecoder::decodeChain(std::vector<std::string>& tokens) const {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
}

void StripDecoder::decodeChain(std::vector<std::string>& tokens) const {
    const std::string c = utf8::encode(m_content);
    for (auto& t : tokens) {
        size_t b = 0, e = t.size();
        for (size_t k = 0; k < m_start && t.compare(b, c.size(), c) == 0 && b + c.size() <= e; ++k) b += c.size();
        for (size_t k = 0; k < m_stop && e >= b + c.size() && t.compare(e - c.size(), c.size(), c) == 0; ++k)
            e -= c.size();
        t = t.substr(b, e - b);
    }
}

void MetaspaceDecoder::decodeChain(std::vector<std::string>& tokens) const {
    for (size_t i = 0; i < tokens.size(); ++i) {
        const std::string& t = tokens[i];
        std::string out;
        size_t pos = 0;
        while (pos < t.size()) {
            const size_t at = pos;
            const char32_t c = utf8::next(t, pos);
            if (c != m_replacement) out.append(t, at, pos - at);
            else if (i != 0 || m_scheme == PrependScheme::Never) out += ' ';
            // in the first token the replacement stands for the prepended space: dropped
        }
        tokens[i] = std::move(out);
    }
}

std::string MetaspaceDecoder::displayPiece(std::string piece) const {
    replaceAllLiteral(piece, utf8::encode(m_replacement), " ");
    return piece;
}

void WordPieceDecoder::decodeChain(std::vector<std::string>& tokens) const {
    for (size_t i = 0; i < tokens.size(); ++i) {
        std::string& t = tokens[i];
        if (i != 0) {
            if (t.compare(0, m_prefix.size(), m_prefix) == 0) t.erase(0, m_prefix.size());
            else t = " " + t;
        }
        if (m_cleanup) t = cleanUpTokenizationSpaces(std::move(t));
    }
}

std::string WordPieceDecoder::displayPiece(std::string piece) const {
    if (piece.compare(0, m_prefix.size(), m_prefix) == 0) piece.erase(0, m_prefix.size());
    return piece;
}

void BpeSuffixDecoder::decodeChain(std::vector<std::string>& tokens) const {
    for (size_t i = 0; i < tokens.size(); ++i)
        replaceAllLiteral(tokens[i], m_suffix, i + 1 == tokens.size() ? "" : " ");
}

std::string BpeSuffixDecoder::displayPiece(std::string piece) const {
    replaceAllLiteral(piece, m_suffix, " ");
    return piece;
}

void SequenceDecoder::decodeChain(std::vector<std::string>& tokens) const {
    for (const auto& d : m_items) d->decodeChain(tokens);
}

std::string SequenceDecoder::displayPiece(std::string piece) const {
    for (const auto& d : m_items) piece = d->displayPiece(std::move(piece));
    return piece;
}

std::string cleanUpTokenizationSpaces(std::string text) {
    static const std::pair<const char*, const char*> kRules[] = {
        {" .", "."},    {" ?", "?"},   {" !", "!"},     {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    for (const auto& [from, to] : kRules) replaceAllLiteral(text, from, to);
    return text;
}

} // namespace tokenlens::tok
