#include "tokenizer/bpe.h"

#include "util/utf8.h"

#include <mutex>
#include <queue>

namespace tokenlens::tok {

BpeModel::BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options)
    : VocabModel(std::move(vocab), "BPE"), m_options(std::move(options)) {
    if (m_options.unkToken) m_unkId = m_vocab.find(*m_options.unkToken);
    static const char* hex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
        const char name[] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        m_byteIds[static_cast<size_t>(b)] = m_vocab.find(std::string_view(name, sizeof name)).value_or(-1);
    }
    m_merges.reserve(merges.size());
    const std::string& prefix = m_options.continuingSubwordPrefix;
    std::string joined;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [a, b] = merges[rank];
        const auto idA = m_vocab.find(a);
        const auto idB = m_vocab.find(b);
        if (!idA || !idB) {
            throw ConfigError(ErrorCode::Corrupt, "merge #" + std::to_string(rank) + " '" + a + " " + b +
                                                      "' uses a token missing from the vocabulary");
        }
        // The merged token drops the continuing-subword prefix of its right part.
        std::string_view right = b;
        if (!prefix.empty() && right.substr(0, prefix.size()) == prefix) right.remove_prefix(prefix.size());
        joined.assign(a).append(right);
        const auto merged = m_vocab.find(joined);
        if (!merged) {
            throw ConfigError(ErrorCode::Corrupt, "merge #" + std::to_string(rank) + " '" + a + " " + b +
                                                      "' makes '" + joined + "', missing from the vocabulary");
        }
        m_merges[pairKey(*idA, *idB)] = MergeInfo{static_cast<uint32_t>(rank), *merged};
    }
}

const BpeModel::MergeInfo* BpeModel::findMerge(int32_t a, int32_t b) const {
    auto it = m_merges.find(pairKey(a, b));
    return it == m_merges.end() ? nullptr : &it->second;
}

void BpeModel::initialSymbols(std::string_view word, std::vector<Symbol>& symbols) const {
    const std::string& prefix = m_options.continuingSubwordPrefix;
    const std::string& suffix = m_options.endOfWordSuffix;
    std::optional<Symbol> unk; // pending unknown run (fuse_unk)
    auto push = [&symbols](Symbol s) {
        s.prev = symbols.empty() ? -1 : static_cast<int32_t>(symbols.size()) - 1;
        s.next = -1;
        if (!symbols.empty()) symbols.back().next = static_cast<int32_t>(symbols.size());
        symbols.push_back(s);
    };
    auto flushUnk = [&] {
        if (unk) push(*unk);
        unk.reset();
    };
    std::string piece;
    size_t pos = 0;
    while (pos < word.size()) {
        const size_t begin = pos;
        pos += utf8::sequenceLength(static_cast<unsigned char>(word[pos]));
        pos = std::min(pos, word.size());
        const std::string_view ch = word.substr(begin, pos - begin);
        const auto b32 = static_cast<uint32_t>(begin), e32 = static_cast<uint32_t>(pos);
        std::optional<int32_t> id;
        if (prefix.empty() && suffix.empty()) {
            id = m_vocab.find(ch);
        } else {
            piece.clear();
            if (begin > 0) piece += prefix;
            piece += ch;
            if (pos == word.size()) piece += suffix;
            id = m_vocab.find(piece);
        }
        if (id) {
            flushUnk();
            push(Symbol{*id, 0, 0, b32, e32});
            continue;
        }
        if (m_options.byteFallback) {
            bool all = true;
            for (char c : ch) all = all && m_byteIds[static_cast<unsigned char>(c)] >= 0;
            if (all) {
                flushUnk();
                for (size_t k = 0; k < ch.size(); ++k) {
                    const auto at = static_cast<uint32_t>(begin + k);
                    push(Symbol{m_byteIds[static_cast<unsigned char>(ch[k])], 0, 0, at, at + 1});
                }
                continue;
            }
        }
        if (!m_unkId) continue; // no unk token: the character is dropped, as in HF
        if (unk && m_options.fuseUnk) {
            unk->end = e32;
        } else {
            flushUnk();
            unk = Symbol{*m_unkId, 0, 0, b32, e32};
        }
    }
    flushUnk();
}

void BpeModel::mergeSymbols(std::vector<Symbol>& symbols) const {
    struct Candidate {
        uint32_t rank;
        int32_t pos;
        int32_t newId;
        bool operator<(const Candidate& o) const { // max-heap: lowest rank, then leftmost, on top
            if (rank != o.rank) return rank > o.rank;
            return pos > o.pos;
        }
    };
    std::priority_queue<Candidate> queue;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        if (const MergeInfo* m = findMerge(symbols[i].id, symbols[i + 1].id))
            queue.push(Candidate{m->rank, static_cast<int32_t>(i), m->newId});
    }
    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& left = symbols[static_cast<size_t>(top.pos)];
        if (left.begin == left.end || left.next < 0) continue; // merged away, or nothing on the right
        Symbol& right = symbols[static_cast<size_t>(left.next)];
        const MergeInfo* m = findMerge(left.id, right.id);
        if (!m || m->newId != top.newId) continue; // stale: one side changed since
        left.id = top.newId;
        left.end = right.end;
        left.next = right.next;
        right.begin = right.end = 0;
        right.id = -1;
        if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = top.pos;
        if (left.prev >= 0) {
            const Symbol& p = symbols[static_cast<size_t>(left.prev)];
            if (const MergeInfo* pm = findMerge(p.id, left.id)) queue.push(Candidate{pm->rank, left.prev, pm->newId});
        }
        if (left.next >= 0) {
            const Symbol& n = symbols[static_cast<size_t>(left.next)];
            if (const MergeInfo* nm = findMerge(left.id, n.id)) queue.push(Candidate{nm->rank, top.pos, nm->newId});
        }
    }
}

Status BpeModel::tokenize(std::string_view word, std::vector<ModelToken>& out) const {
    if (word.empty()) return {};
    if (m_options.ignoreMerges) {
        if (auto id = m_vocab.find(word)) {
            out.push_back(ModelToken{*id, 0, static_cast<uint32_t>(word.size())});
            return {};
        }
    }
    const bool cacheable = word.size() <= kCacheMaxWord;
    if (cacheable) {
        std::shared_lock lock(m_cacheMutex);
        if (auto it = m_cache.find(word); it != m_cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return {};
        }
    }
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    initialSymbols(word, symbols);
    if (m_options.unkToken && !m_unkId) {
        // HF fails when it needs an unk token that the vocabulary lacks.
        size_t covered = 0;
        for (const auto& s : symbols) covered += s.end - s.begin;
        if (covered != word.size()) {
            return makeError(ErrorCode::Corrupt,
                             "unk_token '" + *m_options.unkToken + "' is not in the vocabulary");
        }
    }
    mergeSymbols(symbols);
    std::vector<ModelToken> tokens;
    for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
        const Symbol& s = symbols[static_cast<size_t>(i)];
        tokens.push_back(ModelToken{s.id, s.begin, s.end});
    }
    out.insert(out.end(), tokens.begin(), tokens.end());
    if (cacheable) {
        std::unique_lock lock(m_cacheMutex);
        if (m_cache.size() < kCacheCapacity) m_cache.emplace(std::string(word), std::move(tokens));
    }
    return {};
}

} // namespace tokenlens::tok
