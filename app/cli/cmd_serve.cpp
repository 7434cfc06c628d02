// tokenlens-cli serve: the job API over HTTP and WebSocket, headless, on
// the same job queue and results store as the desktop app.

#include "commands.h"
#include "common.h"
#include "job_cli.h"

#include "api_server.h"
#include "io/model_folder.h"
#include "jobs/job_queue.h"

#include <QElapsedTimer>
#include <QSettings>
#include <QTimer>

#include <fstream>
#include <iostream>
#include <sstream>

namespace tokenlens::cli {

namespace {

std::optional<int> intOption(const ArgParser& p, const std::string& name, int fallback, int min, int max) {
    auto v = p.value(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        const long n = std::stol(*v, &used);
        if (used == v->size() && n >= min && n <= max) return static_cast<int>(n);
    } catch (const std::exception&) {
    }
    std::cerr << "tokenlens-cli serve: --" << name << " must be an integer from " << min << " to " << max << ", got '"
              << *v << "'\n";
    return std::nullopt;
}

} // namespace

int runServe(const Args& args) {
    using namespace tokenlens::jobs;
    using namespace tokenlens::server;
    ArgParser p("serve", "[--host 127.0.0.1] [--port 8765] [--token-file F] [--max-queued N] [--store PATH]\n\n"
                         "Serves the job API (docs/api.md) until SIGINT or SIGTERM. Models are offered by id:\n"
                         "the bundled demo models, the folders configured in the app (or --model-folder),\n"
                         "and the Hugging Face cache.");
    p.add(R"(
        --host ADDR  address to listen on (default 127.0.0.1; another than loopback needs --token-file)
        --port N  port (default 8765; 0 picks a free one, printed on standard output)
        --token-file F  file holding the bearer token every request must carry
        --max-queued N  jobs waiting or running at most; more are answered 429 (default 64)
        --store PATH  results store (default: the app's, in the user's data folder)
        --model-folder DIR...  a model folder or a folder of models to offer (repeatable; replaces the app's folders)
        --hf-cache DIR  Hugging Face hub cache to offer (default: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)
        --no-hf-cache  do not offer the Hugging Face cache
        --no-demo-models  do not offer the bundled demo models
        --on-shutdown MODE  cancel (default): running jobs are cancelled; finish: they run to the end
        --workers N  job worker threads (1 or 2; default: 2 on a machine with 2 or more cores)
        --io-threads N  network threads (default 1)
        --body-limit BYTES  largest request body (default 1048576)
        --read-timeout MS  a request must arrive within this (default 15000)
        --ws-queue-bytes BYTES  events waiting for one WebSocket client at most; a slower client is dropped (default 16777216)
    )");
    if (auto code = handleParse(p, args)) return *code;
    if (!p.positional().empty()) {
        std::cerr << "tokenlens-cli serve: unexpected argument '" << p.positional().front() << "'\n\n" << p.helpText();
        return kExitUsage;
    }
    ServerOptions so;
    so.host = p.value("host").value_or("127.0.0.1");
    const auto port = intOption(p, "port", 8765, 0, 65535);
    const auto maxQueued = intOption(p, "max-queued", 64, 1, 1000000);
    const auto workers = intOption(p, "workers", 0, 1, 2);
    const auto ioThreads = intOption(p, "io-threads", 1, 1, 16);
    const auto bodyLimit = intOption(p, "body-limit", 1 << 20, 1024, 1 << 30);
    const auto readTimeout = intOption(p, "read-timeout", 15000, 100, 3600000);
    const auto wsQueue = intOption(p, "ws-queue-bytes", 16 << 20, 1024, 1 << 30);
    if (!port || !maxQueued || !workers || !ioThreads || !bodyLimit || !readTimeout || !wsQueue) return kExitUsage;
    so.wsQueueBytes = static_cast<size_t>(*wsQueue);
    so.port = static_cast<uint16_t>(*port);
    so.maxQueued = *maxQueued;
    so.ioThreads = *ioThreads;
    so.bodyLimit = static_cast<size_t>(*bodyLimit);
    so.readTimeout = std::chrono::milliseconds(*readTimeout);
    const std::string onShutdown = p.value("on-shutdown").value_or("cancel");
    if (onShutdown != "cancel" && onShutdown != "finish") {
        std::cerr << "tokenlens-cli serve: --on-shutdown must be 'cancel' or 'finish', got '" << onShutdown << "'\n";
        return kExitUsage;
    }
    if (p.has("no-hf-cache") && p.has("hf-cache")) {
        std::cerr << "tokenlens-cli serve: --hf-cache and --no-hf-cache contradict each other\n";
        return kExitUsage;
    }
    if (auto file = p.value("token-file")) {
        std::ifstream in(*file, std::ios::binary);
        if (!in) {
            std::cerr << "tokenlens-cli serve: --token-file " << *file << ": cannot open the file\n";
            return kExitFailure;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        std::string token = ss.str();
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
        size_t start = 0;
        while (start < token.size() && std::isspace(static_cast<unsigned char>(token[start]))) ++start;
        token = token.substr(start);
        if (token.empty()) {
            std::cerr << "tokenlens-cli serve: --token-file " << *file << ": the file holds no token\n";
            return kExitFailure;
        }
        if (token.find_first_of(" \t\r\n") != std::string::npos) {
            std::cerr << "tokenlens-cli serve: --token-file " << *file << ": the token must be one line without spaces\n";
            return kExitFailure;
        }
        so.token = token;
    }
    if (so.token.empty() && !isLoopbackHost(so.host)) {
        std::cerr << "tokenlens-cli serve: refusing to listen on " << so.host
                  << " without a token: anyone who can reach it could run jobs. Give --token-file FILE, or "
                     "listen on 127.0.0.1\n";
        return kExitUsage;
    }

    HeadlessApp app;
    auto store = openStoreOrReport(p.value("store"), "serve", true);
    if (!store) return kExitFailure;

    CatalogOptions co;
    co.includeDemo = !p.has("no-demo-models");
    co.includeHfCache = !p.has("no-hf-cache");
    if (auto hf = p.value("hf-cache")) co.hfCache = *hf;
    if (p.has("model-folder")) {
        for (const auto& f : p.values("model-folder")) co.folders.emplace_back(f);
    } else {
        // The folders the desktop app was given (Settings: models/folders).
        for (const QString& f : QSettings().value(QStringLiteral("models/folders")).toStringList()) {
            co.folders.emplace_back(f.toStdString());
        }
    }
    ModelCatalog catalog = ModelCatalog::discover(co);

    QueueOptions qo;
    qo.workers = *workers;
    JobQueue queue(store.get(), qo);
    QObject::connect(&queue, &JobQueue::storeFailed,
                     [](const QString& msg) { std::cerr << "tokenlens-cli serve: " << msg.toStdString() << "\n"; });
    int code = kExitOk;
    {
        ApiServer server(queue, std::move(catalog), so);
        server.handleSignals();
        if (auto st = server.start(); !st) {
            std::cerr << "tokenlens-cli serve: " << st.error().message << "\n";
            return kExitFailure;
        }
        std::cout << "tokenlens-cli serve: listening on http://" << so.host << ":" << server.port() << "\n" << std::flush;
        std::cerr << "tokenlens-cli serve: store " << store->path() << (so.token.empty() ? "" : "; bearer token required")
                  << "\n";

        QTimer waitIdle;
        waitIdle.setInterval(20);
        QElapsedTimer sinceSignal;
        QObject::connect(&server, &ApiServer::shutdownRequested, [&](int sig) {
            if (sinceSignal.isValid()) return;
            std::cerr << "tokenlens-cli serve: signal " << sig << ": shutting down ("
                      << (onShutdown == "cancel" ? "cancelling" : "finishing") << " running jobs)\n";
            server.beginShutdown();
            sinceSignal.start();
            if (onShutdown == "cancel") {
                for (const auto& id : queue.jobIds()) queue.cancelJob(id);
            }
            waitIdle.start();
        });
        QObject::connect(&waitIdle, &QTimer::timeout, [&] {
            // Cancelled pairs stop at their next chunk; whatever is still
            // running after the grace period is marked interrupted by the queue.
            const bool grace = onShutdown == "cancel" && sinceSignal.elapsed() > 30000;
            if (queue.idle() || grace) QCoreApplication::quit();
        });
        QCoreApplication::exec();
        server.stop();
    }
    std::cerr << "tokenlens-cli serve: stopped\n";
    return code;
}

} // namespace tokenlens::cli
