#pragma once
// A result as one self-contained HTML page (no network, no files beside it):
// the token view with hover and pinning, method toggles whose colours blend
// as in the app, and the heatmap, drawn by a small script from the result's
// matrices embedded in the page. `#selftest` at the end of the page's address
// makes the page hover a token itself and write what it highlighted into
// <pre id="selftest"> (the Chromium test reads it). docs/export.md.

#include "result/job_result.h"

#include <string>

namespace tokenlens {

std::string writeHtmlPage(const JobResult& job, const std::string& title);

// The page's data block: the completed results with their tokens, colours,
// matrices (NaN as null) and prompt segments (token range, label, text), as
// the script reads them. Segments of several tokens show folded into one chip
// that opens on click, and the heatmap has one row per segment (the sum of
// its token rows' intensities), as in the app's token view and heatmap.
nlohmann::json htmlPageData(const JobResult& job, const std::string& title);

} // namespace tokenlens
