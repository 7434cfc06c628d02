#include "analysis/window.h"

#include "analysis/matrix_shape.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tokenlens::analysis {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Running mean that skips NaN entries; NaN when every entry was NaN.
struct Mean {
    double sum = 0.0;
    int64_t count = 0;
    void add(float v) {
        if (std::isnan(v)) return;
        sum += v;
        ++count;
    }
    double value() const { return count > 0 ? sum / static_cast<double>(count) : kNaN; }
};

} // namespace

int64_t maxWindow(int64_t n, int64_t t) {
    const int64_t m = std::min(n, t);
    return m < 2 ? 0 : m / 2;
}

int64_t clampWindow(int64_t c, int64_t n, int64_t t) {
    const int64_t hi = maxWindow(n, t);
    if (hi == 0) return 0;
    return std::clamp<int64_t>(c, 1, hi);
}

int64_t effectiveWindow(int64_t c, int64_t n, int64_t t) {
    return c <= 0 ? 0 : clampWindow(c, n, t);
}

std::vector<double> inputCentredWindow(const AttributionMatrix& a, int64_t promptLength, int64_t i,
                                       int64_t c) {
    if (!wellFormed(a)) return {};
    const int64_t n = std::clamp<int64_t>(promptLength, 0, a.rows);
    const int64_t t = a.cols;
    if (i < 0 || i >= n) return {};
    const int64_t w = effectiveWindow(c, n, t);
    const int64_t lo = std::max<int64_t>(0, i - w), hi = std::min<int64_t>(n - 1, i + w);
    std::vector<double> out(static_cast<size_t>(t), kNaN);
    for (int64_t j = 0; j < t; ++j) {
        Mean m;
        for (int64_t k = lo; k <= hi; ++k)
            m.add(a.at(k, j));
        out[static_cast<size_t>(j)] = m.value();
    }
    return out;
}

std::vector<double> outputCentredWindow(const AttributionMatrix& a, int64_t promptLength, int64_t j,
                                        int64_t c, bool includeOutputRows) {
    if (!wellFormed(a)) return {};
    const int64_t n = std::clamp<int64_t>(promptLength, 0, a.rows);
    const int64_t t = a.cols;
    if (j < 0 || j >= t) return {};
    const int64_t w = effectiveWindow(c, n, t);
    const int64_t lo = std::max<int64_t>(0, j - w), hi = std::min<int64_t>(t - 1, j + w);
    const int64_t rows = includeOutputRows ? a.rows : n;
    std::vector<double> out(static_cast<size_t>(rows), kNaN);
    for (int64_t r = 0; r < rows; ++r) {
        Mean m;
        for (int64_t l = lo; l <= hi; ++l)
            m.add(a.at(r, l));
        out[static_cast<size_t>(r)] = m.value();
    }
    return out;
}

} // namespace tokenlens::analysis
