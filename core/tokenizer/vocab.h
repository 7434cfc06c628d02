#pragma once
// A token <-> id table shared by the models.

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

class Vocab {
public:
    void reserve(size_t n) {
        m_map.reserve(n);
        m_byId.reserve(n);
    }
    // False when `id` is negative.
    bool add(std::string token, int32_t id) {
        if (id < 0) return false;
        const auto slot = static_cast<size_t>(id);
        if (slot >= m_byId.size()) {
            m_byId.resize(slot + 1);
            m_present.resize(slot + 1, false);
        }
        m_byId[slot] = token;
        m_present[slot] = true;
        m_map[std::move(token)] = id;
        return true;
    }
    std::optional<int32_t> find(std::string_view token) const {
        auto it = m_map.find(token);
        if (it == m_map.end()) return std::nullopt;
        return it->second;
    }
    const std::string* token(int32_t id) const {
        if (id < 0 || static_cast<size_t>(id) >= m_byId.size() || !m_present[static_cast<size_t>(id)])
            return nullptr;
        return &m_byId[static_cast<size_t>(id)];
    }
    size_t size() const { return m_map.size(); }
    size_t idLimit() const { return m_byId.size(); }

private:
    StringMap<int32_t> m_map;
    std::vector<std::string> m_byId;
    std::vector<bool> m_present;
};

} // namespace tokenlens::tok
