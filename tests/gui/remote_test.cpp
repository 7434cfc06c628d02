// Remote mode: the window runs its jobs on a real `tokenlens-cli serve`
// child on loopback (the fixture models), over HTTP and WebSocket.

#include "../server/server_test_util.h"

#include "jobs/backend/connection_indicator.h"
#include "jobs/backend/remote_backend.h"
#include "shell/mainwindow.h"
#include "shell/settings_dialog.h"
#include "test_util.h"
#include "jobs/job_list_model.h"
#include "viewmodel/result_model.h"
#include "results/dashboard.h"
#include "jobs/jobs_page.h"
#include "shell/message_banner.h"
#include "jobs/new_job_page.h"
#include "results/timeline_panel.h"

#include "jobs/job_queue.h"
#include "jobs/job_store.h"

#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QRadioButton>
#include <QTemporaryDir>
#include <QTest>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

namespace tokenlens::gui {
namespace {

using server::testing::ServerProcess;
using test::waitFor;
using Connection = JobBackend::Connection;

const double kScale = server::testing::kTimeScale;
int ms(int base) { return static_cast<int>(base * kScale); }

const char* kPrompt = "The quick brown fox";

// A window in remote mode on `server` (quick retries for the tests).
struct RemoteSession {
    std::unique_ptr<MainWindow> window;
    RemoteBackend* backend = nullptr;

    explicit RemoteSession(const ServerProcess& server, const std::string& token = {}) {
        window = std::make_unique<MainWindow>();
        backend = window->useRemoteBackend(server.endpoint(token));
        backend->setRetryDelays(150, 600);
        window->resize(1280, 820);
        window->show();
    }
    QString indicator() const { return window->connectionIndicator()->stateText(); }
    bool connected(int timeoutMs = ms(8000)) {
        return waitFor([&] { return backend->connection() == Connection::Connected; }, timeoutMs);
    }
    bool finished(const QString& id, int timeoutMs = ms(8000)) {
        return waitFor(
            [&] {
                auto j = backend->job(id.toStdString());
                return j && jobs::isFinal(j->status);
            },
            timeoutMs);
    }
};

// `tokenlens-cli serve` on a given port and store (a restart on the port
// the first server had), the fixture models only.
class FixedPortServer {
public:
    FixedPortServer(uint16_t port, const std::string& store) {
        m_base = (std::filesystem::temp_directory_path() / ("tokenlens-remote-test-" + std::to_string(::getpid()))).string();
        if (!m_child.start({"serve", "--port", std::to_string(port), "--store", store, "--model-folder",
                            server::testing::modelsDir(), "--no-hf-cache", "--no-demo-models"},
                           m_base + ".out", m_base + ".err")) {
            return;
        }
        m_ready = waitFor([&] { return m_child.out().find("listening on http://") != std::string::npos || !m_child.running(); },
                          ms(60000)) &&
                  m_child.running();
    }
    ~FixedPortServer() {
        if (m_child.running()) {
            m_child.signal(SIGTERM);
            if (!m_child.wait(30000)) m_child.kill();
        }
        std::filesystem::remove(m_base + ".out");
        std::filesystem::remove(m_base + ".err");
    }
    bool ready() const { return m_ready; }
    std::string err() const { return m_child.err(); }

private:
    server::testing::Child m_child;
    std::string m_base;
    bool m_ready = false;
};

// A loopback port nothing listens on (bound, then closed).
uint16_t freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
}

// The same job computed in this process, for comparison.
JobResult localRun(const std::vector<std::string>& methods, int newTokens) {
    QTemporaryDir dir;
    auto store = jobs::JobStore::open((dir.path() + QStringLiteral("/jobs.sqlite")).toStdString());
    EXPECT_TRUE(store.ok());
    jobs::JobQueue queue(store.value().get());
    Job spec;
    spec.models = {server::testing::fixtureModel("tiny-gpt2")};
    spec.methods = methods;
    spec.input = kPrompt;
    spec.options = {{"max_new_tokens", newTokens}};
    auto id = queue.submit(spec);
    EXPECT_TRUE(id.ok());
    EXPECT_TRUE(waitFor([&] { return queue.idle(); }, ms(30000)));
    auto rec = queue.job(*id);
    EXPECT_TRUE(rec.has_value());
    return rec ? jobs::toJobResult(*rec) : JobResult{};
}

TEST(RemoteMode, NewJobPageSubmitsToTheServerAndTheDashboardShowsTheLocalMatrices) {
    ServerProcess server;
    ASSERT_TRUE(server.ready()) << server.err();
    RemoteSession s(server);
    ASSERT_TRUE(s.connected()) << s.backend->connectionMessage().toStdString();
    EXPECT_TRUE(s.indicator().startsWith(QStringLiteral("Connected"))) << s.indicator().toStdString();
    // The New job page lists the server's catalog (fixture models, by id).
    NewJobPage* page = s.window->newJobPage();
    ASSERT_TRUE(waitFor([&] { return !page->discovering() && !page->models().empty(); }, ms(8000)));
    bool listed = false;
    for (const auto& m : page->models()) listed = listed || (m.path == u"tiny-gpt2" && m.usable());
    ASSERT_TRUE(listed);
    page->setModelChecked(QStringLiteral("tiny-gpt2"), true);
    for (const QString& m : page->checkedMethods()) page->setMethodChecked(m, false);
    page->setMethodChecked(QStringLiteral("attention"), true);
    page->setMethodChecked(QStringLiteral("saliency"), true);
    page->setPrompt(QString::fromLatin1(kPrompt));
    page->setMaxNewTokens(3);
    ASSERT_EQ(page->checkedModels(), QStringList{QStringLiteral("tiny-gpt2")});
    page->submitButton()->click();

    ASSERT_TRUE(waitFor([&] { return !s.window->shownJob().isEmpty(); }, ms(5000))) << s.window->banner()->text().toStdString();
    const QString id = s.window->shownJob();
    ASSERT_TRUE(s.finished(id));
    ASSERT_TRUE(waitFor([&] { return s.backend->hasResults(id.toStdString()); }, ms(5000)));
    EXPECT_EQ(s.backend->job(id.toStdString())->status, jobs::JobStatus::Completed);

    // The dashboard shows both pairs, with the numbers of the same job run here.
    Dashboard* dash = s.window->dashboard();
    ASSERT_TRUE(waitFor([&] { return dash->model().hasJob() && dash->model().job().results.size() == 2; }, ms(5000)));
    const JobResult local = localRun({"attention", "saliency"}, 3);
    ASSERT_EQ(local.results.size(), 2u);
    const JobResult& shown = dash->model().job();
    EXPECT_EQ(shown.jobId, id.toStdString());
    for (const MethodResult& want : local.results) {
        const MethodResult* got = nullptr;
        for (const auto& r : shown.results) {
            if (r.method == want.method) got = &r;
        }
        ASSERT_NE(got, nullptr) << want.method;
        EXPECT_EQ(got->status, RunStatus::Completed);
        EXPECT_EQ(got->contextTokens, want.contextTokens);
        EXPECT_EQ(got->output.ids, want.output.ids);
        ASSERT_EQ(got->raw.rows, want.raw.rows);
        ASSERT_EQ(got->raw.cols, want.raw.cols);
        ASSERT_GT(want.raw.rows * want.raw.cols, 0);
        int compared = 0;
        for (size_t i = 0; i < want.raw.data.size(); ++i) {
            const float a = want.raw.data[i], b = got->raw.data[i];
            ASSERT_EQ(std::isnan(a), std::isnan(b)) << want.method << " cell " << i;
            if (std::isnan(a)) continue;
            EXPECT_NEAR(b, a, 1e-5 + 1e-4 * std::fabs(a)) << want.method << " cell " << i;
            ++compared;
        }
        EXPECT_GT(compared, 0);
    }

    // The Jobs page lists it among the finished jobs, with its prompt.
    JobsPage* jobsPage = s.window->jobsPage();
    const int row = jobsPage->model()->rowOf(id);
    ASSERT_GE(row, 0);
    EXPECT_EQ(jobsPage->model()->data(jobsPage->model()->index(row, JobListModel::Prompt)).toString(),
              QString::fromLatin1(kPrompt));
    EXPECT_TRUE(jobsPage->model()->data(jobsPage->model()->index(row, 0), JobListModel::FinalRole).toBool());
    EXPECT_EQ(jobsPage->finishedFilter()->rowCount(), 1);
    // What the API does not offer is off, and says why: the server's models
    // are its catalogue's. Import and re-run go through the API.
    EXPECT_FALSE(page->addFolderButton()->isEnabled());
    EXPECT_TRUE(page->addFolderButton()->toolTip().contains(QStringLiteral("remote mode")));
    EXPECT_TRUE(s.window->action(QStringLiteral("importJob"))->isEnabled());
}

TEST(RemoteMode, ReRunImportAndTheConversationTimelineGoThroughTheApi) {
    ServerProcess server;
    ASSERT_TRUE(server.ready()) << server.err();
    RemoteSession s(server);
    ASSERT_TRUE(s.connected());
    Job spec;
    spec.models = {"tiny-gpt2"};
    spec.methods = {"attention"};
    spec.input = kPrompt;
    spec.options = {{"max_new_tokens", 2}};
    ASSERT_TRUE(s.window->submitJob(spec).ok());
    ASSERT_TRUE(waitFor([&] { return !s.window->shownJob().isEmpty(); }, ms(5000))) << s.window->banner()->text().toStdString();
    const QString first = s.window->shownJob();
    ASSERT_TRUE(s.finished(first));

    // A follow-up on the server: the timeline shows both turns, built from the API.
    QString second;
    s.backend->followUp(first.toStdString(), " and then", 0, [&](Result<std::string> id) {
        if (id) second = QString::fromStdString(*id);
    });
    ASSERT_TRUE(waitFor([&] { return !second.isEmpty(); }, ms(5000)));
    ASSERT_TRUE(s.finished(second));
    ASSERT_TRUE(s.window->openJob(second));
    TimelinePanel* timeline = s.window->dashboard()->timelinePanel();
    ASSERT_TRUE(waitFor([&] { return timeline->turnCount() == 2; }, ms(8000)));
    EXPECT_EQ(timeline->chain(), (std::vector<std::string>{first.toStdString(), second.toStdString()}));
    // The record's conversation comes with the final status the backend
    // fetches after the "completed" event, which may land after the event.
    EXPECT_TRUE(waitFor(
        [&] {
            const auto r = s.backend->job(second.toStdString());
            return r && r->turns.size() == 3u;
        },
        ms(5000)));
    const auto rec = s.backend->job(second.toStdString());
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->turns.size(), 3u) << "input, output, input";
    EXPECT_EQ(rec->prompt.rfind(kPrompt, 0), 0u) << rec->prompt;

    // Re-run on the server: a completed job has nothing to redo, and says so quietly.
    JobsPage* jobsPage = s.window->jobsPage();
    QString failure;
    QObject::connect(s.backend, &JobBackend::operationFailed, [&](const QString& m) { failure = m; });
    jobsPage->rerunJobs({first});
    api::ApiClient client(server.endpoint());
    auto rerun = client.request("POST", "/api/jobs/" + first.toStdString() + "/rerun");
    EXPECT_EQ(rerun.status, 202) << rerun.body;
    EXPECT_EQ(rerun.json().value("requeued", true), false);
    EXPECT_EQ(client.request("POST", "/api/jobs/20990101-000000-deadbeef/rerun").status, 404);
    EXPECT_EQ(client.request("GET", "/api/jobs/import").status, 405);

    // Import an export of the first job: a new job on the server, opened here.
    QTemporaryDir dir;
    const std::string exported = (dir.path() + QStringLiteral("/first.json")).toStdString();
    s.backend->wantResults(first.toStdString());
    ASSERT_TRUE(waitFor([&] { return s.backend->hasResults(first.toStdString()); }, ms(5000)));
    auto exportedJson = s.backend->exportJob(first.toStdString());
    ASSERT_TRUE(exportedJson.ok()) << exportedJson.error().message;
    std::ofstream(exported) << exportedJson->dump();
    const int before = static_cast<int>(s.backend->listJobs().size());
    EXPECT_TRUE(s.window->importJobFile(QString::fromStdString(exported)));
    ASSERT_TRUE(waitFor([&] { return static_cast<int>(s.backend->listJobs().size()) == before + 1; }, ms(5000)));
    ASSERT_TRUE(waitFor([&] { return s.window->shownJob() != second && !s.window->shownJob().isEmpty(); }, ms(5000)));
    // The new job's spec comes with the status the backend fetches after the event that announced it.
    const std::string importedId = s.window->shownJob().toStdString();
    EXPECT_TRUE(waitFor(
        [&] {
            const auto r = s.backend->job(importedId);
            return r && r->spec.input == kPrompt;
        },
        ms(5000)));
    const auto imported = s.backend->job(importedId);
    ASSERT_TRUE(imported);
    EXPECT_EQ(imported->spec.input, kPrompt);
    EXPECT_TRUE(failure.isEmpty()) << failure.toStdString();

    // A request naming a folder outside the catalogue is imported, but never re-run there.
    nlohmann::json foreign = *exportedJson;
    foreign["tokenlens_job"]["spec"]["models"] = {"/etc"};
    foreign["tokenlens_job"]["pairs"][0]["status"] = "failed";
    auto posted = client.request("POST", "/api/jobs/import", foreign.dump());
    ASSERT_EQ(posted.status, 201) << posted.body;
    const std::string foreignId = posted.json().value("job_id", "");
    auto refused = client.request("POST", "/api/jobs/" + foreignId + "/rerun");
    EXPECT_EQ(refused.status, 409) << refused.body;
    EXPECT_NE(refused.message().find("catalogue"), std::string::npos) << refused.body;
}

TEST(RemoteMode, CancelStopsARunningJobOnTheServer) {
    ServerProcess server;
    ASSERT_TRUE(server.ready()) << server.err();
    RemoteSession s(server);
    ASSERT_TRUE(s.connected());
    // Integrated gradients with 100000 steps: minutes unless cancelled.
    Job spec;
    spec.models = {"tiny-gpt2"};
    spec.methods = {"integrated_gradients"};
    spec.input = kPrompt;
    spec.options = {{"max_new_tokens", 8}, {"methods", {{"integrated_gradients", {{"steps", 100000}}}}}};
    auto sync = s.window->submitJob(spec);
    ASSERT_TRUE(sync.ok()) << sync.error().message;
    EXPECT_TRUE(sync->empty()); // the server answers later
    ASSERT_TRUE(waitFor([&] { return !s.window->shownJob().isEmpty(); }, ms(5000))) << s.window->banner()->text().toStdString();
    const QString id = s.window->shownJob();
    ASSERT_TRUE(waitFor([&] { return s.backend->job(id.toStdString())->status == jobs::JobStatus::Running; }, ms(8000)));
    JobsPage* page = s.window->jobsPage();
    ASSERT_EQ(page->runningFilter()->rowCount(), 1);
    page->cancelJobs({id});
    ASSERT_TRUE(s.finished(id, ms(5000)));
    EXPECT_EQ(s.backend->job(id.toStdString())->status, jobs::JobStatus::Cancelled);
    // The row moved to the finished table, and the server agrees.
    EXPECT_TRUE(waitFor([&] { return page->runningFilter()->rowCount() == 0 && page->finishedFilter()->rowCount() == 1; }));
    api::ApiClient client(server.endpoint());
    auto st = client.status(id.toStdString());
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->value("status", ""), "cancelled");
}

TEST(RemoteMode, AWrongTokenIsNamedInTheIndicatorTheBannerAndTheSettingsTest) {
    QTemporaryDir dir;
    const std::string tokenFile = (dir.path() + QStringLiteral("/token")).toStdString();
    std::ofstream(tokenFile) << "right-token-123\n";
    ServerProcess server({"--token-file", tokenFile});
    ASSERT_TRUE(server.ready()) << server.err();

    RemoteSession s(server, "wrong-token");
    ASSERT_TRUE(waitFor([&] { return s.backend->connection() == Connection::WrongToken; }, ms(8000)))
        << s.indicator().toStdString();
    EXPECT_TRUE(s.indicator().contains(QStringLiteral("Wrong token"))) << s.indicator().toStdString();
    EXPECT_TRUE(s.indicator().contains(QStringLiteral("401")));
    EXPECT_EQ(s.backend->retryInMs(), -1); // not retried: the token will not change by itself
    EXPECT_EQ(s.window->banner()->kind(), MessageBanner::Kind::Error);
    EXPECT_TRUE(s.window->banner()->text().contains(QStringLiteral("refused the token"))) << s.window->banner()->text().toStdString();
    // A job submitted anyway is refused with the same words.
    Job spec;
    spec.models = {"tiny-gpt2"};
    spec.methods = {"attention"};
    spec.input = kPrompt;
    s.window->banner()->dismiss();
    auto pending = s.window->submitJob(spec);
    EXPECT_TRUE(pending.ok() && pending->empty()); // refused later, by the server
    EXPECT_TRUE(waitFor([&] { return s.window->banner()->text().contains(QStringLiteral("401")); }, ms(5000)))
        << s.window->banner()->text().toStdString();
    EXPECT_TRUE(s.window->shownJob().isEmpty());

    // The Settings dialog's test says so too, and passes with the right token.
    BackendSettings b;
    b.remote = true;
    b.url = QStringLiteral("http://127.0.0.1:%1").arg(server.port());
    b.token = QStringLiteral("wrong-token");
    SettingsDialog dialog(b);
    bool ok = true;
    QString message;
    int answers = 0;
    QObject::connect(&dialog, &SettingsDialog::testFinished, [&](bool o, const QString& m) {
        ok = o;
        message = m;
        ++answers;
    });
    dialog.testConnection();
    ASSERT_TRUE(waitFor([&] { return answers == 1; }, ms(5000)));
    EXPECT_FALSE(ok);
    EXPECT_TRUE(message.contains(QStringLiteral("refused the token"))) << message.toStdString();
    dialog.tokenEdit()->setText(QStringLiteral("right-token-123"));
    dialog.testConnection();
    ASSERT_TRUE(waitFor([&] { return answers == 2; }, ms(5000)));
    EXPECT_TRUE(ok) << message.toStdString();
    // A bad URL is refused before anything is sent.
    dialog.urlEdit()->setText(QStringLiteral("https://127.0.0.1:1"));
    dialog.testConnection();
    EXPECT_EQ(answers, 3);
    EXPECT_FALSE(ok);
    EXPECT_TRUE(message.contains(QStringLiteral("TLS"))) << message.toStdString();
}

TEST(RemoteMode, ReconnectsAfterTheServerRestartsAndReSyncsTheJobList) {
    QTemporaryDir dir;
    const std::string store = (dir.path() + QStringLiteral("/jobs.sqlite")).toStdString();
    auto first = std::make_unique<ServerProcess>(std::vector<std::string>{}, store);
    ASSERT_TRUE(first->ready()) << first->err();
    const uint16_t port = first->port();
    RemoteSession s(*first);
    ASSERT_TRUE(s.connected());

    // Two quick jobs.
    api::ApiClient client(first->endpoint());
    std::vector<std::string> ids;
    for (const char* input : {"one two three", "four five six"}) {
        auto id = client.submit(server::testing::cheapJob("tiny-gpt2", input, {"attention"}, 2));
        ASSERT_TRUE(id.ok()) << id.error().message;
        ASSERT_TRUE(client.waitFinished(*id, std::chrono::milliseconds(ms(8000))).ok());
        ids.push_back(*id);
    }
    JobListModel* model = s.window->jobsPage()->model();
    ASSERT_TRUE(waitFor([&] {
        for (const auto& id : ids) {
            auto j = s.backend->job(id);
            if (!j || !jobs::isFinal(j->status) || model->rowOf(QString::fromStdString(id)) < 0) return false;
        }
        return true;
    }));

    // The server goes away: the indicator counts down to the next attempt.
    first->terminate();
    ASSERT_TRUE(first->child().wait(10000));
    ASSERT_TRUE(waitFor([&] { return s.backend->connection() == Connection::Reconnecting; }, ms(5000)))
        << s.indicator().toStdString();
    EXPECT_TRUE(s.indicator().startsWith(QStringLiteral("Reconnecting"))) << s.indicator().toStdString();
    EXPECT_TRUE(s.indicator().contains(QStringLiteral("retrying in"))) << s.indicator().toStdString();

    // Meanwhile the first job is deleted from the store (as another client would).
    {
        auto opened = jobs::JobStore::open(store);
        ASSERT_TRUE(opened.ok()) << opened.error().message;
        auto deleted = opened.value()->deleteJob(ids[0]);
        ASSERT_TRUE(deleted.ok() && *deleted);
    }
    // The server is back on the same port and store.
    first.reset();
    FixedPortServer second(port, store);
    ASSERT_TRUE(second.ready()) << second.err();
    ASSERT_TRUE(s.connected()) << s.indicator().toStdString();
    EXPECT_TRUE(s.indicator().startsWith(QStringLiteral("Connected")));
    // Re-synced: the deleted job is gone, the other one is still listed.
    EXPECT_TRUE(waitFor([&] { return model->rowOf(QString::fromStdString(ids[0])) < 0; }, ms(5000)));
    EXPECT_FALSE(s.backend->job(ids[0]).has_value());
    EXPECT_GE(model->rowOf(QString::fromStdString(ids[1])), 0);
    // And events flow again: a new job shows up without any request of ours.
    api::ApiClient again(api::Endpoint{"127.0.0.1", port, ""});
    auto id = again.submit(server::testing::cheapJob("tiny-gpt2", "seven eight", {"attention"}, 2));
    ASSERT_TRUE(id.ok());
    EXPECT_TRUE(waitFor([&] { return model->rowOf(QString::fromStdString(*id)) >= 0; }, ms(5000)));
    EXPECT_TRUE(s.finished(QString::fromStdString(*id)));
}

TEST(RemoteMode, ServerUrlsAreCheckedWithAMessage) {
    auto ok = parseServerUrl(QStringLiteral("gpu-box:9000"), QStringLiteral("abc"));
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->host, "gpu-box");
    EXPECT_EQ(ok->port, 9000);
    EXPECT_EQ(ok->token, "abc");
    auto plain = parseServerUrl(QStringLiteral("http://127.0.0.1"), {});
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->port, 8765);
    EXPECT_FALSE(parseServerUrl(QString(), {}).ok());
    EXPECT_NE(parseServerUrl(QStringLiteral("https://x:1"), {}).error().message.find("TLS"), std::string::npos);
    EXPECT_NE(parseServerUrl(QStringLiteral("ftp://x:1"), {}).error().message.find("http://"), std::string::npos);
    EXPECT_NE(parseServerUrl(QStringLiteral("http://x:1/api"), {}).error().message.find("path"), std::string::npos);
    EXPECT_NE(parseServerUrl(QStringLiteral("x:1"), QStringLiteral("a b")).error().message.find("token"), std::string::npos);
}

TEST(RemoteMode, AnUnreachableServerIsSaidAndRetried) {
    const uint16_t port = freePort();
    ASSERT_NE(port, 0);
    MainWindow w;
    auto* backend = w.useRemoteBackend({"127.0.0.1", port, ""});
    backend->setRetryDelays(150, 600);
    ASSERT_TRUE(waitFor([&] { return backend->connection() == Connection::Unreachable; }, ms(5000)));
    EXPECT_TRUE(w.connectionIndicator()->stateText().contains(QStringLiteral("unreachable")));
    EXPECT_GE(backend->retryInMs(), 0);
}

} // namespace
} // namespace tokenlens::gui

namespace tokenlens::gui {
namespace {

TEST(RemoteMode, SettingsPersistAndSwitchTheBackendBothWays) {
    jobs::JobQueue queue(nullptr);
    MainWindow w;
    w.setJobQueue(&queue);
    JobBackend* local = w.backend();
    ASSERT_NE(local, nullptr);
    EXPECT_FALSE(local->isRemote());
    EXPECT_FALSE(w.connectionIndicator()->isVisibleTo(&w)); // nothing to say locally
    EXPECT_TRUE(w.action(QStringLiteral("importJob"))->isEnabled());

    BackendSettings b;
    b.remote = true;
    b.url = QStringLiteral("127.0.0.1:%1").arg(freePort());
    b.token = QStringLiteral("tok");
    b.save();
    EXPECT_EQ(BackendSettings::load(), b);
    w.applyBackendSettings();
    auto* remote = qobject_cast<RemoteBackend*>(w.backend());
    ASSERT_NE(remote, nullptr);
    EXPECT_EQ(remote->endpoint().token, "tok");
    EXPECT_TRUE(w.connectionIndicator()->isVisibleTo(&w));
    EXPECT_TRUE(w.action(QStringLiteral("importJob"))->isEnabled()) << "import goes through the API";

    b.remote = false;
    b.save();
    w.applyBackendSettings();
    EXPECT_EQ(w.backend(), local);
    EXPECT_FALSE(w.connectionIndicator()->isVisibleTo(&w));
    EXPECT_TRUE(w.action(QStringLiteral("importJob"))->isEnabled());

    // A malformed URL in the settings falls back to this computer, with a message.
    b.remote = true;
    b.url = QStringLiteral("https://secure:1");
    b.save();
    w.applyBackendSettings();
    EXPECT_EQ(w.backend(), local);
    EXPECT_TRUE(w.banner()->text().contains(QStringLiteral("TLS"))) << w.banner()->text().toStdString();
    BackendSettings{}.save();
}

TEST(RemoteMode, SwitchingAwayFromAServerThatNeverAnswersDoesNotBlockTheWindow) {
    // A loopback socket that accepts connections (the kernel completes them)
    // and never answers: requests wait for the client's 15 s timeout.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 16), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    jobs::JobQueue queue(nullptr);
    MainWindow w;
    w.setJobQueue(&queue);
    api::Endpoint ep;
    ep.port = ntohs(addr.sin_port);
    RemoteBackend* remote = w.useRemoteBackend(ep);
    Job spec;
    spec.models = {"tiny-gpt2"};
    spec.methods = {"attention"};
    spec.input = kPrompt;
    bool answered = false;
    remote->submit(spec, [&](Result<std::string>) { answered = true; });
    QTest::qWait(300); // the request is on the wire, the event stream is opening
    QElapsedTimer clock;
    clock.start();
    w.useLocalBackend();
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete); // the remote backend goes now
    EXPECT_LT(clock.elapsed(), ms(1000)) << "switching waited for the silent server";
    EXPECT_FALSE(w.backend()->isRemote());
    EXPECT_FALSE(answered) << "an answer after the switch is dropped";
    ::close(fd);
}

} // namespace
} // namespace tokenlens::gui
