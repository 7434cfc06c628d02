// tokenlens-cli export RESULT --format F: a result file (ours or Inseq's) as
// an Inseq file, an HTML page, SVG or PDF figures, the matrix as CSV, or the
// token importance table in Markdown or LaTeX. `jobs export ID --format F`
// shares exportResult() for results in the store.

#include "commands.h"
#include "common.h"

#include "result/html_page.h"
#include "result/inseq_file.h"
#include "result/result_json.h"
#include "result/tables.h"
#include "util/atomic_file.h"

#ifdef TOKENLENS_CLI_FIGURES
#include "results/dashboard.h"
#include "results/offscreen_export.h"

#include <QApplication>
#endif

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tokenlens::cli {

namespace {

const char* const kFormats = "inseq, html, svg, pdf, csv, markdown, latex";

bool knownFormat(const std::string& f) {
    return f == "inseq" || f == "html" || f == "svg" || f == "pdf" || f == "csv" || f == "markdown" || f == "latex";
}

std::string pairName(const MethodResult& r) { return r.model + " / " + r.method; }

// The one completed pair --model / --method leave; prints why there is none
// or which to choose. `code` is the exit code then.
std::optional<size_t> choosePair(const JobResult& job, const ArgParser& p, const std::string& cmd, int& code) {
    const auto model = p.value("model");
    const auto methods = splitComma(p.values("method"));
    std::vector<size_t> found;
    std::string all;
    for (size_t k = 0; k < job.results.size(); ++k) {
        const MethodResult& r = job.results[k];
        if (r.status != RunStatus::Completed) continue;
        all += "\n  " + pairName(r);
        const bool modelOk = !model || r.model == *model || std::filesystem::path(r.model).filename() == *model;
        const bool methodOk = methods.empty() || std::find(methods.begin(), methods.end(), r.method) != methods.end();
        if (modelOk && methodOk) found.push_back(k);
    }
    if (found.size() == 1) return found.front();
    if (found.empty()) {
        std::cerr << "tokenlens-cli " << cmd << ": no completed result matches"
                  << (all.empty() ? std::string(" (the result has none)") : "; the result has:" + all) << "\n";
        code = kExitFailure;
    } else {
        std::cerr << "tokenlens-cli " << cmd << ": this format holds one model and method; choose one with --model "
                  << "and --method:" << all << "\n";
        code = kExitUsage;
    }
    return std::nullopt;
}

int writeText(const std::string& text, const std::optional<std::string>& path, const std::string& cmd) {
    if (!path) {
        std::cout << text;
        return kExitOk;
    }
    if (auto st = writeFileAtomically(*path, text); !st) { // all or nothing: no half-written export
        std::cerr << "tokenlens-cli " << cmd << ": " << st.error().message << "\n";
        return kExitFailure;
    }
    return kExitOk;
}

} // namespace

void addExportOptions(ArgParser& p) {
    p.option("format", "F", std::string("what to write: ") + kFormats);
    p.option("output", "FILE", "write here (default: standard output; svg and pdf need it)");
    p.option("model", "NAME", "inseq, csv, svg, pdf: the model (default: the only one, or the first for figures)");
    p.option("method", "M", "inseq, csv: the method; svg, pdf: the methods shown (comma-separated)", true);
    p.option("view", "V", "svg, pdf: tokens (default) or heatmap");
    p.option("title", "TEXT", "html: the page's title (default: the prompt)");
    p.flag("compress", "inseq: gzip the file, as Inseq's save(compress=True)");
    p.option("inseq-tensors", "T", "inseq: safetensors (Inseq 0.6+, default) or ndarray (Inseq 0.5 and earlier)");
}

bool figureFormat(const ArgParser& p) {
    const auto f = p.value("format");
    return f && (*f == "svg" || *f == "pdf");
}

std::unique_ptr<QObject> makeFigureApplication() {
#ifdef TOKENLENS_CLI_FIGURES
    return gui::makeOffscreenApplication();
#else
    return nullptr;
#endif
}

int exportResult(const JobResult& job, const ArgParser& p, const std::string& cmd) {
    const std::string format = p.value("format").value_or("");
    const auto output = p.value("output");
    if (!knownFormat(format)) {
        std::cerr << "tokenlens-cli " << cmd << ": --format must be one of " << kFormats << "\n";
        return kExitUsage;
    }
    if (format == "inseq" || format == "csv") {
        int code = kExitOk;
        const auto pair = choosePair(job, p, cmd, code);
        if (!pair) return code;
        if (format == "csv") return writeText(pairMatrixCsv(job, *pair), output, cmd);
        InseqWriteOptions how{p.has("compress")};
        const std::string tensors = p.value("inseq-tensors").value_or("safetensors");
        if (tensors == "ndarray") how.tensors = InseqTensors::Ndarray;
        else if (tensors != "safetensors") {
            std::cerr << "tokenlens-cli " << cmd << ": --inseq-tensors must be safetensors or ndarray\n";
            return kExitUsage;
        }
        auto text = writeInseq(job, *pair, how);
        if (!text) {
            std::cerr << "tokenlens-cli " << cmd << ": " << text.error().message << "\n";
            return kExitFailure;
        }
        return writeText(text.value(), output, cmd);
    }
    if (format == "html") {
        std::string prompt = job.input.text.substr(0, 80);
        // Not half a UTF-8 character at the cut.
        while (prompt.size() < job.input.text.size() && !prompt.empty() &&
               (static_cast<unsigned char>(job.input.text[prompt.size()]) & 0xC0) == 0x80) {
            prompt.pop_back();
        }
        const std::string title = p.value("title").value_or("TokenLens · " + prompt);
        return writeText(writeHtmlPage(job, title), output, cmd);
    }
    if (format == "markdown") return writeText(importanceMarkdown(job), output, cmd);
    if (format == "latex") return writeText(importanceLatex(job), output, cmd);
    // svg, pdf
    if (!output) {
        std::cerr << "tokenlens-cli " << cmd << ": --format " << format << " needs --output FILE\n";
        return kExitUsage;
    }
    const std::string view = p.value("view").value_or("tokens");
    if (view != "tokens" && view != "heatmap") {
        std::cerr << "tokenlens-cli " << cmd << ": --view must be tokens or heatmap\n";
        return kExitUsage;
    }
#ifdef TOKENLENS_CLI_FIGURES
    using gui::ExportKind;
    const bool svg = format == "svg", heatmap = view == "heatmap";
    const ExportKind kind = heatmap ? (svg ? ExportKind::HeatmapSvg : ExportKind::HeatmapPdf)
                                    : (svg ? ExportKind::TokenViewSvg : ExportKind::TokenViewPdf);
    QStringList methods;
    for (const auto& m : splitComma(p.values("method"))) methods << QString::fromStdString(m);
    const QString error = gui::exportOffscreen(job, kind, QString::fromStdString(*output),
                                               QString::fromStdString(p.value("model").value_or("")), methods);
    if (!error.isEmpty()) {
        std::cerr << "tokenlens-cli " << cmd << ": " << error.toStdString() << "\n";
        return kExitFailure;
    }
    return kExitOk;
#else
    std::cerr << "tokenlens-cli " << cmd << ": this build has no GUI library, so no " << format << " figures\n";
    return kExitFailure;
#endif
}

int runExport(const Args& args) {
    const std::string cmd = "export";
    ArgParser p(cmd, "RESULT --format inseq|html|svg|pdf|csv|markdown|latex [--output FILE]");
    addExportOptions(p);
    if (auto code = handleParse(p, args)) return *code;
    if (p.positional().size() != 1 || !p.has("format")) {
        std::cerr << "tokenlens-cli export: expected one result file (TokenLens result JSON or an Inseq file) and "
                     "--format\n\n"
                  << p.helpText();
        return kExitUsage;
    }
    const std::string file = p.positional().front();
    const auto read = readFileOrReport(file, "export");
    if (!read) return kExitFailure;
    const std::string& bytes = *read;
    const std::filesystem::path folder =
        std::filesystem::path(file).has_parent_path() ? std::filesystem::path(file).parent_path() : ".";
    auto job = looksLikeInseq(bytes) ? readInseq(bytes, file) : readResultJson(bytes, file, folder);
    if (!job) {
        std::cerr << "tokenlens-cli export: " << job.error().message << "\n";
        return kExitFailure;
    }
    auto app = figureFormat(p) ? makeFigureApplication() : nullptr;
    return exportResult(job.value(), p, cmd);
}

} // namespace tokenlens::cli
