#include "model/model_cache.h"

#include <system_error>

namespace tokenlens {

ModelCache::ModelCache(int64_t budgetBytes) : m_budget(budgetBytes) {}

std::string ModelCache::folderPart(const std::filesystem::path& canonical, const LoadOptions& options) {
    std::string key = canonical.string() + "|" + options.device + (options.loadTokenizer ? "|tok" : "|notok");
    if (options.computeDtype != "float32") key += "|compute:" + options.computeDtype;
    if (!options.mapWeights) key += "|copied";
    return key;
}

std::string ModelCache::keyFor(const std::filesystem::path& dir, const LoadOptions& options) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path canonical = fs::canonical(dir, ec);
    if (ec) return {};
    std::string key = folderPart(canonical, options);
    std::map<std::string, std::string> files; // sorted for a stable key
    for (const auto& entry : fs::directory_iterator(canonical, ec)) {
        const std::string name = entry.path().filename().string();
        const bool relevant = name.ends_with(".json") || name.ends_with(".safetensors");
        if (!relevant) continue;
        auto stamp = fileStamp(entry.path());
        files[name] = stamp ? stampText(*stamp) : std::string("?");
    }
    for (const auto& [name, stamp] : files) key += "|" + name + ":" + stamp;
    return key;
}

Result<std::shared_ptr<const LoadedModel>> ModelCache::get(const std::filesystem::path& dir,
                                                           const LoadOptions& options, bool* fromCache) {
    if (fromCache) *fromCache = false;
    const std::string key = keyFor(dir, options);
    if (key.empty()) {
        return makeError(ErrorCode::NotFound, dir.string() + ": model folder not found or not readable");
    }
    std::error_code ec;
    const std::string folder = folderPart(std::filesystem::canonical(dir, ec), options);
    std::promise<Loaded> promise;
    std::shared_future<Loaded> pending;
    bool loader = false;
    {
        std::lock_guard lock(m_mutex);
        if (auto it = m_index.find(key); it != m_index.end()) {
            if (checkWeightFiles(*it->second->model)) {
                m_lru.splice(m_lru.begin(), m_lru, it->second);
                if (fromCache) *fromCache = true;
                return it->second->model;
            }
            eraseLocked(it->second); // changed since: loaded again below
        }
        // Loads of this folder whose weight files changed since: never served again.
        for (auto it = m_lru.begin(); it != m_lru.end();) {
            auto next = std::next(it);
            if (it->folder == folder && !checkWeightFiles(*it->model)) eraseLocked(it);
            it = next;
        }
        if (auto it = m_loading.find(key); it != m_loading.end()) {
            pending = it->second;
        } else {
            pending = promise.get_future().share();
            m_loading.emplace(key, pending);
            loader = true;
        }
    }
    if (!loader) {
        Loaded shared = pending.get();
        if (fromCache && shared.ok()) *fromCache = true;
        return shared;
    }
    Loaded result = [&]() -> Loaded {
        auto loaded = loadModelFolder(dir, options);
        if (!loaded) return loaded.error();
        return std::shared_ptr<const LoadedModel>(std::move(loaded.value()));
    }();
    {
        std::lock_guard lock(m_mutex);
        m_loading.erase(key);
        if (result.ok()) {
            // Older loads of this folder (its files have changed since) go.
            for (auto it = m_lru.begin(); it != m_lru.end();) {
                auto next = std::next(it);
                if (it->folder == folder && it->key != key) eraseLocked(it);
                it = next;
            }
            const int64_t bytes = result.value()->model->parameterBytes();
            m_lru.push_front(Entry{key, folder, result.value(), bytes});
            m_index[key] = m_lru.begin();
            m_used += bytes;
            evictLocked();
        }
    }
    promise.set_value(result);
    return result;
}

void ModelCache::eraseLocked(std::list<Entry>::iterator it) {
    m_used -= it->bytes;
    m_index.erase(it->key);
    m_lru.erase(it);
}

void ModelCache::evictLocked() {
    // Keep at least the most recent model even when it alone exceeds the budget.
    while (m_used > m_budget && m_lru.size() > 1) eraseLocked(std::prev(m_lru.end()));
}

void ModelCache::drop(const LoadedModel* model) {
    std::lock_guard lock(m_mutex);
    for (auto it = m_lru.begin(); it != m_lru.end(); ++it) {
        if (it->model.get() == model) {
            eraseLocked(it);
            return;
        }
    }
}

void ModelCache::setBudget(int64_t bytes) {
    std::lock_guard lock(m_mutex);
    m_budget = bytes;
    evictLocked();
}

int64_t ModelCache::budget() const {
    std::lock_guard lock(m_mutex);
    return m_budget;
}

int64_t ModelCache::usedBytes() const {
    std::lock_guard lock(m_mutex);
    return m_used;
}

size_t ModelCache::size() const {
    std::lock_guard lock(m_mutex);
    return m_lru.size();
}

void ModelCache::clear() {
    std::lock_guard lock(m_mutex);
    m_lru.clear();
    m_index.clear();
    m_used = 0;
}

} // namespace tokenlens
