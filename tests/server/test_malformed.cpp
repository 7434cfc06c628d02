// Randomized malformed requests: broken JSON, huge headers, truncated
// bodies, invalid UTF-8, garbage request lines, slow clients that stall,
// abrupt disconnects. The server answers what it can (4xx), closes what it
// must, and afterwards still answers /api/health.

#include "server_test_util.h"

#include <random>

using namespace tokenlens::server;
using namespace tokenlens::server::testing;

namespace {

std::string post(const std::string& body, const std::string& extraHeaders = {}) {
    return "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" + extraHeaders + "\r\n" + body;
}

std::string randomBytes(std::mt19937& rng, size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

} // namespace

TEST(Malformed, RandomizedBadRequestsLeaveTheServerAnswering) {
    ServerProcess server({"--read-timeout", "1000", "--body-limit", "65536"});
    ASSERT_TRUE(server.ready()) << server.err();
    unsigned seed = 20261201;
    if (const char* s = std::getenv("TOKENLENS_FUZZ_SEED")) seed = static_cast<unsigned>(std::strtoul(s, nullptr, 10));
    std::printf("[ fuzz    ] seed %u (TOKENLENS_FUZZ_SEED repeats a run)\n", seed);
    std::mt19937 rng(seed);
    const std::string valid = R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "fuzz", "options": {"max_new_tokens": 1}})";
    std::map<std::string, std::map<int, int>> outcomes; // case -> status -> count
    ApiClient health(server.endpoint());

    // Slow clients first: they hold connections while the rest runs.
    std::vector<std::unique_ptr<RawSocket>> slow;
    for (int i = 0; i < 16; ++i) {
        slow.push_back(std::make_unique<RawSocket>(server.port()));
        ASSERT_TRUE(slow.back()->ok());
        const std::string req = post(valid);
        slow.back()->send(req.substr(0, 1 + rng() % (req.size() - 1))); // then stall
    }
    const auto slowStart = std::chrono::steady_clock::now();

    for (int iter = 0; iter < 300; ++iter) {
        const int kind = static_cast<int>(rng() % 9);
        RawSocket s(server.port());
        ASSERT_TRUE(s.ok()) << "iteration " << iter << ": the server stopped accepting";
        std::string name;
        std::string req;
        bool expectAnswer = true;
        switch (kind) {
        case 0: { // broken JSON: a valid body cut or with a byte replaced
            name = "broken json";
            std::string body = valid;
            if (rng() % 2) body = body.substr(0, rng() % body.size());
            else body[rng() % body.size()] = "{}[]\",:x\\"[rng() % 9];
            req = post(body);
            break;
        }
        case 1: { // huge header
            name = "huge header";
            req = "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000 + rng() % 50000, 'a') + "\r\n\r\n";
            break;
        }
        case 2: { // truncated body, then the client hangs up
            name = "truncated body";
            const std::string full = post(valid);
            req = full.substr(0, full.size() - 1 - rng() % 20);
            expectAnswer = false;
            break;
        }
        case 3: { // invalid UTF-8 in a string
            name = "invalid utf-8";
            std::string body = valid;
            body.replace(body.find("fuzz"), 4, std::string("f\xc3\x28\xff") + randomBytes(rng, 2));
            for (auto& c : body) if (c == '"' && rng() % 50 == 0) c = '\x80';
            req = post(body);
            break;
        }
        case 4: { // garbage request line
            name = "garbage request line";
            req = randomBytes(rng, 1 + rng() % 200) + "\r\n\r\n";
            break;
        }
        case 5: { // oversized body
            name = "body over the limit";
            req = post(std::string(70000, ' '));
            break;
        }
        case 6: { // a valid request mutated at random bytes
            name = "mutated request";
            req = post(valid);
            for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) req[rng() % req.size()] = static_cast<char>(rng() & 0xff);
            break;
        }
        case 7: { // abrupt disconnect in the middle
            name = "abrupt disconnect";
            const std::string full = post(valid);
            s.send(full.substr(0, rng() % full.size()));
            s.reset();
            outcomes[name][0]++;
            continue;
        }
        default: { // wrong types and unknown ids, well-formed HTTP
            name = "wrong types";
            const char* bodies[] = {R"({"models": [1], "methods": ["attention"], "input": "x"})",
                                    R"({"models": ["tiny-gpt2"], "methods": {"a": 1}, "input": "x"})",
                                    R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": ["x"]})",
                                    R"({"models": ["tiny-gpt2"], "methods": ["attention"], "input": "x", "options": {"top_p": 7}})",
                                    R"(null)", R"("just a string")", R"(1e999999)"};
            req = post(bodies[rng() % 7]);
            break;
        }
        }
        if (!s.send(req)) {
            outcomes[name][-1]++; // the server closed first (fine: it saw enough)
            continue;
        }
        if (!expectAnswer) {
            s.close();
            outcomes[name][0]++;
            continue;
        }
        const std::string got = s.receive(5000);
        const int status = RawSocket::status(got);
        outcomes[name][status]++;
        if (status != 0) {
            EXPECT_TRUE(status == 400 || status == 404 || status == 405 || status == 413 || status == 431 ||
                        status == 201 || status == 200 || status == 429 || status == 401)
                << name << ": unexpected " << got.substr(0, 200);
            if (kind == 0 || kind == 3 || kind == 8) { EXPECT_EQ(status, 400) << name << ": " << got.substr(0, 300); }
            if (kind == 5) { EXPECT_EQ(status, 413) << got.substr(0, 200); }
            if (kind == 1) { EXPECT_EQ(status, 431) << got.substr(0, 200); }
        } else {
            EXPECT_TRUE(s.peerClosed()) << name << ": neither an answer nor a close within 5 s";
        }
        if (iter % 50 == 0) { EXPECT_EQ(health.get("/api/health").status, 200) << "while the slow clients stall"; }
    }
    // The stalled clients were dropped after the read timeout (1 s).
    for (auto& s : slow) {
        const auto waited = std::chrono::steady_clock::now() - slowStart;
        const int left = std::max(0, 10000 - static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
        s->receive(left);
        EXPECT_TRUE(s->peerClosed()) << "a stalled client keeps its connection";
    }
    for (const auto& [name, byStatus] : outcomes) {
        std::string line;
        for (const auto& [st, n] : byStatus) {
            line += " " + (st == -1 ? std::string("closed-before-sent") : st == 0 ? std::string("no-answer") : std::to_string(st)) +
                    " x" + std::to_string(n);
        }
        std::printf("[ fuzz    ] %-22s%s\n", name.c_str(), line.c_str());
    }
    auto h = health.get("/api/health");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.json()["status"], "ok");
    EXPECT_TRUE(server.child().running()) << server.err();
}
