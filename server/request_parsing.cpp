#include "request_parsing.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>

namespace tokenlens::server {

using nlohmann::json;

bool validJobId(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

std::string percentDecode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                   isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

Target parseTarget(const std::string& target) {
    Target t;
    const auto qpos = target.find('?');
    t.path = target.substr(0, qpos);
    if (qpos != std::string::npos) {
        std::string_view rest(target);
        rest.remove_prefix(qpos + 1);
        while (!rest.empty()) {
            const auto amp = rest.find('&');
            const std::string_view item = rest.substr(0, amp);
            const auto eq = item.find('=');
            t.query[percentDecode(item.substr(0, eq))] =
                eq == std::string_view::npos ? "" : percentDecode(item.substr(eq + 1));
            if (amp == std::string_view::npos) break;
            rest.remove_prefix(amp + 1);
        }
    }
    const std::string& path = t.path;
    for (size_t start = 1; start <= path.size();) {
        const size_t slash = std::min(path.find('/', start), path.size());
        t.segments.push_back(percentDecode(std::string_view(path).substr(start, slash - start)));
        start = slash + 1;
    }
    if (!t.segments.empty() && t.segments.back().empty()) t.segments.pop_back(); // a trailing slash
    return t;
}

bool queryInt(const std::map<std::string, std::string>& q, const std::string& key, int64_t min, int64_t max,
              int64_t& out, std::string& error) {
    auto it = q.find(key);
    if (it == q.end()) return true;
    const std::string& v = it->second;
    if (v.empty() || v.size() > 12 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        error = "query parameter '" + key + "' must be an integer";
        return false;
    }
    const int64_t n = std::stoll(v);
    if (n < min || n > max) {
        error = "query parameter '" + key + "' must be between " + std::to_string(min) + " and " + std::to_string(max);
        return false;
    }
    out = n;
    return true;
}

std::string optionField(const std::string& message) {
    const std::string marker = "option '";
    auto at = message.find(marker);
    if (at == std::string::npos) return "options";
    const auto end = message.find('\'', at + marker.size());
    if (end == std::string::npos) return "options";
    return "options." + message.substr(at + marker.size(), end - at - marker.size());
}

std::variant<Job, SpecError> readJobRequest(const nlohmann::ordered_json& j, const ModelCatalog& catalog,
                                            std::vector<const CatalogEntry*>* entriesOut) {
    if (!j.is_object()) return SpecError{"", "the request body must be a JSON object"};
    std::vector<const CatalogEntry*> entries;
    JobReading how;
    how.complete = true;
    how.validJobId = validJobId;
    how.resolveModel = [&](const std::string& id) -> Result<std::string> {
        const std::string field = "models[" + std::to_string(entries.size()) + "]";
        const CatalogEntry* e = catalog.find(id);
        if (!e) return makeError(ErrorCode::NotFound, field + ": unknown model '" + id + "' (GET /api/models lists the ids)");
        if (!e->usable()) {
            return makeError(ErrorCode::InvalidArgument, field + ": model '" + id + "' cannot be used: " + e->error);
        }
        entries.push_back(e);
        return e->path.string();
    };
    std::string field;
    auto read = readJob(j, how, &field);
    if (!read) return SpecError{field, read.error().message};
    if (entriesOut) *entriesOut = std::move(entries);
    return std::move(read.value());
}

bool bearerMatches(std::string_view authorization, const std::string& token) {
    const std::string_view prefix = "Bearer ";
    return authorization.size() > prefix.size() && authorization.substr(0, prefix.size()) == prefix &&
           constantTimeEquals(std::string(authorization.substr(prefix.size())), token);
}

bool isLoopbackHost(const std::string& host) {
    if (host == "localhost") return true;
    boost::system::error_code ec;
    const auto addr = boost::asio::ip::make_address(host, ec);
    return !ec && addr.is_loopback();
}

bool constantTimeEquals(const std::string& given, const std::string& expected) {
    // Every byte of `expected` is visited whatever `given` is; the length
    // difference is folded into the result instead of returning early.
    unsigned char diff = given.size() == expected.size() ? 0 : 1;
    for (size_t i = 0; i < expected.size(); ++i) {
        const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
    }
    return diff == 0;
}

} // namespace tokenlens::server
