// Temporal importance (eq. 11) and its weights; token importance (eq. 6) it
// builds on. Expected values by hand.
#include "analysis/temporal.h"
#include "analysis/token_importance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tokenlens::analysis {
namespace {

constexpr float N = std::numeric_limits<float>::quiet_NaN();
constexpr double DN = std::numeric_limits<double>::quiet_NaN();

AttributionMatrix mat(int64_t rows, int64_t cols, std::vector<float> v) {
    return {rows, cols, std::move(v)};
}

void expectVec(const std::vector<double>& actual, const std::vector<double>& expected) {
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        if (std::isnan(expected[i]))
            EXPECT_TRUE(std::isnan(actual[i])) << "index " << i << " is " << actual[i];
        else
            EXPECT_NEAR(actual[i], expected[i], 1e-9) << "index " << i;
    }
}

// Turn 1: n = 2, t = 2 (4×2). I¹ = (1+2, 3+4) = (3, 7).
const AttributionMatrix T1 = mat(4, 2, {1, 2, 3, 4, N, 5, N, N});
// Turn 2: n = 4, t = 1 (5×1). I² = (1, .5, 2, .5).
const AttributionMatrix T2 = mat(5, 1, {1, 0.5F, 2, 0.5F, N});
// Turn 3: n = 5, t = 2 (7×2). I³ = (1+1, 0+2, 1+0, 2+2, 4+0) = (2, 2, 1, 4, 4).
const AttributionMatrix T3 = mat(7, 2, {1, 1, 0, 2, 1, 0, 2, 2, 4, 0, N, 3, N, N});

TEST(TokenImportance, RowAndColumnSumsOfThePromptBlock) {
    const auto ti = tokenImportance(T1, 2);
    expectVec(ti.input, {3, 7});  // 1+2, 3+4
    expectVec(ti.output, {4, 6}); // 1+3, 2+4 (y0's 5 is not a prompt row)
}

TEST(TemporalImportance, UniformWeights) {
    auto r = temporalImportance({T1, T2, T3}, {2, 4, 5}, uniformWeights(3));
    ASSERT_TRUE(r.ok()) << r.error().message;
    // (I¹ + I² + I³)/3, missing rows count 0:
    //   r0 (3+1+2)/3 = 2, r1 (7+.5+2)/3 = 9.5/3, r2 (0+2+1)/3 = 1,
    //   r3 (0+.5+4)/3 = 1.5, r4 (0+0+4)/3 = 4/3
    expectVec(*r, {2.0, 9.5 / 3.0, 1.0, 1.5, 4.0 / 3.0});
}

TEST(TemporalImportance, WeightsAreUsedAsGiven) {
    auto half = temporalImportance({T1, T2, T3}, {2, 4, 5}, {0.5, 0.0, 0.5});
    ASSERT_TRUE(half.ok());
    // .5·I¹ + .5·I³: r0 1.5+1 = 2.5, r1 3.5+1 = 4.5, r2 .5, r3 2, r4 2
    expectVec(*half, {2.5, 4.5, 0.5, 2.0, 2.0});
    auto ones = temporalImportance({T1, T2, T3}, {2, 4, 5}, {1.0, 1.0, 1.0});
    ASSERT_TRUE(ones.ok());
    // plain sums: 6, 9.5, 3, 4.5, 4
    expectVec(*ones, {6.0, 9.5, 3.0, 4.5, 4.0});
}

TEST(TemporalImportance, SingleTurnIsTokenImportance) {
    auto r = temporalImportance({T1}, {2}, {1.0});
    ASSERT_TRUE(r.ok());
    expectVec(*r, {3, 7});
}

TEST(TemporalImportance, NaNImportanceCountsZero) {
    // A turn without outputs (2×0): its importance is NaN on every row → 0.
    auto r = temporalImportance({mat(2, 0, {}), T1}, {2, 2}, {0.5, 0.5});
    ASSERT_TRUE(r.ok());
    // .5·0 + .5·(3, 7) = (1.5, 3.5)
    expectVec(*r, {1.5, 3.5});
}

TEST(TemporalImportance, Errors) {
    EXPECT_EQ(temporalImportance({}, {}, {}).error().code, ErrorCode::InvalidArgument);
    EXPECT_FALSE(temporalImportance({T1, T2}, {2}, {0.5, 0.5}).ok());                  // lengths
    EXPECT_FALSE(temporalImportance({T1, T2}, {2, 4}, {1.0}).ok());                    // lengths
    EXPECT_FALSE(temporalImportance({T1}, {5}, {1.0}).ok());                           // n > rows
    EXPECT_FALSE(temporalImportance({T1}, {-1}, {1.0}).ok());                          // n < 0
    EXPECT_FALSE(temporalImportance({T2, T1}, {4, 2}, {0.5, 0.5}).ok());               // n_1 > n_k
    EXPECT_FALSE(temporalImportance({T1, T2}, {2, 4}, {DN, 0.5}).ok());                // NaN α
    EXPECT_FALSE(temporalImportance({AttributionMatrix{2, 2, {1}}}, {1}, {1.0}).ok()); // malformed
}

TEST(TemporalWeights, Uniform) {
    expectVec(uniformWeights(4), {0.25, 0.25, 0.25, 0.25});
    expectVec(uniformWeights(1), {1.0});
    EXPECT_TRUE(uniformWeights(0).empty());
}

TEST(TemporalWeights, Recency) {
    // halfLife 1, k = 3: raw 0.5², 0.5¹, 0.5⁰ = .25, .5, 1; Σ = 1.75 → 1/7, 2/7, 4/7
    expectVec(recencyWeights(3, 1.0), {1.0 / 7, 2.0 / 7, 4.0 / 7});
    // halfLife 2, k = 3: raw 0.5^(2/2) = .5, 0.5^(1/2) = √.5 ≈ .7071068, 1;
    // Σ ≈ 2.2071068 → ≈ .2265409, .3203772, .4530818
    const double s = 0.5 + std::sqrt(0.5) + 1.0;
    expectVec(recencyWeights(3, 2.0), {0.5 / s, std::sqrt(0.5) / s, 1.0 / s});
    EXPECT_NEAR(recencyWeights(3, 2.0)[0], 0.2265409, 1e-7);
    // halfLife → 0⁺: all on the last turn
    expectVec(recencyWeights(3, 0.0), {0, 0, 1});
    expectVec(recencyWeights(2, -1.0), {0, 1});
    // halfLife = ∞: 0.5⁰ everywhere → uniform
    expectVec(recencyWeights(2, std::numeric_limits<double>::infinity()), {0.5, 0.5});
    EXPECT_TRUE(recencyWeights(0, 1.0).empty());
}

TEST(TemporalWeights, Custom) {
    auto w = customWeights({1, 3}, 2);
    ASSERT_TRUE(w.ok());
    expectVec(*w, {0.25, 0.75}); // 1/4, 3/4
    EXPECT_EQ(customWeights({1}, 2).error().code, ErrorCode::Mismatch);
    EXPECT_EQ(customWeights({1, -1}, 2).error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(customWeights({0, 0}, 2).error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(customWeights({DN, 1}, 2).error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(customWeights({std::numeric_limits<double>::infinity(), 1}, 2).error().code,
              ErrorCode::InvalidArgument);
}

} // namespace
} // namespace tokenlens::analysis
