// The segment scale (analysis/segment_scale.h): the raw matrix summed into
// segments, then normalised on its segment rows, the output rows on the same
// scale. Expected values worked out by hand from the matrix below.

#include "analysis/segment_scale.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace tokenlens;
using namespace tokenlens::analysis;

namespace {

// n = 5 prompt tokens, t = 2 outputs. Tokens 0..2 form segment 0, whose
// column sums are 2 and 1; tokens 3..4 (all zeros) form segment 1. The token
// matrix is signed (−1 in row 2), the segment matrix is not.
const float nan = std::nanf("");
const AttributionMatrix kRaw{7, 2, {1.f, 0.f,      // x0
                                    2.f, 0.f,      // x1
                                    -1.f, 1.f,     // x2
                                    0.f, 0.f,      // x3
                                    0.f, 0.f,      // x4
                                    nan, 0.5f,     // y0
                                    nan, nan}};    // y1
const std::vector<PromptSegment> kSegments{{0, 3, 0, 0, ""}, {3, 5, 0, 0, ""}};

TEST(SegmentScale, WholeMatrixScaleOfTheSegmentSums) {
    const AttributionMatrix s = normalizedSegments(kRaw, kSegments, NormScope::Matrix);
    ASSERT_EQ(s.rows, 2 + 2);
    ASSERT_EQ(s.cols, 2);
    // Segment rows: min 0, max 2. The strongest cell is 1, a segment of zeros 0.
    EXPECT_FLOAT_EQ(s.at(0, 0), 1.f);
    EXPECT_FLOAT_EQ(s.at(0, 1), 0.5f);
    EXPECT_FLOAT_EQ(s.at(1, 0), 0.f);
    EXPECT_FLOAT_EQ(s.at(1, 1), 0.f);
    // Output rows on the same scale: 0.5 / 2.
    EXPECT_TRUE(std::isnan(s.at(2, 0)));
    EXPECT_FLOAT_EQ(s.at(2, 1), 0.25f);
    EXPECT_TRUE(std::isnan(s.at(3, 1)));
}

TEST(SegmentScale, PerColumnScalesOfTheSegmentSums) {
    const AttributionMatrix mm = normalizedSegments(kRaw, kSegments, NormScope::ColumnMinMax);
    EXPECT_FLOAT_EQ(mm.at(0, 1), 1.f); // column 1: segment sums 1 and 0
    EXPECT_FLOAT_EQ(mm.at(1, 1), 0.f);
    EXPECT_FLOAT_EQ(mm.at(2, 1), 0.5f);
    const AttributionMatrix l1 = normalizedSegments(kRaw, kSegments, NormScope::ColumnL1);
    EXPECT_FLOAT_EQ(l1.at(0, 0), 1.f); // |2| / 2
    EXPECT_FLOAT_EQ(l1.at(1, 0), 0.f);
    EXPECT_FLOAT_EQ(l1.at(2, 1), 0.5f); // |0.5| / 1
}

TEST(SegmentScale, OneTokenSegmentsGiveTheTokenScale) {
    // Every token its own segment: exactly the token-level normalisation.
    std::vector<PromptSegment> singles;
    for (int64_t k = 0; k < 5; ++k) singles.push_back({k, k + 1, 0, 0, ""});
    for (NormScope scope : {NormScope::Matrix, NormScope::ColumnMinMax, NormScope::ColumnL1}) {
        const AttributionMatrix s = normalizedSegments(kRaw, singles, scope);
        const AttributionMatrix t = normalize(kRaw, scope, 5);
        ASSERT_EQ(s.data.size(), t.data.size());
        for (size_t i = 0; i < s.data.size(); ++i) {
            if (std::isnan(t.data[i])) EXPECT_TRUE(std::isnan(s.data[i])) << i;
            else EXPECT_FLOAT_EQ(s.data[i], t.data[i]) << i;
        }
    }
}

} // namespace
