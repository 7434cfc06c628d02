#pragma once
// The token view: prompt and output as running text, each token a box whose
// fill shows the current colouring (ResultModel::colouring). Hover a token to
// see its context window, click to pin it, Esc to clear. A legend on top says
// what the colours mean; it is part of the PNG export. A chat result gets a
// band per message behind its tokens, its role in a gutter on the left, and
// the chat template's own tokens dimmed (token_view_bands.cpp).

#include "viewmodel/result_model.h"
#include "viewmodel/role_bands.h"
#include "viewmodel/token_layout.h"

#include <QAbstractScrollArea>
#include <QStaticText>

#include <vector>

namespace tokenlens::gui {

class SelectionModel;

// Linguistic category modes (seed §4.5; analysis/categories.h):
//   Highlight  — tokens of the selected categories as usual, the others faded;
//   Isolation  — only the selected categories' tokens are drawn;
//   Comparison — every token outlined in its category's colour.
enum class CategoryMode { Off, Highlight, Isolation, Comparison };
// Outline colour of a built-in category (index of analysis::Category).
QColor categoryColour(int category);

class TokenView : public QAbstractScrollArea {
    Q_OBJECT
public:
    TokenView(const ResultModel* model, SelectionModel* selection, QWidget* parent = nullptr);

    // The result or the current model changed (new tokens): lay out again.
    void tokensChanged();
    // Methods, window or scope changed: colour again.
    void coloursChanged();

    // Up to date with the model and the selection.
    const Colouring& colouring() const;
    QColor fillOf(int64_t k) const; // blended fill (with alpha) of context token k
    const TokenLayout& layout() const { return m_layout; }
    // Token k in viewport coordinates (empty when there is no such token).
    QRectF tokenRect(int64_t k) const;
    void ensureTokenVisible(int64_t k);

    // The whole view (legend and every token, not only the visible part) with
    // `title` above it, at `scale` device pixels per pixel.
    QImage render(double scale, const QString& title) const;
    // The same figure for any paint device (SVG, PDF): its size in pixels
    // and the painting, which is the screen's (paintContent).
    QSizeF figureSize(const QString& title) const;
    void paintFigure(QPainter& p, const QString& title) const;

    // Category view: `categories` holds each context token's built-in category
    // (index of analysis::Category), `selected` a bit per category.
    void setCategoryView(CategoryMode mode, std::vector<int> categories, unsigned selected);
    // With user categories: `membership` holds each token's categories as bits
    // (bit c: built-in category c, bit 7 + u: user category u), `selected`
    // the categories shown; `categories` still gives the comparison outline.
    void setCategoryView(CategoryMode mode, std::vector<int> categories, std::vector<uint64_t> membership,
                         uint64_t selected);
    CategoryMode categoryMode() const { return m_categoryMode; }
    // Whether token k is drawn (false only for hidden tokens in Isolation).
    bool tokenShown(int64_t k) const;
    bool tokenEmphasised(int64_t k) const; // drawn at full strength

    // Conversation turns (timeline panel): a stripe along the bottom of each
    // context token in its turn's colour (an invalid colour: none); an empty
    // vector clears them.
    void setTurnTints(std::vector<QColor> tints);
    const std::vector<QColor>& turnTints() const { return m_turnTints; }

    // A chat result's role bands (one per message, in token order) and the
    // rectangle of band i in viewport coordinates; empty for plain text.
    const std::vector<RoleBand>& roleBands() const { return m_bands; }
    QRectF bandRect(size_t i) const;
    // The band's role label, in the gutter left of its first line.
    QRectF bandLabelRect(size_t i) const;
    double gutterWidth() const { return m_gutter; }

    // One line saying what the colours currently show.
    QString modeDescription() const;

    // Marks drawn over tokens (bits of TokenMark per context index), e.g. by
    // the split view: the tokens aligned with the other pane's hovered token,
    // tokens the other result does not have, the token a counterfactual edit
    // changed. Empty: none.
    enum TokenMark : unsigned char { MarkLinked = 1, MarkUnmatched = 2, MarkChanged = 4 };
    void setTokenMarks(std::vector<unsigned char> marks);
    unsigned char tokenMark(int64_t k) const;
    static QColor markColour(TokenMark mark);
    // Prompt tokens can be edited in place (double-click or the context
    // menu's "Edit token…"): emits editRequested.
    void setEditable(bool on) { m_editable = on; }
    bool editable() const { return m_editable; }

    // Segments of the job's granularity (ResultModel::promptSegments): a
    // segment of several tokens is drawn folded, as one chip on its first
    // token holding its text (and label) and coloured by the segment's own
    // value on the segment scale (Colouring::segmentFills); a click on the
    // chip unfolds it, the context menu folds it again (or every segment).
    size_t segmentCount() const { return m_segmentOpen.size(); }
    int segmentOf(int64_t k) const; // -1: not in a foldable segment
    bool segmentFolded(size_t s) const { return s < m_segmentOpen.size() && !m_segmentOpen[s]; }
    void setSegmentFolded(size_t s, bool folded);
    void setAllSegmentsFolded(bool folded);
    // Token k is the first token of a folded segment (its chip).
    bool isChip(int64_t k) const;
    // Token k is inside a folded segment and not drawn.
    bool isFoldedAway(int64_t k) const;
    QString chipText(size_t s) const;
    QColor chipFill(size_t s) const; // the fill of segment s's chip (with alpha)

    QSize sizeHint() const override;

signals:
    // The user asked to edit prompt token k (context index, k < n).
    void editRequested(qint64 k);

protected:
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void contextMenuEvent(QContextMenuEvent* event) override;
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void scrollContentsBy(int dx, int dy) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void changeEvent(QEvent* event) override;
    bool viewportEvent(QEvent* event) override;

private:
    void relayout();
    void updateScrollBar();
    void ensureColouring() const;
    double legendHeight() const;
    int64_t tokenAt(QPointF viewportPos) const;
    // Paints content rows [top, bottom) (content coordinates) with `p`
    // translated so that content y = 0 is at the painter's origin.
    void paintContent(QPainter& p, double top, double bottom, const QPalette& pal) const;
    void paintLegend(QPainter& p, const QPalette& pal, double width) const;
    // The role bands (content coordinates) meeting rows [top, bottom).
    void paintBands(QPainter& p, double top, double bottom) const;
    QRectF bandContentRect(size_t i) const;
    void updateBands();
    QFont figureTitleFont() const;

    const ResultModel* m_model;
    SelectionModel* m_selection;
    TokenLayout m_layout;
    // Display text of every token; its QStaticText is prepared when first painted.
    std::vector<QString> m_display;
    mutable std::vector<QStaticText> m_texts;
    mutable std::vector<bool> m_textReady;
    const QStaticText& staticText(size_t k) const;
    double m_margin = 12;
    CategoryMode m_categoryMode = CategoryMode::Off;
    std::vector<int> m_categories;
    std::vector<uint64_t> m_membership;
    uint64_t m_selectedCategories = 0;
    std::vector<QColor> m_turnTints;
    std::vector<unsigned char> m_marks;
    bool m_editable = false;
    std::vector<RoleBand> m_bands;
    double m_gutter = 0; // role labels, left of the tokens (0 without bands)

    // Foldable segments (two tokens or more): token ranges, open flags, and
    // each context token's segment (-1: none).
    std::vector<std::pair<int64_t, int64_t>> m_segmentRanges;
    std::vector<QString> m_segmentLabels;
    std::vector<bool> m_segmentOpen;
    std::vector<int> m_segmentOfToken;
    mutable std::vector<QColor> m_chipFills, m_chipTextColours; // per segment

    mutable bool m_colourDirty = true;
    mutable int64_t m_colouredFocus = -2;
    mutable Colouring m_colouring;
    mutable std::vector<QColor> m_textColours;
    mutable QColor m_colouredBase;
};

} // namespace tokenlens::gui
