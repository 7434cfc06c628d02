#include "analysis/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace tokenlens::analysis {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Indices of the finite values, largest value first, equal values by index.
std::vector<int64_t> finiteOrder(std::span<const double> values) {
    std::vector<int64_t> idx;
    idx.reserve(values.size());
    for (size_t i = 0; i < values.size(); ++i)
        if (std::isfinite(values[i])) idx.push_back(static_cast<int64_t>(i));
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
        return values[static_cast<size_t>(a)] > values[static_cast<size_t>(b)];
    });
    return idx;
}

// The pairs (x_i, y_i) where both are finite.
void finitePairs(std::span<const double> x, std::span<const double> y, std::vector<double>& fx,
                 std::vector<double>& fy) {
    for (size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
        fx.push_back(x[i]);
        fy.push_back(y[i]);
    }
}

// |v| of the finite values.
std::vector<double> finiteAbs(std::span<const double> values) {
    std::vector<double> a;
    a.reserve(values.size());
    for (double v : values)
        if (std::isfinite(v)) a.push_back(std::abs(v));
    return a;
}

int sign(double d) {
    return (d > 0.0) - (d < 0.0);
}

} // namespace

std::vector<int64_t> topK(std::span<const double> values, int64_t k) {
    if (k <= 0) return {};
    std::vector<int64_t> order = finiteOrder(values);
    if (static_cast<size_t>(k) < order.size()) order.resize(static_cast<size_t>(k));
    return order;
}

std::vector<int64_t> rank(std::span<const double> values) {
    std::vector<int64_t> out(values.size(), 0);
    const std::vector<int64_t> order = finiteOrder(values);
    for (size_t m = 0; m < order.size(); ++m)
        out[static_cast<size_t>(order[m])] = static_cast<int64_t>(m) + 1;
    return out;
}

std::vector<double> averageRank(std::span<const double> values) {
    std::vector<double> out(values.size(), kNaN);
    const std::vector<int64_t> order = finiteOrder(values);
    size_t start = 0;
    while (start < order.size()) {
        size_t end = start + 1; // [start, end) holds equal values
        while (end < order.size() &&
               values[static_cast<size_t>(order[end])] == values[static_cast<size_t>(order[start])])
            ++end;
        // 1-based ranks start+1 .. end; their mean:
        const double r = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2.0;
        for (size_t m = start; m < end; ++m)
            out[static_cast<size_t>(order[m])] = r;
        start = end;
    }
    return out;
}

Histogram histogram(std::span<const double> values, int64_t bins) {
    const Range r = finiteRange(values);
    if (!r.valid()) {
        Histogram h;
        h.min = h.max = kNaN;
        h.counts.assign(static_cast<size_t>(std::max<int64_t>(bins, 0)), 0);
        return h;
    }
    return histogram(values, bins, r);
}

Histogram histogram(std::span<const double> values, int64_t bins, Range range) {
    Histogram h;
    h.min = range.min;
    h.max = range.max;
    if (bins <= 0) return h;
    h.counts.assign(static_cast<size_t>(bins), 0);
    const bool usable = std::isfinite(range.min) && std::isfinite(range.max) && range.max >= range.min;
    for (double v : values) {
        if (!std::isfinite(v)) continue;
        if (!usable || v < range.min || v > range.max) {
            ++h.outside;
            continue;
        }
        int64_t b = 0;
        if (range.max > range.min) {
            const double pos = (v - range.min) / (range.max - range.min) * static_cast<double>(bins);
            b = std::clamp<int64_t>(static_cast<int64_t>(std::floor(pos)), 0, bins - 1);
        }
        ++h.counts[static_cast<size_t>(b)];
    }
    return h;
}

double spearman(std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size()) return kNaN;
    std::vector<double> fx, fy;
    finitePairs(x, y, fx, fy);
    if (fx.size() < 2) return kNaN;
    const std::vector<double> rx = averageRank(fx), ry = averageRank(fy);
    const double m = static_cast<double>(rx.size());
    const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / m;
    const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / m;
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t i = 0; i < rx.size(); ++i) {
        const double dx = rx[i] - mx, dy = ry[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (sxx == 0.0 || syy == 0.0) return kNaN;
    return sxy / std::sqrt(sxx * syy);
}

double kendallTauB(std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size()) return kNaN;
    std::vector<double> fx, fy;
    finitePairs(x, y, fx, fy);
    const size_t m = fx.size();
    if (m < 2) return kNaN;
    // Pair counts fit in int64 for any vector that fits in memory.
    int64_t concordant = 0, discordant = 0, tiedX = 0, tiedY = 0;
    for (size_t i = 0; i < m; ++i) {
        for (size_t j = i + 1; j < m; ++j) {
            const int sx = sign(fx[i] - fx[j]), sy = sign(fy[i] - fy[j]);
            if (sx == 0) ++tiedX; // n_1 = Σ u(u−1)/2 counts exactly these pairs
            if (sy == 0) ++tiedY;
            if (sx * sy > 0) ++concordant;
            if (sx * sy < 0) ++discordant;
        }
    }
    const auto n0 = static_cast<int64_t>(m * (m - 1) / 2);
    const double denom =
        std::sqrt(static_cast<double>(n0 - tiedX)) * std::sqrt(static_cast<double>(n0 - tiedY));
    if (denom == 0.0) return kNaN;
    return static_cast<double>(concordant - discordant) / denom;
}

double gini(std::span<const double> values) {
    std::vector<double> a = finiteAbs(values);
    if (a.empty()) return kNaN;
    const double sum = std::accumulate(a.begin(), a.end(), 0.0);
    if (!(sum > 0.0)) return kNaN;
    // Σ_i Σ_j |a_i − a_j| = 2 Σ_i (2i − m − 1) a_(i) over a sorted ascending
    // (i = 1..m), and 2 m² ā = 2 m Σa, so G = Σ_i (2i − m − 1) a_(i) / (m Σa).
    std::sort(a.begin(), a.end());
    const double m = static_cast<double>(a.size());
    double acc = 0.0;
    for (size_t i = 0; i < a.size(); ++i)
        acc += (2.0 * static_cast<double>(i + 1) - m - 1.0) * a[i];
    return acc / (m * sum);
}

double normalizedEntropy(std::span<const double> values) {
    const std::vector<double> a = finiteAbs(values);
    if (a.size() < 2) return kNaN;
    const double sum = std::accumulate(a.begin(), a.end(), 0.0);
    if (!(sum > 0.0)) return kNaN;
    double h = 0.0;
    for (double v : a) {
        if (v <= 0.0) continue;
        const double p = v / sum;
        h -= p * std::log(p);
    }
    return h / std::log(static_cast<double>(a.size()));
}

} // namespace tokenlens::analysis
