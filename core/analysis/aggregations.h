#pragma once
// All aggregations of tokenlens_analysis in one include (definitions in
// docs/aggregations.md).

#include "analysis/alignment.h"        // model comparison: output/prompt alignment, aligned difference
#include "analysis/categories.h"       // linguistic categories, mass per category
#include "analysis/combine.h"          // multiMethod, difference, differenceNormalized
#include "analysis/normalization.h"    // NormScope, Range, finiteRange, intensity, normalize
#include "analysis/statistics.h"       // topK, rank, histogram, spearman, kendallTauB, gini, entropy
#include "analysis/temporal.h"         // temporalImportance and its weights
#include "analysis/token_importance.h" // tokenImportance (eq. 6)
#include "analysis/window.h"           // maxWindow, clampWindow, input/output-centred windows
