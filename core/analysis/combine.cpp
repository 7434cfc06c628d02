#include "analysis/combine.h"

#include "analysis/matrix_shape.h"

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <string>

namespace tokenlens::analysis {

namespace {

Status checkPair(const AttributionMatrix& a1, const AttributionMatrix& a2, const char* what) {
    if (!wellFormed(a1) || !wellFormed(a2))
        return makeError(ErrorCode::InvalidArgument,
                         std::string(what) + ": a matrix's data size is not rows × cols");
    if (!sameShape(a1, a2))
        return makeError(ErrorCode::Mismatch, std::string(what) + ": shapes differ (" + shapeString(a1) +
                                                  " vs " + shapeString(a2) + ")");
    return {};
}

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

ConstArrayMap view(const AttributionMatrix& a) {
    return ConstArrayMap(a.data.data(), static_cast<Eigen::Index>(a.data.size()));
}

} // namespace

Result<AttributionMatrix> multiMethod(const std::vector<AttributionMatrix>& methods, NormScope scope,
                                      int64_t rowsUsed) {
    if (methods.empty()) return makeError(ErrorCode::InvalidArgument, "multiMethod: no matrices to combine");
    for (size_t m = 0; m < methods.size(); ++m) {
        if (!wellFormed(methods[m]))
            return makeError(ErrorCode::InvalidArgument,
                             "multiMethod: matrix " + std::to_string(m) + "'s data size is not rows × cols");
        if (!sameShape(methods[m], methods[0]))
            return makeError(ErrorCode::Mismatch, "multiMethod: matrix " + std::to_string(m) + " is " +
                                                      shapeString(methods[m]) + ", matrix 0 is " +
                                                      shapeString(methods[0]));
    }
    const auto size = static_cast<Eigen::Index>(methods[0].data.size());
    Eigen::ArrayXd sum = Eigen::ArrayXd::Zero(size);
    Eigen::ArrayXd count = Eigen::ArrayXd::Zero(size);
    for (const AttributionMatrix& a : methods) {
        const AttributionMatrix n = normalize(a, scope, rowsUsed);
        const Eigen::ArrayXd v = view(n).cast<double>();
        const auto finite = v.isFinite();
        sum += finite.select(v, 0.0);
        count += finite.cast<double>();
    }
    AttributionMatrix out = AttributionMatrix::filled(methods[0].rows, methods[0].cols);
    ArrayMap(out.data.data(), size) =
        (count > 0.0).select(sum / count, std::numeric_limits<double>::quiet_NaN()).cast<float>();
    return out;
}

Result<AttributionMatrix> difference(const AttributionMatrix& a1, const AttributionMatrix& a2) {
    if (Status s = checkPair(a1, a2, "difference"); !s) return s.error();
    AttributionMatrix out = AttributionMatrix::filled(a1.rows, a1.cols);
    // IEEE subtraction propagates NaN from either side.
    ArrayMap(out.data.data(), static_cast<Eigen::Index>(out.data.size())) = view(a1) - view(a2);
    return out;
}

Result<AttributionMatrix> differenceNormalized(const AttributionMatrix& a1, const AttributionMatrix& a2,
                                               NormScope scope, int64_t rowsUsed) {
    if (Status s = checkPair(a1, a2, "differenceNormalized"); !s) return s.error();
    return difference(normalize(a1, scope, rowsUsed), normalize(a2, scope, rowsUsed));
}

} // namespace tokenlens::analysis
