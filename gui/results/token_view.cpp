#include "results/token_view.h"

#include "results/figure_image.h"
#include "results/selection_model.h"
#include "viewmodel/palette.h"

#include <QEvent>
#include <QFontMetricsF>
#include <QHash>
#include <QKeyEvent>
#include <QLinearGradient>
#include <QMenu>
#include <QContextMenuEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QScrollBar>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

namespace {

TokenLayoutParams layoutParams(const QFontMetricsF& fm, double left, double top, double width) {
    TokenLayoutParams p;
    p.left = left;
    p.top = top;
    p.width = std::max(80.0, width);
    p.lineHeight = std::ceil(fm.height()) + 6;
    p.lineGap = 5;
    p.padding = 3;
    p.boxGap = 2;
    p.headingHeight = std::ceil(fm.height()) + 10;
    p.sectionGap = 10;
    return p;
}

} // namespace

TokenView::TokenView(const ResultModel* model, SelectionModel* selection, QWidget* parent)
    : QAbstractScrollArea(parent), m_model(model), m_selection(selection) {
    viewport()->setMouseTracking(true);
    viewport()->setAttribute(Qt::WA_OpaquePaintEvent);
    viewport()->setBackgroundRole(QPalette::Base);
    setFocusPolicy(Qt::StrongFocus);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    setFrameShape(QFrame::NoFrame);
    setAccessibleName(tr("Token view"));
    connect(selection, &SelectionModel::changed, viewport(), [this] { viewport()->update(); });
    tokensChanged();
}

QSize TokenView::sizeHint() const { return {640, 320}; }

void TokenView::tokensChanged() {
    const auto& tokens = m_model->contextTokens();
    m_display.clear();
    m_display.reserve(tokens.size());
    for (const auto& t : tokens) m_display.push_back(displayToken(t));
    m_texts.assign(tokens.size(), QStaticText());
    m_textReady.assign(tokens.size(), false);
    m_segmentRanges.clear();
    m_segmentLabels.clear();
    m_segmentOfToken.assign(tokens.size(), -1);
    for (const auto& seg : m_model->promptSegments()) {
        if (seg.tokenEnd - seg.tokenStart < 2 || seg.tokenEnd > static_cast<int64_t>(tokens.size())) continue;
        for (int64_t k = seg.tokenStart; k < seg.tokenEnd; ++k) {
            m_segmentOfToken[static_cast<size_t>(k)] = static_cast<int>(m_segmentRanges.size());
        }
        m_segmentRanges.emplace_back(seg.tokenStart, seg.tokenEnd);
        m_segmentLabels.push_back(QString::fromStdString(seg.label));
    }
    m_segmentOpen.assign(m_segmentRanges.size(), false); // folded at first
    m_colourDirty = true;
    updateBands();
    relayout();
}

int TokenView::segmentOf(int64_t k) const {
    return k >= 0 && static_cast<size_t>(k) < m_segmentOfToken.size() ? m_segmentOfToken[static_cast<size_t>(k)] : -1;
}

bool TokenView::isChip(int64_t k) const {
    const int s = segmentOf(k);
    return s >= 0 && !m_segmentOpen[static_cast<size_t>(s)] && m_segmentRanges[static_cast<size_t>(s)].first == k;
}

bool TokenView::isFoldedAway(int64_t k) const {
    const int s = segmentOf(k);
    return s >= 0 && !m_segmentOpen[static_cast<size_t>(s)] && m_segmentRanges[static_cast<size_t>(s)].first != k;
}

QString TokenView::chipText(size_t s) const {
    if (s >= m_segmentRanges.size()) return {};
    QString text = m_model->segmentSourceText(m_segmentRanges[s].first);
    if (text.isEmpty()) {
        for (int64_t k = m_segmentRanges[s].first; k < m_segmentRanges[s].second; ++k) text += m_display[static_cast<size_t>(k)];
    }
    // "▸" says the chip opens; a label (a user span's) comes first.
    return QStringLiteral("\u25B8 ") + (m_segmentLabels[s].isEmpty() ? QString() : m_segmentLabels[s] + QStringLiteral(": ")) +
           text.trimmed();
}

void TokenView::setSegmentFolded(size_t s, bool folded) {
    if (s >= m_segmentOpen.size() || m_segmentOpen[s] == !folded) return;
    m_segmentOpen[s] = !folded;
    m_colourDirty = true;
    relayout();
}

void TokenView::setAllSegmentsFolded(bool folded) {
    if (m_segmentOpen.empty()) return;
    m_segmentOpen.assign(m_segmentOpen.size(), !folded);
    m_colourDirty = true;
    relayout();
}

const QStaticText& TokenView::staticText(size_t k) const {
    if (!m_textReady[k]) {
        QStaticText& st = m_texts[k];
        st.setText(m_display[k]);
        st.setTextFormat(Qt::PlainText);
        st.setPerformanceHint(QStaticText::AggressiveCaching);
        st.prepare(QTransform(), font());
        m_textReady[k] = true;
    }
    return m_texts[k];
}

void TokenView::coloursChanged() {
    m_colourDirty = true;
    viewport()->update();
}

double TokenView::legendHeight() const {
    const QFontMetricsF fm(font());
    return m_margin + 2 * (std::ceil(fm.height()) + 8) + 6;
}

void TokenView::relayout() {
    const QFontMetricsF fm(font());
    const auto& tokens = m_model->contextTokens();
    std::vector<int> breaks;
    breaks.reserve(tokens.size());
    for (size_t k = 0; k < tokens.size(); ++k) {
        // In a chat's bands the template's own line breaks ("</think>\n\n") end a line, no more.
        const int n = newlineCount(tokens[k]);
        breaks.push_back(!m_bands.empty() && m_model->isTemplateToken(static_cast<int64_t>(k)) ? std::min(n, 1) : n);
    }
    if (m_display.size() != tokens.size()) {
        m_display.clear();
        for (const auto& t : tokens) m_display.push_back(displayToken(t));
    }
    QHash<QString, double> widths;
    auto measure = [&](const QString& s) {
        auto it = widths.constFind(s);
        if (it != widths.constEnd()) return *it;
        const double w = fm.horizontalAdvance(s);
        widths.insert(s, w);
        return w;
    };
    const double width = viewport()->width() - 2 * m_margin - m_gutter;
    TokenLayoutParams params = layoutParams(fm, m_margin + m_gutter, legendHeight(), width);
    std::vector<int64_t> bandStarts;
    for (const auto& b : m_bands) bandStarts.push_back(b.first);
    if (!m_bands.empty()) params.bandGap = 8;
    if (m_segmentRanges.empty()) {
        m_layout.compute(m_display, breaks, m_model->promptLength(), params, measure, bandStarts);
    } else {
        // Folded segments: the chip on the first token, the others hidden; the
        // chip ends its line where the segment's last token did.
        std::vector<QString> shown = m_display;
        std::vector<bool> hidden(shown.size(), false);
        for (size_t s = 0; s < m_segmentRanges.size(); ++s) {
            if (m_segmentOpen[s]) continue;
            const auto [a, b] = m_segmentRanges[s];
            shown[static_cast<size_t>(a)] = chipText(s);
            breaks[static_cast<size_t>(a)] = breaks[static_cast<size_t>(b - 1)];
            for (int64_t k = a + 1; k < b; ++k) hidden[static_cast<size_t>(k)] = true;
        }
        m_layout.compute(shown, breaks, m_model->promptLength(), params, measure, bandStarts, hidden);
    }
    updateScrollBar();
    viewport()->update();
}

void TokenView::updateScrollBar() {
    const int content = static_cast<int>(std::ceil(m_layout.height() + m_margin));
    verticalScrollBar()->setRange(0, std::max(0, content - viewport()->height()));
    verticalScrollBar()->setPageStep(viewport()->height());
    verticalScrollBar()->setSingleStep(static_cast<int>(m_layout.params().lineHeight + m_layout.params().lineGap));
}

void TokenView::resizeEvent(QResizeEvent* event) {
    QAbstractScrollArea::resizeEvent(event);
    relayout();
}

void TokenView::scrollContentsBy(int, int) { viewport()->update(); }

void TokenView::changeEvent(QEvent* event) {
    QAbstractScrollArea::changeEvent(event);
    if (event->type() == QEvent::FontChange) tokensChanged(); // static texts are prepared for the font
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange) {
        m_colourDirty = true;
        viewport()->update();
    }
}

bool TokenView::viewportEvent(QEvent* event) {
    if (event->type() == QEvent::Leave) m_selection->setHovered(-1);
    return QAbstractScrollArea::viewportEvent(event);
}

void TokenView::leaveEvent(QEvent* event) {
    QAbstractScrollArea::leaveEvent(event);
    m_selection->setHovered(-1);
}

// ----------------------------------------------------------------- colours

void TokenView::ensureColouring() const {
    const int64_t focus = m_selection->focus();
    const QColor base = palette().color(QPalette::Base);
    if (!m_colourDirty && focus == m_colouredFocus && base == m_colouredBase) return;
    m_colouring = m_model->colouring(focus);
    m_colouredFocus = focus;
    m_colouredBase = base;
    m_colourDirty = false;
    const QColor text = palette().color(QPalette::Text);
    m_textColours.resize(m_colouring.fills.size());
    for (size_t k = 0; k < m_colouring.fills.size(); ++k) {
        const QColor& f = m_colouring.fills[k];
        m_textColours[k] = f.alpha() == 0 ? text : readableTextOn(composite(f, base));
    }
    // A chip's colour: its segment's own on the segment scale (ResultModel::colourSegments).
    m_chipFills.assign(m_segmentRanges.size(), QColor());
    m_chipTextColours.assign(m_segmentRanges.size(), text);
    for (size_t s = 0; s < m_segmentRanges.size(); ++s) {
        const int g = m_model->promptSegmentOf(m_segmentRanges[s].first);
        if (g < 0 || static_cast<size_t>(g) >= m_colouring.segmentFills.size()) continue;
        m_chipFills[s] = m_colouring.segmentFills[static_cast<size_t>(g)];
        if (m_chipFills[s].alpha() > 0) m_chipTextColours[s] = readableTextOn(composite(m_chipFills[s], base));
    }
}

const Colouring& TokenView::colouring() const {
    ensureColouring();
    return m_colouring;
}

QColor TokenView::chipFill(size_t s) const {
    ensureColouring();
    return s < m_chipFills.size() ? m_chipFills[s] : QColor();
}

QColor TokenView::fillOf(int64_t k) const {
    ensureColouring();
    return k >= 0 && static_cast<size_t>(k) < m_colouring.fills.size() ? m_colouring.fills[static_cast<size_t>(k)]
                                                                        : QColor();
}

QString TokenView::modeDescription() const {
    ensureColouring();
    const int64_t n = m_model->promptLength();
    const auto& c = m_colouring;
    QString scope = QStringLiteral(" · scale: %1").arg(scopeLabel(m_model->scope()));
    if (!m_model->segments().empty()) {
        scope += m_model->includeTemplate() ? tr(" · template tokens (dimmed) included")
                                            : tr(" · template tokens (dimmed) left out");
    }
    if (c.mode == ColourMode::Importance) {
        return tr("Token importance (eq. 6) of every token — hover a token for its context window, click to pin") +
               scope;
    }
    const QString who = QStringLiteral("%1%2 “%3”")
                            .arg(m_selection->pinned() >= 0 ? tr("Pinned ") : QString(), tokenSymbol(c.focus, n),
                                 displayToken(m_model->contextTokens()[static_cast<size_t>(c.focus)]));
    if (c.mode == ColourMode::InputWindow) {
        // At a segment granularity the window is c segments each side of the focus's segment.
        const QString window =
            m_model->windowInSegments()
                ? (c.window == 1 ? tr("c = 1 segment") : tr("c = %1 segments").arg(c.window))
                : tr("c = %1").arg(c.window);
        return tr("%1 → output tokens: input-centred window (eq. 4), %2").arg(who, window) + scope;
    }
    return tr("%1 ← context tokens: output-centred window (eq. 5), c = %2").arg(who).arg(c.window) + scope;
}

// ------------------------------------------------------------------- mouse

int64_t TokenView::tokenAt(QPointF pos) const {
    const int64_t k = m_layout.hitTest(pos + QPointF(0, verticalScrollBar()->value()));
    return k >= 0 && !tokenShown(k) ? -1 : k; // hidden tokens (isolation) are not hoverable
}

QRectF TokenView::tokenRect(int64_t k) const {
    const QRectF r = m_layout.box(k);
    return r.isNull() ? r : r.translated(0, -verticalScrollBar()->value());
}

void TokenView::ensureTokenVisible(int64_t k) {
    const QRectF r = m_layout.box(k);
    if (r.isNull()) return;
    const int top = static_cast<int>(r.top() - m_margin), bottom = static_cast<int>(r.bottom() + m_margin);
    auto* sb = verticalScrollBar();
    if (top < sb->value()) sb->setValue(top);
    else if (bottom > sb->value() + viewport()->height()) sb->setValue(bottom - viewport()->height());
}

void TokenView::mouseMoveEvent(QMouseEvent* event) {
    m_selection->setHovered(tokenAt(event->position()));
}

void TokenView::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return QAbstractScrollArea::mousePressEvent(event);
    const int64_t k = tokenAt(event->position());
    if (isChip(k)) { // a folded segment opens
        setSegmentFolded(static_cast<size_t>(segmentOf(k)), false);
        return;
    }
    if (k >= 0) m_selection->togglePinned(k);
    else m_selection->setPinned(-1);
}

void TokenView::mouseDoubleClickEvent(QMouseEvent* event) {
    const int64_t k = tokenAt(event->position());
    if (m_editable && event->button() == Qt::LeftButton && k >= 0 && k < m_model->promptLength()) {
        emit editRequested(k);
        return;
    }
    QAbstractScrollArea::mouseDoubleClickEvent(event);
}

void TokenView::contextMenuEvent(QContextMenuEvent* event) {
    const int64_t k = tokenAt(QPointF(viewport()->mapFrom(this, event->pos())));
    const bool canEdit = m_editable && k >= 0 && k < m_model->promptLength() && !isChip(k);
    if (!canEdit && m_segmentRanges.empty()) return QAbstractScrollArea::contextMenuEvent(event);
    QMenu menu(this);
    QAction* edit = nullptr;
    if (canEdit) {
        edit = menu.addAction(tr("Edit token…"));
        edit->setToolTip(tr("Run the job again with this token changed and compare the two results side by side"));
    }
    QAction* fold = nullptr;
    QAction* unfold = nullptr;
    if (segmentOf(k) >= 0) {
        if (isChip(k)) unfold = menu.addAction(tr("Unfold segment"));
        else fold = menu.addAction(tr("Fold segment"));
    }
    QAction* foldAll = m_segmentRanges.empty() ? nullptr : menu.addAction(tr("Fold all segments"));
    QAction* unfoldAll = m_segmentRanges.empty() ? nullptr : menu.addAction(tr("Unfold all segments"));
    QAction* chosen = menu.exec(event->globalPos());
    if (!chosen) return;
    if (chosen == edit) emit editRequested(k);
    else if (chosen == fold) setSegmentFolded(static_cast<size_t>(segmentOf(k)), true);
    else if (chosen == unfold) setSegmentFolded(static_cast<size_t>(segmentOf(k)), false);
    else if (chosen == foldAll) setAllSegmentsFolded(true);
    else if (chosen == unfoldAll) setAllSegmentsFolded(false);
}

void TokenView::setTokenMarks(std::vector<unsigned char> marks) {
    m_marks = std::move(marks);
    viewport()->update();
}

unsigned char TokenView::tokenMark(int64_t k) const {
    return k >= 0 && static_cast<size_t>(k) < m_marks.size() ? m_marks[static_cast<size_t>(k)] : 0;
}

QColor TokenView::markColour(TokenMark mark) {
    // Okabe–Ito orange, vermilion and bluish green: apart from the method hues
    // and the accent of the pinned token.
    switch (mark) {
    case MarkLinked: return QColor(0xE6, 0x9F, 0x00);
    case MarkUnmatched: return QColor(0xD5, 0x5E, 0x00);
    case MarkChanged: return QColor(0x00, 0x9E, 0x73);
    }
    return QColor(Qt::gray);
}

void TokenView::keyPressEvent(QKeyEvent* event) {
    const int64_t K = m_model->contextLength();
    int64_t pin = m_selection->pinned();
    switch (event->key()) {
    case Qt::Key_Escape:
        m_selection->clear();
        return;
    case Qt::Key_Left:
    case Qt::Key_Right:
        if (K == 0) return;
        pin = pin < 0 ? 0 : std::clamp<int64_t>(pin + (event->key() == Qt::Key_Left ? -1 : 1), 0, K - 1);
        m_selection->setPinned(pin);
        ensureTokenVisible(pin);
        return;
    default:
        QAbstractScrollArea::keyPressEvent(event);
    }
}

// ---------------------------------------------------------------- painting

QColor categoryColour(int category) {
    // Okabe–Ito colours (colour-blind safe), grey for whitespace.
    static const QColor colours[] = {QColor(0xE6, 0x9F, 0x00), QColor(0x56, 0xB4, 0xE9), QColor(0x99, 0x99, 0x99),
                                     QColor(0xCC, 0x79, 0xA7), QColor(0x00, 0x72, 0xB2), QColor(0xD5, 0x5E, 0x00),
                                     QColor(0x00, 0x9E, 0x73)};
    return category >= 0 && category < 7 ? colours[category] : QColor(Qt::gray);
}

void TokenView::setCategoryView(CategoryMode mode, std::vector<int> categories, unsigned selected) {
    std::vector<uint64_t> membership;
    for (int c : categories) membership.push_back(c >= 0 && c < 64 ? uint64_t{1} << c : 0);
    setCategoryView(mode, std::move(categories), std::move(membership), selected);
}

void TokenView::setCategoryView(CategoryMode mode, std::vector<int> categories, std::vector<uint64_t> membership,
                                uint64_t selected) {
    m_categoryMode = mode;
    m_categories = std::move(categories);
    m_membership = std::move(membership);
    m_selectedCategories = selected;
    viewport()->update();
}

void TokenView::setTurnTints(std::vector<QColor> tints) {
    m_turnTints = std::move(tints);
    viewport()->update();
}

bool TokenView::tokenEmphasised(int64_t k) const {
    if (m_categoryMode == CategoryMode::Off || m_categoryMode == CategoryMode::Comparison) return true;
    if (k < 0 || static_cast<size_t>(k) >= m_membership.size()) return true;
    return (m_membership[static_cast<size_t>(k)] & m_selectedCategories) != 0;
}

bool TokenView::tokenShown(int64_t k) const {
    return m_categoryMode != CategoryMode::Isolation || tokenEmphasised(k);
}

} // namespace tokenlens::gui
