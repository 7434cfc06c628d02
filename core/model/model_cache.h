#pragma once
// Loaded models kept for reuse, keyed by folder + the sizes, modification
// times and inodes of its files (so an edited or replaced checkpoint is
// reloaded), evicted least recently used first once their parameter bytes
// pass a memory budget. A model whose weight files changed on disk since it
// was loaded is never served again (checkWeightFiles on every hit) and
// leaves the cache as soon as a newer load of its folder succeeds or drop()
// is called, so its mapping of the old files goes with its last user.
// Safe to call from several worker threads; a model being loaded by one
// thread is waited for, not loaded twice.

#include "model/model_loader.h"

#include <cstdint>
#include <filesystem>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace tokenlens {

class ModelCache {
public:
    explicit ModelCache(int64_t budgetBytes = int64_t{8} << 30);

    // `fromCache` (optional) tells whether the model was already loaded.
    Result<std::shared_ptr<const LoadedModel>> get(const std::filesystem::path& dir, const LoadOptions& options = {},
                                                   bool* fromCache = nullptr);

    // Removes the entry holding `model` (a model found changed on disk), if any.
    void drop(const LoadedModel* model);

    void setBudget(int64_t bytes);
    int64_t budget() const;
    int64_t usedBytes() const;
    size_t size() const;
    void clear();

    // The key a folder has now ("" when the folder cannot be read).
    static std::string keyFor(const std::filesystem::path& dir, const LoadOptions& options);

private:
    using Loaded = Result<std::shared_ptr<const LoadedModel>>;
    struct Entry {
        std::string key;
        std::string folder; // the key's folder and options part: the entries of one folder
        std::shared_ptr<const LoadedModel> model;
        int64_t bytes = 0;
    };
    void evictLocked();
    void eraseLocked(std::list<Entry>::iterator it);
    static std::string folderPart(const std::filesystem::path& canonical, const LoadOptions& options);

    mutable std::mutex m_mutex;
    int64_t m_budget;
    int64_t m_used = 0;
    std::list<Entry> m_lru; // front = most recently used
    std::map<std::string, std::list<Entry>::iterator> m_index;
    std::map<std::string, std::shared_future<Loaded>> m_loading;
};

} // namespace tokenlens
