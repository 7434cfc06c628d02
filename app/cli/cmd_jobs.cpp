// tokenlens-cli jobs list|show|export|import|delete: the results store.

#include "commands.h"
#include "common.h"
#include "job_cli.h"

#include "jobs/job_types.h"
#include "result/inseq_file.h"
#include "result/result_json.h"
#include "result/result_sidecar.h"
#include "util/atomic_file.h"

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace tokenlens::cli {
namespace {

using namespace tokenlens::jobs;

std::string oneLine(const std::string& text, size_t width) {
    std::string s;
    for (char c : text) s += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    if (s.size() > width) {
        s.resize(width);
        // Do not cut a UTF-8 sequence in half.
        while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
        if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
        s += "...";
    }
    return s;
}

nlohmann::json summary(const JobRecord& job) {
    nlohmann::json j;
    j["id"] = job.id;
    j["status"] = statusName(job.status);
    j["error"] = job.error ? nlohmann::json(*job.error) : nlohmann::json(nullptr);
    j["created_at"] = job.createdAt;
    j["started_at"] = job.startedAt;
    j["finished_at"] = job.finishedAt;
    j["spec"] = toJson(job.spec);
    j["prompt"] = job.prompt;
    int64_t peak = 0; // the job's: the largest of its pairs'
    for (const auto& p : job.pairs) peak = std::max(peak, p.peakRssBytes);
    j["peak_rss_bytes"] = peak > 0 ? nlohmann::json(peak) : nlohmann::json(nullptr);
    j["turns"] = nlohmann::json::array();
    for (const auto& t : job.turns) {
        j["turns"].push_back({{"role", t.role}, {"job", t.job}, {"begin", t.begin}, {"end", t.end}});
    }
    j["pairs"] = nlohmann::json::array();
    for (const auto& p : job.pairs) {
        nlohmann::json pj = {{"model_index", p.modelIndex},
                             {"model", modelName(job.spec, p.modelIndex)},
                             {"method", p.method},
                             {"status", statusName(p.status)},
                             {"error", p.error ? nlohmann::json(*p.error) : nlohmann::json(nullptr)},
                             {"from_cache", p.fromCache},
                             {"from_store", p.fromStore},
                             {"seconds", p.seconds},
                             {"peak_rss_bytes", p.peakRssBytes > 0 ? nlohmann::json(p.peakRssBytes)
                                                                   : nlohmann::json(nullptr)},
                             {"started_at", p.startedAt},
                             {"finished_at", p.finishedAt}};
        if (p.result) pj["output"] = p.result->output.text;
        j["pairs"].push_back(std::move(pj));
    }
    return j;
}

int writeOut(const std::string& text, const std::optional<std::string>& path) {
    if (!path) {
        std::cout << text;
        return kExitOk;
    }
    // All or nothing: a process killed while writing leaves no half file.
    if (auto st = writeFileAtomically(*path, text); !st) {
        std::cerr << "tokenlens-cli jobs: " << st.error().message << "\n";
        return kExitFailure;
    }
    return kExitOk;
}

} // namespace

int runJobs(const Args& args) {
    const std::string cmd = "jobs";
    ArgParser p(cmd, "list | show ID | export ID | import FILE | delete ID  [--store PATH]\n"
                     "(import takes an exported job, a result JSON or an Inseq file)");
    p.option("store", "PATH", "results store (default: the app's, in the user's data folder)");
    addExportOptions(p); // export: --format F writes the job's results as `tokenlens-cli export` does
    p.flag("json", "list: one JSON object per job instead of a table");
    if (auto code = handleParse(p, args)) return *code;
    const auto& pos = p.positional();
    const std::string action = pos.empty() ? "" : pos.front();
    const bool needsArg = action == "show" || action == "export" || action == "import" || action == "delete";
    if (!(action == "list" && pos.size() == 1) && !(needsArg && pos.size() == 2)) {
        std::cerr << "tokenlens-cli jobs: expected list, show ID, export ID, import FILE or delete ID\n\n"
                  << p.helpText();
        return kExitUsage;
    }
    auto figureApp = action == "export" && figureFormat(p) ? makeFigureApplication() : nullptr;
    HeadlessApp app;
    auto store = openStoreOrReport(p.value("store"), cmd);
    if (!store) return kExitFailure;

    if (action == "list") {
        auto jobs = store->listJobs(false);
        if (!jobs) {
            std::cerr << "tokenlens-cli jobs: " << jobs.error().message << "\n";
            return kExitFailure;
        }
        for (const auto& job : jobs.value()) {
            if (p.has("json")) {
                auto s = summary(job);
                s.erase("turns");
                std::cout << s.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
                continue;
            }
            int done = 0;
            for (const auto& pr : job.pairs) done += pr.status == JobStatus::Completed ? 1 : 0;
            std::ostringstream pairs;
            pairs << done << "/" << job.pairs.size();
            std::cout << std::left << std::setw(26) << job.id << std::setw(12) << statusName(job.status)
                      << std::setw(22) << job.createdAt << std::setw(7) << pairs.str()
                      << (job.spec.parentJob ? "↳ " : "") << oneLine(job.spec.input, 60) << "\n";
        }
        return kExitOk;
    }
    const std::string arg = pos[1];
    if (action == "import") {
        const auto bytes = readFileOrReport(arg, "jobs");
        if (!bytes) return kExitFailure;
        nlohmann::json j;
        if (looksLikeInseq(*bytes)) {
            // An Inseq file goes in as the one-result job it reads as.
            auto inseq = readInseq(*bytes, arg);
            if (!inseq) {
                std::cerr << "tokenlens-cli jobs: " << inseq.error().message << "\n";
                return kExitFailure;
            }
            j = toJson(inseq.value());
        } else {
            j = nlohmann::json::parse(*bytes, nullptr, false);
        }
        if (j.is_discarded()) {
            std::cerr << "tokenlens-cli jobs: " << arg << ": not valid JSON\n";
            return kExitFailure;
        }
        const std::filesystem::path file(arg);
        auto matrices = sidecarSource(j, arg, file.has_parent_path() ? file.parent_path() : std::filesystem::path("."));
        if (!matrices) {
            std::cerr << "tokenlens-cli jobs: " << matrices.error().message << "\n";
            return kExitFailure;
        }
        auto job = importJson(j, arg, &matrices.value());
        if (!job) {
            std::cerr << "tokenlens-cli jobs: " << job.error().message << "\n";
            return kExitFailure;
        }
        auto existing = store->loadJob(job->id, false);
        if (job->id.empty() || !existing || existing->has_value()) job->id = newJobId();
        for (auto& pr : job->pairs) {
            if (!isFinal(pr.status)) pr.status = JobStatus::Interrupted;
        }
        if (!isFinal(job->status)) job->status = JobStatus::Interrupted;
        if (auto st = store->insertJob(job.value()); !st) {
            std::cerr << "tokenlens-cli jobs: " << st.error().message << "\n";
            return kExitFailure;
        }
        std::cout << job->id << "\n";
        return kExitOk;
    }
    if (action == "delete") {
        auto deleted = store->deleteJob(arg);
        if (!deleted) {
            std::cerr << "tokenlens-cli jobs: " << deleted.error().message << "\n";
            return kExitFailure;
        }
        if (!deleted.value()) {
            std::cerr << "tokenlens-cli jobs: there is no job " << arg << " in " << store->path() << "\n";
            return kExitFailure;
        }
        return kExitOk;
    }
    // show reads the results too: each pair's output and peak memory come from its result.
    auto job = store->loadJob(arg, action == "export" || action == "show");
    if (!job) {
        std::cerr << "tokenlens-cli jobs: " << job.error().message << "\n";
        return kExitFailure;
    }
    if (!*job) {
        std::cerr << "tokenlens-cli jobs: there is no job " << arg << " in " << store->path() << "\n";
        return kExitFailure;
    }
    if (action == "show") {
        auto s = summary(**job);
        auto chain = store->conversation(arg);
        if (chain) s["conversation"] = chain.value();
        return writeOut(s.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", p.value("output"));
    }
    if (p.has("format")) return exportResult(toJobResult(**job), p, cmd);
    if (const auto output = p.value("output")) {
        // To a file: large matrices go to a sidecar beside it.
        if (auto st = writeResultFiles(*output, exportJson(**job, kInlineMaxCells), toJobResult(**job)); !st) {
            std::cerr << "tokenlens-cli jobs: " << st.error().message << "\n";
            return kExitFailure;
        }
        return kExitOk;
    }
    return writeOut(exportJson(**job).dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                    p.value("output"));
}

} // namespace tokenlens::cli
