#include "result/csv.h"

#include <cmath>
#include <cstdio>

namespace tokenlens {

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos && (s.empty() || (s.front() != ' ' && s.back() != ' '))) {
        return s;
    }
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"') out += '"';
        out += ch;
    }
    out += '"';
    return out;
}

std::string matrixCsv(const AttributionMatrix& a, const std::vector<std::string>& rowLabels,
                      const std::vector<std::string>& colLabels, const std::string& corner) {
    std::string out = csvField(corner);
    for (int64_t c = 0; c < a.cols; ++c) {
        out += ',';
        out += csvField(static_cast<size_t>(c) < colLabels.size() ? colLabels[static_cast<size_t>(c)] : std::string());
    }
    out += "\r\n";
    char buf[32];
    for (int64_t r = 0; r < a.rows; ++r) {
        out += csvField(static_cast<size_t>(r) < rowLabels.size() ? rowLabels[static_cast<size_t>(r)] : std::string());
        for (int64_t c = 0; c < a.cols; ++c) {
            out += ',';
            const float v = a.at(r, c);
            if (std::isfinite(v)) {
                std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
                out += buf;
            }
        }
        out += "\r\n";
    }
    return out;
}

} // namespace tokenlens
