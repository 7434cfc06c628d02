#pragma once
// The runner's caches besides the models (ModelCache):
//  - prepared sequences (tokenization of the prompt and target, plus the
//    generated output and its step scores), keyed by model + prompt + target
//    + generation options: a second method on the same input neither
//    tokenizes nor generates again;
//  - attribution results, keyed by a content hash of what a result depends
//    on: the model's files (ModelCache::keyFor: folder, sizes and mtimes of
//    its config, tokenizer and weight files), the method, its resolved
//    options, the input text and the output token ids.
// Both are bounded LRU maps, safe to use from several worker threads.
// Results also outlive the process through StoredResults: the job store
// (core/jobs) answers a result key with a finished result it holds, so the
// same pair asked for again after a restart, or from another process sharing
// the store, is not computed again.

#include "attribution/engine.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace tokenlens {

// SHA-256 (hex) of the parts, each length-prefixed so that ("ab","c") and
// ("a","bc") differ.
std::string contentHash(const std::vector<std::string>& parts);

// Key of a prepared sequence.
std::string sequenceKey(const std::string& modelKey, const Job& job);
// Key of one attribution result.
std::string resultKey(const std::string& modelKey, const std::string& method, const nlohmann::json& resolvedOptions,
                      const PreparedSequence& seq, bool forced);

// Bytes a result takes in memory (about: its matrices and tokens).
int64_t approximateBytes(const MethodResult& r);

template <class V>
class LruCache {
public:
    explicit LruCache(int64_t budget) : m_budget(budget) {}

    std::shared_ptr<const V> get(const std::string& key) {
        std::lock_guard lock(m_mutex);
        auto it = m_index.find(key);
        if (it == m_index.end()) {
            ++m_misses;
            return nullptr;
        }
        ++m_hits;
        m_lru.splice(m_lru.begin(), m_lru, it->second);
        return it->second->value;
    }
    void put(const std::string& key, std::shared_ptr<const V> value, int64_t cost) {
        std::lock_guard lock(m_mutex);
        if (auto it = m_index.find(key); it != m_index.end()) {
            m_used -= it->second->cost;
            m_lru.erase(it->second);
            m_index.erase(it);
        }
        m_lru.push_front({key, std::move(value), cost});
        m_index[key] = m_lru.begin();
        m_used += cost;
        while (m_used > m_budget && m_lru.size() > 1) {
            m_used -= m_lru.back().cost;
            m_index.erase(m_lru.back().key);
            m_lru.pop_back();
        }
    }
    void clear() {
        std::lock_guard lock(m_mutex);
        m_lru.clear();
        m_index.clear();
        m_used = 0;
    }
    size_t size() const {
        std::lock_guard lock(m_mutex);
        return m_lru.size();
    }
    int64_t hits() const {
        std::lock_guard lock(m_mutex);
        return m_hits;
    }
    int64_t misses() const {
        std::lock_guard lock(m_mutex);
        return m_misses;
    }

private:
    struct Entry {
        std::string key;
        std::shared_ptr<const V> value;
        int64_t cost = 0;
    };
    mutable std::mutex m_mutex;
    int64_t m_budget;
    int64_t m_used = 0;
    int64_t m_hits = 0, m_misses = 0;
    std::list<Entry> m_lru;
    std::map<std::string, typename std::list<Entry>::iterator> m_index;
};

// Finished results kept beyond this process, looked up by resultKey (plus
// the faithfulness suffix JobRunner::runPair adds). Called from worker
// threads: implementations must be safe to call from any thread.
class StoredResults {
public:
    virtual ~StoredResults() = default;
    // A completed result stored under `key`, or null.
    virtual std::shared_ptr<const MethodResult> find(const std::string& key) = 0;
};

// Prepared sequences: at most 256 (cost 1 each).
using SequenceCache = LruCache<PreparedSequence>;
// Results: bounded by approximate bytes (default 256 MiB).
using ResultCache = LruCache<MethodResult>;

} // namespace tokenlens
