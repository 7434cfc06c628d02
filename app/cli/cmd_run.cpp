// tokenlens-cli run: a job file (or a .jsonl batch) through the same job
// queue and results store as the desktop app, headless.

#include "commands.h"
#include "common.h"
#include "job_cli.h"

#include "jobs/job_queue.h"
#include "result/result_json.h"
#include "result/result_sidecar.h"
#include "util/atomic_file.h"

#include <QFile>
#include <QTimer>

#include <chrono>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace tokenlens::cli {
namespace {

using namespace tokenlens::jobs;

std::optional<std::string> readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

int runRun(const Args& args) {
    const std::string cmd = "run";
    ArgParser p(cmd, "JOB.json | BATCH.jsonl | --rerun ID  [--store PATH] [--output FILE]\n\n"
                     "JOB.json: {\"models\": [DIR, ...], \"methods\": [...], \"input\": \"prompt\", \"options\": {...},\n"
                     "           \"target_text\": \"...\", \"parent_job\": \"ID\", \"priority\": 0}\n"
                     "BATCH.jsonl: one prompt (JSON string or plain text) or one job object per line;\n"
                     "             --model / --method give what a line leaves out.");
    p.add(R"(
        --store PATH  results store (default: the app's, in the user's data folder)
        --no-store  keep nothing: run without a results store
        --output FILE  write the result JSON here (default: standard output; a batch writes one line per job)
        --rerun ID  re-run the pairs of a stored job that did not complete (interrupted, failed, cancelled)
        --model DIR...  model folder for batch lines without models (repeatable)
        --method LIST...  methods for batch lines without methods (comma-separated, repeatable)
        --workers N  worker threads (1 or 2; default: 2 on a machine with 2 or more cores)
        --quiet  no progress on standard error
    )");
    addGranularityOptions(p);
    if (auto code = handleParse(p, args)) return *code;
    const bool rerunMode = p.has("rerun");
    if ((rerunMode && !p.positional().empty()) || (!rerunMode && p.positional().size() != 1)) {
        std::cerr << "tokenlens-cli run: give one job file, or --rerun ID\n\n" << p.helpText();
        return kExitUsage;
    }
    if (p.has("no-store") && (p.has("store") || rerunMode)) {
        std::cerr << "tokenlens-cli run: --no-store cannot be combined with --store or --rerun\n";
        return kExitUsage;
    }
    int workers = 0;
    if (auto w = p.value("workers")) {
        workers = std::atoi(w->c_str());
        if (workers < 1 || workers > 2) {
            std::cerr << "tokenlens-cli run: --workers must be 1 or 2\n";
            return kExitUsage;
        }
    }

    HeadlessApp app;
    std::unique_ptr<JobStore> store;
    if (!p.has("no-store")) {
        store = openStoreOrReport(p.value("store"), cmd, true);
        if (!store) return kExitFailure;
    }
    QueueOptions qo;
    qo.workers = workers;
    JobQueue queue(store.get(), qo);
    const bool quiet = p.has("quiet");

    std::vector<std::string> ids;
    bool batch = false;
    if (rerunMode) {
        const std::string id = *p.value("rerun");
        auto again = queue.rerun(id);
        if (!again) {
            std::cerr << "tokenlens-cli run: " << again.error().message << "\n";
            return kExitFailure;
        }
        if (!again.value() && !quiet) std::cerr << "tokenlens-cli run: job " << id << " has nothing left to run\n";
        ids.push_back(id);
    } else {
        const std::string file = p.positional().front();
        auto text = readFile(file);
        if (!text) {
            std::cerr << "tokenlens-cli run: " << file << ": cannot open the job file\n";
            return kExitFailure;
        }
        batch = file.size() > 6 && file.substr(file.size() - 6) == ".jsonl";
        if (batch) {
            Job defaults;
            defaults.models = p.values("model");
            defaults.methods = splitComma(p.values("method"));
            if (!applyGranularityOptions(p, cmd, defaults.options)) return kExitFailure;
            auto sub = queue.submitBatch(*text, defaults, file);
            for (const auto& e : sub.errors) std::cerr << "tokenlens-cli run: " << e.message << "\n";
            ids = sub.jobIds;
            if (ids.empty()) {
                std::cerr << "tokenlens-cli run: " << file << ": no job could be queued\n";
                return kExitFailure;
            }
        } else {
            const auto j = nlohmann::ordered_json::parse(*text, nullptr, /*allow_exceptions=*/false); // messages keep their key order
            if (j.is_discarded()) {
                std::cerr << "tokenlens-cli run: " << file << ": not valid JSON\n";
                return kExitFailure;
            }
            auto spec = readJob(j, JobReading::file(file));
            if (!spec) {
                std::cerr << "tokenlens-cli run: " << spec.error().message << "\n";
                return kExitFailure;
            }
            if (!applyGranularityOptions(p, cmd, spec->options)) return kExitFailure;
            auto id = queue.submit(spec.value());
            if (!id) {
                std::cerr << "tokenlens-cli run: " << file << ": " << id.error().message << "\n";
                return kExitFailure;
            }
            ids.push_back(id.value());
        }
    }
    if (!quiet) {
        for (const auto& id : ids) std::cerr << "job " << id << (store ? " in " + store->path() : "") << "\n";
    }

    std::set<std::string> pending(ids.begin(), ids.end());
    QObject::connect(&queue, &JobQueue::pairStatusAvailable, [&](const QString& job, int mi, const QString& method,
                                                                 JobStatus st) {
        if (quiet || st == JobStatus::Running || st == JobStatus::Queued) return;
        const auto rec = queue.job(job.toStdString());
        const PairRecord* pr = rec ? rec->pair(mi, method.toStdString()) : nullptr;
        std::cerr << "[" << (rec ? modelName(rec->spec, mi) : std::to_string(mi)) << "] " << method.toStdString()
                  << " " << statusName(st);
        if (pr && pr->fromStore) std::cerr << " (from the store)";
        else if (pr && pr->fromCache) std::cerr << " (from cache)";
        else if (pr) std::cerr << " (" << pr->seconds << " s)";
        if (pr && pr->error && st != JobStatus::Completed) std::cerr << ": " << *pr->error;
        std::cerr << "\n";
    });
    auto lastShown = std::chrono::steady_clock::now();
    QObject::connect(&queue, &JobQueue::progressAvailable, [&](const QString&, int permille, double eta) {
        const auto now = std::chrono::steady_clock::now();
        if (quiet || batch || now - lastShown < std::chrono::milliseconds(1000)) return;
        lastShown = now;
        std::cerr << "  " << permille / 10 << "%";
        if (eta >= 0) std::cerr << ", about " << static_cast<int64_t>(eta + 0.5) << " s left";
        std::cerr << "\n";
    });
    QObject::connect(&queue, &JobQueue::storeFailed,
                     [](const QString& msg) { std::cerr << "tokenlens-cli run: " << msg.toStdString() << "\n"; });
    auto checkDone = [&] {
        for (auto it = pending.begin(); it != pending.end();) {
            auto rec = queue.job(*it);
            if (!rec || isFinal(rec->status)) it = pending.erase(it);
            else ++it;
        }
        if (pending.empty()) QCoreApplication::quit();
    };
    QObject::connect(&queue, &JobQueue::jobStatusAvailable, [&](const QString&, JobStatus) { checkDone(); });
    QTimer::singleShot(0, checkDone);
    QCoreApplication::exec();

    const auto output = p.value("output");
    bool allCompletedOne = true;
    if (output && !batch && ids.size() == 1) {
        // One job to a file: its large matrices go to a sidecar beside it.
        auto rec = queue.job(ids.front());
        if (rec) {
            for (const auto& pr : rec->pairs) allCompletedOne &= pr.status == JobStatus::Completed;
            if (auto st = writeResultFiles(*output, exportJson(*rec, kInlineMaxCells), toJobResult(*rec)); !st) {
                std::cerr << "tokenlens-cli run: " << st.error().message << "\n";
                return kExitFailure;
            }
            return allCompletedOne ? kExitOk : kExitFailure;
        }
    }
    std::ostringstream buffered;
    std::ostream& os = output ? static_cast<std::ostream&>(buffered) : std::cout;
    bool allCompleted = true;
    for (const auto& id : ids) {
        auto rec = queue.job(id);
        if (!rec) continue;
        for (const auto& pr : rec->pairs) allCompleted &= pr.status == JobStatus::Completed;
        const auto j = exportJson(*rec);
        os << (batch ? j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                     : j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace))
           << "\n";
    }
    os.flush();
    if (!os) {
        std::cerr << "tokenlens-cli run: write failed\n";
        return kExitFailure;
    }
    if (output) {
        // All or nothing: a process killed while writing leaves no half file.
        if (auto st = writeFileAtomically(*output, buffered.str()); !st) {
            std::cerr << "tokenlens-cli run: " << st.error().message << "\n";
            return kExitFailure;
        }
    }
    return allCompleted ? kExitOk : kExitFailure;
}

} // namespace tokenlens::cli
