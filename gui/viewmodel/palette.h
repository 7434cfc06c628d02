#pragma once
// Method colours and how the views turn intensities (seed eq. 7, values in
// [0,1]) into colours. Pure functions, tested without widgets.
//
// Each method has a fixed colour from a colour-blind-safe palette (IBM Design
// Library's blue, magenta, orange and gold, plus Okabe–Ito's bluish green),
// chosen by the method's place in the registry so that a method keeps its
// colour in every result. With several methods active a token's colour is
//   hue     = Σ_m v_m·C_m / Σ_m v_m   (which methods say "important")
//   opacity = mean_m v_m               (how strongly they agree: eq. 10's mean)
// over the methods whose intensity v_m is finite. Blue (attention) and magenta
// (integrated gradients) at equal strength give purple; a token only one
// method rates high shows that method's colour at half strength.

#include "result/method_style.h"

#include <QColor>
#include <QString>

#include <span>
#include <string>

namespace tokenlens::gui {

// Palette colour of a method id ("attention", ...); grey for unknown ids.
QColor methodColour(const std::string& methodId);
// Short human name ("Integrated gradients").
QString methodLabel(const std::string& methodId);
// The method's one-sentence description from the registry (tooltips).
QString methodDescription(const std::string& methodId);
// 0-based place in the registry (the order of the method buttons), -1 when unknown.
int methodOrder(const std::string& methodId);

// Largest opacity a token box or heatmap cell reaches (intensity 1).
using tokenlens::kMaxFillAlpha;

// The blend above; `intensities` and `colours` have one entry per active
// method. NaN intensities are skipped; values are clamped to [0,1]. No finite
// value, or all 0 → fully transparent. The alpha is opacity·kMaxFillAlpha.
QColor blendIntensities(std::span<const double> intensities, std::span<const QColor> colours);

// `fill` (with alpha) painted over the opaque `background`.
QColor composite(const QColor& fill, const QColor& background);

// Relative luminance (WCAG 2) of an opaque colour.
double luminance(const QColor& c);
// WCAG contrast ratio of two opaque colours (1..21).
double contrastRatio(const QColor& a, const QColor& b);
// Black or white, whichever reads better on the opaque `background`.
QColor readableTextOn(const QColor& background);

} // namespace tokenlens::gui
