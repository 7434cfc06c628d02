#pragma once
// Byte-pair encoding as HF `tokenizers` runs it: a word starts as one symbol
// per character (or per byte with byte_fallback, or unk), then the adjacent
// pair of lowest merge rank is merged until none is left.

#include "tokenizer/vocab_model.h"

#include <array>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tokenlens::tok {

struct BpeOptions {
    std::optional<std::string> unkToken;
    std::string continuingSubwordPrefix;
    std::string endOfWordSuffix;
    bool fuseUnk = false;
    bool byteFallback = false;
    bool ignoreMerges = false;
};

class BpeModel final : public VocabModel {
public:
    // Throws ConfigError when a merge refers to tokens missing from the vocabulary.
    BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

    std::string type() const override { return "BPE"; }
    Status tokenize(std::string_view word, std::vector<ModelToken>& out) const override;

private:
    struct Symbol {
        int32_t id;
        int32_t prev;
        int32_t next;
        uint32_t begin;
        uint32_t end;
    };
    struct MergeInfo {
        uint32_t rank;
        int32_t newId;
    };
    static uint64_t pairKey(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }
    const MergeInfo* findMerge(int32_t a, int32_t b) const;
    void initialSymbols(std::string_view word, std::vector<Symbol>& symbols) const;
    void mergeSymbols(std::vector<Symbol>& symbols) const;

    std::unordered_map<uint64_t, MergeInfo> m_merges;
    BpeOptions m_options;
    std::optional<int32_t> m_unkId;
    std::array<int32_t, 256> m_byteIds{}; // <0xNN> tokens, -1 when absent

    static constexpr size_t kCacheCapacity = 10000;
    static constexpr size_t kCacheMaxWord = 256;
    mutable std::shared_mutex m_cacheMutex;
    mutable StringMap<std::vector<ModelToken>> m_cache;
};

} // namespace tokenlens::tok
