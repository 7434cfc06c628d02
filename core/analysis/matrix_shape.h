#pragma once
// Small shape helpers shared by the aggregations: a matrix is well formed when
// its data holds exactly rows × cols values, and two matrices can be combined
// cell by cell only when their shapes agree.

#include "result/attribution_matrix.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace tokenlens::analysis {

inline bool wellFormed(const AttributionMatrix& a) {
    return a.rows >= 0 && a.cols >= 0 && a.data.size() == static_cast<size_t>(a.rows * a.cols);
}

inline bool sameShape(const AttributionMatrix& a, const AttributionMatrix& b) {
    return a.rows == b.rows && a.cols == b.cols;
}

// "5×3", for error messages.
inline std::string shapeString(const AttributionMatrix& a) {
    return std::to_string(a.rows) + "×" + std::to_string(a.cols);
}

} // namespace tokenlens::analysis
