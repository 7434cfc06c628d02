// The perturbation and context-mixing methods through the job API: a job
// with lime, kernel_shap, attention_rollout and alti (per-method options in
// the job JSON) gives over HTTP what `tokenlens-cli attribute` gives for the
// same job.

#include "server_test_util.h"

#include "result/result_json.h"

#include <QTemporaryDir>

#include <cmath>

using namespace tokenlens;
using namespace tokenlens::server;
using namespace tokenlens::server::testing;

TEST(ApiResults, NewMethodsIdenticalToCliAttribute) {
    const auto start = std::chrono::steady_clock::now();
    auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    // One worker: its intra-op thread count is the CLI's (all cores).
    ServerProcess server({"--workers", "1"});
    std::cout << "[ timing ] server ready after " << since() << " s\n";
    ASSERT_TRUE(server.ready()) << server.err();
    ApiClient c(server.endpoint());
    const std::string prompt = "The capital of France is";
    const std::vector<std::string> methods = {"lime", "kernel_shap", "attention_rollout", "alti"};
    // Options given per method; the CLI spells them --option METHOD.KEY=VALUE.
    const nlohmann::json perMethod = {{"lime", {{"samples", 40}, {"seed", 3}}},
                                      {"kernel_shap", {{"samples", 40}, {"seed", 4}}},
                                      {"attention_rollout", {{"residual_weight", 0.25}}},
                                      {"alti", {{"first_layer", 1}}}};
    auto id = c.submit({{"models", {"tiny-gpt2", "tiny-llama"}},
                        {"methods", methods},
                        {"input", prompt},
                        {"options", {{"max_new_tokens", 3}, {"target_fn", "logit"}, {"methods", perMethod}}}});
    ASSERT_TRUE(id.ok()) << id.error().message;
    auto final = c.waitFinished(*id, std::chrono::milliseconds(static_cast<int>(60000 * kTimeScale)));
    ASSERT_TRUE(final.ok()) << final.error().message;
    ASSERT_EQ(final->value("status", ""), "completed") << final->dump();
    std::cout << "[ timing ] job completed after " << since() << " s\n";
    auto http = c.results(*id);
    ASSERT_TRUE(http.ok()) << http.error().message;
    auto viaHttp = jobFromJson(*http, "HTTP");
    ASSERT_TRUE(viaHttp.ok()) << viaHttp.error().message;

    QTemporaryDir dir;
    const std::string out = dir.filePath(QStringLiteral("cli.json")).toStdString();
    std::vector<std::string> args = {"attribute", "--model", fixtureModel("tiny-gpt2"), "--model",
                                     fixtureModel("tiny-llama"), "--method", "lime,kernel_shap,attention_rollout,alti",
                                     "--max-new-tokens", "3", "--target-fn", "logit"};
    for (const auto& [method, options] : perMethod.items()) {
        for (const auto& [key, value] : options.items()) {
            args.push_back("--option");
            args.push_back(method + "." + key + "=" + value.dump());
        }
    }
    for (const std::string a : {"--output", out.c_str(), "--quiet", "--", prompt.c_str()}) args.push_back(a);
    Child cli;
    ASSERT_TRUE(cli.start(args, out + ".stdout", out + ".stderr"));
    ASSERT_TRUE(cli.wait(120000));
    ASSERT_EQ(cli.exitCode(), 0) << cli.err();
    std::cout << "[ timing ] tokenlens-cli done after " << since() << " s\n";
    auto viaCli = readResultFile(out);
    ASSERT_TRUE(viaCli.ok()) << viaCli.error().message;

    ASSERT_EQ(viaHttp->results.size(), 8u);
    ASSERT_EQ(viaCli->results.size(), 8u);
    size_t exact = 0, total = 0;
    for (const auto& h : viaHttp->results) {
        const MethodResult* match = nullptr;
        for (const auto& m : viaCli->results) {
            if (m.model == h.model && m.method == h.method) match = &m;
        }
        ASSERT_NE(match, nullptr) << h.model << " " << h.method;
        EXPECT_EQ(h.status, RunStatus::Completed) << h.model << " " << h.method << ": " << h.error.value_or("");
        EXPECT_EQ(match->status, RunStatus::Completed) << h.model << " " << h.method << ": " << match->error.value_or("");
        EXPECT_EQ(h.input.ids, match->input.ids) << h.model;
        EXPECT_EQ(h.output.ids, match->output.ids) << h.model;
        EXPECT_EQ(h.targetFn, match->targetFn) << h.method;
        // The per-method options arrived on both paths (not the defaults).
        EXPECT_EQ(h.options, match->options) << h.model << " " << h.method;
        for (const auto& [key, value] : perMethod[h.method].items()) {
            EXPECT_EQ(h.options.value(key, nlohmann::json()), value) << h.method << " " << key;
        }
        ASSERT_EQ(h.raw.rows, match->raw.rows);
        ASSERT_EQ(h.raw.cols, match->raw.cols);
        ASSERT_GT(h.raw.cols, 0);
        float scale = 0;
        const size_t before = total;
        expectSameEntries(h, *match, exact, total, scale);
        if (::testing::Test::HasFatalFailure()) return;
        EXPECT_GT(scale, 0.0f) << h.model << " " << h.method << ": an all-zero matrix";
        EXPECT_GT(total, before);
    }
    std::cout << "[ results ] " << exact << " of " << total << " matrix entries bit-identical to tokenlens-cli attribute\n";
    // Same intra-op thread count, same seeds: the same bits.
    EXPECT_EQ(exact, total);
}
