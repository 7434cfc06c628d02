// User categories in the window, on the fixture result
// (tests/data/results/two-models.json, tiny-gpt2: prompt "The cat sat on the
// mat." = x0..x6, output "pa stre stre retaliateona" = y0..y4): a word list
// and a regular expression tag the words they name, a bad regular expression
// is refused with its name, the editor persists categories in QSettings, the
// category box and the mass per category list them, and several categories
// can be selected at once for isolation and highlight.

#include "test_util.h"

#include "result/result_json.h"
#include "results/category_controls.h"
#include "results/comparison_panel.h"
#include "results/dashboard.h"
#include "results/selection_model.h"
#include "results/token_view.h"

#include <gtest/gtest.h>

#include <QAbstractItemView>
#include <QComboBox>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QTest>

#include <cmath>
#include <memory>

namespace tokenlens::gui {
namespace {

namespace an = tokenlens::analysis;
using test::waitFor;

class UserCategories : public ::testing::Test {
protected:
    void SetUp() override {
        QSettings().remove(QStringLiteral("categories/user"));
        auto job = readResultFile(test::sampleResultPath().toStdString());
        ASSERT_TRUE(job.ok()) << job.error().message;
        dash = std::make_unique<Dashboard>();
        dash->resize(1400, 900);
        dash->show();
        dash->setJob(*job, test::sampleResultPath());
        QCoreApplication::processEvents();
        ASSERT_EQ(dash->model().models()[static_cast<size_t>(dash->model().currentModel())], "tiny-gpt2");
        ASSERT_EQ(dash->model().promptLength(), 7);
    }
    void TearDown() override {
        dash.reset();
        QSettings().remove(QStringLiteral("categories/user"));
    }
    // Context indices tagged by user category u.
    std::vector<int64_t> tagged(size_t u) const {
        const auto c = contextCategories(dash->model(), dash->userCategories());
        std::vector<int64_t> out;
        if (u >= c.user.size()) return out;
        for (size_t k = 0; k < c.user[u].size(); ++k)
            if (c.user[u][k]) out.push_back(static_cast<int64_t>(k));
        return out;
    }
    std::unique_ptr<Dashboard> dash;
};

TEST_F(UserCategories, WordListAndPatternTagTheirWords) {
    auto animals = makeUserCategory(QStringLiteral("animals"), UserCategoryKind::Words, QStringLiteral("CAT, dog  mat"));
    ASSERT_TRUE(animals.ok()) << animals.error().message;
    EXPECT_EQ(animals->words, (std::vector<std::string>{"CAT", "dog", "mat"}));
    auto sWords = makeUserCategory(QStringLiteral("s-words"), UserCategoryKind::Pattern, QStringLiteral("s[a-z]*"));
    ASSERT_TRUE(sWords.ok()) << sWords.error().message;
    dash->setUserCategories({*animals, *sWords});
    const int64_t n = 7;
    // " cat" and " mat" (case-insensitive); the whole word must match the
    // pattern: "sat", and the output's two "stre" (not "retaliateona").
    EXPECT_EQ(tagged(0), (std::vector<int64_t>{1, 5}));
    EXPECT_EQ(tagged(1), (std::vector<int64_t>{2, n + 1, n + 2}));
    // Both are in the category box, after the seven built-in categories.
    EXPECT_EQ(dash->categoryBox()->findText(QStringLiteral("animals")), an::kBuiltinCategories);
    EXPECT_EQ(dash->categoryBox()->findText(QStringLiteral("s-words")), an::kBuiltinCategories + 1);

    // The mass per category counts them: |v| of x1 and x5 over Σ|v|.
    auto* panel = dash->comparisonPanel();
    ASSERT_FALSE(panel->concentrations().empty());
    for (const auto& c : panel->concentrations()) {
        const auto v = panel->values(c.method);
        double total = 0;
        for (double x : v)
            if (std::isfinite(x)) total += std::fabs(x);
        ASSERT_EQ(c.categories.names.size(), static_cast<size_t>(an::kBuiltinCategories + 2));
        EXPECT_EQ(c.categories.names[an::kBuiltinCategories], "animals");
        EXPECT_NEAR(c.categories.share[an::kBuiltinCategories], (std::fabs(v[1]) + std::fabs(v[5])) / total, 1e-12);
        EXPECT_NEAR(c.categories.share[an::kBuiltinCategories + 1], std::fabs(v[2]) / total, 1e-12);
    }
    EXPECT_TRUE(panel->text().contains(QStringLiteral("animals")));
}

TEST_F(UserCategories, BadPatternIsNamedAndChangesNothing) {
    auto bad = makeUserCategory(QStringLiteral("broken"), UserCategoryKind::Pattern, QStringLiteral("([a-z"));
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("broken"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("([a-z"), std::string::npos) << bad.error().message;
    EXPECT_FALSE(makeUserCategory(QString(), UserCategoryKind::Words, QStringLiteral("a")).ok());
    EXPECT_FALSE(makeUserCategory(QStringLiteral("empty"), UserCategoryKind::Words, QStringLiteral(" , ")).ok());
    EXPECT_FALSE(makeUserCategory(QStringLiteral("Number"), UserCategoryKind::Words, QStringLiteral("x")).ok())
        << "the name of a built-in category";

    CategoryEditor editor({});
    editor.nameEdit()->setText(QStringLiteral("broken"));
    editor.kindBox()->setCurrentIndex(editor.kindBox()->findData(static_cast<int>(UserCategoryKind::Pattern)));
    editor.definitionEdit()->setText(QStringLiteral("([a-z"));
    editor.addButton()->click();
    EXPECT_TRUE(editor.categories().empty());
    EXPECT_TRUE(editor.message().contains(QStringLiteral("broken")) && editor.message().contains(QStringLiteral("([a-z")))
        << editor.message().toStdString();

    // A bad entry in the settings is left out and named.
    QSettings s;
    QVariantMap entry{{QStringLiteral("name"), QStringLiteral("broken")}, {QStringLiteral("pattern"), QStringLiteral("*x")}};
    s.setValue(QStringLiteral("categories/user"), QVariantList{entry});
    QStringList problems;
    EXPECT_TRUE(loadUserCategories(s, &problems).empty());
    ASSERT_EQ(problems.size(), 1);
    EXPECT_TRUE(problems[0].contains(QStringLiteral("broken"))) << problems[0].toStdString();
}

TEST_F(UserCategories, EditorAddsRemovesAndPersists) {
    CategoryEditor editor({});
    editor.nameEdit()->setText(QStringLiteral("animals"));
    editor.definitionEdit()->setText(QStringLiteral("cat dog"));
    editor.addButton()->click();
    editor.nameEdit()->setText(QStringLiteral("caps"));
    editor.kindBox()->setCurrentIndex(1);
    editor.definitionEdit()->setText(QStringLiteral("[A-Z][a-z]*"));
    emit editor.definitionEdit()->returnPressed();
    ASSERT_EQ(editor.categories().size(), 2u) << editor.message().toStdString();
    EXPECT_EQ(editor.list()->count(), 2);
    editor.list()->item(0)->setSelected(true);
    editor.removeButton()->click();
    ASSERT_EQ(editor.categories().size(), 1u);
    EXPECT_EQ(editor.categories()[0].name, "caps");

    QSettings s;
    saveUserCategories(s, editor.categories());
    const auto loaded = loadUserCategories(s);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].name, "caps");
    EXPECT_EQ(loaded[0].pattern, "[A-Z][a-z]*");
    // A new dashboard starts with the saved categories: "The" is the only capitalised word.
    Dashboard other;
    ASSERT_EQ(other.userCategories().size(), 1u);
    EXPECT_GE(other.categoryBox()->findText(QStringLiteral("caps")), 0);
    dash->setUserCategories(loaded);
    EXPECT_EQ(tagged(0), (std::vector<int64_t>{0}));
}

TEST_F(UserCategories, SeveralCategoriesAtOnce) {
    auto animals = makeUserCategory(QStringLiteral("animals"), UserCategoryKind::Words, QStringLiteral("cat mat"));
    ASSERT_TRUE(animals.ok());
    dash->setUserCategories({*animals});
    TokenView* view = dash->tokenView();
    CategorySelector* box = dash->categoryBox();
    // Punctuation and the user category: exactly " cat", " mat" and "." are drawn.
    box->setSelected({static_cast<int>(an::Category::Punctuation), an::kBuiltinCategories});
    EXPECT_EQ(box->selected(), (std::vector<int>{static_cast<int>(an::Category::Punctuation), an::kBuiltinCategories}));
    dash->categoryModeBox()->setCurrentIndex(dash->categoryModeBox()->findData(static_cast<int>(CategoryMode::Isolation)));
    std::vector<int64_t> shown;
    for (int64_t k = 0; k < dash->model().contextLength(); ++k)
        if (view->tokenShown(k)) shown.push_back(k);
    EXPECT_EQ(shown, (std::vector<int64_t>{1, 5, 6}));
    // Highlight: everything drawn, the same three emphasised.
    dash->categoryModeBox()->setCurrentIndex(dash->categoryModeBox()->findData(static_cast<int>(CategoryMode::Highlight)));
    std::vector<int64_t> emphasised;
    for (int64_t k = 0; k < dash->model().contextLength(); ++k) {
        EXPECT_TRUE(view->tokenShown(k));
        if (view->tokenEmphasised(k)) emphasised.push_back(k);
    }
    EXPECT_EQ(emphasised, (std::vector<int64_t>{1, 5, 6}));
    EXPECT_EQ(box->summary(), QStringLiteral("punctuation + 1 more"));

    // Choosing one item the usual way selects it alone (the single-category API).
    box->setCurrentIndex(box->findData(static_cast<int>(an::Category::FunctionWord)));
    EXPECT_EQ(box->selected(), (std::vector<int>{static_cast<int>(an::Category::FunctionWord)}));
    // A click on a check box in the open list adds that category and keeps the list open.
    box->showPopup();
    QAbstractItemView* list = box->view();
    ASSERT_TRUE(waitFor([&] { return list->isVisible(); }, 3000));
    const QRect numberRow = list->visualRect(list->model()->index(static_cast<int>(an::Category::Number), 0));
    QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, numberRow.center());
    EXPECT_EQ(box->selected(), (std::vector<int>{static_cast<int>(an::Category::Number),
                                                 static_cast<int>(an::Category::FunctionWord)}));
    EXPECT_TRUE(list->isVisible());
    box->hidePopup();
}

TEST_F(UserCategories, APinPastTheLastTokenComparesTheWholeResult) {
    // SelectionModel does not clamp: one past the end must not be read as an output token.
    dash->selection()->setPinned(dash->model().contextLength());
    EXPECT_EQ(dash->comparisonPanel()->column(), -1);
    dash->selection()->setPinned(dash->model().contextLength() - 1);
    EXPECT_EQ(dash->comparisonPanel()->column(), dash->model().outputLength() - 1);
}

} // namespace
} // namespace tokenlens::gui
