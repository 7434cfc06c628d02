// Intensity (eq. 7) and display normalisation. Expected values by hand.
#include "analysis/normalization.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tokenlens::analysis {
namespace {

constexpr float N = std::numeric_limits<float>::quiet_NaN();
constexpr float Inf = std::numeric_limits<float>::infinity();
constexpr double DN = std::numeric_limits<double>::quiet_NaN();

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

// n = 2, t = 3 with the contract's NaNs; finite values span [0, 4] overall and
// [0, 3] on the prompt block (rows 0..1).
// clang-format off
AttributionMatrix small() {
    return mat(5, 3, {
        0.5F, 1.0F, 2.0F,  // x0
        1.5F, 3.0F, 0.0F,  // x1
        N,    2.0F, 1.0F,  // y0
        N,    N,    4.0F,  // y1
        N,    N,    N,     // y2
    });
}
// clang-format on

TEST(FiniteRange, SkipsNaNAndInfinity) {
    const std::vector<double> v{3, DN, -1, std::numeric_limits<double>::infinity(), 2};
    const Range r = finiteRange(v);
    EXPECT_TRUE(r.valid());
    EXPECT_EQ(r.min, -1.0);
    EXPECT_EQ(r.max, 3.0);
    EXPECT_FALSE(finiteRange(std::vector<double>{DN, DN}).valid());
    EXPECT_FALSE(finiteRange(std::vector<double>{}).valid());
}

TEST(FiniteRange, MatrixAndColumns) {
    const auto a = small();
    const Range all = finiteRange(a);
    EXPECT_EQ(all.min, 0.0);
    EXPECT_EQ(all.max, 4.0);
    const Range prompt = finiteRange(a, 2); // rows 0..1: {0.5,1,2,1.5,3,0}
    EXPECT_EQ(prompt.min, 0.0);
    EXPECT_EQ(prompt.max, 3.0);
    const Range c1 = finiteColumnRange(a, 1); // {1, 3, 2}
    EXPECT_EQ(c1.min, 1.0);
    EXPECT_EQ(c1.max, 3.0);
    EXPECT_FALSE(finiteColumnRange(a, 3).valid());
    EXPECT_FALSE(finiteRange(a, 0).valid()); // no rows used
}

TEST(Intensity, SingleValues) {
    EXPECT_DOUBLE_EQ(intensity(5, 0, 10), 0.5);  // (5−0)/(10−0)
    EXPECT_DOUBLE_EQ(intensity(-1, -3, 1), 0.5); // (−1+3)/(1+3) = 2/4
    EXPECT_DOUBLE_EQ(intensity(12, 0, 10), 1.2); // no clamping
    EXPECT_DOUBLE_EQ(intensity(3, 3, 3), 0.0);   // constant → 0
    EXPECT_DOUBLE_EQ(intensity(Range{0, 4}.min, Range{0, 4}), 0.0);
    EXPECT_TRUE(std::isnan(intensity(DN, 0, 1)));
    EXPECT_TRUE(std::isnan(intensity(std::numeric_limits<double>::infinity(), 0, 1)));
    EXPECT_TRUE(std::isnan(intensity(1, DN, DN)));
}

// clang-format off
TEST(Normalize, MatrixScopeAllRows) {
    // min 0, max 4 → v/4
    const auto expected = mat(5, 3, {
        0.125F, 0.25F, 0.5F,   // 0.5/4, 1/4, 2/4
        0.375F, 0.75F, 0.0F,   // 1.5/4, 3/4, 0/4
        N,      0.5F,  0.25F,  // 2/4, 1/4
        N,      N,     1.0F,   // 4/4
        N,      N,     N,
    });
    expectMatrix(normalize(small(), NormScope::Matrix), expected);
}

TEST(Normalize, MatrixScopePromptBlockOnly) {
    // rowsUsed = 2: min 0, max 3 → v/3 on every row; row 3's 4 maps to 4/3 > 1.
    const auto expected = mat(5, 3, {
        0.5F / 3, 1.0F / 3, 2.0F / 3,
        0.5F,     1.0F,     0.0F,      // 1.5/3, 3/3, 0/3
        N,        2.0F / 3, 1.0F / 3,
        N,        N,        4.0F / 3,
        N,        N,        N,
    });
    expectMatrix(normalize(small(), NormScope::Matrix, 2), expected);
    // rowsUsed beyond the matrix = all rows
    expectMatrix(normalize(small(), NormScope::Matrix, 99), normalize(small(), NormScope::Matrix));
}

TEST(Normalize, ColumnMinMax) {
    // col0 {0.5,1.5}: (v−0.5)/1; col1 {1,3,2}: (v−1)/2; col2 {2,0,1,4}: v/4
    const auto all = mat(5, 3, {
        0.0F, 0.0F, 0.5F,
        1.0F, 1.0F, 0.0F,
        N,    0.5F, 0.25F,
        N,    N,    1.0F,
        N,    N,    N,
    });
    expectMatrix(normalize(small(), NormScope::ColumnMinMax), all);
    // rowsUsed = 2: col1 {1,3} → (v−1)/2, so y0's 2 → 0.5; col2 {2,0} → v/2,
    // so y0's 1 → 0.5 and y1's 4 → 2.
    const auto prompt = mat(5, 3, {
        0.0F, 0.0F, 1.0F,
        1.0F, 1.0F, 0.0F,
        N,    0.5F, 0.5F,
        N,    N,    2.0F,
        N,    N,    N,
    });
    expectMatrix(normalize(small(), NormScope::ColumnMinMax, 2), prompt);
}

TEST(Normalize, ColumnL1) {
    // col0 Σ = 0.5+1.5 = 2; col1 Σ = 1+3+2 = 6; col2 Σ = 2+0+1+4 = 7
    const auto all = mat(5, 3, {
        0.25F, 1.0F / 6, 2.0F / 7,
        0.75F, 0.5F,     0.0F,      // 1.5/2, 3/6, 0/7
        N,     2.0F / 6, 1.0F / 7,
        N,     N,        4.0F / 7,
        N,     N,        N,
    });
    expectMatrix(normalize(small(), NormScope::ColumnL1), all);
    // rowsUsed = 2: col1 Σ = 1+3 = 4 → 1/4, 3/4, y0's 2 → 0.5;
    // col2 Σ = 2+0 = 2 → 1, 0, 0.5, 2
    const auto prompt = mat(5, 3, {
        0.25F, 0.25F, 1.0F,
        0.75F, 0.75F, 0.0F,
        N,     0.5F,  0.5F,
        N,     N,     2.0F,
        N,     N,     N,
    });
    expectMatrix(normalize(small(), NormScope::ColumnL1, 2), prompt);
}
// clang-format on

TEST(Normalize, ColumnL1UsesAbsoluteValuesAndZeroColumns) {
    // col0 {−1, 3}: Σ|·| = 4 → 1/4, 3/4; col1 all zero → 0, 0
    expectMatrix(normalize(mat(2, 2, {-1, 0, 3, 0}), NormScope::ColumnL1), mat(2, 2, {0.25F, 0, 0.75F, 0}));
}

TEST(Normalize, ConstantMatrix) {
    const auto a = mat(2, 2, {7, 7, 7, 7});
    expectMatrix(normalize(a, NormScope::Matrix), mat(2, 2, {0, 0, 0, 0}));
    expectMatrix(normalize(a, NormScope::ColumnMinMax), mat(2, 2, {0, 0, 0, 0}));
    // per column 7/(7+7) = 0.5
    expectMatrix(normalize(a, NormScope::ColumnL1), mat(2, 2, {0.5F, 0.5F, 0.5F, 0.5F}));
    // constant with a NaN: NaN stays NaN
    expectMatrix(normalize(mat(2, 2, {7, N, 7, 7}), NormScope::Matrix), mat(2, 2, {0, N, 0, 0}));
}

TEST(Normalize, SingleFiniteValue) {
    const auto a = mat(3, 2, {N, N, -2.5F, N, N, N});
    // min = max = −2.5 → constant → 0
    expectMatrix(normalize(a, NormScope::Matrix), mat(3, 2, {N, N, 0, N, N, N}));
    expectMatrix(normalize(a, NormScope::ColumnMinMax), mat(3, 2, {N, N, 0, N, N, N}));
    // |−2.5| / 2.5 = 1; column 1 has no finite entry → NaN
    expectMatrix(normalize(a, NormScope::ColumnL1), mat(3, 2, {N, N, 1, N, N, N}));
}

TEST(Normalize, NoFiniteEntryOrNoRowsUsed) {
    const auto a = mat(2, 2, {N, N, N, N});
    for (NormScope s : {NormScope::Matrix, NormScope::ColumnMinMax, NormScope::ColumnL1})
        expectMatrix(normalize(a, s), a);
    // rowsUsed = 0: no parameters → every cell NaN
    for (NormScope s : {NormScope::Matrix, NormScope::ColumnMinMax, NormScope::ColumnL1})
        expectMatrix(normalize(small(), s, 0), AttributionMatrix::filled(5, 3));
}

TEST(Normalize, InfinityIsNoValue) {
    // finite {1, 3}: 1 → 0, 3 → 1; ±inf → NaN
    expectMatrix(normalize(mat(2, 2, {1, Inf, 3, -Inf}), NormScope::Matrix), mat(2, 2, {0, N, 1, N}));
    // col0 Σ = 1+3 = 4 → 0.25, 0.75
    expectMatrix(normalize(mat(2, 2, {1, Inf, 3, -Inf}), NormScope::ColumnL1),
                 mat(2, 2, {0.25F, N, 0.75F, N}));
}

TEST(Normalize, EmptyAndMalformed) {
    EXPECT_EQ(normalize(mat(3, 0, {}), NormScope::Matrix), mat(3, 0, {}));
    EXPECT_EQ(normalize(AttributionMatrix{}, NormScope::ColumnL1), AttributionMatrix{});
    const AttributionMatrix bad{2, 2, {1, 2, 3}};
    EXPECT_TRUE(normalize(bad, NormScope::Matrix).empty());
}

} // namespace
} // namespace tokenlens::analysis
