#pragma once
// The fixed colour and the short name of every attribution method, shared by
// the GUI's palette (gui/viewmodel/palette.h) and the exported HTML page, so
// that a method has the same colour on screen, in figures and on the page.

#include <cstdint>
#include <span>
#include <string>

namespace tokenlens {

struct MethodStyle {
    const char* id;
    const char* label;
    uint32_t rgb; // 0xRRGGBB
};

std::span<const MethodStyle> methodStyles();
// nullptr for an unknown id (the views draw it grey, kUnknownMethodRgb).
const MethodStyle* findMethodStyle(const std::string& id);
inline constexpr uint32_t kUnknownMethodRgb = 0x808080;
// Largest opacity a token box or heatmap cell reaches (intensity 1).
inline constexpr double kMaxFillAlpha = 0.88;

} // namespace tokenlens
