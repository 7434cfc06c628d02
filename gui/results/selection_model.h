#pragma once
// The one selection the token view, the heatmap and the panels share: the
// hovered token, the pinned token (click; Esc clears) and the hovered heatmap
// cell. Tokens are context indices of X ⊕ Y (see viewmodel/result_model.h).

#include <QObject>

#include <cstdint>

namespace tokenlens::gui {

class SelectionModel : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    int64_t hovered() const { return m_hovered; }
    int64_t pinned() const { return m_pinned; }
    // The token the colours belong to: the pinned one, else the hovered one.
    int64_t focus() const { return m_pinned >= 0 ? m_pinned : m_hovered; }
    // The token the details panel describes: the hovered one, else the pinned one.
    int64_t described() const { return m_hovered >= 0 ? m_hovered : m_pinned; }
    int64_t cellRow() const { return m_cellRow; }
    int64_t cellCol() const { return m_cellCol; }

    void setHovered(int64_t k);
    void setPinned(int64_t k);
    void togglePinned(int64_t k) { setPinned(m_pinned == k ? -1 : k); }
    // A heatmap cell (row = context index, col = output index), or (-1, -1).
    void setCell(int64_t row, int64_t col);
    void clear(); // no hover, no pin, no cell

signals:
    void hoverChanged(qint64 hovered);
    void pinChanged(qint64 pinned);
    void cellChanged(qint64 row, qint64 col);
    // Any of the above (after all of them for one change).
    void changed();

private:
    int64_t m_hovered = -1, m_pinned = -1, m_cellRow = -1, m_cellCol = -1;
};

} // namespace tokenlens::gui
