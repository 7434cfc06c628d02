#pragma once
// A token <-> id table shared by the models.

#include <algorithm>
#include <climits>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tokenlens::tok {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Tokens are added first, then finalize() builds the id -> token table.
class Vocab {
public:
    Vocab() = default;
    Vocab(const Vocab&) = delete; // m_byId points into m_map
    Vocab& operator=(const Vocab&) = delete;
    Vocab(Vocab&&) = default;
    Vocab& operator=(Vocab&&) = default;
    void reserve(size_t n) { m_map.reserve(n); }
    // False when `id` is negative or does not fit an int32.
    bool add(std::string token, int64_t id) {
        if (id < 0 || id > INT32_MAX) return false;
        m_maxId = std::max(m_maxId, id);
        m_map[std::move(token)] = static_cast<int32_t>(id);
        return true;
    }
    // False when the ids are too sparse to index a table (ids far beyond the size).
    bool finalize() {
        if (!m_map.empty() && m_maxId > static_cast<int64_t>(m_map.size()) * 2 + 65536) return false;
        m_byId.assign(m_map.empty() ? 0 : static_cast<size_t>(m_maxId) + 1, nullptr);
        for (const auto& [token, id] : m_map) m_byId[static_cast<size_t>(id)] = &token;
        return true;
    }
    std::optional<int32_t> find(std::string_view token) const {
        auto it = m_map.find(token);
        if (it == m_map.end()) return std::nullopt;
        return it->second;
    }
    const std::string* token(int32_t id) const {
        if (id < 0 || static_cast<size_t>(id) >= m_byId.size()) return nullptr;
        return m_byId[static_cast<size_t>(id)];
    }
    size_t size() const { return m_map.size(); }
    size_t idLimit() const { return m_byId.size(); }

private:
    StringMap<int32_t> m_map;           // node-based: element addresses are stable
    std::vector<const std::string*> m_byId; // keys of m_map, nullptr for unused ids
    int64_t m_maxId = -1;
};

} // namespace tokenlens::tok
