#pragma once
// The desktop application's main(): command line, main window, event loop.
//
//   tokenlens [FILE...] [--theme system|light|dark]
//             [--screenshot PNG [--size WxH] [--delay MS]]
//             [--methods ID,ID] [--window C] [--scope matrix|column|l1]
//             [--hover K] [--pin K] [--cell ROW,COL] [--heatmap fit|reset|ZOOM]
//             [--page newjob|jobs|dashboard] [--show-model NAME] [--then-open FILE]
//             [--export-tokens PNG] [--export-heatmap PNG] [--scale S]
//
// FILE opens like a dropped file. --screenshot saves the window once the
// files are open and the view state is applied, then quits (for
// scripts/screenshots.sh and for looking at the app without a display).

class QApplication;

namespace tokenlens::gui {

int runApplication(QApplication& app);

} // namespace tokenlens::gui
