#pragma once
// Helpers of the server tests: `tokenlens-cli serve` as a child process on
// a free loopback port, with a temporary store and the fixture models, and
// raw sockets for requests no well-behaved client would send.

#include "../core/jobs/jobs_test_util.h"

#include "api/api_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <thread>

namespace tokenlens::server::testing {

// The client is the api library's (api/api_client.h).
using api::ApiClient;
using api::Endpoint;
using api::EventStream;
using api::HttpResponse;

using jobs::testing::Child;
using jobs::testing::fixtureModel;
using jobs::testing::kTimeScale;
using jobs::testing::scaledMs;
using jobs::testing::TempStore;

inline std::string modelsDir() { return (std::filesystem::path(TOKENLENS_TEST_DATA_DIR) / "models").string(); }

// A cheap job on a fixture model, as the API takes it (models by id).
inline nlohmann::json cheapJob(const std::string& model = "tiny-gpt2", const std::string& input = "The quick brown fox",
                               std::vector<std::string> methods = {"attention", "saliency"}, int newTokens = 3) {
    return {{"models", {model}}, {"methods", methods}, {"input", input}, {"options", {{"max_new_tokens", newTokens}}}};
}

class ServerProcess {
public:
    // Extra arguments after the defaults (--port 0, the temporary store, the
    // fixture models only).
    explicit ServerProcess(std::vector<std::string> extra = {}, std::string storePath = {}) {
        static int counter = 0;
        m_base = (std::filesystem::temp_directory_path() /
                  ("tokenlens-serve-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                     .string();
        m_storePath = storePath.empty() ? m_store.path() : storePath;
        std::vector<std::string> args = {"serve",        "--port",         "0",           "--store", m_storePath,
                                         "--model-folder", modelsDir(),    "--no-hf-cache", "--no-demo-models"};
        args.insert(args.end(), extra.begin(), extra.end());
        m_started = m_child.start(args, m_base + ".out", m_base + ".err");
        if (!m_started) return;
        // The port is printed once the server listens.
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(static_cast<int>(60 * kTimeScale));
        while (std::chrono::steady_clock::now() < end && m_child.running()) {
            const std::string out = m_child.out();
            const auto at = out.find("listening on http://");
            if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
                const auto colon = out.rfind(':', out.find('\n', at));
                m_port = static_cast<uint16_t>(std::stoi(out.substr(colon + 1)));
                break;
            }
            ::usleep(10000);
        }
    }
    ~ServerProcess() {
        if (m_child.running()) {
            terminate();
            if (!m_child.wait(30000)) m_child.kill();
        } else if (m_started && (m_child.killedBySignal() || m_child.exitCode() != 0)) {
            // A crash, or a sanitizer report (TSan exits 66 with halt_on_error),
            // leaves no other trace than what it said.
            std::fprintf(stderr, "[ server  ] the server child ended by a signal or exit code %d (a crash or a "
                                 "sanitizer report, unless the test killed it); its standard error:\n%s\n",
                         m_child.exitCode(), err().c_str());
        }
        std::filesystem::remove(m_base + ".out");
        std::filesystem::remove(m_base + ".err");
    }
    bool ready() const { return m_port != 0; }
    uint16_t port() const { return m_port; }
    Endpoint endpoint(const std::string& token = {}) const { return {"127.0.0.1", m_port, token}; }
    void terminate(int sig = SIGTERM) { m_child.signal(sig); }
    Child& child() { return m_child; }
    std::string err() const { return m_child.err(); }
    std::string out() const { return m_child.out(); }
    const std::string& storePath() const { return m_storePath; }

private:
    TempStore m_store;
    std::string m_storePath;
    std::string m_base;
    Child m_child;
    bool m_started = false;
    uint16_t m_port = 0;
};

// A raw TCP connection for malformed requests.
class RawSocket {
public:
    explicit RawSocket(uint16_t port) {
        m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(m_fd);
            m_fd = -1;
        }
    }
    ~RawSocket() { close(); }
    RawSocket(const RawSocket&) = delete;
    RawSocket& operator=(const RawSocket&) = delete;
    bool ok() const { return m_fd >= 0; }
    // false when the peer is gone.
    bool send(const std::string& bytes) {
        size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(m_fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return false;
            sent += static_cast<size_t>(n);
        }
        return true;
    }
    // Reads until the peer closes, `timeoutMs` passes, or a full response
    // with Content-Length arrived.
    std::string receive(int timeoutMs) {
        std::string got;
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
            if (left <= 0) break;
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
            char buf[4096];
            const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
            if (n <= 0) {
                m_peerClosed = true;
                break;
            }
            got.append(buf, static_cast<size_t>(n));
            if (complete(got)) break;
        }
        return got;
    }
    bool peerClosed() const { return m_peerClosed; }
    void close() {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }
    // Closes with a reset (SO_LINGER 0): an abrupt disconnect.
    void reset() {
        linger l{1, 0};
        ::setsockopt(m_fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close();
    }

    // The status code of the first response in `bytes` (0 when none).
    static int status(const std::string& bytes) {
        if (bytes.rfind("HTTP/1.", 0) != 0 || bytes.size() < 12) return 0;
        return std::atoi(bytes.c_str() + 9);
    }

private:
    static bool complete(const std::string& s) {
        const auto head = s.find("\r\n\r\n");
        if (head == std::string::npos) return false;
        const auto cl = s.find("Content-Length: ");
        if (cl == std::string::npos || cl > head) return false;
        const size_t len = std::strtoul(s.c_str() + cl + 16, nullptr, 10);
        return s.size() >= head + 4 + len;
    }
    int m_fd = -1;
    bool m_peerClosed = false;
};

// Entry by entry, `got` against `want` of the same shape: NaN exactly where
// `want` has NaN, every other entry within 1e-5 of want's largest magnitude
// (returned in `scale`); counts the finite entries (`total`) and those that
// are bit-identical (`exact`).
inline void expectSameEntries(const MethodResult& got, const MethodResult& want, size_t& exact, size_t& total,
                              float& scale) {
    scale = 0;
    for (float v : want.raw.data) {
        if (!std::isnan(v)) scale = std::max(scale, std::fabs(v));
    }
    for (size_t i = 0; i < got.raw.data.size(); ++i) {
        const float a = got.raw.data[i], b = want.raw.data[i];
        ASSERT_EQ(std::isnan(a), std::isnan(b)) << got.model << " " << got.method << " entry " << i;
        if (std::isnan(a)) continue;
        ++total;
        exact += a == b ? 1 : 0;
        EXPECT_NEAR(a, b, 1e-5f * std::max(scale, 1e-12f)) << got.model << " " << got.method << " entry " << i;
    }
}

} // namespace tokenlens::server::testing
