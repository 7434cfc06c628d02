#pragma once
// What a request says, read on the session's strand: the target's path and
// query, query parameters, the body of POST /api/jobs, the bearer token; and
// the catalogue and method list as JSON (built once). Thread-safe: reads only
// the immutable catalogue and method registry. request_parsing.cpp uses
// neither Qt nor LibTorch (the HTTP fuzzer builds it); request_checks.cpp
// holds what needs the engine.

#include "catalog/model_catalog.h"
#include "run/job.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tokenlens::server {

// Letters, digits, '-' and '_'; 1 to 64 of them.
bool validJobId(const std::string& id);

std::string percentDecode(std::string_view s);

// A request target: its path, the path's decoded segments (a trailing slash
// dropped) and its decoded query parameters.
struct Target {
    std::string path;
    std::vector<std::string> segments;
    std::map<std::string, std::string> query;
};
Target parseTarget(const std::string& target); // `target` starts with '/'

// A non-negative integer query parameter; false (and `error`) when malformed.
bool queryInt(const std::map<std::string, std::string>& q, const std::string& key, int64_t min, int64_t max,
              int64_t& out, std::string& error);

// The option a validation message names ("option 'steps' must be ..."), for the `field` of a 400.
std::string optionField(const std::string& message);

struct SpecError {
    std::string field, message;
};

// The request body of POST /api/jobs as a Job with the catalog's folders
// (`entries`, if given, receives the catalogue entry of each model); every
// problem names its field. Neither Qt nor LibTorch.
std::variant<Job, SpecError> readJobRequest(const nlohmann::ordered_json& j, const ModelCatalog& catalog,
                                            std::vector<const CatalogEntry*>* entries = nullptr);

// Whether an Authorization header carries "Bearer <token>".
bool bearerMatches(std::string_view authorization, const std::string& token);

// Loopback: 127.0.0.0/8, ::1 or "localhost".
bool isLoopbackHost(const std::string& host);
// Constant-time (in the length of `expected`) comparison of secrets.
bool constantTimeEquals(const std::string& given, const std::string& expected);

// request_checks.cpp (the engine and the wire format):
// readJobRequest, then every method's id and options checked against each
// model's configuration.
std::variant<Job, SpecError> specFromRequest(const nlohmann::ordered_json& j, const ModelCatalog& catalog);
nlohmann::json methodsJson();
nlohmann::json modelsJson(const ModelCatalog& catalog);

} // namespace tokenlens::server
