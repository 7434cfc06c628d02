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

// A two-method result at a segment granularity: 12 prompt tokens in five
// segments, 4 output tokens. The panel compares the methods over the
// segments: each method's raw matrix summed per segment (summed here by
// hand, row by row), then its token importance or the pinned column.
JobResult segmentedComparisonJob() {
    JobResult job = test::syntheticJob(12, 4, {"occlusion", "saliency"}, 7);
    for (auto& r : job.results) {
        r.granularity = "spans";
        r.promptSegments = {{0, 3, 0, 0, ""}, {3, 5, 0, 0, ""}, {5, 8, 0, 0, ""}, {8, 9, 0, 0, ""}, {9, 12, 0, 0, ""}};
    }
    return job;
}

// Σ over the segment's rows and the given columns (all when column < 0).
std::vector<double> bySegment(const AttributionMatrix& a, const std::vector<PromptSegment>& segs, int64_t column) {
    std::vector<double> out;
    for (const auto& g : segs) {
        double s = 0;
        for (int64_t i = g.tokenStart; i < g.tokenEnd; ++i)
            for (int64_t j = 0; j < a.cols; ++j)
                if (column < 0 || j == column) s += a.at(i, j);
        out.push_back(s);
    }
    return out;
}

TEST(ComparisonSegments, MethodsAreComparedOverTheSegmentSums) {
    Dashboard dash;
    dash.resize(1400, 900);
    dash.show();
    const JobResult job = segmentedComparisonJob();
    dash.setJob(job, QStringLiteral("segments"));
    QCoreApplication::processEvents();
    MethodComparisonPanel* panel = dash.comparisonPanel();
    const auto& model = dash.model();
    ASSERT_EQ(model.activeMethods(), (std::vector<int>{0, 1}));
    ASSERT_TRUE(panel->comparesSegments());
    const auto& segs = job.results[0].promptSegments;
    const auto& a0 = model.methodResult(0).raw;
    const auto& a1 = model.methodResult(1).raw;

    for (int64_t column : {int64_t{-1}, int64_t{1}}) {
        dash.selection()->setPinned(column < 0 ? -1 : 12 + column);
        QCoreApplication::processEvents();
        ASSERT_EQ(panel->column(), column);
        const auto x = bySegment(a0, segs, column), y = bySegment(a1, segs, column);
        ASSERT_FALSE(hasTies(x) || hasTies(y));
        for (int m : {0, 1}) {
            const auto v = panel->values(m);
            const auto& want = m == 0 ? x : y;
            ASSERT_EQ(v.size(), segs.size());
            for (size_t g = 0; g < v.size(); ++g)
                EXPECT_NEAR(v[g], want[g], 1e-5) << "column " << column << " segment " << g;
        }
        ASSERT_EQ(panel->agreements().size(), 1u);
        const auto& ag = panel->agreements()[0];
        EXPECT_NEAR(ag.spearman, bruteSpearman(x, y), 1e-9) << "column " << column;
        EXPECT_NEAR(ag.kendall, bruteKendall(x, y), 1e-9) << "column " << column;
        ASSERT_EQ(panel->concentrations().size(), 2u);
        EXPECT_NEAR(panel->concentrations()[0].gini, bruteGini(x), 1e-6);
        EXPECT_NEAR(panel->concentrations()[1].gini, bruteGini(y), 1e-6);

        // The fixture tells the two apart: over the tokens ρ is another number.
        std::vector<PromptSegment> tokens;
        for (int64_t i = 0; i < 12; ++i) tokens.push_back({i, i + 1, 0, 0, ""});
        EXPECT_GT(std::fabs(bruteSpearman(bySegment(a0, tokens, column), bySegment(a1, tokens, column)) - ag.spearman),
                  0.05)
            << "column " << column;
        // The mass per category stays per prompt token: all 12 are counted.
        for (const auto& c : panel->concentrations()) {
            int64_t counted = 0;
            double share = 0;
            for (int q = 0; q < an::kBuiltinCategories; ++q) {
                counted += c.categories.tokens[static_cast<size_t>(q)];
                const double part = c.categories.share[static_cast<size_t>(q)];
                if (std::isfinite(part)) share += part;
            }
            EXPECT_EQ(counted, 12);
            EXPECT_NEAR(share, 1.0, 1e-9);
        }
    }
    // The panel says what it compares.
    EXPECT_TRUE(panel->text().contains(QStringLiteral("5 prompt segments"))) << panel->text().toStdString();
    EXPECT_TRUE(panel->text().contains(QStringLiteral("Agreement over segments")));
    EXPECT_TRUE(panel->text().contains(QStringLiteral("prompt tokens, not segments")));

    // The same result without segments: compared over the 12 tokens, as before.
    JobResult plain = job;
    for (auto& r : plain.results) {
        r.granularity.clear();
        r.promptSegments.clear();
    }
    dash.setJob(plain, QStringLiteral("tokens"));
    dash.selection()->setPinned(-1);
    QCoreApplication::processEvents();
    EXPECT_FALSE(panel->comparesSegments());
    EXPECT_EQ(panel->values(0).size(), 12u);
    EXPECT_TRUE(panel->text().contains(QStringLiteral("12 prompt tokens")));
}

} // namespace
} // namespace tokenlens::gui
