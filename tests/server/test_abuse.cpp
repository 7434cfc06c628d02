// The server under abuse, on loopback and in bounded loops: a client sending
// one byte a second, oversized headers and bodies, a thousand idle
// connections, malformed WebSocket frames, a wrong token hammered, path
// tricks over real sockets. Throughout, health checks are answered promptly,
// the server's memory and descriptors stay bounded, and nothing outside its
// store or catalogue is read. Figures printed here are in docs/reliability.md.

#include "server_test_util.h"

#include <dirent.h>
#include <sys/resource.h>

#include <fstream>

using namespace tokenlens::server;
using namespace tokenlens::server::testing;

namespace {

// Resident memory of a process in kB (0 when unreadable).
long rssKb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return 0;
}

// Open descriptors of a process, and whether one of them is `path`.
int openFds(pid_t pid, const std::string& path = {}, bool* found = nullptr) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return -1;
    int n = 0;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        ++n;
        if (found && !path.empty()) {
            char target[4096];
            const ssize_t len = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
            if (len > 0 && std::string(target, static_cast<size_t>(len)) == path) *found = true;
        }
    }
    ::closedir(d);
    return n;
}

// One health check on a fresh connection: its status (0: none) and time.
int health(uint16_t port, double& ms, const std::string& token = {}) {
    const auto start = std::chrono::steady_clock::now();
    RawSocket s(port);
    if (!s.ok()) return 0;
    std::string req = "GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    if (!s.send(req + "\r\n")) return 0;
    const int status = RawSocket::status(s.receive(static_cast<int>(5000 * kTimeScale)));
    ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return status;
}

// A health check must come back within this (a loaded 2-core machine included).
const double kPromptMs = 1000 * kTimeScale;

std::string wsUpgrade(const std::string& target) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// A client frame: FIN + opcode, masked (as clients must) unless `masked` is false.
std::string frame(uint8_t first, const std::string& payload, bool masked = true, uint64_t claimedLength = 0) {
    std::string f(1, static_cast<char>(first));
    const uint64_t len = claimedLength ? claimedLength : payload.size();
    const char maskBit = masked ? '\x80' : '\0';
    if (len < 126) {
        f += static_cast<char>(maskBit | static_cast<char>(len));
    } else if (len <= 0xffff) {
        f += static_cast<char>(maskBit | 126);
        f += static_cast<char>(len >> 8);
        f += static_cast<char>(len & 0xff);
    } else {
        f += static_cast<char>(maskBit | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>((len >> (8 * i)) & 0xff);
    }
    const char key[4] = {'\x12', '\x34', '\x56', '\x78'};
    if (masked) f.append(key, 4);
    for (size_t i = 0; i < payload.size(); ++i) f += masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i];
    return f;
}

} // namespace

// One byte a second: the read timeout covers the whole request, so trickling
// does not keep a connection; health answers meanwhile.
TEST(Abuse, ASlowClientSendingOneByteASecondIsDroppedAtTheReadTimeout) {
    ServerProcess server({"--read-timeout", "3000"});
    ASSERT_TRUE(server.ready()) << server.err();
    const std::string req = "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    RawSocket slow(server.port());
    ASSERT_TRUE(slow.ok());
    const auto start = std::chrono::steady_clock::now();
    double worst = 0;
    size_t sent = 0;
    const int bound = static_cast<int>(3 + 6 * kTimeScale);
    for (int second = 0; second < bound && sent < req.size(); ++second) {
        if (!slow.send(req.substr(sent, 1))) break;
        ++sent;
        double ms = 0;
        EXPECT_EQ(health(server.port(), ms), 200) << "second " << second;
        worst = std::max(worst, ms);
        slow.receive(1000);
        if (slow.peerClosed()) break;
    }
    if (!slow.peerClosed()) slow.receive(static_cast<int>(3000 * kTimeScale));
    const double heldMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ abuse   ] slow client: %zu bytes in %.1f s, then dropped; slowest health check %.1f ms\n", sent,
                heldMs / 1000, worst);
    EXPECT_TRUE(slow.peerClosed()) << "a client trickling one byte a second still holds its connection";
    EXPECT_LT(sent, req.size()) << "the whole request got through";
    EXPECT_LT(worst, kPromptMs);
}

// Headers and bodies past the limits are refused as soon as the limit is
// passed, without the server buffering them.
TEST(Abuse, OversizedHeadersAndBodiesAreRefusedWithoutBeingBuffered) {
    ServerProcess server({"--body-limit", "65536"});
    ASSERT_TRUE(server.ready()) << server.err();
    const pid_t pid = server.child().pid();
    double ms = 0;
    ASSERT_EQ(health(server.port(), ms), 200);
    const long rssBefore = rssKb(pid);
    struct Case {
        std::string name, head;
        size_t padding; // bytes sent after `head`
        int status;
    };
    std::string manyHeaders = "GET /api/health HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 5000; ++i) manyHeaders += "X-" + std::to_string(i) + ": y\r\n";
    const std::vector<Case> cases = {
        {"a 4 MB header line", "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ", size_t{4} << 20, 431},
        {"5,000 headers", manyHeaders + "\r\n", 0, 431},
        {"a 4 MB request target", "GET /api/jobs?x=", size_t{4} << 20, 431},
        {"Content-Length of 10 GB", "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 10737418240\r\n\r\n",
         size_t{1} << 20, 413},
        {"a 4 MB chunked body", "POST /api/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400000\r\n",
         size_t{4} << 20, 413},
    };
    for (const auto& c : cases) {
        RawSocket s(server.port());
        ASSERT_TRUE(s.ok());
        s.send(c.head);
        const std::string chunk(64 << 10, 'a');
        for (size_t sent = 0; sent < c.padding; sent += chunk.size()) {
            if (!s.send(chunk)) break; // the server answered and closed
        }
        const std::string got = s.receive(static_cast<int>(5000 * kTimeScale));
        EXPECT_EQ(RawSocket::status(got), c.status) << c.name << ": " << got.substr(0, 200);
        EXPECT_EQ(health(server.port(), ms), 200) << "after " << c.name;
        EXPECT_LT(ms, kPromptMs) << "after " << c.name;
    }
    const long rssAfter = rssKb(pid);
    std::printf("[ abuse   ] oversized requests: server RSS %ld kB before, %ld kB after\n", rssBefore, rssAfter);
    EXPECT_LT(rssAfter - rssBefore, 64 * 1024) << "the server kept what it refused";
}

// A thousand idle connections (as many as the descriptor limit allows):
// health still answers at once (503 with Retry-After past the connection
// limit), the idle ones are closed at the read timeout, and the server's
// descriptors come back to what they were.
TEST(Abuse, AThousandIdleConnectionsAreClosedAtTheReadTimeout) {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < 1200 && lim.rlim_max > lim.rlim_cur) {
        lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 4096);
        ::setrlimit(RLIMIT_NOFILE, &lim); // the server child inherits it
    }
    const int n = static_cast<int>(std::min<rlim_t>(1000, lim.rlim_cur > 200 ? lim.rlim_cur - 100 : 100));
    ServerProcess server({"--read-timeout", "3000"});
    ASSERT_TRUE(server.ready()) << server.err();
    const pid_t pid = server.child().pid();
    double ms = 0;
    ASSERT_EQ(health(server.port(), ms), 200);
    const int fdsBefore = openFds(pid);
    const long rssBefore = rssKb(pid);
    std::vector<std::unique_ptr<RawSocket>> idle;
    for (int i = 0; i < n; ++i) {
        idle.push_back(std::make_unique<RawSocket>(server.port()));
        ASSERT_TRUE(idle.back()->ok()) << "connection " << i;
    }
    const auto opened = std::chrono::steady_clock::now();
    double worst = 0;
    int answered = 0;
    for (int i = 0; i < 5; ++i) {
        const int st = health(server.port(), ms);
        answered += st == 200 || st == 503;
        worst = std::max(worst, ms);
    }
    EXPECT_EQ(answered, 5) << "health checks went unanswered beside " << n << " idle connections";
    EXPECT_LT(worst, kPromptMs);
    const int fdsHeld = openFds(pid);
    const long rssHeld = rssKb(pid);
    // Every idle connection is closed by the server.
    int closed = 0;
    for (auto& s : idle) {
        const auto left = std::chrono::milliseconds(static_cast<int>(3000 + 10000 * kTimeScale)) -
                          (std::chrono::steady_clock::now() - opened);
        s->receive(static_cast<int>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count())));
        closed += s->peerClosed() ? 1 : 0;
    }
    idle.clear();
    EXPECT_EQ(closed, n) << "idle connections outlived the read timeout";
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(static_cast<int>(5 * kTimeScale));
    int fdsAfter = openFds(pid);
    while (fdsAfter > fdsBefore + 2 && std::chrono::steady_clock::now() < until) {
        ::usleep(50000);
        fdsAfter = openFds(pid);
    }
    EXPECT_EQ(health(server.port(), ms), 200);
    std::printf("[ abuse   ] %d idle connections: health within %.1f ms; server fds %d -> %d -> %d, RSS %ld -> %ld kB\n",
                n, worst, fdsBefore, fdsHeld, fdsAfter, rssBefore, rssHeld);
    EXPECT_GE(fdsHeld, fdsBefore + n / 2) << "the server did not hold the connections (nothing was tested)";
    EXPECT_LE(fdsAfter, fdsBefore + 2) << "descriptors leaked";
    EXPECT_LT(rssHeld - rssBefore, 128 * 1024);
}

// Frames no client may send: each closes that event stream, and the server
// goes on answering. (A frame header that never completes is held until the
// stream's idle timeout, Beast's suggested 300 s for servers with pings.)
TEST(Abuse, MalformedWebSocketFramesCloseTheStreamAndNothingElse) {
    ServerProcess server;
    ASSERT_TRUE(server.ready()) << server.err();
    const std::vector<std::pair<std::string, std::string>> frames = {
        {"unmasked text frame", frame(0x81, "hello", false)},
        {"reserved opcode 0x3", frame(0x83, "x")},
        {"reserved bits set", frame(0xf1, "x")},
        {"a claimed length of 2^62", frame(0x82, "", true, uint64_t{1} << 62)},
        {"a 100 kB message (limit 64 kB)", frame(0x82, std::string(100 << 10, 'a'))},
        {"a fragmented ping", frame(0x09, "x")},
        {"a ping of 200 bytes", frame(0x89, std::string(200, 'p'))},
        {"invalid UTF-8 in text", frame(0x81, "\xc3\x28\xff")},
        {"a continuation without a start", frame(0x80, "x")},
        {"a close with a bad code", frame(0x88, std::string("\x03\xe7", 2))},
        {"garbage: reserved opcode 0xf, not final", std::string("\x0f\x81\x01\x02\x03\x04\x05", 7)},
    };
    for (const auto& [name, bytes] : frames) {
        RawSocket s(server.port());
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE(s.send(wsUpgrade("/api/ws/jobs")));
        const std::string head = s.receive(static_cast<int>(2000 * kTimeScale));
        ASSERT_EQ(head.substr(0, 12), "HTTP/1.1 101") << name << ": " << head.substr(0, 200);
        s.send(bytes);
        s.receive(static_cast<int>(5000 * kTimeScale)); // a close frame, then EOF
        if (!s.peerClosed()) s.receive(static_cast<int>(5000 * kTimeScale));
        EXPECT_TRUE(s.peerClosed()) << name << ": the stream stayed open";
        std::printf("[ abuse   ] websocket, %s: closed\n", name.c_str());
        double ms = 0;
        EXPECT_EQ(health(server.port(), ms), 200) << "after " << name;
        EXPECT_LT(ms, kPromptMs) << "after " << name;
    }
    EXPECT_TRUE(server.child().running()) << server.err();
}

// A wrong token a thousand times: every one 401, nothing slows down for the
// right one (no lock-out to exploit), memory stays where it was.
TEST(Abuse, AWrongTokenHammeredIsRefusedEveryTimeAndHealthStaysPrompt) {
    TempStore dir;
    const std::string tokenFile = dir.dir.filePath(QStringLiteral("token")).toStdString();
    std::ofstream(tokenFile) << "right-token-0123456789\n";
    ServerProcess server({"--token-file", tokenFile});
    ASSERT_TRUE(server.ready()) << server.err();
    const pid_t pid = server.child().pid();
    double ms = 0;
    ASSERT_EQ(health(server.port(), ms, "right-token-0123456789"), 200);
    const long rssBefore = rssKb(pid);
    std::atomic<int> refused{0}, other{0};
    std::vector<std::thread> hammers;
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < 4; ++t) {
        hammers.emplace_back([&, t] {
            // Keep-alive connections, 250 requests each, tokens of every length.
            RawSocket s(server.port());
            for (int i = 0; i < 250; ++i) {
                const std::string token = std::string(static_cast<size_t>(1 + (i * 7 + t) % 40), 'x');
                if (!s.send("GET /api/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n")) break;
                const int st = RawSocket::status(s.receive(static_cast<int>(5000 * kTimeScale)));
                (st == 401 ? refused : other)++;
            }
        });
    }
    std::vector<double> times;
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(health(server.port(), ms, "right-token-0123456789"), 200);
        times.push_back(ms);
    }
    for (auto& h : hammers) h.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::sort(times.begin(), times.end());
    const long rssAfter = rssKb(pid);
    std::printf("[ abuse   ] wrong token: %d refused in %.1f s; health with the right one: median %.1f ms, max %.1f ms; "
                "RSS %ld -> %ld kB\n",
                refused.load(), seconds, times[times.size() / 2], times.back(), rssBefore, rssAfter);
    EXPECT_EQ(refused.load(), 1000);
    EXPECT_EQ(other.load(), 0);
    EXPECT_LT(times.back(), kPromptMs);
    EXPECT_LT(rssAfter - rssBefore, 32 * 1024);
}

// Path tricks in every id parameter over real sockets: 404, and the file
// they point at is never opened.
TEST(Abuse, PathTricksInIdsReadNothingOutsideTheStore) {
    ServerProcess server;
    ASSERT_TRUE(server.ready()) << server.err();
    const pid_t pid = server.child().pid();
    const std::vector<std::string> tricks = {"..%2f..%2f..%2fetc%2fpasswd", "%2fetc%2fpasswd", "..", "%2e%2e",
                                             "a%00b", "%2e%2e%2f%2e%2e%2fetc"};
    const std::vector<std::pair<std::string, std::string>> routes = {
        {"GET", "/api/jobs/{}/status"}, {"GET", "/api/jobs/{}/results"}, {"POST", "/api/jobs/{}/rerun"},
        {"DELETE", "/api/jobs/{}"}};
    bool opened = false;
    for (const auto& [verb, pattern] : routes) {
        for (const auto& trick : tricks) {
            std::string target = pattern;
            target.replace(target.find("{}"), 2, trick);
            RawSocket s(server.port());
            ASSERT_TRUE(s.send(verb + " " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
            const std::string got = s.receive(static_cast<int>(5000 * kTimeScale));
            EXPECT_EQ(RawSocket::status(got), 404) << verb << " " << target << ": " << got.substr(0, 200);
            EXPECT_EQ(got.find("root:"), std::string::npos);
            openFds(pid, "/etc/passwd", &opened);
        }
    }
    // Models and parents by path: refused naming the field; the folder is never opened.
    ApiClient c(server.endpoint());
    for (const std::string model : {"/etc", "../../../../etc", "/proc/self", "tiny-gpt2/../../../etc"}) {
        auto r = c.post("/api/jobs", cheapJob(model));
        EXPECT_EQ(r.status, 400) << model;
        EXPECT_EQ(r.json().value("field", ""), "models[0]") << model << ": " << r.body;
    }
    auto parent = cheapJob();
    parent["parent_job"] = "../../etc/passwd";
    auto r = c.post("/api/jobs", parent);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.json().value("field", ""), "parent_job") << r.body;
    EXPECT_FALSE(opened) << "the server opened /etc/passwd";
}
