// Randomized malformed requests: broken JSON, huge headers, truncated
// bodies, invalid UTF-8, garbage request lines, slow clients that stall,
// abrupt disconnects. The server answers what it can (4xx), closes what it
// must, and afterwards still answers /api/health.

#include "server_test_util.h"

#include <atomic>
#include <random>
#include <thread>

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

// A WebSocket subscriber that stops reading is disconnected once its write
// queue passes the limit; the other subscribers and the server carry on.
TEST(Malformed, SlowWebSocketConsumerIsDropped) {
    ServerProcess server({"--ws-queue-bytes", "16384"});
    ASSERT_TRUE(server.ready()) << server.err();
    // A raw client with a tiny receive buffer that upgrades and never reads.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 2048;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string upgrade = "GET /api/ws/jobs HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    ASSERT_EQ(::send(fd, upgrade.data(), upgrade.size(), MSG_NOSIGNAL), static_cast<ssize_t>(upgrade.size()));
    char head[512];
    const ssize_t n = ::recv(fd, head, sizeof head, 0);
    ASSERT_GT(n, 12);
    ASSERT_EQ(std::string(head, 12), "HTTP/1.1 101");

    EventStream good(server.endpoint());
    ASSERT_TRUE(good.open("/api/ws/jobs").ok());
    ASSERT_TRUE(good.next(std::chrono::milliseconds(scaledMs(10000))).has_value()); // snapshot

    // The good subscriber reads all the time, as a live client does (its
    // socket buffer alone need not hold a whole run's events).
    std::map<std::string, std::string> last;
    size_t events = 0;
    std::atomic<bool> jobsDone{false};
    std::thread reader([&] {
        auto quietSince = std::chrono::steady_clock::now();
        while (!good.closed()) {
            if (auto e = good.next(std::chrono::milliseconds(200))) {
                ++events;
                if ((*e)["type"] == "status") last[(*e)["job_id"]] = (*e)["status"];
                quietSince = std::chrono::steady_clock::now();
            } else if (jobsDone && std::chrono::steady_clock::now() - quietSince > std::chrono::seconds(1)) {
                break;
            }
        }
    });
    ApiClient c(server.endpoint());
    std::vector<std::string> ids;
    const std::string prompt = "A longer prompt so that every staged result carries a few kilobytes of matrices";
    for (int i = 0; i < 12; ++i) {
        auto id = c.submit(cheapJob(i % 2 ? "tiny-gpt2" : "tiny-llama", prompt + " " + std::to_string(i),
                                    {"attention", "saliency", "input_x_gradient"}, 8));
        EXPECT_TRUE(id.ok()) << id.error().message;
        if (id.ok()) ids.push_back(*id);
    }
    int completed = 0;
    for (const auto& id : ids) {
        auto st = c.waitFinished(id, std::chrono::milliseconds(static_cast<int>(90000 * kTimeScale)));
        completed += st && (*st)["status"] == "completed" ? 1 : 0;
    }
    EXPECT_EQ(completed, 12);
    jobsDone = true;
    reader.join();
    // The good subscriber got everything, ending in each job's final status.
    EXPECT_FALSE(good.closed()) << "the reading subscriber was dropped too";
    for (const auto& id : ids) EXPECT_EQ(last[id], "completed") << id;
    // The stalled one was cut off: draining its socket ends in EOF (or a reset).
    size_t drained = 0;
    bool eof = false;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(scaledMs(10000));
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) break;
        char buf[65536];
        const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
        if (got <= 0) {
            eof = true;
            break;
        }
        drained += static_cast<size_t>(got);
    }
    ::close(fd);
    std::printf("[ slow ws ] good subscriber: %zu events; stalled one: %zu bytes before it was dropped\n", events, drained);
    EXPECT_TRUE(eof) << "the stalled subscriber is still connected after " << drained << " bytes";
    EXPECT_EQ(c.get("/api/health").status, 200);
}
