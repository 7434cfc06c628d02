// The conversation timeline on a real three-turn conversation of the
// tiny-gpt2 fixture model (a job and two follow-ups run by the JobQueue):
// one chip per turn, a chip opens its turn's job, the per-turn attribution
// shares against sums over the matrix rows of each turn (the rows found from
// the turns' own token counts, not from the panel's byte spans), and the
// temporal weights against the closed forms of eq. 11.

#include "test_util.h"

#include "jobs/job_queue.h"
#include "jobs/job_store.h"
#include "shell/mainwindow.h"
#include "viewmodel/conversation.h"
#include "results/dashboard.h"
#include "results/selection_model.h"
#include "results/timeline_panel.h"
#include "results/token_view.h"

#include <gtest/gtest.h>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <memory>

namespace tokenlens::gui {
namespace {

using test::waitFor;

QString fixtureModel(const char* name) { return test::dataPath("models/") + QLatin1String(name); }

struct Conversation : ::testing::Test {
    QTemporaryDir dir;
    std::unique_ptr<jobs::JobStore> store;
    std::unique_ptr<jobs::JobQueue> queue;
    std::unique_ptr<MainWindow> window;
    std::vector<std::string> ids; // turn 1, 2, 3

    bool finished(const std::string& id) {
        return waitFor(
            [&] {
                auto j = queue->job(id);
                return j && jobs::isFinal(j->status);
            },
            60000);
    }
    Dashboard* dash() const { return window->dashboard(); }
    TimelinePanel* panel() const { return window->dashboard()->timelinePanel(); }
    bool shows(const std::string& id) {
        return waitFor([&] {
            return dash()->source() == QStringLiteral("job %1").arg(QString::fromStdString(id)) &&
                   dash()->model().methodIndex("attention") >= 0;
        });
    }
    std::shared_ptr<const MethodResult> attention(int turn) const {
        return queue->pairResult(ids[static_cast<size_t>(turn)], 0, "attention");
    }

    void SetUp() override {
        auto s = jobs::JobStore::open((dir.path() + QStringLiteral("/jobs.sqlite")).toStdString());
        ASSERT_TRUE(s.ok()) << s.error().message;
        store = std::move(s.value());
        queue = std::make_unique<jobs::JobQueue>(store.get());
        window = std::make_unique<MainWindow>();
        window->setJobQueue(queue.get());
        window->resize(1280, 820);
        window->show();
        Job spec;
        spec.models = {fixtureModel("tiny-gpt2").toStdString()};
        spec.methods = {"attention", "saliency"};
        spec.input = "The quick brown fox";
        spec.options = {{"max_new_tokens", 4}};
        auto first = window->submitJob(spec);
        ASSERT_TRUE(first.ok()) << first.error().message;
        ids.push_back(*first);
        ASSERT_TRUE(finished(ids[0]));
        ASSERT_TRUE(shows(ids[0]));
        // One job alone is no conversation: no timeline.
        EXPECT_FALSE(panel()->isVisible());
        EXPECT_EQ(panel()->turnCount(), 0);
        for (const char* text : {" and then the dog", " so the cat"}) {
            auto next = queue->followUp(ids.back(), text);
            ASSERT_TRUE(next.ok()) << next.error().message;
            ids.push_back(*next);
            ASSERT_TRUE(finished(ids.back()));
        }
        ASSERT_TRUE(window->openJob(QString::fromStdString(ids[2])));
        ASSERT_TRUE(shows(ids[2]));
        ASSERT_TRUE(waitFor([&] { return panel()->turnCount() == 3; }, 3000));
        // One method shown: the displayed matrix is attention's raw matrix.
        dash()->setMethodActive("saliency", false);
        ASSERT_EQ(dash()->model().activeMethods().size(), 1u);
    }
    void TearDown() override {
        window.reset();
        queue.reset();
        store.reset();
    }

    // Prompt rows of each turn in the last turn's prompt, from the token
    // counts: turn t < k covers its own prompt's new tokens and its outputs.
    struct Rows {
        int64_t begin, inputEnd, end;
    };
    std::vector<Rows> turnRows() const {
        std::vector<Rows> rows;
        int64_t at = 0;
        for (int t = 0; t < 3; ++t) {
            const auto r = attention(t);
            const auto n = static_cast<int64_t>(r->input.ids.size());
            const auto o = t < 2 ? static_cast<int64_t>(r->output.ids.size()) : 0;
            rows.push_back({at, n, n + o});
            at = n + o;
        }
        return rows;
    }
};

TEST_F(Conversation, ShowsOneChipPerTurnAndOpensTheChosenTurn) {
    EXPECT_TRUE(panel()->isVisible());
    EXPECT_EQ(panel()->chain(), ids);
    EXPECT_EQ(panel()->currentTurn(), 2);
    for (int t = 0; t < 3; ++t) ASSERT_NE(panel()->chip(t), nullptr);
    EXPECT_EQ(panel()->chip(3), nullptr);
    EXPECT_TRUE(panel()->chip(1)->toolTip().contains(QStringLiteral("and then the dog")));

    // Clicking turn 1 opens its job; the timeline still lists all three turns.
    QTest::mouseClick(panel()->chip(0), Qt::LeftButton, {}, QPoint(20, 10));
    EXPECT_EQ(window->shownJob(), QString::fromStdString(ids[0]));
    ASSERT_TRUE(shows(ids[0]));
    ASSERT_TRUE(waitFor([&] { return panel()->currentTurn() == 0; }, 3000));
    EXPECT_EQ(panel()->turnCount(), 3);
    EXPECT_EQ(panel()->alphas().size(), 1u) << "turn 1 aggregates over itself only";
    // And back to the last turn with the keyboard.
    panel()->chip(2)->setFocus();
    QTest::keyClick(panel()->chip(2), Qt::Key_Return);
    EXPECT_EQ(window->shownJob(), QString::fromStdString(ids[2]));
    ASSERT_TRUE(waitFor([&] { return panel()->currentTurn() == 2; }, 3000));
}

TEST_F(Conversation, TurnSharesAreSumsOfEachTurnsRows) {
    const auto r3 = attention(2);
    ASSERT_TRUE(r3);
    const AttributionMatrix& a = r3->raw;
    const int64_t n = static_cast<int64_t>(r3->input.ids.size());
    ASSERT_EQ(dash()->model().promptLength(), n);
    // The conversation's token counts line up: turn t's prompt and outputs are
    // the first tokens of the next turn's prompt (the prefix eq. 11 relies on).
    for (int t = 0; t < 2; ++t) {
        std::vector<int64_t> joined = attention(t)->input.ids;
        joined.insert(joined.end(), attention(t)->output.ids.begin(), attention(t)->output.ids.end());
        const auto& next = attention(t + 1)->input.ids;
        ASSERT_LE(joined.size(), next.size());
        EXPECT_TRUE(std::equal(joined.begin(), joined.end(), next.begin())) << "turn " << t + 1;
    }
    const auto rows = turnRows();
    ASSERT_EQ(rows.back().end, n);

    // Token turns as the panel found them from the prompt's byte ranges.
    const TokenTurns& tt = panel()->tokenTurns();
    ASSERT_EQ(tt.turns, 3);
    for (int t = 0; t < 3; ++t)
        for (int64_t r = rows[static_cast<size_t>(t)].begin; r < rows[static_cast<size_t>(t)].end; ++r) {
            EXPECT_EQ(tt.turn[static_cast<size_t>(r)], t) << "row " << r;
            EXPECT_EQ(tt.reply[static_cast<size_t>(r)], r >= rows[static_cast<size_t>(t)].inputEnd) << "row " << r;
        }
    // Earlier turns are tinted in their colours in the token view.
    const auto& tints = dash()->tokenView()->turnTints();
    ASSERT_EQ(static_cast<int64_t>(tints.size()), dash()->model().contextLength());
    const Rgb c0 = turnColour(0), c2 = turnColour(2);
    EXPECT_EQ(tints[0].rgb(), QColor(c0.r, c0.g, c0.b).rgb());
    EXPECT_EQ(tints[static_cast<size_t>(n - 1)].rgb(), QColor(c2.r, c2.g, c2.b).rgb());
    EXPECT_FALSE(tints[static_cast<size_t>(n)].isValid()) << "output tokens are not tinted";

    auto expected = [&](int64_t column) {
        std::vector<double> mass(3, 0.0);
        double total = 0;
        for (int t = 0; t < 3; ++t)
            for (int64_t r = rows[static_cast<size_t>(t)].begin; r < rows[static_cast<size_t>(t)].end; ++r)
                for (int64_t j = 0; j < a.cols; ++j) {
                    if (column >= 0 && j != column) continue;
                    const double v = a.at(r, j);
                    if (std::isnan(v)) continue;
                    mass[static_cast<size_t>(t)] += std::fabs(v);
                    total += std::fabs(v);
                }
        for (double& m : mass) m /= total;
        return mass;
    };
    // The whole result, then the pinned output token y2.
    for (int64_t column : {int64_t{-1}, int64_t{2}}) {
        if (column >= 0) dash()->selection()->setPinned(n + column);
        EXPECT_EQ(panel()->sharesColumn(), column);
        const auto want = expected(column);
        const auto& got = panel()->shares().share;
        ASSERT_EQ(got.size(), 3u);
        double sum = 0;
        for (int t = 0; t < 3; ++t) {
            EXPECT_NEAR(got[static_cast<size_t>(t)], want[static_cast<size_t>(t)], 1e-12) << "turn " << t + 1;
            sum += got[static_cast<size_t>(t)];
        }
        EXPECT_NEAR(sum, 1.0, 1e-12);
        EXPECT_GT(want[0], 0.0);
    }
}

TEST_F(Conversation, TemporalWeightsFollowTheirFormulas) {
    // T(r) = Σ_t α_t Σ_j A^t[r, j] over turn t's prompt rows (NaN skipped).
    auto bruteT = [&](const std::vector<double>& alpha) {
        const auto n = static_cast<int64_t>(attention(2)->input.ids.size());
        std::vector<double> T(static_cast<size_t>(n), 0.0);
        for (int t = 0; t < 3; ++t) {
            const auto res = attention(t);
            const auto nt = static_cast<int64_t>(res->input.ids.size());
            for (int64_t r = 0; r < nt; ++r)
                for (int64_t j = 0; j < res->raw.cols; ++j)
                    if (!std::isnan(res->raw.at(r, j))) T[static_cast<size_t>(r)] += alpha[static_cast<size_t>(t)] * res->raw.at(r, j);
        }
        return T;
    };
    auto expectAlphas = [&](const std::vector<double>& want) {
        const auto& got = panel()->alphas();
        ASSERT_EQ(got.size(), want.size());
        for (size_t t = 0; t < want.size(); ++t) EXPECT_NEAR(got[t], want[t], 1e-12) << "α_" << t + 1;
        const auto T = bruteT(want);
        const auto& shown = panel()->temporal();
        ASSERT_EQ(shown.size(), T.size());
        for (size_t r = 0; r < T.size(); ++r) EXPECT_NEAR(shown[r], T[r], 1e-9 * (1 + std::fabs(T[r]))) << "row " << r;
        double share = 0;
        for (double s : panel()->temporalTurnShare()) share += s;
        EXPECT_NEAR(share, 1.0, 1e-12);
    };

    EXPECT_EQ(panel()->weighting(), TurnWeighting::Uniform);
    expectAlphas({1.0 / 3, 1.0 / 3, 1.0 / 3});

    // Recency: α_t = 0.5^((k−t)/h) / Σ_s 0.5^((k−s)/h), k = 3.
    panel()->setWeighting(TurnWeighting::Recency);
    EXPECT_TRUE(panel()->halfLifeBox()->isEnabled());
    panel()->halfLifeBox()->setValue(1.0);
    expectAlphas({0.25 / 1.75, 0.5 / 1.75, 1.0 / 1.75});
    panel()->halfLifeBox()->setValue(2.0);
    const double s = std::sqrt(0.5);
    expectAlphas({0.5 / (0.5 + s + 1), s / (0.5 + s + 1), 1 / (0.5 + s + 1)});
    // The weight boxes show the α in use, read-only.
    EXPECT_FALSE(panel()->weightBox(0)->isEnabled());
    EXPECT_NEAR(panel()->weightBox(0)->value(), 0.5 / (0.5 + s + 1), 1e-3);

    // Custom: the typed weights, normalised.
    panel()->setWeighting(TurnWeighting::Custom);
    ASSERT_TRUE(panel()->weightBox(2)->isEnabled());
    panel()->weightBox(0)->setValue(1.0);
    panel()->weightBox(1)->setValue(0.0);
    panel()->weightBox(2)->setValue(3.0);
    expectAlphas({0.25, 0.0, 0.75});
    // All zero: no aggregate, and the note says why.
    for (int t = 0; t < 3; ++t) panel()->weightBox(t)->setValue(0.0);
    EXPECT_TRUE(panel()->alphas().empty());
    EXPECT_TRUE(panel()->temporal().empty());
    EXPECT_TRUE(panel()->note().contains(QStringLiteral("all weights are 0"))) << panel()->note().toStdString();
}

TEST(ConversationTurns, TokensBelongToTheSegmentOfTheirFirstByte) {
    // "ab" typed, " cd" replied, " e" typed; tokens "a", "b c" (straddles), "d", " e".
    const std::string prompt = "ab cd e";
    const std::vector<jobs::Turn> segs{{"input", "j1", 0, 2}, {"output", "j1", 2, 5}, {"input", "j2", 5, 7}};
    const auto tt = tokenTurns(prompt, {"a", "b c", "d", " e"}, segs);
    EXPECT_EQ(tt.turns, 2);
    EXPECT_EQ(tt.turn, (std::vector<int>{0, 0, 0, 1}));
    EXPECT_EQ(tt.reply, (std::vector<bool>{false, false, true, false}));
    // A word-level tokenizer: no spaces in the tokens, an unknown word where
    // the reply "blue cup" was joined to the typed "anna has a".
    const std::vector<jobs::Turn> joined{{"input", "j1", 0, 10}, {"output", "j1", 10, 18}};
    const auto wl = tokenTurns("anna has ablue cup", {"[BOS]", "anna", "has", "[UNK]", "cup"}, joined);
    EXPECT_EQ(wl.turn, (std::vector<int>{0, 0, 0, 0, 0}));
    EXPECT_EQ(wl.reply, (std::vector<bool>{false, false, false, false, true}));
    // Shares of a 4 × 1 column: |1| + |−2| from turn 1's input, 3 from its reply, 4 from turn 2.
    AttributionMatrix a;
    a.rows = 5;
    a.cols = 1;
    a.data = {1, -2, 3, 4, 100};
    const auto s = turnShares(a, 4, tt, -1);
    EXPECT_DOUBLE_EQ(s.total, 10);
    EXPECT_DOUBLE_EQ(s.input[0], 3);
    EXPECT_DOUBLE_EQ(s.reply[0], 3);
    EXPECT_DOUBLE_EQ(s.share[0], 0.6);
    EXPECT_DOUBLE_EQ(s.share[1], 0.4);
}

TEST(ConversationTurns, ChatTokensTakeTheirTurnFromTheMessages) {
    // Three jobs: system + user (2 messages), then + reply + user (4), then + reply + user (6).
    auto seg = [](int m) { return TokenSegment{m < 0 ? "template" : "x", m}; };
    const std::vector<TokenSegment> segs{seg(-1), seg(0), seg(-1), seg(1), seg(1), seg(-1), seg(2),
                                         seg(-1), seg(3), seg(-1), seg(4), seg(4), seg(-1), seg(5), seg(-1)};
    const auto tt = tokenTurnsFromMessages(segs, {2, 4, 6}, segs.size());
    EXPECT_EQ(tt.turns, 3);
    EXPECT_EQ(tt.turn, (std::vector<int>{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2}));
    EXPECT_EQ(tt.reply, (std::vector<bool>{false, false, false, false, false, false, true, false, false, false, true,
                                           true, false, false, false}));
    // Counts that do not grow (not a chain of follow-ups): one turn.
    const auto flat = tokenTurnsFromMessages(segs, {2, 2}, segs.size());
    EXPECT_EQ(flat.turns, 1);
    EXPECT_EQ(flat.turn, std::vector<int>(segs.size(), 0));
    // Fewer segments than prompt tokens: the rest belong to the last turn.
    const auto shortSegs = tokenTurnsFromMessages({seg(0), seg(2)}, {2, 4}, 3);
    EXPECT_EQ(shortSegs.turn, (std::vector<int>{0, 0, 1}));
    EXPECT_EQ(shortSegs.reply, (std::vector<bool>{false, true, false}));
}

} // namespace
} // namespace tokenlens::gui
