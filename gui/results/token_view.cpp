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

constexpr double kRadius = 3.0;

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
    // A chip's colour: the sum of its tokens' intensities per method (at most 1), blended.
    m_chipFills.assign(m_segmentRanges.size(), QColor());
    m_chipTextColours.assign(m_segmentRanges.size(), text);
    const std::vector<QColor> colours = m_model->activeColours();
    std::vector<double> vals(m_colouring.intensity.size());
    for (size_t s = 0; s < m_segmentRanges.size(); ++s) {
        for (size_t a = 0; a < m_colouring.intensity.size(); ++a) {
            double sum = 0;
            bool any = false;
            for (int64_t k = m_segmentRanges[s].first; k < m_segmentRanges[s].second; ++k) {
                const double v = m_colouring.intensity[a][static_cast<size_t>(k)];
                if (std::isnan(v)) continue;
                sum += v;
                any = true;
            }
            vals[a] = any ? std::min(sum, 1.0) : NAN;
        }
        m_chipFills[s] = blendIntensities(vals, colours);
        if (m_chipFills[s].alpha() > 0) m_chipTextColours[s] = readableTextOn(composite(m_chipFills[s], base));
    }
}

const Colouring& TokenView::colouring() const {
    ensureColouring();
    return m_colouring;
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
        return tr("%1 → output tokens: input-centred window (eq. 4), c = %2").arg(who).arg(c.window) + scope;
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

void TokenView::paintEvent(QPaintEvent* event) {
    QPainter p(viewport());
    const QPalette& pal = palette();
    p.fillRect(event->rect(), pal.color(QPalette::Base));
    if (m_model->contextLength() == 0) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        const QString msg = m_model->hasJob()
                                ? tr("This model has no completed method to show.\nSee the warnings beside the view.")
                                : tr("Open a result (Ctrl+O) or drop a result .json file here.\n\n"
                                     "Each token will be coloured by how much it matters;\n"
                                     "hover one to see what it attends to.");
        p.drawText(viewport()->rect(), Qt::AlignCenter, msg);
        return;
    }
    ensureColouring();
    p.setRenderHint(QPainter::Antialiasing);
    const double scroll = verticalScrollBar()->value();
    p.translate(0, -scroll);
    paintContent(p, scroll + event->rect().top(), scroll + event->rect().bottom() + 1, pal);
}

void TokenView::paintLegend(QPainter& p, const QPalette& pal, double width) const {
    const QFontMetricsF fm(font());
    const double rowH = std::ceil(fm.height()) + 8;
    double x = m_margin;
    double y = m_margin;
    const auto active = m_model->activeMethods();
    p.setPen(pal.color(QPalette::Text));
    if (active.empty()) {
        p.drawText(QRectF(x, y, width - 2 * m_margin, rowH), Qt::AlignVCenter | Qt::AlignLeft,
                   tr("No method is switched on — press 1–9 or use the method buttons."));
    }
    for (int m : active) {
        const auto& sm = m_model->methods()[static_cast<size_t>(m)];
        const double sw = fm.height() * 0.8;
        QColor fill = sm.colour;
        fill.setAlphaF(static_cast<float>(kMaxFillAlpha));
        p.setPen(Qt::NoPen);
        p.setBrush(fill);
        p.drawRoundedRect(QRectF(x, y + (rowH - sw) / 2, sw, sw), 2, 2);
        x += sw + 5;
        const QString label = methodLabel(sm.id);
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRectF(x, y, fm.horizontalAdvance(label) + 2, rowH), Qt::AlignVCenter | Qt::AlignLeft, label);
        x += fm.horizontalAdvance(label) + 14;
    }
    if (active.size() > 1) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        const QString mix = tr("mixed: hue = which methods, strength = their mean intensity (eq. 10)");
        p.drawText(QRectF(x, y, std::max(0.0, width - m_margin - x), rowH), Qt::AlignVCenter | Qt::AlignLeft,
                   fm.elidedText(mix, Qt::ElideRight, std::max(0.0, width - m_margin - x)));
    }
    // Row 2: the intensity ramp at the right, the mode on the left.
    y += rowH;
    const double rampW = 120, labelW = fm.horizontalAdvance(tr("high")) + 4;
    const double rampX = width - m_margin - rampW - labelW;
    const double lowW = fm.horizontalAdvance(tr("low")) + 6;
    if (!active.empty() && rampX - lowW > width / 2) {
        std::vector<double> ones(active.size(), 1.0);
        const auto colours = m_model->activeColours();
        const QColor full = blendIntensities(ones, colours);
        QLinearGradient g(rampX, 0, rampX + rampW, 0);
        QColor zero = full;
        zero.setAlpha(0);
        g.setColorAt(0, zero);
        g.setColorAt(1, full);
        const QRectF ramp(rampX, y + rowH * 0.25, rampW, rowH * 0.5);
        p.setPen(QPen(pal.color(QPalette::Mid), 1));
        p.setBrush(g);
        p.drawRoundedRect(ramp, 2, 2);
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(QRectF(rampX - lowW, y, lowW - 4, rowH), Qt::AlignVCenter | Qt::AlignRight, tr("low"));
        p.drawText(QRectF(rampX + rampW + 4, y, labelW, rowH), Qt::AlignVCenter | Qt::AlignLeft, tr("high"));
    }
    const double modeW = (!active.empty() ? rampX - (fm.horizontalAdvance(tr("low")) + 6) - 12 : width - m_margin) -
                         m_margin;
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(m_margin, y, std::max(0.0, modeW), rowH), Qt::AlignVCenter | Qt::AlignLeft,
               fm.elidedText(modeDescription(), Qt::ElideRight, std::max(0.0, modeW)));
    p.setPen(QPen(pal.color(QPalette::Midlight), 1));
    const double lineY = legendHeight() - 3;
    p.drawLine(QPointF(m_margin, lineY), QPointF(width - m_margin, lineY));
}

void TokenView::paintContent(QPainter& p, double top, double bottom, const QPalette& pal) const {
    const double width = m_layout.params().width + 2 * m_margin;
    p.setFont(font());
    if (top < legendHeight()) paintLegend(p, pal, width);

    QFont headingFont = font();
    headingFont.setBold(true);
    p.setFont(headingFont);
    p.setPen(pal.color(QPalette::PlaceholderText));
    const int64_t n = m_model->promptLength(), t = m_model->outputLength();
    p.drawText(m_layout.promptHeading(), Qt::AlignLeft | Qt::AlignVCenter,
               tr("Prompt · %n token(s)", nullptr, static_cast<int>(n)));
    p.drawText(m_layout.outputHeading(), Qt::AlignLeft | Qt::AlignVCenter,
               tr("Output · %n token(s)", nullptr, static_cast<int>(t)));
    p.setFont(font());

    paintBands(p, top, bottom);
    const auto& boxes = m_layout.boxes();
    const auto [firstLine, endLine] = m_layout.linesBetween(top - 4, bottom + 4);
    const auto& lines = m_layout.lines();
    QColor border = pal.color(QPalette::Text);
    border.setAlphaF(0.16f);
    const double pad = m_layout.params().padding;
    const QFontMetricsF fm(font());
    for (size_t l = firstLine; l < endLine; ++l) {
        for (size_t b = lines[l].first; b < lines[l].end; ++b) {
            const TokenBox& box = boxes[b];
            const auto k = static_cast<size_t>(box.index);
            if (box.rect.width() <= 0) continue; // folded into its segment's chip
            const bool chip = isChip(box.index);
            QColor fill = chip ? m_chipFills[static_cast<size_t>(segmentOf(box.index))] : m_colouring.fills[k];
            QColor textColour = chip ? m_chipTextColours[static_cast<size_t>(segmentOf(box.index))] : m_textColours[k];
            QPen outline(border, 1);
            if (m_categoryMode != CategoryMode::Off) {
                if (!tokenShown(box.index)) continue;
                if (!tokenEmphasised(box.index)) {
                    // Faded: a quarter of the fill, the text half-transparent.
                    fill.setAlphaF(fill.alphaF() * 0.25f);
                    textColour = pal.color(QPalette::Text);
                    textColour.setAlphaF(0.35f);
                } else if (m_categoryMode == CategoryMode::Highlight) {
                    outline = QPen(pal.color(QPalette::Text), 1.5);
                }
                if (m_categoryMode == CategoryMode::Comparison && k < m_categories.size())
                    outline = QPen(categoryColour(m_categories[k]), 2.5);
            }
            if (m_model->isTemplateToken(box.index)) { // the chat template's own: dimmed
                fill.setAlphaF(fill.alphaF() * 0.5f);
                textColour = pal.color(QPalette::Text);
                textColour.setAlphaF(0.42f);
                outline = QPen(border, 1, Qt::DotLine);
            }
            p.setPen(outline);
            p.setBrush(fill.alpha() > 0 ? QBrush(fill) : QBrush(Qt::NoBrush));
            p.drawRoundedRect(box.rect.adjusted(0.5, 0.5, -0.5, -0.5), kRadius, kRadius);
            if (k < m_turnTints.size() && m_turnTints[k].isValid())
                p.fillRect(QRectF(box.rect.left() + 2, box.rect.bottom() - 3.5, box.rect.width() - 4, 3), m_turnTints[k]);
            p.setPen(textColour);
            if (chip) {
                // The segment's text, elided to the chip; a dashed outline says it opens.
                p.drawText(box.rect.adjusted(pad, 0, -pad, 0), Qt::AlignVCenter | Qt::AlignLeft,
                           fm.elidedText(box.text, Qt::ElideRight, box.rect.width() - 2 * pad));
                QColor edge = pal.color(QPalette::Text);
                edge.setAlphaF(0.45f);
                p.setPen(QPen(edge, 1, Qt::DashLine));
                p.setBrush(Qt::NoBrush);
                p.drawRoundedRect(box.rect.adjusted(0.5, 0.5, -0.5, -0.5), kRadius, kRadius);
                continue;
            }
            const QStaticText& st = staticText(k);
            const QSizeF ts = st.size();
            const QPointF at(box.rect.left() + pad, box.rect.top() + (box.rect.height() - ts.height()) / 2);
            if (ts.width() + 2 * pad > box.rect.width() + 0.5) {
                p.save();
                p.setClipRect(box.rect);
                p.drawText(box.rect.adjusted(pad, 0, -pad, 0), Qt::AlignVCenter | Qt::AlignLeft,
                           fm.elidedText(st.text(), Qt::ElideRight, box.rect.width() - 2 * pad));
                p.restore();
            } else {
                p.drawStaticText(at, st);
            }
        }
    }

    const QColor accent = pal.color(QPalette::Highlight);
    // The window around the focus: underlined.
    if (m_colouring.focus >= 0) {
        p.setPen(QPen(accent, 2, Qt::SolidLine, Qt::FlatCap));
        for (int64_t k = m_colouring.windowFirst; k <= m_colouring.windowLast; ++k) {
            const QRectF r = m_layout.box(k);
            if (r.bottom() < top || r.top() > bottom) continue;
            p.drawLine(QPointF(r.left() + 1, r.bottom() + 2), QPointF(r.right() - 1, r.bottom() + 2));
        }
    }
    p.setBrush(Qt::NoBrush);
    // The heatmap's hovered row: dashed.
    if (m_selection->cellRow() >= 0) {
        p.setPen(QPen(pal.color(QPalette::Text), 1.5, Qt::DashLine));
        p.drawRoundedRect(m_layout.box(m_selection->cellRow()).adjusted(-1, -1, 1, 1), kRadius, kRadius);
    }
    if (const int64_t pin = m_selection->pinned(); pin >= 0) {
        p.setPen(QPen(accent, 2.5));
        p.drawRoundedRect(m_layout.box(pin).adjusted(-1.5, -1.5, 1.5, 1.5), kRadius + 1, kRadius + 1);
    }
    if (const int64_t hov = m_selection->hovered(); hov >= 0 && hov != m_selection->pinned()) {
        p.setPen(QPen(pal.color(QPalette::Text), 2));
        p.drawRoundedRect(m_layout.box(hov).adjusted(-1.5, -1.5, 1.5, 1.5), kRadius + 1, kRadius + 1);
    }
    // Split-view marks (over hover and pin: the linked outline must show): unmatched dashed, changed thick, linked solid.
    for (size_t k = 0; k < m_marks.size() && k < boxes.size(); ++k) {
        const unsigned char mk = m_marks[k];
        if (mk == 0) continue;
        const QRectF r = m_layout.box(static_cast<int64_t>(k));
        if (r.isNull() || r.bottom() < top - 4 || r.top() > bottom + 4) continue;
        if (mk & MarkUnmatched) {
            p.setPen(QPen(markColour(MarkUnmatched), 1.5, Qt::DashLine));
            p.drawRoundedRect(r.adjusted(-1, -1, 1, 1), kRadius, kRadius);
            p.drawLine(QPointF(r.left() + 2, r.center().y()), QPointF(r.right() - 2, r.center().y()));
        }
        if (mk & MarkChanged) {
            p.setPen(QPen(markColour(MarkChanged), 3));
            p.drawRoundedRect(r.adjusted(-2.5, -2.5, 2.5, 2.5), kRadius + 2, kRadius + 2);
        }
        if (mk & MarkLinked) {
            p.setPen(QPen(markColour(MarkLinked), 2.5));
            p.drawRoundedRect(r.adjusted(-1.5, -1.5, 1.5, 1.5), kRadius + 1, kRadius + 1);
        }
    }
}

QFont TokenView::figureTitleFont() const {
    QFont titleFont = font();
    titleFont.setBold(true);
    titleFont.setPointSizeF(font().pointSizeF() * 1.25);
    return titleFont;
}

QSizeF TokenView::figureSize(const QString& title) const {
    ensureColouring();
    const QFontMetricsF tfm(figureTitleFont());
    const double titleH = title.isEmpty() ? 0 : std::ceil(tfm.height()) + 2 * m_margin;
    return {std::max(640.0, static_cast<double>(viewport()->width())), titleH + m_layout.height() + m_margin};
}

void TokenView::paintFigure(QPainter& p, const QString& title) const {
    ensureColouring();
    const QFont titleFont = figureTitleFont();
    const QFontMetricsF tfm(titleFont);
    const double titleH = title.isEmpty() ? 0 : std::ceil(tfm.height()) + 2 * m_margin;
    const double width = figureSize(title).width();
    const QPalette& pal = palette();
    p.fillRect(QRectF(QPointF(0, 0), figureSize(title)), pal.color(QPalette::Base));
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    if (!title.isEmpty()) {
        p.setFont(titleFont);
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRectF(m_margin, m_margin, width - 2 * m_margin, tfm.height()), Qt::AlignLeft | Qt::AlignVCenter,
                   tfm.elidedText(title, Qt::ElideRight, width - 2 * m_margin));
        p.setFont(font());
    }
    p.translate(0, titleH);
    // The layout is the one on screen (same width, same wrapping) when the
    // view is at least 640 pixels wide.
    paintContent(p, 0, m_layout.height() + m_margin, pal);
    p.translate(0, -titleH);
}

QImage TokenView::render(double scale, const QString& title) const {
    return figureImage(figureSize(title), scale, palette().color(QPalette::Base),
                       [&](QPainter& p) { paintFigure(p, title); });
}

} // namespace tokenlens::gui
