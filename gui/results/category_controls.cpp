#include "results/category_controls.h"

#include "results/token_view.h"

#include <QAbstractItemView>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QEvent>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QListWidget>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QStandardItemModel>
#include <QStyledItemDelegate>
#include <QStylePainter>
#include <QVBoxLayout>

#include <algorithm>

namespace tokenlens::gui {

namespace an = tokenlens::analysis;

QColor userCategoryColour(int u) {
    // Distinct from the seven built-in outline colours.
    static const QColor colours[] = {QColor(0x8E, 0x44, 0xAD), QColor(0xC0, 0x39, 0x2B), QColor(0x16, 0xA0, 0x85),
                                     QColor(0x7F, 0x8C, 0x08), QColor(0x2C, 0x3E, 0x50), QColor(0xD3, 0x54, 0x00)};
    return colours[static_cast<size_t>(((u % 6) + 6) % 6)];
}

Result<an::UserCategory> makeUserCategory(const QString& name, UserCategoryKind kind, const QString& text) {
    const QString n = name.trimmed();
    if (n.isEmpty()) return makeError(ErrorCode::InvalidArgument, "a user category needs a name");
    for (int c = 0; c < an::kBuiltinCategories; ++c)
        if (n.compare(QString::fromLatin1(an::categoryName(static_cast<an::Category>(c))), Qt::CaseInsensitive) == 0)
            return makeError(ErrorCode::InvalidArgument,
                             "category \"" + n.toStdString() + "\": the name of a built-in category");
    an::UserCategory uc;
    uc.name = n.toStdString();
    if (kind == UserCategoryKind::Words) {
        for (const QString& w : text.split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts))
            uc.words.push_back(w.toStdString());
        if (uc.words.empty())
            return makeError(ErrorCode::InvalidArgument,
                             "category \"" + uc.name + "\": no words (separate them with commas or spaces)");
    } else {
        uc.pattern = text.trimmed().toStdString();
        if (uc.pattern.empty())
            return makeError(ErrorCode::InvalidArgument, "category \"" + uc.name + "\": no regular expression");
    }
    // The analysis compiles the pattern exactly as it will be used.
    if (auto check = an::categorize("", {}, {}, {uc}); !check) return check.error();
    return uc;
}

std::vector<an::UserCategory> loadUserCategories(QSettings& s, QStringList* problems) {
    std::vector<an::UserCategory> out;
    const QVariantList list = s.value(QStringLiteral("categories/user")).toList();
    for (const QVariant& v : list) {
        const QVariantMap m = v.toMap();
        const QString name = m.value(QStringLiteral("name")).toString();
        const QString pattern = m.value(QStringLiteral("pattern")).toString();
        auto uc = pattern.isEmpty()
                      ? makeUserCategory(name, UserCategoryKind::Words,
                                         m.value(QStringLiteral("words")).toStringList().join(QLatin1Char(' ')))
                      : makeUserCategory(name, UserCategoryKind::Pattern, pattern);
        if (!uc) {
            if (problems) *problems << QString::fromStdString(uc.error().message);
            continue;
        }
        if (std::any_of(out.begin(), out.end(), [&](const an::UserCategory& o) { return o.name == uc->name; })) continue;
        out.push_back(std::move(*uc));
    }
    return out;
}

void saveUserCategories(QSettings& s, const std::vector<an::UserCategory>& categories) {
    QVariantList list;
    for (const auto& uc : categories) {
        QStringList words;
        for (const auto& w : uc.words) words << QString::fromStdString(w);
        QVariantMap m;
        m[QStringLiteral("name")] = QString::fromStdString(uc.name);
        m[QStringLiteral("words")] = words;
        m[QStringLiteral("pattern")] = QString::fromStdString(uc.pattern);
        list << m;
    }
    s.setValue(QStringLiteral("categories/user"), list);
}

// ------------------------------------------------------------ the selector

CategorySelector::CategorySelector(QWidget* parent) : QComboBox(parent) {
    m_items = new QStandardItemModel(this);
    setModel(m_items);
    // A plain list view with the standard delegate draws the check boxes.
    setView(new QListView(this));
    setItemDelegate(new QStyledItemDelegate(this));
    view()->viewport()->installEventFilter(this);
    setSizeAdjustPolicy(QComboBox::AdjustToContents);
    setMinimumContentsLength(16);
    setUserCategories({});
    connect(this, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (m_updating || i < 0) return;
        setSelected({itemData(i).toInt()});
    });
    connect(m_items, &QStandardItemModel::itemChanged, this, [this](QStandardItem*) {
        if (m_updating) return;
        update();
        emit selectionChanged();
    });
}

void CategorySelector::addCategory(int index, const QString& name, const QColor& colour) {
    QPixmap swatch(12, 12);
    swatch.fill(colour);
    auto* item = new QStandardItem(QIcon(swatch), name);
    item->setData(index, Qt::UserRole);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsUserCheckable);
    item->setData(Qt::Unchecked, Qt::CheckStateRole);
    m_items->appendRow(item);
}

void CategorySelector::setUserCategories(const QStringList& userNames) {
    const std::vector<int> before = selected();
    m_updating = true;
    const int current = currentIndex();
    m_items->clear();
    for (int c = 0; c < an::kBuiltinCategories; ++c)
        addCategory(c, QString::fromLatin1(an::categoryName(static_cast<an::Category>(c))), categoryColour(c));
    for (int u = 0; u < userNames.size(); ++u)
        addCategory(an::kBuiltinCategories + u, userNames[u], userCategoryColour(u));
    m_updating = false;
    std::vector<int> keep;
    for (int c : before)
        if (c < count()) keep.push_back(c);
    if (keep.empty()) keep.push_back(static_cast<int>(an::Category::Content));
    m_updating = true;
    setCurrentIndex(current >= 0 && current < count() ? current : keep.front());
    m_updating = false;
    setSelected(keep);
}

std::vector<int> CategorySelector::selected() const {
    std::vector<int> out;
    for (int i = 0; i < m_items->rowCount(); ++i)
        if (m_items->item(i)->checkState() == Qt::Checked) out.push_back(m_items->item(i)->data(Qt::UserRole).toInt());
    std::sort(out.begin(), out.end());
    return out;
}

void CategorySelector::setSelected(const std::vector<int>& categories) {
    m_updating = true;
    for (int i = 0; i < m_items->rowCount(); ++i) {
        const int c = m_items->item(i)->data(Qt::UserRole).toInt();
        const bool on = std::find(categories.begin(), categories.end(), c) != categories.end();
        m_items->item(i)->setCheckState(on ? Qt::Checked : Qt::Unchecked);
    }
    m_updating = false;
    update();
    emit selectionChanged();
}

uint64_t CategorySelector::selectedMask() const {
    uint64_t mask = 0;
    for (int c : selected())
        if (c >= 0 && c < 64) mask |= uint64_t{1} << c;
    return mask;
}

QString CategorySelector::summary() const {
    const std::vector<int> s = selected();
    if (s.empty()) return tr("no category");
    QString first;
    for (int i = 0; i < count(); ++i)
        if (itemData(i).toInt() == s.front()) first = itemText(i);
    return s.size() == 1 ? first : tr("%1 + %2 more").arg(first).arg(s.size() - 1);
}

bool CategorySelector::eventFilter(QObject* watched, QEvent* event) {
    // A click in the open popup toggles the item and keeps the popup open.
    if (watched == view()->viewport() && event->type() == QEvent::MouseButtonRelease) {
        auto* me = static_cast<QMouseEvent*>(event);
        const QModelIndex index = view()->indexAt(me->position().toPoint());
        if (index.isValid()) {
            QStandardItem* item = m_items->itemFromIndex(index);
            item->setCheckState(item->checkState() == Qt::Checked ? Qt::Unchecked : Qt::Checked);
            return true;
        }
    }
    return QComboBox::eventFilter(watched, event);
}

void CategorySelector::paintEvent(QPaintEvent*) {
    QStylePainter p(this);
    QStyleOptionComboBox opt;
    initStyleOption(&opt);
    opt.currentText = summary();
    opt.currentIcon = QIcon();
    const std::vector<int> s = selected();
    if (s.size() == 1)
        for (int i = 0; i < count(); ++i)
            if (itemData(i).toInt() == s.front()) opt.currentIcon = itemIcon(i);
    p.drawComplexControl(QStyle::CC_ComboBox, opt);
    p.drawControl(QStyle::CE_ComboBoxLabel, opt);
}

// -------------------------------------------------------------- the editor

CategoryEditor::CategoryEditor(std::vector<an::UserCategory> categories, QWidget* parent)
    : QDialog(parent), m_categories(std::move(categories)) {
    setWindowTitle(tr("User categories"));
    auto* root = new QVBoxLayout(this);
    auto* intro = new QLabel(tr("A user category tags every word that is in its word list (case-insensitive) or that "
                                "the whole regular expression (ECMAScript) matches; all sub-tokens of a word share "
                                "its categories. User categories appear in the category box and in the mass per "
                                "category."),
                             this);
    intro->setWordWrap(true);
    root->addWidget(intro);
    m_list = new QListWidget(this);
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    root->addWidget(m_list, 1);

    auto* form = new QFormLayout;
    m_name = new QLineEdit(this);
    m_name->setPlaceholderText(tr("e.g. colours"));
    m_kind = new QComboBox(this);
    m_kind->addItem(tr("Word list"), static_cast<int>(UserCategoryKind::Words));
    m_kind->addItem(tr("Regular expression"), static_cast<int>(UserCategoryKind::Pattern));
    m_definition = new QLineEdit(this);
    auto placeholder = [this] {
        m_definition->setPlaceholderText(m_kind->currentIndex() == 0 ? tr("red, green, blue") : tr("[A-Z][a-z]+s"));
    };
    placeholder();
    connect(m_kind, &QComboBox::currentIndexChanged, this, placeholder);
    form->addRow(tr("&Name:"), m_name);
    form->addRow(tr("&Kind:"), m_kind);
    form->addRow(tr("&Words / pattern:"), m_definition);
    root->addLayout(form);
    m_message = new QLabel(this);
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);
    QPalette pal = m_message->palette();
    pal.setColor(QPalette::WindowText, QColor(0xC0, 0x39, 0x2B));
    m_message->setPalette(pal);
    root->addWidget(m_message);

    auto* buttons = new QHBoxLayout;
    m_add = new QPushButton(tr("&Add"), this);
    m_remove = new QPushButton(tr("&Remove"), this);
    buttons->addWidget(m_add);
    buttons->addWidget(m_remove);
    buttons->addStretch(1);
    root->addLayout(buttons);
    auto* box = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    root->addWidget(box);
    connect(box, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(box, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_add, &QPushButton::clicked, this, &CategoryEditor::addFromFields);
    connect(m_definition, &QLineEdit::returnPressed, this, &CategoryEditor::addFromFields);
    connect(m_remove, &QPushButton::clicked, this, &CategoryEditor::removeSelected);
    connect(m_list, &QListWidget::itemSelectionChanged, this,
            [this] { m_remove->setEnabled(!m_list->selectedItems().isEmpty()); });
    rebuildList();
    resize(520, 420);
}

QString CategoryEditor::message() const { return m_message->text(); }

bool CategoryEditor::addFromFields() {
    auto uc = makeUserCategory(m_name->text(), static_cast<UserCategoryKind>(m_kind->currentData().toInt()),
                               m_definition->text());
    if (!uc) {
        m_message->setText(QString::fromStdString(uc.error().message));
        return false;
    }
    auto same = std::find_if(m_categories.begin(), m_categories.end(),
                             [&](const an::UserCategory& o) { return o.name == uc->name; });
    if (same != m_categories.end()) *same = *uc;
    else m_categories.push_back(*uc);
    m_message->clear();
    m_name->clear();
    m_definition->clear();
    rebuildList();
    return true;
}

void CategoryEditor::removeSelected() {
    std::vector<std::string> names;
    for (auto* item : m_list->selectedItems()) names.push_back(item->data(Qt::UserRole).toString().toStdString());
    std::erase_if(m_categories, [&](const an::UserCategory& c) {
        return std::find(names.begin(), names.end(), c.name) != names.end();
    });
    rebuildList();
}

void CategoryEditor::rebuildList() {
    m_list->clear();
    for (size_t u = 0; u < m_categories.size(); ++u) {
        const auto& c = m_categories[u];
        QString def;
        if (!c.pattern.empty()) {
            def = tr("pattern /%1/").arg(QString::fromStdString(c.pattern));
        } else {
            QStringList words;
            for (const auto& w : c.words) words << QString::fromStdString(w);
            def = tr("words: %1").arg(words.join(QStringLiteral(", ")));
        }
        QPixmap swatch(12, 12);
        swatch.fill(userCategoryColour(static_cast<int>(u)));
        auto* item = new QListWidgetItem(QIcon(swatch), QStringLiteral("%1 — %2").arg(QString::fromStdString(c.name), def));
        item->setData(Qt::UserRole, QString::fromStdString(c.name));
        m_list->addItem(item);
    }
    m_remove->setEnabled(!m_list->selectedItems().isEmpty());
}

} // namespace tokenlens::gui
