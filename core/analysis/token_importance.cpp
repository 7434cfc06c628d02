#include "analysis/token_importance.h"

#include <limits>

namespace tokenlens::analysis {

TokenImportance tokenImportance(const AttributionMatrix& a, int64_t n) {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    TokenImportance out;
    n = std::min(n, a.rows);
    out.input.assign(static_cast<size_t>(std::max<int64_t>(n, 0)), nan);
    out.output.assign(static_cast<size_t>(a.cols), nan);
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < a.cols; ++j) {
            const float v = a.at(i, j);
            if (std::isnan(v)) continue;
            auto& in = out.input[static_cast<size_t>(i)];
            auto& o = out.output[static_cast<size_t>(j)];
            in = std::isnan(in) ? v : in + v;
            o = std::isnan(o) ? v : o + v;
        }
    }
    return out;
}

} // namespace tokenlens::analysis
