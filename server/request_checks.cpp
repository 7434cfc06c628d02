// What reading a request needs of the engine and the wire format: the
// method and option checks of POST /api/jobs, and the method and model lists
// (built once). The LibTorch-free part is request_parsing.cpp.

#include "request_parsing.h"

#include "api/wire.h"
#include "attribution/engine.h"
#include "attribution/method.h"
#include "run/job_runner.h"

namespace tokenlens::server {

using nlohmann::json;

std::variant<Job, SpecError> specFromRequest(const nlohmann::ordered_json& j, const ModelCatalog& catalog) {
    std::vector<const CatalogEntry*> entries;
    auto read = readJobRequest(j, catalog, &entries);
    if (std::holds_alternative<SpecError>(read)) return read;
    Job spec = std::get<Job>(std::move(read));
    for (size_t i = 0; i < spec.methods.size(); ++i) {
        if (!findMethod(spec.methods[i])) {
            std::string ids;
            for (const auto* m : allMethods()) ids += (ids.empty() ? "" : ", ") + m->id();
            const std::string f = "methods[" + std::to_string(i) + "]";
            return SpecError{f, f + ": unknown method '" + spec.methods[i] + "' (one of " + ids + ")"};
        }
    }
    // The engine's own checks: job-level options, then each method's options
    // (ranges, choices, layer indices) against each model's configuration.
    if (auto st = checkJob(spec); !st) return SpecError{optionField(st.error().message), st.error().message};
    for (const std::string& m : spec.methods) {
        for (size_t i = 0; i < entries.size(); ++i) {
            auto resolved = methodOptions(spec, m, entries[i]->config ? &*entries[i]->config : nullptr);
            if (!resolved) {
                return SpecError{optionField(resolved.error().message),
                                 resolved.error().message + " (model " + entries[i]->id + ")"};
            }
        }
    }
    return spec;
}

json methodsJson() {
    json out = json::array();
    for (const AttributionMethod* m : allMethods()) {
        json opts = json::array();
        for (const OptionSpec& o : m->options()) {
            json oj = {{"name", o.name}, {"type", o.type}, {"default", o.defaultValue}, {"help", o.help}};
            oj["min"] = o.min ? json(*o.min) : json(nullptr);
            oj["max"] = o.max ? json(*o.max) : json(nullptr);
            if (!o.choices.empty()) oj["choices"] = o.choices;
            opts.push_back(std::move(oj));
        }
        out.push_back({{"id", m->id()}, {"description", m->description()}, {"options", std::move(opts)}});
    }
    return {{"methods", std::move(out)}};
}

json modelsJson(const ModelCatalog& catalog) {
    json out = json::array();
    for (const CatalogEntry& e : catalog.entries()) {
        api::ModelView m;
        m.id = e.id;
        m.source = e.source;
        m.architecture = e.architecture;
        m.dtype = e.dtype;
        m.parameters = e.parameters;
        m.bytes = e.bytes;
        m.maxPositions = e.config ? e.config->maxPositions : 0;
        m.usable = e.usable();
        m.error = e.error;
        m.chatTemplates = e.chatTemplates;
        out.push_back(api::toJson(m));
    }
    return {{"models", std::move(out)}};
}

} // namespace tokenlens::server
