#include "tokenizer/byte_level.h"

#include "util/utf8.h"

#include <algorithm>

namespace tokenlens::tok {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// bytes_to_unicode() of GPT-2: printable Latin-1 bytes stand for themselves,
// the others are shifted to U+0100 and above in byte order.
struct Tables {
    std::array<char32_t, 256> toChar{};
    std::array<std::string, 256> toCharUtf8;
    std::array<int16_t, 512> toByte{};

    Tables() {
        toByte.fill(-1);
        auto printable = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; };
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            const char32_t c = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
            toChar[static_cast<size_t>(b)] = c;
            toCharUtf8[static_cast<size_t>(b)] = utf8::encode(c);
            toByte[c] = static_cast<int16_t>(b);
        }
    }
};

const Tables& tables() {
    static const Tables t;
    return t;
}

} // namespace

const std::array<std::string, 256>& byteToChar() { return tables().toCharUtf8; }

std::optional<unsigned char> charToByte(char32_t c) {
    if (c >= 512) return std::nullopt;
    const int16_t b = tables().toByte[c];
    if (b < 0) return std::nullopt;
    return static_cast<unsigned char>(b);
}

std::optional<std::string> byteLevelToBytes(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) {
        auto b = charToByte(utf8::next(s, pos));
        if (!b) return std::nullopt;
        out.push_back(static_cast<char>(*b));
    }
    return out;
}

NormalizedString toByteLevel(const NormalizedString& s) {
    const auto& table = byteToChar();
    NormalizedString out = s.emptyLike();
    out.reserve(s.size() * 2);
    const std::string& t = s.text();
    for (size_t i = 0; i < t.size(); ++i) out.append(table[static_cast<unsigned char>(t[i])], s.alignment()[i]);
    return out;
}

ByteLevelPreTokenizer::ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex)
    : m_addPrefixSpace(addPrefixSpace) {
    if (useRegex) {
        std::string error;
        m_regex = Regex::compile(kGpt2Pattern, error);
    }
}

void ByteLevelPreTokenizer::splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const {
    if (m_addPrefixSpace && (piece.empty() || piece.text()[0] != ' ')) piece.prepend(" ");
    if (!m_regex) {
        out.push_back(std::move(piece));
        return;
    }
    piece.split(matchesToRanges(m_regex->findAll(piece.text()), piece.size()), SplitBehavior::Isolated, false,
                out);
}

void ByteLevelPreTokenizer::preTokenize(std::vector<NormalizedString>& pieces) const {
    PreTokenizer::preTokenize(pieces);
    for (auto& p : pieces) p = toByteLevel(p);
}

void ByteLevelDecoder::decodeChain(std::vector<std::string>& tokens) const {
    std::string bytes;
    for (const auto& t : tokens) {
        if (auto b = byteLevelToBytes(t)) bytes += *b;
        else bytes += t; // not byte-level text (an added token): its own bytes
    }
    tokens.assign(1, utf8::lossy(bytes));
}

std::string ByteLevelDecoder::displayPiece(std::string piece) const {
    if (auto b = byteLevelToBytes(piece)) return utf8::escapeInvalid(*b);
    return piece;
}

void ByteLevelPostProcessor::process(Encoding& enc, bool) const {
    if (!m_trimOffsets) return;
    static const std::string space = byteToChar()[' '];
    for (size_t i = 0; i < enc.tokens.size(); ++i) {
        if (enc.special[i]) continue;
        std::string_view t = enc.tokens[i];
        const size_t w = space.size();
        size_t leading = 0, trailing = 0;
        while ((leading + 1) * w <= t.size() && t.substr(leading * w, w) == space) ++leading;
        while ((trailing + 1) * w <= t.size() && t.substr(t.size() - (trailing + 1) * w, w) == space) ++trailing;
        auto& [b, e] = enc.offsets[i];
        if (leading > 0) {
            const bool isFirst = i == 0 || b == 0;
            if (isFirst && m_addPrefixSpace && leading == 1) leading = 0;
            b = std::min(b + leading, e);
        }
        if (trailing > 0 && e >= trailing) e = std::max(e - trailing, b);
    }
}

} // namespace tokenlens::tok
