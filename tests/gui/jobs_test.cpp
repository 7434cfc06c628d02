// The job pages on real jobs of the fixture models: the job table model
// (checked by QAbstractItemModelTester while jobs run and finish), the job
// creation page (model metadata, live tokenization against the tokenizer
// goldens, the spec it builds), and the whole path from Run job to a
// dashboard that shows the queue's results, a follow-up turn, batches,
// cancel and delete, and the demo job of a first start.

#include "test_util.h"

#include "jobs/job_queue.h"
#include "jobs/job_store.h"
#include "shell/mainwindow.h"
#include "jobs/job_list_model.h"
#include "viewmodel/model_entries.h"
#include "results/dashboard.h"
#include "results/faithfulness_panel.h"
#include "jobs/jobs_page.h"
#include "shell/message_banner.h"
#include "jobs/new_job_page.h"
#include "results/selection_model.h"

#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QTextBrowser>
#include <QFile>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTableView>
#include <QTemporaryDir>
#include <QTreeWidget>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <memory>

namespace tokenlens::gui {
namespace {

using test::waitFor;

QString fixtureModel(const char* name) { return test::dataPath("models/") + QLatin1String(name); }

nlohmann::json readJson(const QString& path) {
    std::ifstream in(path.toStdString());
    return nlohmann::json::parse(in);
}

// Equal cell by cell, NaN where the other is NaN.
bool sameMatrix(const AttributionMatrix& a, const AttributionMatrix& b) {
    if (a.rows != b.rows || a.cols != b.cols || a.data.size() != b.data.size()) return false;
    for (size_t i = 0; i < a.data.size(); ++i) {
        if (std::isnan(a.data[i]) != std::isnan(b.data[i])) return false;
        if (!std::isnan(a.data[i]) && a.data[i] != b.data[i]) return false;
    }
    return true;
}

// Ticks one fixture model and exactly `methods`, and writes `prompt`.
void chooseJob(NewJobPage* page, const char* model, const QStringList& methods, const QString& prompt) {
    page->setModelChecked(fixtureModel(model), true);
    for (const QString& m : page->checkedMethods()) page->setMethodChecked(m, false);
    for (const QString& m : methods) page->setMethodChecked(m, true);
    page->setPrompt(prompt);
}

// A window with a queue on a temporary store.
struct Session {
    QTemporaryDir dir;
    std::unique_ptr<jobs::JobStore> store;
    std::unique_ptr<jobs::JobQueue> queue;
    std::unique_ptr<MainWindow> window;

    Session() {
        auto s = jobs::JobStore::open((dir.path() + QStringLiteral("/jobs.sqlite")).toStdString());
        EXPECT_TRUE(s.ok()) << s.error().message;
        store = std::move(s.value());
        queue = std::make_unique<jobs::JobQueue>(store.get());
        window = std::make_unique<MainWindow>();
        window->setJobQueue(queue.get());
        window->resize(1280, 820);
        window->show();
        // Only the fixtures: the page's own discovery (demo models, HF cache) is replaced.
        waitFor([&] { return !window->newJobPage()->discovering(); });
        window->newJobPage()->setModels({describeModel(fixtureModel("tiny-gpt2"), QStringLiteral("folder"), {}),
                                         describeModel(fixtureModel("tiny-llama"), QStringLiteral("folder"), {})});
    }
    ~Session() {
        window.reset();
        queue.reset();
        store.reset();
    }
    bool finished(const QString& id, int timeoutMs = 60000) {
        return waitFor(
            [&] {
                auto j = queue->job(id.toStdString());
                return j && jobs::isFinal(j->status);
            },
            timeoutMs);
    }
};

TEST(ModelCatalog, DescribesFixtureFoldersAndNamesBadOnes) {
    const ModelEntry gpt2 = describeModel(fixtureModel("tiny-gpt2"), QStringLiteral("folder"), {});
    ASSERT_TRUE(gpt2.usable()) << gpt2.error.toStdString();
    EXPECT_EQ(gpt2.name, QStringLiteral("tiny-gpt2"));
    EXPECT_EQ(gpt2.architecture, QStringLiteral("GPT2LMHeadModel"));
    // Counted from config.json by hand (see tests/cli/inspect.cmake).
    EXPECT_EQ(gpt2.parameters, 1637792);
    EXPECT_EQ(gpt2.maxPositions, 128);
    EXPECT_EQ(gpt2.dtype, QStringLiteral("F32"));
    EXPECT_EQ(gpt2.bytes, QFileInfo(fixtureModel("tiny-gpt2") + QStringLiteral("/model.safetensors")).size());
    const ModelEntry qwen = describeModel(fixtureModel("tiny-qwen2"), QStringLiteral("folder"), {});
    ASSERT_TRUE(qwen.usable());
    EXPECT_EQ(qwen.parameters, 4872128);
    // Sharded: both shards count.
    EXPECT_EQ(qwen.bytes, QFileInfo(fixtureModel("tiny-qwen2") + QStringLiteral("/model-00001-of-00002.safetensors")).size() +
                              QFileInfo(fixtureModel("tiny-qwen2") + QStringLiteral("/model-00002-of-00002.safetensors")).size());

    const ModelEntry missing = describeModel(test::dataPath("no-such-model"), QStringLiteral("folder"), {});
    EXPECT_FALSE(missing.usable());
    EXPECT_TRUE(missing.error.contains(QStringLiteral("no-such-model"))) << missing.error.toStdString();

    const auto found = discoverModels({test::dataPath("models"), test::dataPath("golden")}, false);
    int fixtures = 0;
    bool goldenReported = false;
    for (const auto& m : found) {
        if (m.source == u"folder" && m.usable()) ++fixtures;
        if (m.path.endsWith(QStringLiteral("golden")) && !m.usable()) goldenReported = true;
    }
    EXPECT_EQ(fixtures, 6);
    EXPECT_TRUE(goldenReported) << "an added folder without models is listed with the reason";
}

TEST(NewJobPage, TokenizesLiveLikeTheReferenceTokenizer) {
    NewJobPage page;
    page.resize(1200, 800);
    page.show();
    waitFor([&] { return !page.discovering(); });
    page.setModels({describeModel(fixtureModel("tiny-gpt2"), QStringLiteral("folder"), {})});
    page.setModelChecked(fixtureModel("tiny-gpt2"), true);
    const auto golden = readJson(test::dataPath("golden/tokenize-gpt2.json"));
    int checked = 0;
    for (const auto& c : golden) {
        const std::string text = c["text"];
        if (text.empty()) continue;
        page.setPrompt(QString::fromStdString(text));
        const int expected = static_cast<int>(c["ids_with_special"].size());
        ASSERT_TRUE(waitFor([&] { return page.tokenCount() == expected; }, 5000))
            << text << ": preview shows " << page.tokenCount() << " tokens, the reference tokenizer gives " << expected;
        if (++checked == 8) break;
    }
    EXPECT_EQ(checked, 8);
    // The boundaries shown are the text itself, piece by piece.
    page.setPrompt(QStringLiteral("The quick brown fox jumps over the lazy dog."));
    ASSERT_TRUE(waitFor([&] { return page.tokenCount() == 10; }, 5000));
    EXPECT_EQ(page.tokenPreview()->toPlainText().replace(QChar(0xa0), QLatin1Char(' ')),
              QStringLiteral("The quick brown fox jumps over the lazy dog."));
    EXPECT_TRUE(page.tokenInfo().contains(QStringLiteral("10 token"))) << page.tokenInfo().toStdString();
    // Over-length: 128 positions.
    QString longText;
    for (int i = 0; i < 130; ++i) longText += QStringLiteral(" dog");
    page.setPrompt(longText);
    ASSERT_TRUE(waitFor([&] { return page.tokenCount() == 130; }, 5000));
    EXPECT_TRUE(page.tokenInfo().contains(QStringLiteral("too long"))) << page.tokenInfo().toStdString();
}

TEST(NewJobPage, PreviewKeepsTheSpacesAWordLevelTokenizerDrops) {
    if (demoModelsDir().isEmpty()) GTEST_SKIP() << "no bundled demo models";
    NewJobPage page;
    waitFor([&] { return !page.discovering(); });
    const QString llama = demoModelsDir() + QStringLiteral("/demo-llama");
    page.setModels({describeModel(llama, QStringLiteral("demo"), {})});
    page.setModelChecked(llama, true);
    page.setPrompt(QStringLiteral("anna has  a red ball"));
    ASSERT_TRUE(waitFor([&] { return page.tokenCount() == 6; }, 5000)) << page.tokenCount(); // BOS + 5 words
    EXPECT_EQ(page.tokenPreview()->toPlainText().replace(QChar(0xa0), QLatin1Char(' ')),
              QStringLiteral("[BOS]anna has  a red ball"));
}

TEST(NewJobPage, BuildsTheSpecAndSaysWhatIsMissing) {
    NewJobPage page;
    waitFor([&] { return !page.discovering(); });
    page.setModels({describeModel(fixtureModel("tiny-gpt2"), QStringLiteral("folder"), {}),
                    describeModel(test::dataPath("no-such-model"), QStringLiteral("folder"), {})});
    for (const QString& m : page.checkedMethods()) page.setMethodChecked(m, false);
    page.setPrompt(QString());
    auto s = page.spec();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("model"), std::string::npos);
    EXPECT_FALSE(page.submitButton()->isEnabled());
    // The unusable folder cannot be ticked.
    page.setModelChecked(test::dataPath("no-such-model"), true);
    EXPECT_TRUE(page.checkedModels().isEmpty());
    page.setModelChecked(fixtureModel("tiny-gpt2"), true);
    s = page.spec();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("method"), std::string::npos);
    page.setMethodChecked(QStringLiteral("saliency"), true);
    page.setMethodChecked(QStringLiteral("integrated_gradients"), true);
    s = page.spec();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("prompt"), std::string::npos);
    page.setPrompt(QStringLiteral("The cat sat"));
    page.setMethodOption(QStringLiteral("integrated_gradients"), QStringLiteral("steps"), 32);
    page.setForcedTarget(QStringLiteral(" on the mat"));
    s = page.spec();
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_TRUE(page.submitButton()->isEnabled());
    EXPECT_EQ(s->models, std::vector<std::string>{QDir(fixtureModel("tiny-gpt2")).absolutePath().toStdString()});
    EXPECT_EQ(s->methods, (std::vector<std::string>{"saliency", "integrated_gradients"}));
    EXPECT_EQ(s->input, "The cat sat");
    ASSERT_TRUE(s->targetText);
    EXPECT_EQ(*s->targetText, " on the mat");
    EXPECT_EQ(s->options["methods"]["integrated_gradients"]["steps"], 32);
    EXPECT_EQ(s->options["target_fn"], "probability");
    EXPECT_FALSE(s->options.contains("max_new_tokens"));
    page.setMaxNewTokens(5);
    s = page.spec();
    ASSERT_TRUE(s.ok());
    EXPECT_FALSE(s->targetText);
    EXPECT_EQ(s->options["max_new_tokens"], 5);
    // float32 is the default and is left out; bfloat16 is the job's compute_dtype.
    EXPECT_FALSE(s->options.contains("compute_dtype"));
    EXPECT_FALSE(page.setComputeDtype(QStringLiteral("float16")));
    ASSERT_TRUE(page.setComputeDtype(QStringLiteral("bfloat16")));
    s = page.spec();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->options["compute_dtype"], "bfloat16");
}

TEST(NewJobPage, TemplatesAreKept) {
    NewJobPage page;
    for (const QString& t : page.templateNames()) page.removeTemplate(t);
    page.setPrompt(QStringLiteral("Paris is the capital of"));
    page.saveTemplate(QStringLiteral("capital"));
    NewJobPage other; // a later session
    EXPECT_TRUE(other.templateNames().contains(QStringLiteral("capital")));
    const int i = other.templateBox()->findText(QStringLiteral("capital"));
    ASSERT_GT(i, 0);
    other.templateBox()->setCurrentIndex(i);
    emit other.templateBox()->activated(i);
    EXPECT_EQ(other.prompt(), QStringLiteral("Paris is the capital of"));
    other.removeTemplate(QStringLiteral("capital"));
    EXPECT_FALSE(page.templateNames().contains(QStringLiteral("capital")));
}

TEST(JobListModel, PassesTheModelTesterWhileJobsRunAndFinish) {
    QTemporaryDir dir;
    auto store = jobs::JobStore::open((dir.path() + QStringLiteral("/jobs.sqlite")).toStdString());
    ASSERT_TRUE(store.ok());
    jobs::JobQueue queue(store.value().get());
    JobListModel model(&queue);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    JobFilterModel running(false), finished(true);
    running.setSourceModel(&model);
    finished.setSourceModel(&model);
    QAbstractItemModelTester t1(&running, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QAbstractItemModelTester t2(&finished, QAbstractItemModelTester::FailureReportingMode::Fatal);

    Job spec;
    spec.models = {fixtureModel("tiny-gpt2").toStdString(), fixtureModel("tiny-llama").toStdString()};
    spec.methods = {"attention", "saliency"};
    spec.options = {{"max_new_tokens", 3}};
    std::vector<std::string> ids;
    for (const char* p : {"The quick brown fox", "Hello world", "Once upon a time"}) {
        spec.input = p;
        auto id = queue.submit(spec);
        ASSERT_TRUE(id.ok()) << id.error().message;
        ids.push_back(*id);
    }
    EXPECT_EQ(model.rowCount(), 3);
    // Newest first.
    EXPECT_EQ(model.jobId(0).toStdString(), ids[2]);
    EXPECT_EQ(running.rowCount() + finished.rowCount(), 3);
    bool sawProgress = false;
    ASSERT_TRUE(waitFor(
        [&] {
            for (int r = 0; r < model.rowCount(); ++r) {
                const int p = model.data(model.index(r, JobListModel::Progress), JobListModel::ProgressRole).toInt();
                if (p > 0 && p < 1000) sawProgress = true;
            }
            return queue.idle();
        },
        60000));
    EXPECT_TRUE(waitFor([&] { return finished.rowCount() == 3; }, 2000));
    EXPECT_EQ(running.rowCount(), 0);
    for (int r = 0; r < model.rowCount(); ++r) {
        EXPECT_EQ(model.data(model.index(r, JobListModel::Status), JobListModel::StatusRole).toInt(),
                  static_cast<int>(jobs::JobStatus::Completed));
        EXPECT_EQ(model.data(model.index(r, JobListModel::Progress), JobListModel::ProgressRole).toInt(), 1000);
        EXPECT_EQ(model.data(model.index(r, JobListModel::Models)).toString(), QStringLiteral("tiny-gpt2, tiny-llama"));
    }
    // Just finished: highlighted, then the highlight fades out.
    const QModelIndex first = model.index(0, 0);
    EXPECT_TRUE(model.data(first, Qt::BackgroundRole).isValid());
    EXPECT_TRUE(waitFor([&] { return !model.data(model.index(0, 0), Qt::BackgroundRole).isValid(); },
                        JobListModel::kHighlightMs + 2000));
    // Search and status filter.
    finished.setSearch(QStringLiteral("hello"));
    EXPECT_EQ(finished.rowCount(), 1);
    finished.setSearch(QString());
    finished.setStatusFilter(static_cast<int>(jobs::JobStatus::Failed));
    EXPECT_EQ(finished.rowCount(), 0);
    finished.setStatusFilter(-1);
    // Sorting by prompt.
    finished.sort(JobListModel::Prompt, Qt::AscendingOrder);
    EXPECT_EQ(finished.data(finished.index(0, JobListModel::Prompt)).toString(), QStringLiteral("Hello world"));
    ASSERT_TRUE(queue.remove(ids[0]).ok());
    EXPECT_EQ(model.rowCount(), 2);
    EXPECT_EQ(model.rowOf(QString::fromStdString(ids[0])), -1);
    // A later session lists the same history from the store.
    jobs::JobQueue later(store.value().get());
    JobListModel history(&later);
    QAbstractItemModelTester t3(&history, QAbstractItemModelTester::FailureReportingMode::Fatal);
    ASSERT_EQ(history.rowCount(), 2);
    EXPECT_EQ(history.jobId(0).toStdString(), ids[2]);
    EXPECT_EQ(history.data(history.index(0, JobListModel::Status), JobListModel::StatusRole).toInt(),
              static_cast<int>(jobs::JobStatus::Completed));
    EXPECT_EQ(history.data(history.index(1, JobListModel::Prompt)).toString(), QStringLiteral("Hello world"));
    (void)sawProgress; // progress may jump straight to 1000 on these tiny models
}

TEST(JobWindow, RunJobShowsTheQueuesResultsOnTheDashboard) {
    Session s;
    NewJobPage* page = s.window->newJobPage();
    chooseJob(page, "tiny-gpt2", {QStringLiteral("attention"), QStringLiteral("saliency")},
              QStringLiteral("The quick brown fox"));
    page->setMaxNewTokens(4);
    s.window->showPage(MainWindow::Page::NewJob);
    ASSERT_TRUE(page->submitButton()->isEnabled());
    page->submitButton()->click();
    const QString id = s.window->shownJob();
    ASSERT_FALSE(id.isEmpty());
    EXPECT_EQ(s.window->currentPage(), MainWindow::Page::Dashboard);
    ASSERT_TRUE(s.finished(id));
    Dashboard* d = s.window->dashboard();
    ASSERT_TRUE(waitFor([&] { return d->model().methods().size() == 2; }, 5000));
    // What the dashboard shows is what the queue computed.
    const auto rec = s.queue->job(id.toStdString());
    ASSERT_TRUE(rec);
    for (const auto& m : d->model().methods()) {
        const auto pair = s.queue->pairResult(id.toStdString(), 0, m.id);
        ASSERT_TRUE(pair) << m.id;
        EXPECT_TRUE(sameMatrix(d->model().job().results[m.resultIndex].raw, pair->raw)) << m.id;
    }
    EXPECT_EQ(d->model().outputLength(), static_cast<int64_t>(rec->pairs[0].result->output.ids.size()));
    EXPECT_EQ(d->source(), QStringLiteral("job %1").arg(id));
    // The Jobs page lists it as finished.
    JobsPage* jp = s.window->jobsPage();
    EXPECT_TRUE(waitFor([&] { return jp->finishedFilter()->rowCount() == 1; }, 3000));
    EXPECT_EQ(jp->finishedFilter()->data(jp->finishedFilter()->index(0, 0), JobListModel::IdRole).toString(), id);

    // Follow-up from the dashboard: the next turn sees prompt + output + text.
    ASSERT_TRUE(d->followUpEdit()->isEnabled());
    d->followUpEdit()->setText(QStringLiteral(" and then"));
    emit d->followUpEdit()->returnPressed();
    const QString child = s.window->shownJob();
    ASSERT_NE(child, id);
    ASSERT_TRUE(s.finished(child));
    const auto c = s.queue->job(child.toStdString());
    ASSERT_TRUE(c && c->spec.parentJob);
    EXPECT_EQ(*c->spec.parentJob, id.toStdString());
    const std::string parentOutput = rec->pairs[0].result->output.text;
    EXPECT_EQ(c->prompt, "The quick brown fox" + parentOutput + " and then");
    ASSERT_TRUE(waitFor([&] { return d->source() == QStringLiteral("job %1").arg(child) && d->model().methods().size() == 2; }, 5000));
    // The conversation so far is the new prompt.
    EXPECT_GT(d->model().promptLength(), static_cast<int64_t>(rec->pairs[0].result->input.ids.size()));

    // Opening the parent again from the Jobs page.
    jp->selectJob(id);
    emit jp->openRequested(id);
    EXPECT_EQ(s.window->shownJob(), id);
    EXPECT_TRUE(waitFor([&] { return d->source() == QStringLiteral("job %1").arg(id); }, 3000));

    // Export the parent, delete it, import it again: same result, same conversation.
    QTemporaryDir exportDir;
    const QString exported = exportDir.path() + QStringLiteral("/job.json");
    {
        auto j = s.queue->exportJob(id.toStdString());
        ASSERT_TRUE(j.ok());
        std::ofstream(exported.toStdString()) << j->dump();
    }
    ASSERT_TRUE(s.queue->remove(id.toStdString()).ok());
    ASSERT_TRUE(s.window->importJobFile(exported));
    EXPECT_EQ(s.window->shownJob(), id) << "an imported job keeps its id when it is free";
    const auto again = s.queue->job(id.toStdString());
    ASSERT_TRUE(again);
    EXPECT_TRUE(sameMatrix(again->pairs[0].result->raw, rec->pairs[0].result->raw));
    // A file that is not a result is refused with its name.
    const QString bad = exportDir.path() + QStringLiteral("/notes.json");
    std::ofstream(bad.toStdString()) << "{\"hello\": 1}";
    EXPECT_FALSE(s.window->importJobFile(bad));
    EXPECT_TRUE(s.window->banner()->text().contains(QStringLiteral("notes.json"))) << s.window->banner()->text().toStdString();

    // Delete both: the rows go, the store forgets them.
    jp->deleteJobs({id, child}, false);
    EXPECT_EQ(jp->model()->rowCount(), 0);
    auto list = s.store->listJobs(false);
    ASSERT_TRUE(list.ok());
    EXPECT_TRUE(list->empty());
}

TEST(JobWindow, StagedResultsKeepTheUsersView) {
    Session s;
    Job spec;
    spec.models = {fixtureModel("tiny-llama").toStdString()};
    spec.methods = {"attention", "saliency", "integrated_gradients"};
    spec.input = "The quick brown fox jumps over the lazy dog";
    spec.options = {{"max_new_tokens", 6}, {"methods", {{"integrated_gradients", {{"steps", 400}}}}}};
    auto id = s.window->submitJob(spec);
    ASSERT_TRUE(id.ok()) << id.error().message;
    Dashboard* d = s.window->dashboard();
    // Attention first, while integrated gradients still runs.
    ASSERT_TRUE(waitFor([&] { return d->model().methodIndex("attention") >= 0; }, 30000));
    const bool igDone = d->model().methodIndex("integrated_gradients") >= 0;
    d->selection()->setPinned(3);
    d->setWindow(2);
    ASSERT_TRUE(s.finished(QString::fromStdString(*id)));
    ASSERT_TRUE(waitFor([&] { return d->model().methodIndex("integrated_gradients") >= 0; }, 5000));
    if (!igDone) {
        EXPECT_EQ(d->selection()->pinned(), 3) << "a staged result keeps the pinned token";
        EXPECT_EQ(d->model().window(), 2);
    }
    EXPECT_EQ(d->model().methods().size(), 3u);
}

// The methods added after the first five run from the New job page like the
// others: one job, every pair completed, one method button each, and the
// dashboard shows the matrices the queue computed.
TEST(JobWindow, AddedMethodsRunFromTheNewJobPage) {
    Session s;
    NewJobPage* page = s.window->newJobPage();
    const QStringList methods = {QStringLiteral("lime"),          QStringLiteral("kernel_shap"),
                                 QStringLiteral("shapley_sampling"), QStringLiteral("gradient_shap"),
                                 QStringLiteral("attention_rollout"), QStringLiteral("value_zeroing"),
                                 QStringLiteral("alti")};
    chooseJob(page, "tiny-gpt2", methods, QStringLiteral("The cat sat"));
    page->setMaxNewTokens(2);
    ASSERT_TRUE(page->submitButton()->isEnabled());
    page->submitButton()->click();
    const QString id = s.window->shownJob();
    ASSERT_FALSE(id.isEmpty());
    ASSERT_TRUE(s.finished(id, 120000));
    const auto rec = s.queue->job(id.toStdString());
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->status, jobs::JobStatus::Completed);
    Dashboard* d = s.window->dashboard();
    ASSERT_TRUE(waitFor([&] { return d->model().methods().size() == 7; }, 5000));
    for (const QString& m : methods) {
        const std::string mid = m.toStdString();
        EXPECT_NE(d->methodButton(mid), nullptr) << mid;
        const int k = d->model().methodIndex(mid);
        ASSERT_GE(k, 0) << mid;
        const auto pair = s.queue->pairResult(id.toStdString(), 0, mid);
        ASSERT_TRUE(pair) << mid;
        EXPECT_EQ(pair->status, RunStatus::Completed) << mid;
        EXPECT_TRUE(sameMatrix(d->model().methodResult(k).raw, pair->raw)) << mid;
    }
}

TEST(JobWindow, FaithfulnessFiguresAreShownBesideTheResult) {
    Session s;
    NewJobPage* page = s.window->newJobPage();
    chooseJob(page, "tiny-gpt2", {QStringLiteral("attention"), QStringLiteral("saliency")},
              QStringLiteral("The quick brown fox"));
    page->setMaxNewTokens(3);
    page->setFaithfulness(true);
    auto spec = page->spec();
    ASSERT_TRUE(spec.ok());
    EXPECT_EQ(spec->options["faithfulness"], true);
    page->submitButton()->click();
    const QString id = s.window->shownJob();
    ASSERT_TRUE(s.finished(id));
    Dashboard* d = s.window->dashboard();
    ASSERT_TRUE(waitFor([&] { return d->model().methods().size() == 2; }, 5000));
    FaithfulnessPanel* panel = d->faithfulnessPanel();
    EXPECT_EQ(panel->methodsWithFigures(), 2);
    const auto sal = s.queue->pairResult(id.toStdString(), 0, "saliency");
    ASSERT_TRUE(sal && sal->faithfulness.is_object());
    auto shown = [&](const nlohmann::json& figures) {
        return panel->text().contains(QString::number(figures["aopc_comprehensiveness"].get<double>(), 'f', 3));
    };
    EXPECT_TRUE(shown(sal->faithfulness["mean"])) << panel->text().toStdString();
    // Pinning output token 1 shows that token's figures.
    d->selection()->setPinned(d->model().promptLength() + 1);
    EXPECT_TRUE(panel->text().contains(QStringLiteral("output token 1")));
    EXPECT_TRUE(shown(sal->faithfulness["columns"][1])) << panel->text().toStdString();
}

TEST(JobWindow, BatchDropQueuesGoodLinesAndNamesBadOnes) {
    Session s;
    QTemporaryDir dir;
    const QString path = dir.path() + QStringLiteral("/prompts.jsonl");
    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write("\"Hello world\"\nThe cat sat\n{\"input\": 7}\n");
    f.close();
    NewJobPage* page = s.window->newJobPage();
    chooseJob(page, "tiny-gpt2", {QStringLiteral("attention")}, page->prompt());
    bool handled = false;
    QObject::connect(s.window.get(), &MainWindow::fileHandled, [&](const QString&, bool ok, const QString&) { handled = ok; });
    s.window->openFile(path);
    ASSERT_TRUE(waitFor([&] { return handled; }, 5000));
    EXPECT_EQ(s.window->currentPage(), MainWindow::Page::NewJob);
    ASSERT_TRUE(page->hasBatch());
    page->submitButton()->click();
    EXPECT_FALSE(page->hasBatch());
    EXPECT_EQ(s.window->currentPage(), MainWindow::Page::Jobs);
    EXPECT_EQ(s.window->jobsPage()->model()->rowCount(), 2);
    ASSERT_TRUE(s.window->banner()->isVisible());
    EXPECT_TRUE(s.window->banner()->text().contains(QStringLiteral("3"))) << s.window->banner()->text().toStdString();
    ASSERT_TRUE(waitFor([&] { return s.queue->idle(); }, 60000));
}

TEST(JobWindow, DroppedPromptFillsTheEditor) {
    Session s;
    QTemporaryDir dir;
    const QString path = dir.path() + QStringLiteral("/prompt.txt");
    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write("Line one\nline two\n");
    f.close();
    bool handled = false;
    QObject::connect(s.window.get(), &MainWindow::fileHandled, [&](const QString&, bool ok, const QString&) { handled = ok; });
    s.window->openFile(path);
    ASSERT_TRUE(waitFor([&] { return handled; }, 5000));
    EXPECT_EQ(s.window->currentPage(), MainWindow::Page::NewJob);
    EXPECT_EQ(s.window->newJobPage()->prompt(), QStringLiteral("Line one\nline two\n"));
}

TEST(JobWindow, CancelFromTheJobsPage) {
    Session s;
    Job spec;
    spec.models = {fixtureModel("tiny-qwen2").toStdString()};
    spec.methods = {"integrated_gradients"};
    spec.input = "The quick brown fox jumps over the lazy dog and runs far away";
    spec.options = {{"max_new_tokens", 16}, {"methods", {{"integrated_gradients", {{"steps", 4000}}}}}};
    auto id = s.window->submitJob(spec);
    ASSERT_TRUE(id.ok());
    const QString qid = QString::fromStdString(*id);
    ASSERT_TRUE(waitFor([&] {
        auto j = s.queue->job(*id);
        return j && j->status == jobs::JobStatus::Running;
    }));
    JobsPage* jp = s.window->jobsPage();
    EXPECT_EQ(jp->runningFilter()->rowCount(), 1);
    jp->cancelJobs({qid});
    ASSERT_TRUE(s.finished(qid, 10000));
    EXPECT_EQ(s.queue->job(*id)->status, jobs::JobStatus::Cancelled);
    EXPECT_TRUE(waitFor([&] { return jp->runningFilter()->rowCount() == 0 && jp->finishedFilter()->rowCount() == 1; }, 3000));
    // Re-run is offered for what did not complete.
    jp->rerunJobs({qid});
    ASSERT_TRUE(waitFor([&] { return !jobs::isFinal(s.queue->job(*id)->status); }, 3000));
    jp->cancelJobs({qid});
    ASSERT_TRUE(s.finished(qid, 10000));
}

TEST(JobWindow, FirstStartRunsTheDemoModels) {
    if (demoModelsDir().isEmpty()) GTEST_SKIP() << "no bundled demo models";
    Session s;
    ASSERT_TRUE(s.window->runDemoJob());
    const QString id = s.window->shownJob();
    ASSERT_TRUE(s.finished(id, 120000));
    const auto rec = s.queue->job(id.toStdString());
    ASSERT_EQ(rec->status, jobs::JobStatus::Completed);
    for (const auto& p : rec->pairs) EXPECT_EQ(p.status, jobs::JobStatus::Completed) << p.method << " " << p.modelIndex;
    Dashboard* d = s.window->dashboard();
    ASSERT_TRUE(waitFor([&] { return d->model().models().size() == 2 && d->model().methods().size() == 5; }, 5000));
    // Both demo models answer the sample prompt with the stored colour.
    for (int m = 0; m < 2; ++m) {
        const auto& out = rec->pairs[static_cast<size_t>(m)].result;
        ASSERT_TRUE(out);
        ASSERT_FALSE(out->output.tokens.empty());
        EXPECT_EQ(out->output.tokens.front(), "blue") << out->model;
    }
    // The demo's integrated gradients converge (unk baseline, 128 steps) and
    // every result carries its faithfulness figures.
    for (const auto& p : rec->pairs) {
        ASSERT_TRUE(p.result);
        if (p.method == "integrated_gradients") {
            EXPECT_TRUE(p.result->warnings.empty()) << p.result->model;
        }
        EXPECT_TRUE(p.result->faithfulness.is_object()) << p.method << " " << p.result->model;
    }
    EXPECT_EQ(d->faithfulnessPanel()->methodsWithFigures(), 5);
}

} // namespace
} // namespace tokenlens::gui
