#pragma once
// A response before it is written: status, JSON body, extra headers, and
// whether the connection closes after it. Neither Qt nor LibTorch: the route
// table (route_table.h) and its fuzzer use it as the server does.

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace tokenlens::server {

// JSON text of a body; invalid UTF-8 in strings is replaced, never thrown on.
inline std::string dump(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct Reply {
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool close = false;

    static Reply ofJson(unsigned status, const nlohmann::json& j) { return Reply{status, dump(j), {}, false}; }
    static Reply error(unsigned status, const std::string& message, const std::string& field = {}) {
        nlohmann::json j = {{"error", message}};
        if (!field.empty()) j["field"] = field;
        return ofJson(status, j);
    }
    Reply& header(std::string k, std::string v) {
        headers.emplace_back(std::move(k), std::move(v));
        return *this;
    }
};

} // namespace tokenlens::server
