#pragma once
// Running-text layout of the prompt and output tokens for the token view, and
// hit-testing. A value type: the text width comes from a measuring function,
// so it is tested without fonts or widgets.
//
// The prompt block comes first under a heading, then the output block under
// its own heading. Inside a block the tokens flow left to right and wrap at the
// available width; a token's box is its display text (spaces kept, so a
// leading space widens the box) plus padding. A token containing newlines ends
// its line (one line break per newline: blank lines are kept). A token wider
// than the whole line gets a line of its own, cut to the width.

#include <QPointF>
#include <QRectF>
#include <QString>

#include <cstdint>
#include <functional>
#include <vector>

namespace tokenlens::gui {

struct TokenLayoutParams {
    double left = 0;
    double top = 0;
    double width = 600;     // available width
    double lineHeight = 22; // height of a token box
    double lineGap = 6;     // vertical space between lines
    double padding = 3;     // inside a box, left and right of the text
    double boxGap = 1;      // horizontal space between boxes
    double headingHeight = 24;
    double sectionGap = 14; // above the output heading
    double bandGap = 0;     // extra space above a line that `lineStarts` opens (role bands)
};

struct TokenBox {
    int64_t index = -1; // context index
    QRectF rect;
    QString text;       // what is drawn
};

struct TokenLine {
    double top = 0, bottom = 0;
    size_t first = 0, end = 0; // boxes [first, end)
};

class TokenLayout {
public:
    using Measure = std::function<double(const QString&)>;

    // `display[k]` is the text of context token k, `newlines[k]` the line
    // breaks after it; the first n tokens are the prompt. Each token of
    // `lineStarts` (a chat's role bands) starts a line of its own, `bandGap`
    // below the previous one.
    // Tokens of `hidden` (folded into a segment chip drawn on the segment's
    // first token) get an empty box where the next token starts: they take
    // no room and break no line, and hitTest never returns them.
    void compute(const std::vector<QString>& display, const std::vector<int>& newlines, int64_t n,
                 const TokenLayoutParams& params, const Measure& measure, const std::vector<int64_t>& lineStarts = {},
                 const std::vector<bool>& hidden = {});

    const std::vector<TokenBox>& boxes() const { return m_boxes; } // boxes()[k].index == k
    const std::vector<TokenLine>& lines() const { return m_lines; }
    QRectF box(int64_t k) const;
    QRectF promptHeading() const { return m_promptHeading; }
    QRectF outputHeading() const { return m_outputHeading; }
    double height() const { return m_height; } // bottom of the last line
    const TokenLayoutParams& params() const { return m_params; }

    // The token under `p`, or -1. Half of the gaps between boxes and lines
    // count for their neighbours, so that sweeping the mouse over the text
    // never falls through between two tokens of a line.
    int64_t hitTest(QPointF p) const;
    // Lines whose vertical extent meets [top, bottom): [first, end) into lines().
    std::pair<size_t, size_t> linesBetween(double top, double bottom) const;

private:
    TokenLayoutParams m_params;
    std::vector<TokenBox> m_boxes;
    std::vector<TokenLine> m_lines;
    QRectF m_promptHeading, m_outputHeading;
    double m_height = 0;
};

} // namespace tokenlens::gui
