#pragma once
// The catalogue the route-table tests and fuzz_http_request read job bodies
// against: "tiny-gpt2", usable at /models/tiny-gpt2, and "broken", listed
// with its error ("config.json is missing"). No model folder is read.

#include "route_table.h"

#include <string>
#include <utility>

namespace tokenlens::server::testing {

inline const ModelCatalog& twoModelCatalog() {
    static const ModelCatalog c = [] {
        CatalogEntry usable;
        usable.id = "tiny-gpt2";
        usable.source = "folder";
        usable.path = "/models/tiny-gpt2";
        CatalogEntry broken;
        broken.id = "broken";
        broken.source = "folder";
        broken.path = "/models/broken";
        broken.error = "config.json is missing";
        return ModelCatalog({usable, broken});
    }();
    return c;
}

// A route context reading job bodies against twoModelCatalog(); `token`
// empty: a server without a token.
inline RouteContext twoModelContext(std::string token = {}) {
    return RouteContext{std::move(token),
                        [](const nlohmann::ordered_json& j) { return readJobRequest(j, twoModelCatalog()); }};
}

} // namespace tokenlens::server::testing
