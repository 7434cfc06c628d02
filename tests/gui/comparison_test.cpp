// Method comparison panel and the linguistic categories on the fixture
// result (tests/data/results/two-models.json, real tiny-gpt2 / tiny-llama
// matrices): agreement and concentration figures checked against brute-force
// formulas, categories against the words of the prompt.

#include "test_util.h"

#include "shell/mainwindow.h"
#include "result/result_json.h"
#include "results/comparison_panel.h"
#include "results/dashboard.h"
#include "results/selection_model.h"
#include "results/token_view.h"

#include <QComboBox>
#include <QLabel>

#include <gtest/gtest.h>

#include <QApplication>
#include <QMouseEvent>

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {
namespace {

namespace an = tokenlens::analysis;

// Spearman without ties: 1 − 6 Σ d² / (m (m² − 1)), ranks by sorting.
double bruteSpearman(const std::vector<double>& x, const std::vector<double>& y) {
    const size_t m = x.size();
    auto ranks = [&](const std::vector<double>& v) {
        std::vector<double> r(m);
        for (size_t i = 0; i < m; ++i) {
            double bigger = 0;
            for (size_t j = 0; j < m; ++j) bigger += v[j] > v[i] ? 1 : 0;
            r[i] = bigger + 1;
        }
        return r;
    };
    const auto rx = ranks(x), ry = ranks(y);
    double d2 = 0;
    for (size_t i = 0; i < m; ++i) d2 += (rx[i] - ry[i]) * (rx[i] - ry[i]);
    const double md = static_cast<double>(m);
    return 1.0 - 6.0 * d2 / (md * (md * md - 1.0));
}

// Kendall without ties: (concordant − discordant) / (m (m − 1) / 2).
double bruteKendall(const std::vector<double>& x, const std::vector<double>& y) {
    double c = 0, d = 0;
    for (size_t i = 0; i < x.size(); ++i)
        for (size_t j = i + 1; j < x.size(); ++j) {
            const double s = (x[i] - x[j]) * (y[i] - y[j]);
            if (s > 0) c += 1;
            if (s < 0) d += 1;
        }
    const double m = static_cast<double>(x.size());
    return (c - d) / (m * (m - 1) / 2);
}

// Gini by its double-sum definition on |v|.
double bruteGini(const std::vector<double>& v) {
    double s = 0, total = 0;
    for (double a : v) {
        total += std::fabs(a);
        for (double b : v) s += std::fabs(std::fabs(a) - std::fabs(b));
    }
    const double m = static_cast<double>(v.size());
    return s / (2 * m * total);
}

bool hasTies(const std::vector<double>& v) {
    auto s = v;
    std::sort(s.begin(), s.end());
    return std::adjacent_find(s.begin(), s.end()) != s.end();
}

class Comparison : public ::testing::Test {
protected:
    void SetUp() override {
        auto job = readResultFile(test::sampleResultPath().toStdString());
        ASSERT_TRUE(job.ok()) << job.error().message;
        dash = std::make_unique<Dashboard>();
        dash->resize(1400, 900);
        dash->show();
        dash->setJob(*job, test::sampleResultPath());
        QCoreApplication::processEvents();
        panel = dash->comparisonPanel();
        ASSERT_NE(panel, nullptr);
    }
    void checkAgainstBruteForce() {
        const auto& model = dash->model();
        ASSERT_GE(model.activeMethods().size(), 2u);
        ASSERT_EQ(panel->agreements().size(),
                  model.activeMethods().size() * (model.activeMethods().size() - 1) / 2);
        for (const auto& a : panel->agreements()) {
            const auto x = panel->values(a.a), y = panel->values(a.b);
            ASSERT_EQ(x.size(), static_cast<size_t>(model.promptLength()));
            ASSERT_FALSE(hasTies(x) || hasTies(y));
            EXPECT_NEAR(a.spearman, bruteSpearman(x, y), 1e-9);
            EXPECT_NEAR(a.kendall, bruteKendall(x, y), 1e-9);
        }
        ASSERT_EQ(panel->concentrations().size(), model.activeMethods().size());
        for (const auto& c : panel->concentrations()) {
            const auto v = panel->values(c.method);
            EXPECT_NEAR(c.gini, bruteGini(v), 1e-9);
            EXPECT_GE(c.entropy, 0.0);
            EXPECT_LE(c.entropy, 1.0);
            double share = 0;
            for (int q = 0; q < an::kBuiltinCategories; ++q)
                if (std::isfinite(c.categories.share[static_cast<size_t>(q)])) share += c.categories.share[static_cast<size_t>(q)];
            EXPECT_NEAR(share, 1.0, 1e-9);
        }
    }
    std::unique_ptr<Dashboard> dash;
    MethodComparisonPanel* panel = nullptr;
};

TEST_F(Comparison, WholeResultUsesTokenImportance) {
    EXPECT_EQ(panel->column(), -1);
    const auto& model = dash->model();
    const int m = model.activeMethods().front();
    const auto imp = an::tokenImportance(model.methodResult(m).raw, model.promptLength()).input;
    const auto v = panel->values(m);
    ASSERT_EQ(v.size(), imp.size());
    for (size_t i = 0; i < v.size(); ++i) EXPECT_DOUBLE_EQ(v[i], imp[i]);
    checkAgainstBruteForce();
    EXPECT_TRUE(panel->text().contains(QStringLiteral("Whole result")));
    EXPECT_GT(panel->chart()->sizeHint().height(), 3 * 18); // one pair + two methods
}

TEST_F(Comparison, PinnedOutputTokenUsesItsColumn) {
    const auto& model = dash->model();
    const int64_t n = model.promptLength();
    dash->selection()->setPinned(n + 2); // y₂
    QCoreApplication::processEvents();
    EXPECT_EQ(panel->column(), 2);
    const int m = model.activeMethods().front();
    const auto v = panel->values(m);
    for (int64_t i = 0; i < n; ++i) EXPECT_DOUBLE_EQ(v[static_cast<size_t>(i)], model.methodResult(m).raw.at(i, 2));
    checkAgainstBruteForce();
    // Hovering does not recompute (the pin decides).
    dash->selection()->setHovered(1);
    EXPECT_EQ(panel->column(), 2);
    dash->selection()->setPinned(-1);
    EXPECT_EQ(panel->column(), -1);
}

TEST_F(Comparison, AllThreeMethodsGiveThreePairs) {
    dash->setMethodActive("saliency", true);
    dash->setMethodActive("attention", true);
    dash->setMethodActive("integrated_gradients", true);
    test::waitFor([&] { return panel->agreements().size() == 3; });
    checkAgainstBruteForce();
    // One method: no pair, and the panel says what to do.
    dash->setMethodActive("saliency", false);
    dash->setMethodActive("attention", false);
    test::waitFor([&] { return panel->agreements().empty(); });
    EXPECT_TRUE(panel->agreements().empty());
    EXPECT_EQ(panel->concentrations().size(), 1u);
    EXPECT_TRUE(panel->text().contains(QStringLiteral("Activate two methods")));
}

TEST_F(Comparison, CategoriesOfBothModels) {
    // tiny-gpt2: The| cat| sat| on| the| mat|. then its output tokens.
    using an::Category;
    const auto& c = panel->tokenCategories();
    const auto& model = dash->model();
    ASSERT_EQ(c.builtin.size(), static_cast<size_t>(model.contextLength()));
    const std::vector<Category> prompt{Category::FunctionWord, Category::Content,      Category::Content,
                                       Category::FunctionWord, Category::FunctionWord, Category::Content,
                                       Category::Punctuation};
    EXPECT_EQ(std::vector<Category>(c.builtin.begin(), c.builtin.begin() + 7), prompt);
    // Output "pa stre stre retaliateona": " retaliate" and "ona" are one word.
    const int64_t n = model.promptLength();
    EXPECT_EQ(c.word[static_cast<size_t>(n + 3)], c.word[static_cast<size_t>(n + 4)]);
    EXPECT_EQ(c.builtin[static_cast<size_t>(n + 4)], Category::Content);

    // tiny-llama: the BOS is special, " The" a function word.
    dash->setCurrentModel(1);
    QCoreApplication::processEvents();
    const auto& l = panel->tokenCategories();
    ASSERT_EQ(l.builtin.size(), static_cast<size_t>(dash->model().contextLength()));
    EXPECT_EQ(l.builtin[0], Category::Special);
    EXPECT_EQ(l.builtin[1], Category::FunctionWord);
    // Output "actmoment scary Nicolsubstr": " Nicol" + "substr" make one capitalised word.
    const int64_t ln = dash->model().promptLength();
    EXPECT_EQ(l.builtin[static_cast<size_t>(ln + 3)], Category::Capitalised);
    EXPECT_EQ(l.builtin[static_cast<size_t>(ln + 4)], Category::Capitalised);
    checkAgainstBruteForce();
}

TEST_F(Comparison, CategoryModesInTheTokenView) {
    using an::Category;
    TokenView* view = dash->tokenView();
    const int64_t n = dash->model().promptLength();
    // Off: every token at full strength.
    EXPECT_EQ(view->categoryMode(), CategoryMode::Off);
    for (int64_t k = 0; k < dash->model().contextLength(); ++k) EXPECT_TRUE(view->tokenEmphasised(k));
    // Isolation of content words: only " cat", " sat", " mat" of the prompt
    // (x1, x2, x5) are drawn; the hidden "The" cannot be hovered.
    dash->categoryBox()->setCurrentIndex(dash->categoryBox()->findData(static_cast<int>(Category::Content)));
    dash->categoryModeBox()->setCurrentIndex(dash->categoryModeBox()->findData(static_cast<int>(CategoryMode::Isolation)));
    EXPECT_EQ(view->categoryMode(), CategoryMode::Isolation);
    std::vector<int64_t> shown;
    for (int64_t k = 0; k < n; ++k) {
        if (view->tokenShown(k)) shown.push_back(k);
    }
    EXPECT_EQ(shown, (std::vector<int64_t>{1, 2, 5}));
    const QRectF hiddenThe = view->tokenRect(0);
    ASSERT_FALSE(hiddenThe.isNull());
    QMouseEvent move(QEvent::MouseMove, hiddenThe.center(), view->viewport()->mapToGlobal(hiddenThe.center()),
                     Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(view->viewport(), &move);
    EXPECT_EQ(dash->selection()->hovered(), -1);
    const QRectF cat = view->tokenRect(1);
    QMouseEvent move2(QEvent::MouseMove, cat.center(), view->viewport()->mapToGlobal(cat.center()), Qt::NoButton,
                      Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(view->viewport(), &move2);
    EXPECT_EQ(dash->selection()->hovered(), 1);

    // Highlight of function words: all drawn, only The, on, the emphasised;
    // the faded token's pixels differ from its emphasised rendering.
    const QImage isolated = view->render(1.0, QString());
    dash->categoryBox()->setCurrentIndex(dash->categoryBox()->findData(static_cast<int>(Category::FunctionWord)));
    dash->categoryModeBox()->setCurrentIndex(dash->categoryModeBox()->findData(static_cast<int>(CategoryMode::Highlight)));
    std::vector<int64_t> emphasised;
    for (int64_t k = 0; k < n; ++k) {
        EXPECT_TRUE(view->tokenShown(k));
        if (view->tokenEmphasised(k)) emphasised.push_back(k);
    }
    EXPECT_EQ(emphasised, (std::vector<int64_t>{0, 3, 4}));
    EXPECT_NE(view->render(1.0, QString()), isolated);

    // Comparison: outlines in each category's colour, and a legend of all seven.
    dash->categoryModeBox()->setCurrentIndex(dash->categoryModeBox()->findData(static_cast<int>(CategoryMode::Comparison)));
    for (int64_t k = 0; k < dash->model().contextLength(); ++k) EXPECT_TRUE(view->tokenEmphasised(k));
    for (int c = 0; c < an::kBuiltinCategories; ++c) {
        EXPECT_TRUE(dash->categoryLegend()->text().contains(
            QString::fromLatin1(an::categoryName(static_cast<Category>(c)))));
    }
    // The outline of "." (punctuation) carries the punctuation colour.
    const QImage img = view->grab().toImage();
    const QRectF dot = view->tokenRect(6);
    const QColor want = categoryColour(static_cast<int>(Category::Punctuation));
    bool found = false;
    for (int y = static_cast<int>(dot.top()); y <= static_cast<int>(dot.bottom()) && !found; ++y) {
        const QRgb px = img.pixel(static_cast<int>(dot.left()) + 1, y);
        found = std::abs(qRed(px) - want.red()) < 40 && std::abs(qGreen(px) - want.green()) < 40 &&
                std::abs(qBlue(px) - want.blue()) < 40;
    }
    EXPECT_TRUE(found);
}

} // namespace
} // namespace tokenlens::gui
