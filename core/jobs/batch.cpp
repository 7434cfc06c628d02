#include "jobs/batch.h"

#include <sstream>

namespace tokenlens::jobs {

ParsedBatch parseBatch(const std::string& text, const Job& defaults, const std::string& source) {
    ParsedBatch out;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos) continue;
        const std::string where = source + ":" + std::to_string(number);
        const char c = line[first];
        if (c != '{' && c != '"') {
            Job spec = defaults;
            spec.input = line;
            out.jobs.push_back({number, std::move(spec)});
            continue;
        }
        // Ordered: the messages of a chat line keep their keys' order.
        const nlohmann::ordered_json j = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded()) {
            out.errors.push_back({number, where + ": not valid JSON (a job object or a JSON string was expected)"});
            continue;
        }
        if (j.is_string()) {
            Job spec = defaults;
            spec.input = j.get<std::string>();
            out.jobs.push_back({number, std::move(spec)});
            continue;
        }
        auto spec = readJob(j, JobReading::file(where, &defaults));
        if (!spec) {
            out.errors.push_back({number, spec.error().message});
            continue;
        }
        out.jobs.push_back({number, std::move(spec.value())});
    }
    return out;
}

} // namespace tokenlens::jobs
