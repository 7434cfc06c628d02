#include "results/selection_model.h"

namespace tokenlens::gui {

void SelectionModel::setHovered(int64_t k) {
    if (k < 0) k = -1;
    if (k == m_hovered) return;
    m_hovered = k;
    emit hoverChanged(k);
    emit changed();
}

void SelectionModel::setPinned(int64_t k) {
    if (k < 0) k = -1;
    if (k == m_pinned) return;
    m_pinned = k;
    emit pinChanged(k);
    emit changed();
}

void SelectionModel::setCell(int64_t row, int64_t col) {
    if (row < 0 || col < 0) row = col = -1;
    if (row == m_cellRow && col == m_cellCol) return;
    m_cellRow = row;
    m_cellCol = col;
    emit cellChanged(row, col);
    emit changed();
}

void SelectionModel::clear() {
    const bool any = m_hovered >= 0 || m_pinned >= 0 || m_cellRow >= 0;
    const bool pin = m_pinned >= 0, hover = m_hovered >= 0, cell = m_cellRow >= 0;
    m_hovered = m_pinned = m_cellRow = m_cellCol = -1;
    if (hover) emit hoverChanged(-1);
    if (pin) emit pinChanged(-1);
    if (cell) emit cellChanged(-1, -1);
    if (any) emit changed();
}

} // namespace tokenlens::gui
