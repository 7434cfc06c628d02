#pragma once
// Small helpers to read tokenizer.json objects; failures throw ConfigError
// with a message naming the component and key.

#include "tokenizer/components.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace tokenlens::tok::json {

using Json = nlohmann::json;

// The value at `key`, or nullptr when absent or null.
inline const Json* find(const Json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

inline const Json& require(const Json& obj, const char* key, const std::string& where) {
    const Json* v = find(obj, key);
    if (!v) throw ConfigError(ErrorCode::Corrupt, where + ": missing '" + key + "'");
    return *v;
}

inline std::string string(const Json& obj, const char* key, const std::string& where) {
    const Json& v = require(obj, key, where);
    if (!v.is_string()) throw ConfigError(ErrorCode::Corrupt, where + ": '" + key + "' must be a string");
    return v.get<std::string>();
}

inline std::optional<std::string> optString(const Json& obj, const char* key, const std::string& where) {
    const Json* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) throw ConfigError(ErrorCode::Corrupt, where + ": '" + key + "' must be a string");
    return v->get<std::string>();
}

inline bool boolean(const Json& obj, const char* key, bool fallback, const std::string& where) {
    const Json* v = find(obj, key);
    if (!v) return fallback;
    if (!v->is_boolean()) throw ConfigError(ErrorCode::Corrupt, where + ": '" + key + "' must be true or false");
    return v->get<bool>();
}

inline int64_t integer(const Json& obj, const char* key, int64_t fallback, const std::string& where) {
    const Json* v = find(obj, key);
    if (!v) return fallback;
    if (!v->is_number_integer()) throw ConfigError(ErrorCode::Corrupt, where + ": '" + key + "' must be an integer");
    return v->get<int64_t>();
}

inline const Json& array(const Json& obj, const char* key, const std::string& where) {
    const Json& v = require(obj, key, where);
    if (!v.is_array()) throw ConfigError(ErrorCode::Corrupt, where + ": '" + key + "' must be a list");
    return v;
}

} // namespace tokenlens::tok::json
