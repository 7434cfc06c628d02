// Multi-method (eq. 10) and difference (§4.5). Expected values by hand.
#include "analysis/combine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tokenlens::analysis {
namespace {

constexpr float N = std::numeric_limits<float>::quiet_NaN();

AttributionMatrix mat(int64_t rows, int64_t cols, std::vector<float> v) {
    return {rows, cols, std::move(v)};
}

void expectMatrix(const AttributionMatrix& actual, const AttributionMatrix& expected) {
    ASSERT_EQ(actual.rows, expected.rows);
    ASSERT_EQ(actual.cols, expected.cols);
    ASSERT_EQ(actual.data.size(), expected.data.size());
    for (int64_t i = 0; i < expected.rows; ++i)
        for (int64_t j = 0; j < expected.cols; ++j) {
            if (std::isnan(expected.at(i, j)))
                EXPECT_TRUE(std::isnan(actual.at(i, j)))
                    << "(" << i << "," << j << ") is " << actual.at(i, j);
            else
                EXPECT_NEAR(actual.at(i, j), expected.at(i, j), 1e-6) << "(" << i << "," << j << ")";
        }
}

// n = 1, t = 2 (3×2): contract NaNs at (1,0), (2,0), (2,1).
// A: finite {2, 0, 4} → range [0,4] → [.5, 0; N, 1; N, N]
const AttributionMatrix A = mat(3, 2, {2, 0, N, 4, N, N});
// B: finite {10, 30, 20} → range [10,30] → [0, 1; N, .5; N, N]
const AttributionMatrix B = mat(3, 2, {10, 30, N, 20, N, N});
// C: also NaN at (0,0); finite {1, 3} → [N, 0; N, 1; N, N]
const AttributionMatrix C = mat(3, 2, {N, 1, N, 3, N, N});

TEST(MultiMethod, MeanOfIntensities) {
    auto m = multiMethod({A, B}, NormScope::Matrix);
    ASSERT_TRUE(m.ok()) << m.error().message;
    // (.5+0)/2 = .25, (0+1)/2 = .5, (1+.5)/2 = .75
    expectMatrix(*m, mat(3, 2, {0.25F, 0.5F, N, 0.75F, N, N}));
}

TEST(MultiMethod, CellNaNInSomeMethodsAveragesTheOthers) {
    auto m = multiMethod({A, C}, NormScope::Matrix);
    ASSERT_TRUE(m.ok());
    // (0,0): only A → .5; (0,1): (0+0)/2 = 0; (1,1): (1+1)/2 = 1
    expectMatrix(*m, mat(3, 2, {0.5F, 0.0F, N, 1.0F, N, N}));
    auto m3 = multiMethod({A, B, C}, NormScope::Matrix);
    ASSERT_TRUE(m3.ok());
    // (0,0): (.5+0)/2 = .25; (0,1): (0+1+0)/3 = 1/3; (1,1): (1+.5+1)/3 = 5/6
    expectMatrix(*m3, mat(3, 2, {0.25F, 1.0F / 3, N, 5.0F / 6, N, N}));
}

TEST(MultiMethod, ColumnL1Scope) {
    auto m = multiMethod({A, B}, NormScope::ColumnL1);
    ASSERT_TRUE(m.ok());
    // A: col0 {2} → 1; col1 {0,4}, Σ 4 → 0, 1
    // B: col0 {10} → 1; col1 {30,20}, Σ 50 → .6, .4
    // mean: (1+1)/2 = 1; (0+.6)/2 = .3; (1+.4)/2 = .7
    expectMatrix(*m, mat(3, 2, {1.0F, 0.3F, N, 0.7F, N, N}));
}

TEST(MultiMethod, SingleMethodIsItsNormalisation) {
    auto m = multiMethod({B}, NormScope::ColumnMinMax, 1);
    ASSERT_TRUE(m.ok());
    expectMatrix(*m, normalize(B, NormScope::ColumnMinMax, 1));
}

TEST(MultiMethod, Errors) {
    auto none = multiMethod({}, NormScope::Matrix);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, ErrorCode::InvalidArgument);

    auto mismatch = multiMethod({A, AttributionMatrix::filled(5, 3, 1.0F)}, NormScope::Matrix);
    ASSERT_FALSE(mismatch.ok());
    EXPECT_EQ(mismatch.error().code, ErrorCode::Mismatch);
    EXPECT_NE(mismatch.error().message.find("5×3"), std::string::npos) << mismatch.error().message;

    auto malformed = multiMethod({A, AttributionMatrix{3, 2, {1, 2}}}, NormScope::Matrix);
    ASSERT_FALSE(malformed.ok());
    EXPECT_EQ(malformed.error().code, ErrorCode::InvalidArgument);
}

TEST(MultiMethod, EmptyMatrices) {
    auto m = multiMethod({mat(2, 0, {}), mat(2, 0, {})}, NormScope::Matrix);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(*m, mat(2, 0, {}));
}

TEST(Difference, CellWise) {
    auto d = difference(A, B);
    ASSERT_TRUE(d.ok());
    // 2−10 = −8, 0−30 = −30, 4−20 = −16
    expectMatrix(*d, mat(3, 2, {-8, -30, N, -16, N, N}));
    auto dc = difference(A, C);
    ASSERT_TRUE(dc.ok());
    // (0,0): C is NaN → NaN; 0−1 = −1; 4−3 = 1
    expectMatrix(*dc, mat(3, 2, {N, -1, N, 1, N, N}));
}

TEST(Difference, Normalized) {
    auto d = differenceNormalized(A, B, NormScope::Matrix);
    ASSERT_TRUE(d.ok());
    // [.5, 0; N, 1] − [0, 1; N, .5] = [.5, −1; N, .5]
    expectMatrix(*d, mat(3, 2, {0.5F, -1.0F, N, 0.5F, N, N}));
    // a matrix minus itself, normalised: 0 where finite
    auto self = differenceNormalized(A, A, NormScope::ColumnL1);
    ASSERT_TRUE(self.ok());
    expectMatrix(*self, mat(3, 2, {0, 0, N, 0, N, N}));
}

TEST(Difference, Errors) {
    auto d = difference(A, mat(2, 3, {1, 2, 3, 4, 5, 6})); // 3×2 vs 2×3: same size, other shape
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code, ErrorCode::Mismatch);
    auto dn = differenceNormalized(A, AttributionMatrix::filled(3, 3), NormScope::Matrix);
    ASSERT_FALSE(dn.ok());
    EXPECT_EQ(dn.error().code, ErrorCode::Mismatch);
    auto bad = difference(A, AttributionMatrix{3, 2, {1}});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
}

} // namespace
} // namespace tokenlens::analysis
