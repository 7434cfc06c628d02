#include "analysis/normalization.h"

#include "analysis/matrix_shape.h"

#include <algorithm>
#include <limits>

namespace tokenlens::analysis {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t usedRows(const AttributionMatrix& a, int64_t rowsUsed) {
    return rowsUsed < 0 ? a.rows : std::min(rowsUsed, a.rows);
}

struct RangeAccumulator {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    bool any = false;
    void add(double v) {
        if (!std::isfinite(v)) return;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        any = true;
    }
    Range range() const { return any ? Range{lo, hi} : Range{kNaN, kNaN}; }
};

} // namespace

Range finiteRange(std::span<const double> values) {
    RangeAccumulator acc;
    for (double v : values)
        acc.add(v);
    return acc.range();
}

Range finiteRange(const AttributionMatrix& a, int64_t rowsUsed) {
    RangeAccumulator acc;
    if (!wellFormed(a)) return acc.range();
    const size_t end = static_cast<size_t>(usedRows(a, rowsUsed) * a.cols);
    for (size_t k = 0; k < end; ++k)
        acc.add(a.data[k]);
    return acc.range();
}

Range finiteColumnRange(const AttributionMatrix& a, int64_t col, int64_t rowsUsed) {
    RangeAccumulator acc;
    if (!wellFormed(a) || col < 0 || col >= a.cols) return acc.range();
    const int64_t rows = usedRows(a, rowsUsed);
    for (int64_t i = 0; i < rows; ++i)
        acc.add(a.at(i, col));
    return acc.range();
}

double intensity(double v, double min, double max) {
    if (!std::isfinite(v) || !std::isfinite(min) || !std::isfinite(max)) return kNaN;
    if (!(max > min)) return 0.0;
    return (v - min) / (max - min);
}

AttributionMatrix normalize(const AttributionMatrix& a, NormScope scope, int64_t rowsUsed) {
    if (!wellFormed(a)) return {};
    AttributionMatrix out = AttributionMatrix::filled(a.rows, a.cols);
    const int64_t rows = usedRows(a, rowsUsed);
    switch (scope) {
    case NormScope::Matrix: {
        const Range r = finiteRange(a, rowsUsed);
        for (size_t k = 0; k < a.data.size(); ++k)
            out.data[k] = static_cast<float>(intensity(a.data[k], r));
        break;
    }
    case NormScope::ColumnMinMax:
        for (int64_t j = 0; j < a.cols; ++j) {
            const Range r = finiteColumnRange(a, j, rowsUsed);
            for (int64_t i = 0; i < a.rows; ++i)
                out.at(i, j) = static_cast<float>(intensity(a.at(i, j), r));
        }
        break;
    case NormScope::ColumnL1:
        for (int64_t j = 0; j < a.cols; ++j) {
            double sum = 0.0;
            int64_t finite = 0;
            for (int64_t i = 0; i < rows; ++i) {
                const float v = a.at(i, j);
                if (!std::isfinite(v)) continue;
                sum += std::abs(static_cast<double>(v));
                ++finite;
            }
            if (finite == 0) continue; // stays NaN
            for (int64_t i = 0; i < a.rows; ++i) {
                const float v = a.at(i, j);
                if (!std::isfinite(v)) continue;
                out.at(i, j) = sum > 0.0 ? static_cast<float>(std::abs(static_cast<double>(v)) / sum) : 0.0F;
            }
        }
        break;
    }
    return out;
}

} // namespace tokenlens::analysis
