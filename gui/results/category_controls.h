#pragma once
// User-defined linguistic categories in the window (docs/gui.md, "Method
// comparison and linguistic categories"): the category selector of the
// dashboard (several categories at once for highlight and isolation), the
// editor of user categories (a word list or a regular expression), and their
// persistence in QSettings.

#include "analysis/categories.h"
#include "util/result.h"

#include <QComboBox>
#include <QDialog>

#include <cstdint>
#include <vector>

class QSettings;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QStandardItemModel;

namespace tokenlens::gui {

// Outline / swatch colour of user category u (after the built-in ones).
QColor userCategoryColour(int u);

// A user category from the editor's fields: `words` split at commas and
// whitespace (kind Words), or `pattern` an ECMAScript regular expression the
// whole word must match (kind Pattern). Errors name the category and the
// problem: no name, a name taken by a built-in category, no words, an
// invalid regular expression (with the pattern).
enum class UserCategoryKind { Words, Pattern };
Result<analysis::UserCategory> makeUserCategory(const QString& name, UserCategoryKind kind, const QString& text);

// QSettings key "categories/user": one map per category {name, words, pattern}.
// Loading checks each entry again; bad ones are left out and named in
// `problems` (may be null).
std::vector<analysis::UserCategory> loadUserCategories(QSettings& s, QStringList* problems = nullptr);
void saveUserCategories(QSettings& s, const std::vector<analysis::UserCategory>& categories);

// A combo box of checkable categories: item data is the category index
// (0..6 built-in, 7 + u for user category u). Choosing an item the usual way
// (setCurrentIndex, keyboard) selects that category alone; clicking the
// check boxes in the popup adds or removes categories while it stays open.
// The closed box shows the selection ("content word + number").
class CategorySelector : public QComboBox {
    Q_OBJECT
public:
    explicit CategorySelector(QWidget* parent = nullptr);
    // Built-in categories, then `userNames`; keeps the selection by index
    // where it still exists.
    void setUserCategories(const QStringList& userNames);
    // Selected category indices, ascending.
    std::vector<int> selected() const;
    void setSelected(const std::vector<int>& categories);
    // Bit c for selected category c (c < 64).
    uint64_t selectedMask() const;
    QString summary() const;

signals:
    void selectionChanged();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void paintEvent(QPaintEvent* event) override;

private:
    void addCategory(int index, const QString& name, const QColor& colour);
    QStandardItemModel* m_items;
    bool m_updating = false;
};

// Adds and removes user categories; the list is applied on Save.
class CategoryEditor : public QDialog {
    Q_OBJECT
public:
    explicit CategoryEditor(std::vector<analysis::UserCategory> categories, QWidget* parent = nullptr);
    const std::vector<analysis::UserCategory>& categories() const { return m_categories; }

    QLineEdit* nameEdit() const { return m_name; }
    QComboBox* kindBox() const { return m_kind; }
    QLineEdit* definitionEdit() const { return m_definition; }
    QPushButton* addButton() const { return m_add; }
    QPushButton* removeButton() const { return m_remove; }
    QListWidget* list() const { return m_list; }
    // The last problem ("" when none).
    QString message() const;
    // Adds the category of the fields; false (with the message shown) when
    // it is not valid. Replaces a category of the same name.
    bool addFromFields();
    void removeSelected();

private:
    void rebuildList();
    std::vector<analysis::UserCategory> m_categories;
    QLineEdit* m_name;
    QComboBox* m_kind;
    QLineEdit* m_definition;
    QPushButton* m_add;
    QPushButton* m_remove;
    QListWidget* m_list;
    QLabel* m_message;
};

} // namespace tokenlens::gui
