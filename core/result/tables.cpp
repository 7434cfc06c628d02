#include "result/tables.h"

#include "analysis/token_importance.h"
#include "result/csv.h"
#include "result/method_style.h"

#include <cmath>
#include <cstdio>

namespace tokenlens {

namespace {

struct ModelTable {
    std::string model;
    std::vector<std::string> tokens; // context tokens (n + t)
    int64_t n = 0;
    std::vector<std::string> methods;
    std::vector<std::vector<double>> values; // per method: n + t importances
};

std::vector<ModelTable> tablesOf(const JobResult& job) {
    std::vector<ModelTable> out;
    for (const auto& r : job.results) {
        if (r.status != RunStatus::Completed || r.raw.empty()) continue;
        ModelTable* t = nullptr;
        for (auto& e : out) {
            if (e.model == r.model && e.tokens == r.contextTokens) t = &e;
        }
        if (!t) {
            out.push_back({r.model, r.contextTokens, static_cast<int64_t>(r.input.tokens.size()), {}, {}});
            t = &out.back();
        }
        const auto imp = analysis::tokenImportance(r.raw, t->n);
        std::vector<double> v = imp.input;
        v.insert(v.end(), imp.output.begin(), imp.output.end());
        const MethodStyle* s = findMethodStyle(r.method);
        t->methods.push_back(s ? s->label : r.method);
        t->values.push_back(std::move(v));
    }
    return out;
}

std::string number(double v) {
    if (!std::isfinite(v)) return "–";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

// Spaces at the ends made visible; newlines and tabs as arrows.
std::string visible(const std::string& token, const char* space) {
    std::string out;
    for (size_t i = 0; i < token.size(); ++i) {
        const char c = token[i];
        if (c == ' ' && (i == 0 || i + 1 == token.size())) out += space;
        else if (c == '\n') out += "↵";
        else if (c == '\t') out += "⇥";
        else out += c;
    }
    return out;
}

std::string markdownCell(const std::string& token) {
    std::string out;
    for (char c : visible(token, "␣")) {
        if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '_' || c == '<' || c == '[') out += '\\';
        out += c;
    }
    return out;
}

std::string latexCell(const std::string& token) {
    std::string out;
    for (size_t i = 0; i < token.size(); ++i) {
        const char c = token[i];
        switch (c) {
        case '\\': out += "\\textbackslash{}"; break;
        case '{': case '}': case '$': case '&': case '#': case '%': case '_': out += '\\'; out += c; break;
        case '^': out += "\\textasciicircum{}"; break;
        case '~': out += "\\textasciitilde{}"; break;
        case ' ': out += (i == 0 || i + 1 == token.size()) ? "\\textvisiblespace{}" : " "; break;
        case '\n': out += "\\textbackslash{}n"; break;
        default: out += c;
        }
    }
    return out;
}

std::string label(int64_t k, int64_t n) {
    std::string s(1, k < n ? 'x' : 'y');
    s += std::to_string(k < n ? k : k - n);
    return s;
}

} // namespace

std::string importanceMarkdown(const JobResult& job) {
    std::string out;
    for (const auto& t : tablesOf(job)) {
        out += "Token importance (sum of each token's attributions to the output, on the prompt block), " +
               markdownCell(t.model) + "\n\n| | token |";
        for (const auto& m : t.methods) {
            out += ' ';
            out += markdownCell(m);
            out += " |";
        }
        out += "\n|---|---|";
        for (size_t m = 0; m < t.methods.size(); ++m) out += "---:|";
        out += "\n";
        for (size_t k = 0; k < t.tokens.size(); ++k) {
            out += "| ";
            out += label(static_cast<int64_t>(k), t.n);
            out += " | ";
            out += markdownCell(t.tokens[k]);
            out += " |";
            for (const auto& v : t.values) {
                out += ' ';
                out += number(v[k]);
                out += " |";
            }
            out += "\n";
        }
        out += "\n";
    }
    return out;
}

std::string importanceLatex(const JobResult& job) {
    std::string out = "% Token importance tables written by TokenLens; needs \\usepackage{booktabs}.\n";
    for (const auto& t : tablesOf(job)) {
        out += "\\begin{table}[ht]\n\\centering\n\\begin{tabular}{ll";
        out.append(t.methods.size(), 'r');
        out += "}\n\\toprule\n & token";
        for (const auto& m : t.methods) out += " & " + latexCell(m);
        out += " \\\\\n\\midrule\n";
        for (size_t k = 0; k < t.tokens.size(); ++k) {
            if (static_cast<int64_t>(k) == t.n) out += "\\midrule\n";
            const bool prompt = static_cast<int64_t>(k) < t.n;
            out += prompt ? "$x_{" : "$y_{";
            out += std::to_string(prompt ? static_cast<int64_t>(k) : static_cast<int64_t>(k) - t.n);
            out += "}$ & \\texttt{";
            out += latexCell(t.tokens[k]);
            out += '}';
            for (const auto& v : t.values) {
                out += " & ";
                if (std::isfinite(v[k])) {
                    out += '$';
                    out += number(v[k]);
                    out += '$';
                } else {
                    out += "--";
                }
            }
            out += " \\\\\n";
        }
        out += "\\bottomrule\n\\end{tabular}\n\\caption{Token importance, " + latexCell(t.model) +
               ": each prompt token's attributions summed over the output, and each output token's attributions "
               "from the prompt.}\n\\end{table}\n";
    }
    return out;
}

std::string pairMatrixCsv(const JobResult& job, size_t pair) {
    const MethodResult& r = job.results.at(pair);
    const int64_t n = static_cast<int64_t>(r.input.tokens.size());
    std::vector<std::string> rows, cols;
    for (int64_t k = 0; k < r.raw.rows; ++k) rows.push_back(label(k, n) + " " + r.contextTokens[static_cast<size_t>(k)]);
    for (int64_t j = 0; j < r.raw.cols; ++j) {
        cols.push_back(label(n + j, n) + " " + r.contextTokens[static_cast<size_t>(n + j)]);
    }
    return matrixCsv(r.raw, rows, cols, r.model + ": " + r.method + " (rows: context, columns: output)");
}

} // namespace tokenlens
