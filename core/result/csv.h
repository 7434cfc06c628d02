#pragma once
// CSV of a matrix (RFC 4180): a header row with `corner` and the column
// labels, then one row per matrix row with its label and values. NaN cells are
// empty; numbers are written with 9 significant digits (float32 exact).

#include "result/attribution_matrix.h"

#include <string>
#include <vector>

namespace tokenlens {

std::string csvField(const std::string& s);
std::string matrixCsv(const AttributionMatrix& a, const std::vector<std::string>& rowLabels,
                      const std::vector<std::string>& colLabels, const std::string& corner);

} // namespace tokenlens
