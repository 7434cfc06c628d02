// The LASSO of context_cite: exact recovery of a response linear in the
// masks, the soft-thresholded solution of an orthogonal design worked out by
// hand, and λ_max.

#include "analysis/lasso.h"

#include <gtest/gtest.h>

#include <cstdint>

using tokenlens::analysis::fitLasso;
using tokenlens::analysis::lassoLambdaMax;

TEST(Lasso, RecoversAResponseLinearInTheMasksWithoutPenalty) {
    // 64 keep-masks over 6 features from a fixed linear congruential sequence.
    const int m = 64, k = 6;
    Eigen::MatrixXd X(m, k);
    uint64_t state = 12345;
    for (int r = 0; r < m; ++r) {
        for (int c = 0; c < k; ++c) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            X(r, c) = (state >> 63) ? 1.0 : 0.0;
        }
    }
    Eigen::VectorXd w(k);
    w << 2.0, -1.0, 0.0, 0.5, 0.0, 3.0;
    const Eigen::VectorXd y = (X * w).array() + 0.7;
    auto fit = fitLasso(X, y, 0.0);
    EXPECT_TRUE(fit.converged);
    for (int c = 0; c < k; ++c) EXPECT_NEAR(fit.weights[c], w[c], 1e-8) << c;
    EXPECT_NEAR(fit.intercept, 0.7, 1e-8);
}

TEST(Lasso, OrthogonalDesignIsSoftThresholdedByHand) {
    // The 2² design z ∈ {11, 10, 01, 00} and y = 1 + 3 z_1 − 0.5 z_2. The
    // centred columns x_1 = ½(1, 1, −1, −1), x_2 = ½(1, −1, 1, −1) are
    // orthogonal with x_cᵀx_c/m = 1/4, and x_1ᵀy/m = 3/4, x_2ᵀy/m = −1/8, so
    // the exact minimiser is w_c = S(x_cᵀy/m, λ) / (1/4):
    //   λ = 0.1: w = ((0.75 − 0.1)·4, (−0.125 + 0.1)·4) = (2.6, −0.1),
    //            b = ȳ − ½ w_1 − ½ w_2 = 2.25 − 1.3 + 0.05 = 1.0;
    //   λ = 0.2: w = (2.2, 0) (|−1/8| < 0.2);  λ_max = 3/4.
    Eigen::MatrixXd X(4, 2);
    X << 1, 1, 1, 0, 0, 1, 0, 0;
    Eigen::VectorXd y(4);
    for (int r = 0; r < 4; ++r) y[r] = 1 + 3 * X(r, 0) - 0.5 * X(r, 1);
    auto a = fitLasso(X, y, 0.1);
    EXPECT_NEAR(a.weights[0], 2.6, 1e-9);
    EXPECT_NEAR(a.weights[1], -0.1, 1e-9);
    EXPECT_NEAR(a.intercept, 1.0, 1e-9);
    auto b = fitLasso(X, y, 0.2);
    EXPECT_NEAR(b.weights[0], 2.2, 1e-9);
    EXPECT_EQ(b.weights[1], 0.0);
    EXPECT_NEAR(lassoLambdaMax(X, y), 0.75, 1e-12);
    auto none = fitLasso(X, y, 0.75);
    EXPECT_EQ(none.weights[0], 0.0);
    EXPECT_EQ(none.weights[1], 0.0);
    EXPECT_NEAR(none.intercept, y.mean(), 1e-12);
}

TEST(Lasso, ConstantColumnsGetZero) {
    Eigen::MatrixXd X(3, 2);
    X << 1, 0, 1, 1, 1, 0;
    Eigen::VectorXd y(3);
    y << 1, 3, 1;
    auto fit = fitLasso(X, y, 0.0);
    EXPECT_EQ(fit.weights[0], 0.0);
    EXPECT_NEAR(fit.weights[1], 2.0, 1e-9);
    EXPECT_NEAR(fit.intercept, 1.0, 1e-9);
}
