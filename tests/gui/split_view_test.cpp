// The split view (model comparison), its difference mode and the
// counterfactual edit, on real results of the fixture models: the sample
// result (tests/data/results/two-models.json, tiny-gpt2 and tiny-llama) and
// jobs run here through the job queue (a prompt with a word the two
// tokenizers split differently; a tiny-gpt2 result whose output is forced to
// diverge from the sample's after two tokens; an edited prompt).

#include "test_util.h"

#include "analysis/alignment.h"
#include "jobs/job_queue.h"
#include "jobs/job_store.h"
#include "shell/mainwindow.h"
#include "result/result_json.h"
#include "results/counterfactual.h"
#include "results/dashboard.h"
#include "results/difference_view.h"
#include "results/heatmap_view.h"
#include "results/selection_model.h"
#include "results/split_view.h"
#include "results/token_view.h"

#include <QAction>
#include <QComboBox>
#include <QLineEdit>
#include <QScrollBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

namespace tokenlens::gui {
namespace {

using test::waitFor;

QString fixtureModel(const char* name) { return test::dataPath("models/") + QLatin1String(name); }

// Runs one job on a queue without a store and returns its result.
JobResult runJob(jobs::JobQueue& queue, const Job& spec) {
    auto id = queue.submit(spec);
    EXPECT_TRUE(id.ok()) << id.error().message;
    if (!id.ok()) return {};
    EXPECT_TRUE(waitFor(
        [&] {
            auto j = queue.job(*id);
            return j && jobs::isFinal(j->status);
        },
        120000));
    auto rec = queue.job(*id);
    EXPECT_TRUE(rec && rec->status == jobs::JobStatus::Completed);
    return rec ? jobs::toJobResult(*rec) : JobResult{};
}

const MethodResult& resultOf(const JobResult& job, const std::string& model, const std::string& method) {
    for (const auto& r : job.results)
        if (r.model == model && r.method == method) return r;
    static const MethodResult none;
    ADD_FAILURE() << "no result " << model << " / " << method;
    return none;
}

// The step probabilities a result of `model` stores (any method that has them).
std::vector<double> stepProbabilitiesOf(const JobResult& job, const std::string& model) {
    for (const auto& r : job.results)
        if (r.model == model && !r.stepProbability.empty()) return r.stepProbability;
    return {};
}

// Longest common subsequence length by the textbook DP.
size_t lcsLength(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j)
            d[i][j] = a[i - 1] == b[j - 1] ? d[i - 1][j - 1] + 1 : std::max(d[i - 1][j], d[i][j - 1]);
    return d[a.size()][b.size()];
}

std::vector<std::string> outputsOf(const ResultModel& m) {
    return {m.contextTokens().begin() + m.promptLength(), m.contextTokens().end()};
}

// The contiguous range of tokens [first, last] whose concatenation is `word`
// (a display token may start with the space SentencePiece prepends).
std::pair<int64_t, int64_t> tokensSpelling(const ResultModel& m, const std::string& word) {
    const auto& t = m.contextTokens();
    for (int64_t i = 0; i < m.promptLength(); ++i) {
        std::string s;
        for (int64_t j = i; j < m.promptLength(); ++j) {
            s += t[static_cast<size_t>(j)];
            if (s == word) return {i, j};
            if (s.size() >= word.size()) break;
        }
    }
    return {-1, -1};
}

void hoverToken(TokenView* view, int64_t k) {
    view->ensureTokenVisible(k);
    const QPoint at = view->tokenRect(k).center().toPoint();
    QTest::mouseMove(view->viewport(), at);
    QMouseEvent move(QEvent::MouseMove, QPointF(at), view->viewport()->mapToGlobal(QPointF(at)), Qt::NoButton,
                     Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(view->viewport(), &move);
}

// Results shared by the tests (computed once).
struct Results {
    JobResult sample;    // two-models.json
    JobResult words;     // tiny-gpt2 + tiny-llama on a prompt with "unbelievable"
    JobResult divergent; // tiny-gpt2 on the sample prompt, output forced to differ after two tokens
    std::string divergentTarget;
};

Results& results() {
    static Results r = [] {
        Results out;
        auto sample = readResultFile(test::sampleResultPath().toStdString());
        EXPECT_TRUE(sample.ok()) << sample.error().message;
        if (sample.ok()) out.sample = *sample;
        jobs::JobQueue queue(nullptr);
        Job spec;
        spec.models = {fixtureModel("tiny-gpt2").toStdString(), fixtureModel("tiny-llama").toStdString()};
        spec.methods = {"attention", "saliency"};
        spec.options = {{"max_new_tokens", 3}};
        spec.input = "In 2024 the unbelievable cat sat on the mat.";
        out.words = runJob(queue, spec);
        // The sample's tiny-gpt2 output with its third token replaced.
        const auto& g = resultOf(out.sample, "tiny-gpt2", "attention").output.tokens;
        std::string target;
        for (size_t j = 0; j < g.size(); ++j) target += j == 2 ? std::string(" cat") : g[j];
        out.divergentTarget = target;
        spec.models = {fixtureModel("tiny-gpt2").toStdString()};
        spec.input = out.sample.input.text;
        spec.targetText = target;
        spec.options = {{"max_new_tokens", 5}};
        out.divergent = runJob(queue, spec);
        return out;
    }();
    return r;
}

class Split : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(results().sample.results.empty());
        dash = std::make_unique<Dashboard>();
        dash->resize(1500, 950);
        dash->show();
        dash->setJob(results().sample, test::sampleResultPath());
        QCoreApplication::processEvents();
        split = dash->splitView();
    }
    std::unique_ptr<Dashboard> dash;
    SplitView* split = nullptr;
};

TEST_F(Split, ToggleShowsModelsOneAndTwoInStep) {
    ASSERT_FALSE(dash->isSplit());
    dash->splitButton()->click();
    ASSERT_TRUE(dash->isSplit());
    ASSERT_TRUE(waitFor([&] { return split->paneTokenView(0)->isVisible(); }, 5000));
    const auto& a = split->paneModel(0);
    const auto& b = split->paneModel(1);
    EXPECT_EQ(a.models()[static_cast<size_t>(a.currentModel())], "tiny-gpt2");
    EXPECT_EQ(b.models()[static_cast<size_t>(b.currentModel())], "tiny-llama");

    // Hover " cat" in the left pane: the right pane hovers its own " cat" and outlines it.
    hoverToken(split->paneTokenView(0), 1);
    ASSERT_EQ(split->paneSelection(0)->hovered(), 1);
    const int64_t catB = split->paneSelection(1)->hovered();
    ASSERT_GE(catB, 0);
    EXPECT_EQ(b.contextTokens()[static_cast<size_t>(catB)], " cat");
    EXPECT_TRUE(split->paneTokenView(1)->tokenMark(catB) & TokenView::MarkLinked);
    // The other way: " mat" in the right pane.
    int64_t matB = -1;
    for (int64_t k = 0; k < b.promptLength(); ++k)
        if (b.contextTokens()[static_cast<size_t>(k)] == " mat") matB = k;
    ASSERT_GE(matB, 0);
    hoverToken(split->paneTokenView(1), matB);
    ASSERT_EQ(split->paneSelection(1)->hovered(), matB);
    ASSERT_GE(split->paneSelection(0)->hovered(), 0);
    EXPECT_EQ(a.contextTokens()[static_cast<size_t>(split->paneSelection(0)->hovered())], " mat");

    // Pin by clicking " sat" on the left.
    split->paneTokenView(0)->ensureTokenVisible(2);
    QTest::mouseClick(split->paneTokenView(0)->viewport(), Qt::LeftButton, {},
                      split->paneTokenView(0)->tokenRect(2).center().toPoint());
    EXPECT_EQ(split->paneSelection(0)->pinned(), 2);
    ASSERT_GE(split->paneSelection(1)->pinned(), 0);
    EXPECT_EQ(b.contextTokens()[static_cast<size_t>(split->paneSelection(1)->pinned())], " sat");
    split->paneSelection(1)->setPinned(-1);
    EXPECT_EQ(split->paneSelection(0)->pinned(), -1);

    // Window and methods from the dashboard's header reach both panes.
    dash->setWindow(2);
    EXPECT_EQ(a.window(), 2);
    EXPECT_EQ(b.window(), 2);
    dash->setWindow(1);
    EXPECT_EQ(a.window(), 1);
    EXPECT_EQ(b.window(), 1);
    for (const char* id : {"saliency", "attention", "integrated_gradients"}) {
        for (bool on : {true, false, true}) {
            dash->methodButton(id)->setChecked(on);
            const bool want = dash->model().isActive(dash->model().methodIndex(id));
            EXPECT_EQ(a.isActive(a.methodIndex(id)), want) << id;
            EXPECT_EQ(b.isActive(b.methodIndex(id)), want) << id;
        }
    }
    // Zoom and pan of one heatmap: the other follows.
    split->paneHeatmap(0)->zoomIn();
    split->paneHeatmap(0)->zoomIn();
    EXPECT_DOUBLE_EQ(split->paneHeatmap(1)->geometry().cellW(), split->paneHeatmap(0)->geometry().cellW());
    EXPECT_EQ(split->paneHeatmap(1)->geometry().offset(), split->paneHeatmap(0)->geometry().offset());
    // Scrolling one token view scrolls the other.
    split->paneTokenView(0)->verticalScrollBar()->setRange(0, 100);
    split->paneTokenView(1)->verticalScrollBar()->setRange(0, 100);
    split->paneTokenView(0)->verticalScrollBar()->setValue(40);
    EXPECT_EQ(split->paneTokenView(1)->verticalScrollBar()->value(), 40);

    // The two models' outputs share no token: every output token is marked unmatched.
    const auto outA = outputsOf(a), outB = outputsOf(b);
    ASSERT_EQ(lcsLength(outA, outB), 0u);
    for (int64_t j = 0; j < a.outputLength(); ++j)
        EXPECT_TRUE(split->paneTokenView(0)->tokenMark(a.promptLength() + j) & TokenView::MarkUnmatched);
    for (int64_t j = 0; j < b.outputLength(); ++j)
        EXPECT_TRUE(split->paneTokenView(1)->tokenMark(b.promptLength() + j) & TokenView::MarkUnmatched);
    // The BOS of tiny-llama covers no prompt text: unmatched; the words are not.
    EXPECT_EQ(b.contextTokens()[0], "<s>");
    EXPECT_TRUE(split->paneTokenView(1)->tokenMark(0) & TokenView::MarkUnmatched);
    EXPECT_FALSE(split->paneTokenView(1)->tokenMark(catB) & TokenView::MarkUnmatched);

    // The pane model boxes choose the models; the toggle switches back.
    split->paneModelBox(1)->setCurrentIndex(0);
    EXPECT_EQ(b.models()[static_cast<size_t>(b.currentModel())], "tiny-gpt2");
    dash->splitButton()->click();
    EXPECT_FALSE(dash->isSplit());
}

TEST_F(Split, DifferenceOfAModelWithItselfIsZero) {
    dash->setSplit(true);
    for (int model : {0, 1}) {
        split->setPaneModel(0, model);
        split->setPaneModel(1, model);
        dash->setDifferenceMode(true);
        ASSERT_TRUE(split->differenceMode());
        const auto& m = split->paneModel(0);
        const AttributionMatrix& d = split->differenceView()->matrix();
        // Same tokenizer, same output: one segment per prompt token that covers text, every column.
        int64_t covering = 0;
        for (int64_t k = 0; k < m.promptLength(); ++k) covering += m.contextTokens()[static_cast<size_t>(k)] == "<s>" ? 0 : 1;
        EXPECT_EQ(d.rows, covering);
        EXPECT_EQ(d.cols, m.outputLength());
        int64_t finite = 0;
        const QColor base = split->differenceView()->palette().color(QPalette::Base);
        for (int64_t r = 0; r < d.rows; ++r)
            for (int64_t c = 0; c < d.cols; ++c) {
                if (std::isnan(d.at(r, c))) continue;
                ++finite;
                EXPECT_EQ(d.at(r, c), 0.0f) << r << "," << c;
                EXPECT_EQ(split->differenceView()->cellColour(r, c), base);
            }
        EXPECT_GT(finite, 0);
        EXPECT_TRUE(split->differenceView()->legendText().contains(scopeLabel(m.scope())));
    }
}

TEST_F(Split, DivergentOutputsPairAndMarkColumns) {
    ASSERT_FALSE(results().divergent.results.empty());
    split->setResults(results().sample, QStringLiteral("sample"), 0, results().divergent, QStringLiteral("forced"), 0);
    const auto& a = split->paneModel(0);
    const auto& b = split->paneModel(1);
    const auto outA = outputsOf(a), outB = outputsOf(b);
    ASSERT_NE(outA, outB);
    // The first two tokens agree (the forced text keeps them), the third does not.
    ASSERT_GE(outB.size(), 3u);
    EXPECT_EQ(outA[0], outB[0]);
    EXPECT_EQ(outA[1], outB[1]);
    const int64_t diverge = analysis::firstDivergence(outA, outB);
    EXPECT_EQ(diverge, 2);
    const auto& pairs = split->columnPairs();
    // Up to the divergence by position; then as many matches as the LCS of the rest.
    std::vector<std::string> restA(outA.begin() + diverge, outA.end()), restB(outB.begin() + diverge, outB.end());
    size_t matched = 0;
    for (const auto& p : pairs) matched += p.matched() ? 1 : 0;
    EXPECT_EQ(matched, static_cast<size_t>(diverge) + lcsLength(restA, restB));
    std::vector<bool> seenA(outA.size(), false), seenB(outB.size(), false);
    for (const auto& p : pairs) {
        if (p.a >= 0) seenA[static_cast<size_t>(p.a)] = true;
        if (p.b >= 0) seenB[static_cast<size_t>(p.b)] = true;
        if (p.a >= 0 && p.a < diverge) {
            EXPECT_EQ(p.b, p.a);
        }
        // Marks: unmatched exactly where the pair has no partner.
        if (p.a >= 0) {
            EXPECT_EQ(static_cast<bool>(split->paneTokenView(0)->tokenMark(a.promptLength() + p.a) & TokenView::MarkUnmatched),
                      !p.matched());
        }
        if (p.b >= 0) {
            EXPECT_EQ(static_cast<bool>(split->paneTokenView(1)->tokenMark(b.promptLength() + p.b) & TokenView::MarkUnmatched),
                      !p.matched());
        }
        if (p.matched()) {
            EXPECT_EQ(outA[static_cast<size_t>(p.a)], outB[static_cast<size_t>(p.b)]);
            // Hovering the left token hovers its partner.
            split->paneSelection(0)->setHovered(a.promptLength() + p.a);
            EXPECT_EQ(split->paneSelection(1)->hovered(), b.promptLength() + p.b);
        } else if (p.a >= 0) {
            split->paneSelection(0)->setHovered(a.promptLength() + p.a);
            EXPECT_EQ(split->paneSelection(1)->hovered(), -1);
        }
    }
    // Every output token of both sides appears exactly once in the pairs.
    EXPECT_EQ(std::count(seenA.begin(), seenA.end(), true), static_cast<long>(outA.size()));
    EXPECT_EQ(std::count(seenB.begin(), seenB.end(), true), static_cast<long>(outB.size()));
    // The third token (" stre" vs " cat") is unmatched on both sides.
    EXPECT_TRUE(split->paneTokenView(0)->tokenMark(a.promptLength() + 2) & TokenView::MarkUnmatched);
    EXPECT_TRUE(split->paneTokenView(1)->tokenMark(b.promptLength() + 2) & TokenView::MarkUnmatched);
    // The difference has one column per matched pair.
    split->setDifferenceMode(true);
    EXPECT_EQ(split->differenceView()->matrix().cols, static_cast<int64_t>(matched));
}

TEST_F(Split, DifferentTokenizersAlignAWordWithItsSubTokens) {
    ASSERT_FALSE(results().words.results.empty());
    split->setJob(results().words, QStringLiteral("words"), 0, 1);
    const auto& a = split->paneModel(0);
    const auto& b = split->paneModel(1);
    ASSERT_EQ(a.models()[static_cast<size_t>(a.currentModel())], "tiny-gpt2");
    ASSERT_EQ(b.models()[static_cast<size_t>(b.currentModel())], "tiny-llama");
    const auto [a0, a1] = tokensSpelling(a, " unbelievable");
    const auto [b0, b1] = tokensSpelling(b, " unbelievable");
    ASSERT_GE(a0, 0);
    ASSERT_GE(b0, 0);
    // The word is split into sub-tokens, and differently by the two tokenizers.
    ASSERT_TRUE(a1 > a0 || b1 > b0);
    ASSERT_NE(a1 - a0, b1 - b0);
    std::vector<int64_t> wordB, wordA;
    for (int64_t k = b0; k <= b1; ++k) wordB.push_back(k);
    for (int64_t k = a0; k <= a1; ++k) wordA.push_back(k);
    dash->setSplit(true); // shows the dashboard's own job; the test's job again:
    split->setJob(results().words, QStringLiteral("words"), 0, 1);
    for (int64_t k = a0; k <= a1; ++k) {
        hoverToken(split->paneTokenView(0), k);
        ASSERT_EQ(split->paneSelection(0)->hovered(), k);
        EXPECT_EQ(split->alignedTokens(0, k), wordB);
        EXPECT_EQ(split->markedTokens(1, TokenView::MarkLinked), wordB) << "left token " << k;
        EXPECT_EQ(split->paneSelection(1)->hovered(), b0);
    }
    for (int64_t k = b0; k <= b1; ++k) {
        hoverToken(split->paneTokenView(1), k);
        EXPECT_EQ(split->markedTokens(0, TokenView::MarkLinked), wordA) << "right token " << k;
    }
}

TEST(DifferenceColours, DivergingScaleHasTwoHuesAndANeutralCentre) {
    const QColor white(255, 255, 255), dark(30, 30, 30);
    for (const QColor& base : {white, dark}) {
        EXPECT_EQ(divergingColour(0.0, base), base);
        EXPECT_EQ(divergingColour(1.0, base), kPositiveHue);
        EXPECT_EQ(divergingColour(-1.0, base), kNegativeHue);
        EXPECT_EQ(divergingColour(7.0, base), kPositiveHue); // clamped
        EXPECT_EQ(divergingColour(NAN, base).alpha(), 0);
        // Halfway: the midpoint of the neutral and the hue, channel by channel.
        const QColor half = divergingColour(0.5, base);
        EXPECT_NEAR(half.red(), (base.red() + kPositiveHue.red()) / 2.0, 1.0);
        EXPECT_NEAR(half.blue(), (base.blue() + kPositiveHue.blue()) / 2.0, 1.0);
    }
    // Red for positive, blue for negative.
    EXPECT_GT(kPositiveHue.red(), kPositiveHue.blue());
    EXPECT_GT(kNegativeHue.blue(), kNegativeHue.red());
}

TEST_F(Split, DifferenceCellsTakeTheirSignsHue) {
    ASSERT_FALSE(results().divergent.results.empty());
    split->setResults(results().sample, QStringLiteral("sample"), 0, results().divergent, QStringLiteral("forced"), 0);
    split->setActiveMethods({"saliency"});
    split->setDifferenceMode(true);
    const auto* view = split->differenceView();
    const auto& d = view->difference();
    ASSERT_GT(d.difference.cols, 0);
    const QColor base = view->palette().color(QPalette::Base);
    int pos = 0, neg = 0;
    for (int64_t r = 0; r < d.difference.rows; ++r)
        for (int64_t c = 0; c < d.difference.cols; ++c) {
            const float v = d.difference.at(r, c);
            if (std::isnan(v)) continue;
            // The difference is the two normalised matrices' difference.
            EXPECT_NEAR(v, d.a.at(r, c) - d.b.at(r, c), 1e-6);
            const QColor col = view->cellColour(r, c);
            if (v > 1e-3f) {
                ++pos;
                EXPECT_GT(col.red() - col.blue(), base.red() - base.blue()) << r << "," << c;
            } else if (v < -1e-3f) {
                ++neg;
                EXPECT_GT(col.blue() - col.red(), base.blue() - base.red()) << r << "," << c;
            } else if (v == 0.0f) {
                EXPECT_EQ(col, base);
            }
        }
    EXPECT_GT(pos + neg, 0);
    EXPECT_TRUE(view->legendText().contains(QStringLiteral("−1 … 0 … +1")));
}

// ------------------------------------------------------------ counterfactual

TEST(Counterfactual, EditingAWordRunsTheEditedPromptAndComparesSideBySide) {
    QTemporaryDir dir;
    auto store = jobs::JobStore::open((dir.path() + QStringLiteral("/jobs.sqlite")).toStdString());
    ASSERT_TRUE(store.ok()) << store.error().message;
    jobs::JobQueue queue(store.value().get());
    MainWindow window;
    window.setJobQueue(&queue);
    window.resize(1400, 900);
    window.show();
    Job spec;
    spec.models = {fixtureModel("tiny-gpt2").toStdString(), fixtureModel("tiny-llama").toStdString()};
    spec.methods = {"attention", "saliency"};
    spec.options = {{"max_new_tokens", 3}};
    spec.input = "The cat sat on the mat.";
    auto id = window.submitJob(spec);
    ASSERT_TRUE(id.ok()) << id.error().message;
    auto finished = [&](const std::string& job) {
        return waitFor(
            [&] {
                auto j = queue.job(job);
                return j && jobs::isFinal(j->status);
            },
            120000);
    };
    ASSERT_TRUE(finished(*id));
    Dashboard* dash = window.dashboard();
    ASSERT_TRUE(waitFor([&] { return dash->model().outputLength() == 3 && dash->model().methods().size() == 2; }));
    const std::string originalOutput = dash->model().methodResult(0).output.text;
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
    for (int i = 0; i < 5; ++i) QCoreApplication::processEvents(); // the page's layout settles

    // Double-click " cat" (of the model shown): the inline editor opens on "cat".
    TokenView* view = dash->tokenView();
    int64_t cat = -1;
    for (int64_t k = 0; k < dash->model().promptLength(); ++k)
        if (dash->model().contextTokens()[static_cast<size_t>(k)] == " cat") cat = k;
    ASSERT_GE(cat, 0);
    view->ensureTokenVisible(cat);
    QTest::mouseDClick(view->viewport(), Qt::LeftButton, {}, view->tokenRect(cat).center().toPoint());
    ASSERT_TRUE(dash->tokenEditor()->isOpen());
    QLineEdit* edit = dash->tokenEditor()->lineEdit();
    EXPECT_EQ(edit->text(), QStringLiteral("cat"));
    edit->setText(QStringLiteral("dog"));
    QTest::keyClick(edit, Qt::Key_Return);
    EXPECT_FALSE(dash->tokenEditor()->isOpen());

    // A new job: the prompt differs only in the word, same models, methods, options; the output forced.
    std::optional<jobs::JobRecord> edited;
    ASSERT_TRUE(waitFor([&] {
        for (const auto& j : queue.jobIds())
            if (j != *id) edited = queue.job(j);
        return edited.has_value();
    }));
    EXPECT_EQ(edited->spec.input, "The dog sat on the mat.");
    EXPECT_EQ(edited->spec.models, spec.models);
    EXPECT_EQ(edited->spec.methods, spec.methods);
    EXPECT_EQ(edited->spec.options, spec.options);
    ASSERT_TRUE(edited->spec.targetText.has_value());
    EXPECT_EQ(*edited->spec.targetText, originalOutput);
    ASSERT_TRUE(finished(edited->id));

    // The split view opens: original left, edited right, same model.
    SplitView* split = dash->splitView();
    ASSERT_TRUE(waitFor([&] { return dash->isSplit() && split->isCounterfactual(); }));
    const auto& a = split->paneModel(0);
    const auto& b = split->paneModel(1);
    EXPECT_EQ(a.job().input.text, "The cat sat on the mat.");
    EXPECT_EQ(b.job().input.text, "The dog sat on the mat.");
    EXPECT_EQ(a.currentModel(), b.currentModel());
    EXPECT_EQ(split->markedTokens(0, TokenView::MarkChanged), std::vector<int64_t>{cat});
    const auto changedB = split->markedTokens(1, TokenView::MarkChanged);
    ASSERT_FALSE(changedB.empty());
    std::string changedText;
    for (int64_t k : changedB) changedText += b.contextTokens()[static_cast<size_t>(k)];
    EXPECT_EQ(changedText, " dog");
    // Unchanged words align: " sat" ↔ " sat" (same model, same position).
    EXPECT_EQ(a.contextTokens()[static_cast<size_t>(cat + 1)], " sat");
    EXPECT_EQ(split->alignedTokens(0, cat + 1), std::vector<int64_t>{cat + 1});

    // Probability changes from the two stored results.
    auto origRec = queue.job(*id);
    auto editRec = queue.job(edited->id);
    const std::string model = a.models()[static_cast<size_t>(a.currentModel())];
    // Attention stores no step scores; the gradient methods do.
    const auto pOrig = stepProbabilitiesOf(jobs::toJobResult(*origRec), model);
    const auto pEdit = stepProbabilitiesOf(jobs::toJobResult(*editRec), model);
    const auto outA = outputsOf(a), outB = outputsOf(b);
    ASSERT_EQ(pOrig.size(), outA.size());
    ASSERT_EQ(pEdit.size(), outB.size());
    const auto& changes = split->probabilityChanges();
    ASSERT_FALSE(changes.empty());
    for (const auto& c : changes) {
        EXPECT_EQ(outA[static_cast<size_t>(c.a)], outB[static_cast<size_t>(c.b)]);
        EXPECT_DOUBLE_EQ(c.before, pOrig[static_cast<size_t>(c.a)]);
        EXPECT_DOUBLE_EQ(c.after, pEdit[static_cast<size_t>(c.b)]);
        EXPECT_DOUBLE_EQ(c.delta, pEdit[static_cast<size_t>(c.b)] - pOrig[static_cast<size_t>(c.a)]);
        const auto* cell = split->probabilityTable()->item(2, static_cast<int>(c.a));
        ASSERT_NE(cell, nullptr);
        EXPECT_NEAR(cell->text().toDouble(), c.delta, 1e-4);
    }
    EXPECT_TRUE(split->probabilityTable()->isVisible());
    // A changed probability somewhere (the edit changes the model's input).
    double maxAbs = 0;
    for (const auto& c : changes) maxAbs = std::max(maxAbs, std::fabs(c.delta));
    EXPECT_GT(maxAbs, 0.0);
}

} // namespace
} // namespace tokenlens::gui
