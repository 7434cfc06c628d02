#include "commands.h"
#include "common.h"

#include "attribution/engine.h"
#include "run/job_runner.h"
#include "result/result_json.h"
#include "result/result_sidecar.h"
#include "util/atomic_file.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tokenlens::cli {
namespace {

// "7" -> 7, "1.5" -> 1.5, "true" -> true, "all" -> "all".
nlohmann::json scalar(const std::string& v) {
    if (v == "true") return true;
    if (v == "false") return false;
    char* end = nullptr;
    const long long i = std::strtoll(v.c_str(), &end, 10);
    if (!v.empty() && *end == '\0') return i;
    const double d = std::strtod(v.c_str(), &end);
    if (!v.empty() && *end == '\0') return d;
    return v;
}

// Progress on stderr, at most twice a second.
class ProgressLine {
public:
    ProgressLine(std::string label) : m_label(std::move(label)), m_start(std::chrono::steady_clock::now()) {}
    void update(int64_t done, int64_t total) {
        const auto now = std::chrono::steady_clock::now();
        if (now - m_last < std::chrono::milliseconds(500) || now - m_start < std::chrono::milliseconds(500)) return;
        m_last = now;
        std::cerr << "\r" << m_label << " " << (total ? 100 * done / total : 0) << "%   " << std::flush;
        m_shown = true;
    }
    void finish(const std::string& status) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
        std::cerr << (m_shown ? "\r" : "") << m_label << " " << status << " (" << secs << " s)          \n";
    }

private:
    std::string m_label;
    std::chrono::steady_clock::time_point m_start, m_last{};
    bool m_shown = false;
};

} // namespace

int runAttribute(const Args& args) {
    const std::string cmd = "attribute";
    ArgParser p(cmd, "--model DIR [--model DIR2 ...] --method m1,m2,... [options] [--] PROMPT | --prompt-file FILE");
    p.option("model", "DIR", "model folder; repeat for several models", /*repeatable=*/true);
    p.option("method", "LIST", "comma-separated methods (attention, attention_rollout, alti, saliency, "
                               "input_x_gradient, occlusion, value_zeroing, gradient_shap, lime, kernel_shap, "
                               "shapley_sampling, integrated_gradients)", true);
    p.option("prompt-file", "FILE", "read the prompt from a UTF-8 file");
    p.option("target-text", "TEXT", "attribute this continuation instead of a generated one");
    p.option("max-new-tokens", "N", "tokens to generate when no target text is given (default 8)");
    p.option("target-fn", "F", "probability (default), log_probability or logit");
    p.option("reduction", "R", "l2 (default), sum or mean");
    p.option("steps", "K", "integrated gradients steps (default 50)");
    p.option("baseline", "B", "zero (default) or unk, for integrated gradients and occlusion");
    p.option("strategy", "S", "batched (default) or per_step (Inseq's way; slower)");
    p.option("option", "KEY=VALUE", "any other option, e.g. attention.layer=1 or quadrature=riemann_trapezoid", true);
    p.option("output", "FILE", "write the result JSON here (default: standard output)");
    p.option("device", "DEV", "cpu (default) or cuda");
    p.option("compute-dtype", "D", "float32 (default) or bfloat16: the dtype the model computes in "
                                   "(attributions still sum in float32; docs/methods.md)");
    p.flag("faithfulness", "also measure each result's faithfulness (ERASER AOPC, deletion/insertion AUC, "
                           "Kendall tau vs leave-one-out; zero-embedding removal, or --option "
                           "faithfulness={\"baseline\":\"unk\"})");
    p.flag("quiet", "no progress on standard error");
    addGranularityOptions(p);
    addChatOptions(p);
    if (auto code = handleParse(p, args)) return *code;
    const auto modelDirs = p.values("model");
    const auto methods = splitComma(p.values("method"));
    if (modelDirs.empty() || methods.empty()) {
        std::cerr << "tokenlens-cli attribute: --model and --method are required\n\n" << p.helpText();
        return kExitUsage;
    }
    std::optional<std::string> prompt;
    if (!readPromptOrChat(p, cmd, prompt)) return kExitFailure;

    Job job;
    job.models = modelDirs;
    job.input = prompt.value_or("");
    job.methods = methods;
    job.targetText = p.value("target-text");
    const std::pair<const char*, const char*> direct[] = {
        {"max-new-tokens", "max_new_tokens"}, {"target-fn", "target_fn"}, {"reduction", "reduction"},
        {"steps", "steps"}, {"baseline", "baseline"}, {"strategy", "strategy"}, {"compute-dtype", "compute_dtype"}};
    for (const auto& [flag, key] : direct) {
        if (auto v = p.value(flag)) job.options[key] = scalar(*v);
    }
    if (p.has("faithfulness")) job.options["faithfulness"] = true;
    for (const auto& kv : p.values("option")) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::cerr << "tokenlens-cli attribute: --option expects KEY=VALUE, got '" << kv << "'\n";
            return kExitUsage;
        }
        const std::string key = kv.substr(0, eq);
        const auto value = scalar(kv.substr(eq + 1));
        if (auto dot = key.find('.'); dot != std::string::npos) {
            job.options["methods"][key.substr(0, dot)][key.substr(dot + 1)] = value;
        } else {
            job.options[key] = value;
        }
    }
    if (!applyChatOptions(p, cmd, prompt, job)) return kExitFailure;
    if (!applyGranularityOptions(p, cmd, job.options)) return kExitFailure;
    if (auto valid = validateJob(job); !valid) {
        std::cerr << "tokenlens-cli attribute: " << valid.error().message << "\n";
        return kExitUsage;
    }
    for (const auto& m : methods) {
        if (auto opts = methodOptions(job, m); !opts) {
            std::cerr << "tokenlens-cli attribute: " << opts.error().message << " (that method will fail; the others run)\n";
        }
    }
    const auto output = p.value("output");
    if (output) {
        if (auto st = checkWritable(*output); !st) {
            std::cerr << "tokenlens-cli attribute: " << st.error().message << "\n";
            return kExitFailure;
        }
    }

    LoadOptions lo;
    lo.device = p.value("device").value_or("cpu");
    const bool quiet = p.has("quiet");
    bool anyFailed = false;
    std::optional<ProgressLine> line;
    RunListener listener;
    listener.modelFailed = [&](const std::string& message) {
        std::cerr << "tokenlens-cli attribute: " << message << "\n";
        anyFailed = true;
    };
    listener.starting = [&](const std::string& model, const std::string& method) {
        line.emplace("[" + model + "] " + method);
        RunControl control;
        if (!quiet) control.progress = [&](int64_t done, int64_t total) { line->update(done, total); };
        return control;
    };
    listener.finished = [&](const MethodResult& r) {
        if (!line) return; // a pair of a model that failed to load: already reported
        if (!quiet) line->finish(runStatusName(r.status));
        line.reset();
        if (r.status != RunStatus::Completed) {
            anyFailed = true;
            std::cerr << "tokenlens-cli attribute: [" << r.model << "] " << r.method << " "
                      << runStatusName(r.status) << ": " << r.error.value_or("") << "\n";
        }
        for (const auto& w : r.warnings) std::cerr << "warning: [" << r.model << "] " << r.method << ": " << w << "\n";
    };
    JobResult result = JobRunner({}, lo).run(job, listener);
    result.jobId = "cli-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    if (output) {
        // All or nothing: a process killed while writing leaves no half
        // file. Large matrices go to a sidecar beside it.
        if (auto st = writeResultFiles(*output, toJson(result, kInlineMaxCells), result); !st) {
            std::cerr << "tokenlens-cli attribute: " << st.error().message << "\n";
            return kExitFailure;
        }
    } else {
        std::cout << writeResultJson(result);
    }
    return anyFailed ? kExitFailure : kExitOk;
}

} // namespace tokenlens::cli
