// Every endpoint, status code and auth rule of the job API, against a real
// `tokenlens-cli serve` on loopback.

#include "server_test_util.h"

#include "attribution/method.h"
#include "jobs/job_store.h"
#include "result/result_json.h"

#include <cmath>
#include <fstream>

using namespace tokenlens;
using namespace tokenlens::server;
using namespace tokenlens::server::testing;
using nlohmann::json;

namespace {

class Api : public ::testing::Test {
protected:
    static void SetUpTestSuite() { s_server = new ServerProcess({"--max-queued", "4"}); }
    static void TearDownTestSuite() {
        delete s_server;
        s_server = nullptr;
    }
    void SetUp() override { ASSERT_TRUE(s_server->ready()) << s_server->err(); }
    ApiClient client() { return ApiClient(s_server->endpoint()); }
    static ServerProcess* s_server;
};
ServerProcess* Api::s_server = nullptr;

// The field a 400 names.
std::string field(const HttpResponse& r) {
    const auto j = r.json();
    return j.is_object() && j.contains("field") ? j["field"].get<std::string>() : std::string("<none>");
}

std::string waitStatus(ApiClient& c, const std::string& id) {
    auto s = c.waitFinished(id, std::chrono::milliseconds(static_cast<int>(60000 * kTimeScale)));
    return s ? s->value("status", "") : s.error().message;
}

} // namespace

TEST_F(Api, HealthModelsMethods) {
    auto c = client();
    auto h = c.get("/api/health");
    ASSERT_EQ(h.status, 200) << h.message();
    EXPECT_EQ(h.json()["status"], "ok");
    EXPECT_EQ(h.header("content-type"), "application/json");

    auto models = c.models();
    ASSERT_TRUE(models.ok()) << models.error().message;
    std::set<std::string> ids;
    for (const auto& m : (*models)["models"]) {
        ids.insert(m["id"].get<std::string>());
        EXPECT_FALSE(m.contains("path")) << "the server's folders are not shown to clients";
        EXPECT_TRUE(m["usable"].get<bool>()) << m.dump();
    }
    EXPECT_EQ(ids, (std::set<std::string>{"tiny-gemma3", "tiny-gpt2", "tiny-llama", "tiny-phi3", "tiny-qwen2", "tiny-qwen3"}));

    auto methods = c.methods();
    ASSERT_TRUE(methods.ok());
    const json& list = (*methods)["methods"];
    ASSERT_EQ(list.size(), allMethods().size());
    for (size_t i = 0; i < list.size(); ++i) {
        const AttributionMethod* m = allMethods()[i];
        EXPECT_EQ(list[i]["id"], m->id());
        const auto opts = m->options();
        ASSERT_EQ(list[i]["options"].size(), opts.size()) << m->id();
        for (size_t k = 0; k < opts.size(); ++k) {
            const json& o = list[i]["options"][k];
            EXPECT_EQ(o["name"], opts[k].name);
            EXPECT_EQ(o["default"], opts[k].defaultValue) << m->id() << "." << opts[k].name;
            if (opts[k].min) EXPECT_DOUBLE_EQ(o["min"].get<double>(), *opts[k].min);
            else EXPECT_TRUE(o["min"].is_null());
            if (opts[k].max) {
                EXPECT_DOUBLE_EQ(o["max"].get<double>(), *opts[k].max);
            }
        }
    }
}

TEST_F(Api, UnknownRoutesAndWrongMethods) {
    auto c = client();
    EXPECT_EQ(c.get("/nope").status, 404);
    EXPECT_EQ(c.get("/api/nope").status, 404);
    EXPECT_EQ(c.get("/api/jobs/20990101-000000-deadbeef/status").status, 404);
    EXPECT_EQ(c.get("/api/jobs/20990101-000000-deadbeef/results").status, 404);
    EXPECT_EQ(c.del("/api/jobs/20990101-000000-deadbeef").status, 404);
    EXPECT_EQ(c.get("/api/jobs/..%2F..%2Fetc/status").status, 404) << "ids are checked before anything is looked up";
    auto put = c.request("PUT", "/api/jobs");
    EXPECT_EQ(put.status, 405);
    EXPECT_EQ(put.header("allow"), "GET, POST");
    EXPECT_EQ(c.request("POST", "/api/health").status, 405);
    EXPECT_EQ(c.request("POST", "/api/models").status, 405);
    EXPECT_EQ(c.request("DELETE", "/api/methods").status, 405);
    EXPECT_EQ(c.request("POST", "/api/jobs/20990101-000000-deadbeef/status").status, 405);
    auto ws = c.get("/api/ws/jobs");
    EXPECT_EQ(ws.status, 426) << "a WebSocket endpoint asked without an upgrade";
    EXPECT_EQ(c.get("/api/health").status, 200) << "the connection is still good after errors";
}

TEST_F(Api, BadJobsAnswer400NamingTheField) {
    auto c = client();
    struct Case {
        std::string body, field;
    };
    const std::vector<Case> cases = {
        {"{\"models\": [\"tiny-gpt2\"], \"methods\": [\"attention\"], ", ""},           // truncated JSON
        {"[1, 2]", ""},                                                                   // not an object
        {R"({"methods": ["attention"], "input": "x"})", "models"},                        // missing
        {R"({"models": "tiny-gpt2", "methods": ["attention"], "input": "x"})", "models"}, // wrong type
        {R"({"models": [], "methods": ["attention"], "input": "x"})", "models"},
        {R"({"models": ["tiny-gpt2", 3], "methods": ["attention"], "input": "x"})", "models[1]"},
        {R"({"models": ["no-such-model"], "methods": ["attention"], "input": "x"})", "models[0]"},
        {R"({"models": ["/etc"], "methods": ["attention"], "input": "x"})", "models[0]"},
        {R"({"models": ["../tiny-gpt2"], "methods": ["attention"], "input": "x"})", "models[0]"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention", "magic"], "input": "x"})", "methods[1]"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention", "attention"], "input": "x"})", "methods[1]"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"]})", "input"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": 7})", "input"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": ""})", "input"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "options": 3})", "options"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "options": {"max_new_tokens": 0}})",
         "options.max_new_tokens"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "options": {"max_new_tokens": "4"}})",
         "options.max_new_tokens"},
        {R"({"models": ["tiny-gpt2"], "methods": ["integrated_gradients"], "input": "x", "options": {"steps": 0}})",
         "options.steps"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "options": {"bogus": 1}})",
         "options.bogus"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "target_text": 5})", "target_text"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "parent_job": "a/b"})", "parent_job"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "parent_job": "20990101-000000-deadbeef"})",
         "parent_job"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "priority": 1.5})", "priority"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "path": "/etc"})", "path"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "messages": []})", "messages"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "messages": [{"content": "x"}]})", "messages[0].role"},
        {R"({"models": ["tiny-gpt2"], "methods": ["attention"], "messages": [{"role": "user", "content": 3}]})",
         "messages[0].content"},
        {R"({"models": ["tiny-qwen3"], "methods": ["attention"], "input": "x", "options": {"chat": {"raw": 1}}})",
         "options.chat.raw"},
    };
    for (const auto& k : cases) {
        auto r = c.request("POST", "/api/jobs", k.body);
        EXPECT_EQ(r.status, 400) << k.body << " -> " << r.body;
        const auto j = r.json();
        ASSERT_TRUE(j.is_object() && j["error"].is_string()) << k.body;
        EXPECT_FALSE(j["error"].get<std::string>().empty());
        if (!k.field.empty()) {
            EXPECT_EQ(field(r), k.field) << k.body << " -> " << r.body;
        }
    }
    // Invalid UTF-8 inside a JSON string.
    auto bad = c.request("POST", "/api/jobs", std::string(R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": ")") +
                                                  "\xff\xfe" + "\"}");
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_NE(bad.message().find("UTF-8"), std::string::npos) << bad.message();
}

TEST_F(Api, AChatJobIsExplainedOnTheRenderedConversation) {
    auto c = client();
    const json job = {{"models", {"tiny-qwen3"}},
                      {"methods", {"attention"}},
                      {"messages", json::array({{{"role", "system"}, {"content", "You answer in one word."}},
                                                {{"role", "user"}, {"content", "What colour is the sky?"}}})},
                      {"target_text", "Blue."},
                      {"options", {{"chat", {{"date", "2026-07-26"}}}}}};
    auto r = c.post("/api/jobs", job);
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = r.json()["job_id"];
    ASSERT_EQ(waitStatus(c, id), "completed");
    auto res = c.results(id);
    ASSERT_TRUE(res.ok()) << res.error().message;
    EXPECT_EQ((*res)["schema"], "tokenlens.job/2");
    auto parsed = jobFromJson(*res, "GET results");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_EQ(parsed->results.size(), 1u);
    const MethodResult& m = parsed->results[0];
    EXPECT_EQ(m.output.text, "Blue.");
    ASSERT_EQ(m.segments.size(), m.input.ids.size() + m.output.ids.size());
    EXPECT_EQ(m.segments.front().role, "template") << "<|im_start|>";
    EXPECT_EQ(m.segments.back().role, "assistant");
    ASSERT_TRUE(m.chatTemplate);
    EXPECT_EQ(m.chatTemplate->sha256.size(), 64u);
    EXPECT_EQ(m.messages, job["messages"]);
}

TEST_F(Api, JobLifecycleListResultsDelete) {
    auto c = client();
    auto r = c.post("/api/jobs", cheapJob("tiny-llama", "Lifecycle of a job"));
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = r.json()["job_id"];
    EXPECT_EQ(r.header("location"), "/api/jobs/" + id + "/status");
    ASSERT_EQ(waitStatus(c, id), "completed");

    auto st = c.status(id);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ((*st)["models"], json::array({"tiny-llama"}));
    EXPECT_DOUBLE_EQ((*st)["progress"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ((*st)["eta_seconds"].get<double>(), 0.0);
    ASSERT_EQ((*st)["pairs"].size(), 2u);
    for (const auto& p : (*st)["pairs"]) {
        EXPECT_EQ(p["status"], "completed");
        EXPECT_DOUBLE_EQ(p["progress"].get<double>(), 1.0);
        EXPECT_EQ(p["model"], "tiny-llama");
    }

    auto res = c.results(id);
    ASSERT_TRUE(res.ok()) << res.error().message;
    auto parsed = jobFromJson(*res, "GET results");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->jobId, id);
    ASSERT_EQ(parsed->results.size(), 2u);
    for (const auto& m : parsed->results) {
        EXPECT_EQ(m.status, RunStatus::Completed);
        EXPECT_EQ(m.output.ids.size(), 3u);
        EXPECT_EQ(m.raw.rows, static_cast<int64_t>(m.input.ids.size() + 3));
        EXPECT_EQ(m.raw.cols, 3);
    }
    EXPECT_EQ(res->dump().find(modelsDir()), std::string::npos) << "results do not reveal server folders";

    // The list, newest first, paged.
    auto second = c.post("/api/jobs", cheapJob("tiny-gpt2", "Second job", {"attention"}, 2));
    ASSERT_EQ(second.status, 201);
    const std::string id2 = second.json()["job_id"];
    ASSERT_EQ(waitStatus(c, id2), "completed");
    auto list = c.get("/api/jobs?offset=0&limit=1");
    ASSERT_EQ(list.status, 200);
    EXPECT_GE(list.json()["total"].get<int>(), 2);
    ASSERT_EQ(list.json()["jobs"].size(), 1u);
    EXPECT_EQ(list.json()["jobs"][0]["job_id"], id2);
    auto page2 = c.get("/api/jobs?offset=1&limit=1");
    ASSERT_EQ(page2.json()["jobs"].size(), 1u);
    EXPECT_EQ(page2.json()["jobs"][0]["job_id"], id);
    EXPECT_EQ(c.get("/api/jobs?limit=0").status, 400);
    EXPECT_EQ(field(c.get("/api/jobs?limit=abc")), "limit");
    EXPECT_EQ(field(c.get("/api/jobs?offset=-1")), "offset");

    // A follow-up on the finished job.
    json follow = cheapJob("tiny-llama", " and then", {"attention"}, 2);
    follow["parent_job"] = id;
    auto f = c.post("/api/jobs", follow);
    ASSERT_EQ(f.status, 201) << f.body;
    const std::string fid = f.json()["job_id"];
    ASSERT_EQ(waitStatus(c, fid), "completed");
    auto fres = c.results(fid);
    ASSERT_TRUE(fres.ok());
    const std::string prompt = (*fres)["input"]["text"];
    EXPECT_EQ(prompt.rfind("Lifecycle of a job", 0), 0u) << "the follow-up's prompt starts with the parent's";
    EXPECT_EQ(prompt.substr(prompt.size() - 9), " and then");

    // DELETE of a finished job deletes it.
    auto d = c.del("/api/jobs/" + id2);
    ASSERT_EQ(d.status, 200) << d.body;
    EXPECT_TRUE(d.json()["deleted"].get<bool>());
    EXPECT_EQ(c.get("/api/jobs/" + id2 + "/status").status, 404);
    EXPECT_EQ(c.del("/api/jobs/" + id2).status, 404);
}

TEST_F(Api, ResultsWhileRunning409PartialAndCancel) {
    auto c = client();
    // Slow enough to be caught running: many integrated-gradients steps.
    json slow = cheapJob("tiny-qwen2", "A slow job to cancel", {"attention", "integrated_gradients"}, 6);
    slow["options"]["methods"] = {{"integrated_gradients", {{"steps", 4096}}}};
    auto r = c.post("/api/jobs", slow);
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = r.json()["job_id"];
    // Wait for the staged attention result.
    bool attentionDone = false;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(static_cast<int>(30 * kTimeScale));
    json st;
    while (!attentionDone && std::chrono::steady_clock::now() < end) {
        st = *c.status(id);
        for (const auto& p : st["pairs"]) attentionDone |= p["method"] == "attention" && p["status"] == "completed";
        if (!attentionDone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(attentionDone) << st.dump();
    ASSERT_EQ(st["status"], "running") << "integrated gradients with 4096 steps is still running: " << st.dump();
    const double progress = st["progress"].get<double>();
    EXPECT_GE(progress, 0.0);
    EXPECT_LT(progress, 1.0);
    for (const auto& p : st["pairs"]) {
        if (p["method"] == "attention") EXPECT_DOUBLE_EQ(p["progress"].get<double>(), 1.0);
        else EXPECT_LT(p["progress"].get<double>(), 1.0);
    }

    auto busy = c.get("/api/jobs/" + id + "/results");
    EXPECT_EQ(busy.status, 409) << busy.body;
    EXPECT_EQ(busy.json()["status"], "running");
    auto partial = c.get("/api/jobs/" + id + "/results?partial=1");
    ASSERT_EQ(partial.status, 200) << partial.body;
    auto parsed = jobFromJson(partial.json(), "partial");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    int completed = 0;
    for (const auto& m : parsed->results) completed += m.status == RunStatus::Completed ? 1 : 0;
    EXPECT_EQ(completed, 1) << "the attention result is there, integrated gradients is not yet";

    // DELETE of a running job cancels it (and keeps it).
    auto d = c.del("/api/jobs/" + id);
    ASSERT_EQ(d.status, 202) << d.body;
    EXPECT_TRUE(d.json()["cancelled"].get<bool>());
    EXPECT_EQ(waitStatus(c, id), "cancelled");
    EXPECT_EQ(c.get("/api/jobs/" + id + "/results").status, 200) << "a cancelled job is final";
    // Deleting it now removes it.
    EXPECT_EQ(c.del("/api/jobs/" + id).status, 200);
    EXPECT_EQ(c.get("/api/jobs/" + id + "/status").status, 404);
}

TEST_F(Api, MaxQueuedAnswers429WithRetryAfter) {
    auto c = client();
    json slow = cheapJob("tiny-qwen2", "Fill the queue", {"integrated_gradients"}, 6);
    slow["options"]["methods"] = {{"integrated_gradients", {{"steps", 4096}}}};
    std::vector<std::string> ids;
    HttpResponse last;
    for (int i = 0; i < 6; ++i) {
        last = c.post("/api/jobs", slow);
        if (last.status != 201) break;
        ids.push_back(last.json()["job_id"]);
    }
    EXPECT_EQ(ids.size(), 4u) << "--max-queued 4";
    EXPECT_EQ(last.status, 429) << last.body;
    EXPECT_FALSE(last.header("retry-after").empty());
    for (const auto& id : ids) EXPECT_EQ(c.del("/api/jobs/" + id).status, 202);
    for (const auto& id : ids) EXPECT_EQ(waitStatus(c, id), "cancelled");
    // Room again.
    auto again = c.post("/api/jobs", cheapJob("tiny-gpt2", "After the queue drained", {"attention"}, 2));
    EXPECT_EQ(again.status, 201) << again.body;
    if (again.status == 201) {
        EXPECT_EQ(waitStatus(c, again.json()["job_id"]), "completed");
    }
}

TEST_F(Api, WebSocketEventsOfOneJobInOrder) {
    auto c = client();
    // Subscribing to an unknown job is refused before the upgrade.
    EventStream unknown(s_server->endpoint());
    EXPECT_FALSE(unknown.open("/api/ws/jobs/20990101-000000-deadbeef").ok());
    EXPECT_EQ(unknown.httpStatus(), 404);

    EventStream all(s_server->endpoint());
    ASSERT_TRUE(all.open("/api/ws/jobs").ok());
    auto hello = all.next(std::chrono::milliseconds(scaledMs(10000)));
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ((*hello)["type"], "snapshot");
    uint64_t seq = (*hello)["seq"].get<uint64_t>();

    auto r = c.post("/api/jobs", cheapJob("tiny-gpt2", "Events please", {"attention", "saliency"}, 3));
    ASSERT_EQ(r.status, 201);
    const std::string id = r.json()["job_id"];
    std::vector<std::string> types;
    std::string lastStatus;
    int results = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(static_cast<int>(60 * kTimeScale));
    while (std::chrono::steady_clock::now() < end && lastStatus != "completed") {
        auto e = all.next(std::chrono::milliseconds(scaledMs(5000)));
        if (!e) continue;
        EXPECT_EQ((*e)["seq"].get<uint64_t>(), seq + 1) << "events numbered without gaps: " << e->dump();
        seq = (*e)["seq"].get<uint64_t>();
        if ((*e)["job_id"] != id) continue;
        types.push_back((*e)["type"]);
        if ((*e)["type"] == "status") lastStatus = (*e)["status"];
        if ((*e)["type"] == "result") {
            ++results;
            ASSERT_TRUE(e->contains("result")) << "small results travel inline";
            auto m = jobFromJson(json{{"schema", "tokenlens.job/1"}, {"job_id", id}, {"results", {(*e)["result"]}}}, "event");
            (void)m;
            EXPECT_EQ((*e)["result"]["method"], (*e)["method"]);
        }
    }
    EXPECT_EQ(lastStatus, "completed");
    EXPECT_EQ(results, 2);
    ASSERT_FALSE(types.empty());
    EXPECT_EQ(types.front(), "job");
    EXPECT_EQ(types.back(), "status");

    // A subscriber of the finished job gets its snapshot at once.
    EventStream one(s_server->endpoint());
    ASSERT_TRUE(one.open("/api/ws/jobs/" + id).ok());
    auto snap = one.next(std::chrono::milliseconds(scaledMs(10000)));
    ASSERT_TRUE(snap.has_value());
    EXPECT_EQ((*snap)["type"], "snapshot");
    EXPECT_EQ((*snap)["status"]["status"], "completed");
    EXPECT_EQ((*snap)["job_seq"].get<int>(), static_cast<int>(types.size()));
    one.close();
    all.close();
}

// ------------------------------------------------------------ authentication

TEST(ApiAuth, TokenRequiredOnEveryRequestAndUpgrade) {
    QTemporaryDir dir;
    const std::string tokenFile = dir.filePath(QStringLiteral("token")).toStdString();
    const std::string token = "s3cret-token-0123456789";
    std::ofstream(tokenFile) << token << "\n";
    ServerProcess server({"--token-file", tokenFile});
    ASSERT_TRUE(server.ready()) << server.err();

    ApiClient none(server.endpoint());
    auto r = none.get("/api/health");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header("www-authenticate"), "Bearer");
    EXPECT_EQ(none.get("/api/models").status, 401);
    EXPECT_EQ(none.post("/api/jobs", cheapJob()).status, 401);
    EXPECT_EQ(none.get("/nope").status, 401) << "nothing is revealed before authentication";

    for (const std::string& wrong : {std::string("wrong"), token + "x", token.substr(0, token.size() - 1), std::string("")}) {
        ApiClient bad(server.endpoint(wrong));
        EXPECT_EQ(bad.get("/api/health").status, 401) << "'" << wrong << "'";
    }
    ApiClient basic(server.endpoint());
    EXPECT_EQ(basic.request("GET", "/api/health", "", {{"Authorization", "Basic " + token}}).status, 401);

    ApiClient good(server.endpoint(token));
    EXPECT_EQ(good.get("/api/health").status, 200);
    auto id = good.submit(cheapJob("tiny-gpt2", "Authenticated", {"attention"}, 2));
    ASSERT_TRUE(id.ok()) << id.error().message;

    EventStream wsNone(server.endpoint());
    EXPECT_FALSE(wsNone.open("/api/ws/jobs").ok());
    EXPECT_EQ(wsNone.httpStatus(), 401);
    EventStream wsWrong(server.endpoint("wrong"));
    EXPECT_FALSE(wsWrong.open("/api/ws/jobs/" + *id).ok());
    EXPECT_EQ(wsWrong.httpStatus(), 401);
    EventStream wsGood(server.endpoint(token));
    ASSERT_TRUE(wsGood.open("/api/ws/jobs/" + *id).ok());
    auto snap = wsGood.next(std::chrono::milliseconds(scaledMs(10000)));
    ASSERT_TRUE(snap.has_value());
    EXPECT_EQ((*snap)["type"], "snapshot");
}

TEST(ApiAuth, NonLoopbackWithoutTokenIsRefused) {
    TempStore store;
    QTemporaryDir dir;
    Child child;
    const std::string base = dir.filePath(QStringLiteral("serve")).toStdString();
    ASSERT_TRUE(child.start({"serve", "--host", "0.0.0.0", "--port", "0", "--store", store.path(), "--no-hf-cache"},
                            base + ".out", base + ".err"));
    ASSERT_TRUE(child.wait(30000));
    EXPECT_NE(child.exitCode(), 0);
    EXPECT_NE(child.err().find("refusing to listen on 0.0.0.0 without a token"), std::string::npos) << child.err();
    EXPECT_EQ(child.out().find("listening"), std::string::npos);

    // With a token it listens (on every address; reached here through loopback).
    const std::string tokenFile = dir.filePath(QStringLiteral("token")).toStdString();
    std::ofstream(tokenFile) << "tok-abc\n";
    ServerProcess server({"--host", "0.0.0.0", "--token-file", tokenFile});
    ASSERT_TRUE(server.ready()) << server.err();
    ApiClient good(server.endpoint("tok-abc"));
    EXPECT_EQ(good.get("/api/health").status, 200);
}

// ---------------------------------------------- same results as the CLI

TEST(ApiResults, IdenticalToCliAttribute) {
    // One worker: its intra-op thread count is the CLI's (all cores).
    ServerProcess server({"--workers", "1"});
    ASSERT_TRUE(server.ready()) << server.err();
    ApiClient c(server.endpoint());
    const std::string prompt = "The capital of France is";
    auto id = c.submit({{"models", {"tiny-gpt2", "tiny-llama"}},
                        {"methods", {"attention", "saliency", "input_x_gradient"}},
                        {"input", prompt},
                        {"options", {{"max_new_tokens", 4}}}});
    ASSERT_TRUE(id.ok()) << id.error().message;
    ASSERT_EQ(waitStatus(c, *id), "completed");
    auto http = c.results(*id);
    ASSERT_TRUE(http.ok());
    auto viaHttp = jobFromJson(*http, "HTTP");
    ASSERT_TRUE(viaHttp.ok()) << viaHttp.error().message;

    QTemporaryDir dir;
    const std::string out = dir.filePath(QStringLiteral("cli.json")).toStdString();
    Child cli;
    ASSERT_TRUE(cli.start({"attribute", "--model", fixtureModel("tiny-gpt2"), "--model", fixtureModel("tiny-llama"),
                           "--method", "attention,saliency,input_x_gradient", "--max-new-tokens", "4", "--output", out,
                           "--quiet", "--", prompt},
                          out + ".stdout", out + ".stderr"));
    ASSERT_TRUE(cli.wait(120000));
    ASSERT_EQ(cli.exitCode(), 0) << cli.err();
    auto viaCli = readResultFile(out);
    ASSERT_TRUE(viaCli.ok()) << viaCli.error().message;

    ASSERT_EQ(viaHttp->results.size(), viaCli->results.size());
    ASSERT_EQ(viaHttp->results.size(), 6u);
    size_t exact = 0, total = 0;
    for (const auto& h : viaHttp->results) {
        const MethodResult* match = nullptr;
        for (const auto& m : viaCli->results) {
            if (m.model == h.model && m.method == h.method) match = &m;
        }
        ASSERT_NE(match, nullptr) << h.model << " " << h.method;
        EXPECT_EQ(h.status, RunStatus::Completed);
        EXPECT_EQ(h.input.ids, match->input.ids) << h.model;
        EXPECT_EQ(h.output.ids, match->output.ids) << h.model;
        EXPECT_EQ(h.contextTokens, match->contextTokens);
        EXPECT_EQ(h.targetFn, match->targetFn);
        ASSERT_EQ(h.raw.rows, match->raw.rows);
        ASSERT_EQ(h.raw.cols, match->raw.cols);
        float scale = 0;
        expectSameEntries(h, *match, exact, total, scale);
        if (::testing::Test::HasFatalFailure()) return;
    }
    std::cout << "[ results ] " << exact << " of " << total << " matrix entries bit-identical to tokenlens-cli attribute\n";
    // With the same intra-op thread count the float32 sums run in the same
    // order: the same bits (two workers of one thread each differ in the last bits).
    EXPECT_EQ(exact, total);
}

TEST(ApiCli, BadServeOptionsAreNamed) {
    QTemporaryDir dir;
    struct Case {
        std::vector<std::string> args;
        int code;
        std::string message;
    };
    const std::string missingToken = dir.filePath(QStringLiteral("missing-token")).toStdString();
    const std::string emptyToken = dir.filePath(QStringLiteral("empty-token")).toStdString();
    std::ofstream(emptyToken) << "  \n";
    const std::vector<Case> cases = {
        {{"--port", "http"}, 2, "--port must be an integer from 0 to 65535"},
        {{"--port", "70000"}, 2, "--port must be an integer"},
        {{"--max-queued", "0"}, 2, "--max-queued must be an integer from 1"},
        {{"--on-shutdown", "later"}, 2, "--on-shutdown must be 'cancel' or 'finish'"},
        {{"--host", "not-an-address", "--token-file", emptyToken}, 1, "holds no token"},
        {{"--token-file", missingToken}, 1, "cannot open the file"},
        {{"--host", "not-an-address"}, 2, "refusing to listen on not-an-address without a token"},
    };
    int i = 0;
    for (const auto& k : cases) {
        std::vector<std::string> args = {"serve", "--no-hf-cache"};
        args.insert(args.end(), k.args.begin(), k.args.end());
        const std::string base = dir.filePath(QString::number(i++)).toStdString();
        Child child;
        ASSERT_TRUE(child.start(args, base + ".out", base + ".err"));
        ASSERT_TRUE(child.wait(30000));
        EXPECT_EQ(child.exitCode(), k.code) << k.args.front() << ": " << child.err();
        EXPECT_NE(child.err().find(k.message), std::string::npos) << child.err();
        EXPECT_EQ(child.out().find("listening"), std::string::npos);
    }
}
