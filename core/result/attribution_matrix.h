#pragma once
// The (n+t) x t attribution matrix of the contract: row i = context token i of
// X ⊕ Y, column j = output token y_j; NaN where i > p_j (the token itself and
// the future). Row-major float32, as the engine computes it.

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace tokenlens {

struct AttributionMatrix {
    int64_t rows = 0;
    int64_t cols = 0;
    std::vector<float> data; // rows * cols, row-major

    static AttributionMatrix filled(int64_t rows, int64_t cols, float value = std::numeric_limits<float>::quiet_NaN()) {
        return {rows, cols, std::vector<float>(static_cast<size_t>(rows * cols), value)};
    }
    float at(int64_t r, int64_t c) const { return data[static_cast<size_t>(r * cols + c)]; }
    float& at(int64_t r, int64_t c) { return data[static_cast<size_t>(r * cols + c)]; }
    bool empty() const { return rows == 0 || cols == 0; }
    bool operator==(const AttributionMatrix& o) const;
};

inline bool AttributionMatrix::operator==(const AttributionMatrix& o) const {
    if (rows != o.rows || cols != o.cols || data.size() != o.data.size()) return false;
    for (size_t i = 0; i < data.size(); ++i) {
        const bool an = std::isnan(data[i]), bn = std::isnan(o.data[i]);
        if (an != bn || (!an && data[i] != o.data[i])) return false;
    }
    return true;
}

} // namespace tokenlens
