// Context windows (eq. 4, eq. 5). Every expected value is computed by hand in
// the comment next to it.
#include "analysis/window.h"

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

// n = 2, t = 3: column j is finite on rows 0..n+j−1 = 0..1+j (contract NaNs).
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

// n = 4, t = 4: maxWindow = 2.
AttributionMatrix big() {
    return mat(8, 4,
               {
                   1,  2,  3,  4,  // x0
                   5,  6,  7,  8,  // x1
                   9,  10, 11, 12, // x2
                   13, 14, 15, 16, // x3
                   N,  1,  2,  3,  // y0
                   N,  N,  4,  5,  // y1
                   N,  N,  N,  6,  // y2
                   N,  N,  N,  N,  // y3
               });
}

TEST(WindowBounds, MaxWindowIsHalfTheShorterSide) {
    EXPECT_EQ(maxWindow(4, 4), 2);  // ⌊4/2⌋
    EXPECT_EQ(maxWindow(2, 3), 1);  // ⌊2/2⌋
    EXPECT_EQ(maxWindow(5, 3), 1);  // ⌊3/2⌋
    EXPECT_EQ(maxWindow(7, 9), 3);  // ⌊7/2⌋
    EXPECT_EQ(maxWindow(10, 5), 2); // ⌊5/2⌋
    EXPECT_EQ(maxWindow(1, 5), 0);  // min = 1 < 2
    EXPECT_EQ(maxWindow(5, 1), 0);
    EXPECT_EQ(maxWindow(3, 0), 0);
    EXPECT_EQ(maxWindow(0, 0), 0);
    EXPECT_EQ(maxWindow(-1, 4), 0);
}

TEST(WindowBounds, ClampWindow) {
    EXPECT_EQ(clampWindow(1, 4, 4), 1);
    EXPECT_EQ(clampWindow(2, 4, 4), 2); // = maxWindow
    EXPECT_EQ(clampWindow(3, 4, 4), 2); // above → max
    EXPECT_EQ(clampWindow(0, 4, 4), 1); // below → 1
    EXPECT_EQ(clampWindow(-5, 4, 4), 1);
    EXPECT_EQ(clampWindow(1, 1, 5), 0); // no admissible window
    EXPECT_EQ(clampWindow(3, 1, 5), 0);
    EXPECT_EQ(clampWindow(1, 3, 0), 0); // t = 0
}

TEST(WindowBounds, EffectiveWindowKeepsZeroAsTheTokenAlone) {
    EXPECT_EQ(effectiveWindow(0, 4, 4), 0);
    EXPECT_EQ(effectiveWindow(-2, 4, 4), 0);
    EXPECT_EQ(effectiveWindow(1, 4, 4), 1);
    EXPECT_EQ(effectiveWindow(9, 4, 4), 2);
    EXPECT_EQ(effectiveWindow(1, 1, 5), 0);
}

TEST(InputCentredWindow, SmallMatrixWindowOne) {
    const auto a = small();
    // i = 0, c = 1: rows max(0,−1)=0 .. min(1,1)=1
    //   col0 (0.5+1.5)/2 = 1, col1 (1+3)/2 = 2, col2 (2+0)/2 = 1
    expectVec(inputCentredWindow(a, 2, 0, 1), {1.0, 2.0, 1.0});
    // i = 1, c = 1: rows 0 .. min(1, 2) = 1, the same rows
    expectVec(inputCentredWindow(a, 2, 1, 1), {1.0, 2.0, 1.0});
    // c = 4 > maxWindow(2,3) = 1 → clamped to 1: same as above
    expectVec(inputCentredWindow(a, 2, 1, 4), {1.0, 2.0, 1.0});
    // c = 0: row 1 alone
    expectVec(inputCentredWindow(a, 2, 1, 0), {1.5, 3.0, 0.0});
}

TEST(InputCentredWindow, BigMatrixBoundsOfC) {
    const auto a = big();
    // i = 0, c = 1: rows 0..1 → (1+5)/2=3, (2+6)/2=4, (3+7)/2=5, (4+8)/2=6
    expectVec(inputCentredWindow(a, 4, 0, 1), {3, 4, 5, 6});
    // i = 1, c = 1: rows 0..2 → (1+5+9)/3=5, (2+6+10)/3=6, (3+7+11)/3=7, (4+8+12)/3=8
    expectVec(inputCentredWindow(a, 4, 1, 1), {5, 6, 7, 8});
    // i = 1, c = 2 = maxWindow: rows 0..3 → (1+5+9+13)/4=7, (2+6+10+14)/4=8, 9, 10
    expectVec(inputCentredWindow(a, 4, 1, 2), {7, 8, 9, 10});
    // c = 5 → clamped to 2: same
    expectVec(inputCentredWindow(a, 4, 1, 5), {7, 8, 9, 10});
    // i = 3, c = 2: rows 1..3 (not into the output rows) → (5+9+13)/3=9, 10, 11, 12
    expectVec(inputCentredWindow(a, 4, 3, 2), {9, 10, 11, 12});
    // c = 0 and c < 0: row 2 alone
    expectVec(inputCentredWindow(a, 4, 2, 0), {9, 10, 11, 12});
    expectVec(inputCentredWindow(a, 4, 2, -3), {9, 10, 11, 12});
}

TEST(InputCentredWindow, SkipsNaN) {
    auto a = big();
    a.at(1, 2) = N;
    a.at(0, 3) = N;
    a.at(1, 3) = N;
    // i = 0, c = 1: rows 0..1 → col0 (1+5)/2=3, col1 (2+6)/2=4,
    //   col2 {3, NaN} → 3, col3 {NaN, NaN} → NaN
    expectVec(inputCentredWindow(a, 4, 0, 1), {3, 4, 3, DN});
}

TEST(InputCentredWindow, OutOfRangeTokenIsEmpty) {
    const auto a = small();
    EXPECT_TRUE(inputCentredWindow(a, 2, 2, 1).empty()); // row 2 is y0, not a prompt token
    EXPECT_TRUE(inputCentredWindow(a, 2, -1, 1).empty());
    EXPECT_TRUE(inputCentredWindow(a, 0, 0, 1).empty()); // n = 0
}

TEST(OutputCentredWindow, SmallMatrixPromptRows) {
    const auto a = small();
    // j = 1, c = 1: columns 0..2 → x0 (0.5+1+2)/3 = 3.5/3, x1 (1.5+3+0)/3 = 1.5
    expectVec(outputCentredWindow(a, 2, 1, 1), {3.5 / 3.0, 1.5});
    // j = 0, c = 1: columns 0..1 → x0 (0.5+1)/2 = 0.75, x1 (1.5+3)/2 = 2.25
    expectVec(outputCentredWindow(a, 2, 0, 1), {0.75, 2.25});
    // j = 2, c = 1: columns 1..2 → x0 (1+2)/2 = 1.5, x1 (3+0)/2 = 1.5
    expectVec(outputCentredWindow(a, 2, 2, 1), {1.5, 1.5});
    // c = 7 → clamped to 1
    expectVec(outputCentredWindow(a, 2, 0, 7), {0.75, 2.25});
    // c = 0: column 1 alone
    expectVec(outputCentredWindow(a, 2, 1, 0), {1.0, 3.0});
}

TEST(OutputCentredWindow, SmallMatrixAllContextRows) {
    const auto a = small();
    // j = 1, c = 1, columns 0..2:
    //   x0 3.5/3, x1 1.5, y0 {NaN,2,1} → 1.5, y1 {NaN,NaN,4} → 4, y2 all NaN → NaN
    expectVec(outputCentredWindow(a, 2, 1, 1, true), {3.5 / 3.0, 1.5, 1.5, 4.0, DN});
    // j = 0, c = 1, columns 0..1: x0 0.75, x1 2.25, y0 {NaN,2} → 2, y1 NaN, y2 NaN
    expectVec(outputCentredWindow(a, 2, 0, 1, true), {0.75, 2.25, 2.0, DN, DN});
    // c = 0, column 1 alone: 1, 3, 2, NaN, NaN
    expectVec(outputCentredWindow(a, 2, 1, 0, true), {1.0, 3.0, 2.0, DN, DN});
}

TEST(OutputCentredWindow, BigMatrixMaxWindow) {
    const auto a = big();
    // j = 0, c = 2: columns 0..2 → x0 (1+2+3)/3=2, x1 (5+6+7)/3=6, x2 10, x3 14,
    //   y0 {NaN,1,2} → 1.5, y1 {NaN,NaN,4} → 4, y2 NaN, y3 NaN
    expectVec(outputCentredWindow(a, 4, 0, 2, true), {2, 6, 10, 14, 1.5, 4, DN, DN});
    // j = 3, c = 2: columns 1..3 → x0 (2+3+4)/3=3, x1 7, x2 11, x3 15,
    //   y0 (1+2+3)/3 = 2, y1 (4+5)/2 = 4.5, y2 6, y3 NaN
    expectVec(outputCentredWindow(a, 4, 3, 2, true), {3, 7, 11, 15, 2, 4.5, 6, DN});
    // prompt rows only
    expectVec(outputCentredWindow(a, 4, 3, 2), {3, 7, 11, 15});
    // c = 1 (lower bound), j = 3: columns 2..3 → x0 (3+4)/2 = 3.5, x1 7.5, x2 11.5, x3 15.5
    expectVec(outputCentredWindow(a, 4, 3, 1), {3.5, 7.5, 11.5, 15.5});
}

TEST(OutputCentredWindow, OutOfRangeTokenIsEmpty) {
    const auto a = small();
    EXPECT_TRUE(outputCentredWindow(a, 2, 3, 1).empty());
    EXPECT_TRUE(outputCentredWindow(a, 2, -1, 1, true).empty());
}

TEST(Windows, NoOutputTokens) {
    // n = 3, t = 0: a 3×0 matrix.
    const auto a = mat(3, 0, {});
    EXPECT_EQ(maxWindow(3, 0), 0);
    EXPECT_TRUE(inputCentredWindow(a, 3, 0, 1).empty());  // t = 0 values
    EXPECT_TRUE(outputCentredWindow(a, 3, 0, 1).empty()); // no output token 0
    EXPECT_TRUE(outputCentredWindow(a, 3, 0, 1, true).empty());
    const AttributionMatrix none;
    EXPECT_TRUE(inputCentredWindow(none, 0, 0, 1).empty());
    EXPECT_TRUE(outputCentredWindow(none, 0, 0, 1).empty());
}

TEST(Windows, NoPromptTokens) {
    // n = 0, t = 2: rows y0, y1; maxWindow(0, 2) = 0 → the column alone.
    const auto a = mat(2, 2, {N, 5, N, N});
    EXPECT_TRUE(outputCentredWindow(a, 0, 1, 1).empty()); // n = 0 prompt values
    expectVec(outputCentredWindow(a, 0, 1, 1, true), {5.0, DN});
}

TEST(Windows, MalformedMatrixGivesEmpty) {
    const AttributionMatrix bad{2, 2, {1, 2, 3}};
    EXPECT_TRUE(inputCentredWindow(bad, 2, 0, 1).empty());
    EXPECT_TRUE(outputCentredWindow(bad, 2, 0, 1).empty());
}

} // namespace
} // namespace tokenlens::analysis
