#include "analysis/temporal.h"

#include "analysis/matrix_shape.h"
#include "analysis/token_importance.h"

#include <cmath>
#include <string>

namespace tokenlens::analysis {

std::vector<double> uniformWeights(int64_t k) {
    if (k <= 0) return {};
    return std::vector<double>(static_cast<size_t>(k), 1.0 / static_cast<double>(k));
}

std::vector<double> recencyWeights(int64_t k, double halfLife) {
    if (k <= 0) return {};
    std::vector<double> w(static_cast<size_t>(k), 0.0);
    if (!(halfLife > 0.0)) { // ≤ 0 or NaN: the limit halfLife → 0⁺
        w.back() = 1.0;
        return w;
    }
    double sum = 0.0;
    for (int64_t t = 1; t <= k; ++t) {
        const double v = std::pow(0.5, static_cast<double>(k - t) / halfLife);
        w[static_cast<size_t>(t - 1)] = v;
        sum += v;
    }
    for (double& v : w)
        v /= sum; // sum ≥ 1: the last turn weighs 0.5^0 = 1
    return w;
}

Result<std::vector<double>> customWeights(const std::vector<double>& weights, int64_t k) {
    if (k < 0 || weights.size() != static_cast<size_t>(k))
        return makeError(ErrorCode::Mismatch, "temporal weights: " + std::to_string(weights.size()) +
                                                  " weights for " + std::to_string(k) + " turns");
    double sum = 0.0;
    for (size_t t = 0; t < weights.size(); ++t) {
        if (!std::isfinite(weights[t]) || weights[t] < 0.0)
            return makeError(ErrorCode::InvalidArgument, "temporal weights: weight " + std::to_string(t + 1) +
                                                             " must be a finite number ≥ 0");
        sum += weights[t];
    }
    if (!(sum > 0.0)) return makeError(ErrorCode::InvalidArgument, "temporal weights: all weights are 0");
    std::vector<double> out = weights;
    for (double& v : out)
        v /= sum;
    return out;
}

Result<std::vector<double>> temporalImportance(const std::vector<AttributionMatrix>& turns,
                                               const std::vector<int64_t>& promptLengths,
                                               const std::vector<double>& alphas) {
    const size_t k = turns.size();
    if (k == 0) return makeError(ErrorCode::InvalidArgument, "temporalImportance: no turns");
    if (promptLengths.size() != k || alphas.size() != k)
        return makeError(ErrorCode::InvalidArgument,
                         "temporalImportance: " + std::to_string(k) + " turns but " +
                             std::to_string(promptLengths.size()) + " prompt lengths and " +
                             std::to_string(alphas.size()) + " weights");
    const int64_t nk = promptLengths.back();
    for (size_t t = 0; t < k; ++t) {
        const std::string turn = "turn " + std::to_string(t + 1);
        if (!std::isfinite(alphas[t]))
            return makeError(ErrorCode::InvalidArgument,
                             "temporalImportance: the weight of " + turn + " is not finite");
        if (!wellFormed(turns[t]))
            return makeError(ErrorCode::InvalidArgument, "temporalImportance: the matrix of " + turn +
                                                             " has a data size other than rows × cols");
        const int64_t nt = promptLengths[t];
        if (nt < 0 || nt > turns[t].rows)
            return makeError(ErrorCode::InvalidArgument,
                             "temporalImportance: prompt length " + std::to_string(nt) + " of " + turn +
                                 " is outside [0, " + std::to_string(turns[t].rows) + "]");
        if (nt > nk)
            return makeError(ErrorCode::InvalidArgument,
                             "temporalImportance: " + turn + "'s prompt (" + std::to_string(nt) +
                                 " tokens) is longer than the last turn's (" + std::to_string(nk) + ")");
    }
    std::vector<double> out(static_cast<size_t>(nk), 0.0);
    for (size_t t = 0; t < k; ++t) {
        const std::vector<double> importance = tokenImportance(turns[t], promptLengths[t]).input;
        for (size_t r = 0; r < importance.size(); ++r)
            if (!std::isnan(importance[r])) out[r] += alphas[t] * importance[r];
    }
    return out;
}

} // namespace tokenlens::analysis
