#pragma once
// Light and dark palettes. "System" follows the palette the platform gave the
// application at start-up (Qt 6.4 has no colour-scheme signal); Light and Dark
// force Fusion's light palette or a dark one.

#include <QPalette>
#include <QString>

namespace tokenlens::gui {

enum class Theme { System, Light, Dark };

QString themeKey(Theme theme); // "system" | "light" | "dark" (settings, --theme)
Theme themeFromKey(const QString& key);

// Remembers the platform palette; call once, before any applyTheme().
void captureSystemPalette();
void applyTheme(Theme theme);
QPalette lightPalette();
QPalette darkPalette();
bool isDark(const QPalette& palette);

} // namespace tokenlens::gui
