#include "demo/ground_truth.h"

#include "analysis/faithfulness.h"
#include "attribution/engine.h"
#include "run/job_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace tokenlens::demo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Accumulator {
    int64_t examples = 0, failed = 0;
    double hit = 0, rr = 0, randomHit = 0, randomRr = 0, seconds = 0;
    // AOPCc, AOPCs, delAUC, insAUC, τ, fixed comprehensiveness, fixed sufficiency, |delta|
    double sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t counts[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    void addMetric(int k, double v) {
        if (std::isfinite(v)) {
            sums[k] += v;
            ++counts[k];
        }
    }
    double metric(int k) const { return counts[k] ? sums[k] / static_cast<double>(counts[k]) : kNaN; }
};

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// "target T against each example's foil" / "target T for every method that takes one"; "" for the defaults.
std::string targetLabel(const GroundTruthReport& r) {
    if (r.target.empty()) return {};
    return "target " + r.target +
           (r.target.starts_with("contrast_") ? " against each example's foil" : " for every method that takes one");
}

} // namespace

Result<GroundTruthReport> evaluateGroundTruth(const LoadedModel& model, const GroundTruthOptions& o) {
    if (!model.tokenizer) return makeError(ErrorCode::Internal, model.name + ": loaded without its tokenizer");
    const Tokenizer& tok = *model.tokenizer;
    std::set<int64_t> special;
    for (const auto& [id, text] : tok.specialTokenList()) special.insert(id);
    std::vector<std::string> methods;
    for (const auto& m : o.methods) {
        if (m != kRandomMethod) methods.push_back(m);
    }
    const bool withRandom = true; // the floor is always shown
    const auto examples = makeExamples(o.seed, o.perFamily);
    std::map<std::pair<std::string, std::string>, Accumulator> acc;
    Rng randomScores(o.seed ^ 0x5DEECE66Dull);
    int64_t done = 0;
    const JobRunner runner;
    for (const Example& e : examples) {
        if (o.isCancelled && o.isCancelled()) return makeError(ErrorCode::Cancelled, "cancelled");
        Job job;
        job.input = e.prompt();
        job.targetText = e.answer;
        job.methods = methods.empty() ? std::vector<std::string>{"attention"} : methods;
        job.options = o.jobOptions;
        if (o.contrastive) {
            job.options["target_fn"] = "contrast_logit_diff";
            job.options["contrast_text"] = contrastWord(e);
        } else if (!o.targetFn.empty()) {
            job.options["target_fn"] = o.targetFn;
        }
        auto prepared = runner.prepare(model, "", job);
        if (!prepared) return makeError(prepared.error().code, "example '" + job.input + "': " + prepared.error().message);
        const PreparedSequence* seq = prepared.value().get();
        const int64_t offset = tok.addsBos() ? 1 : 0;
        if (seq->input.ids.size() != e.words.size() + static_cast<size_t>(offset) || seq->output.ids.size() != 1) {
            return makeError(ErrorCode::Mismatch, model.name + ": its tokenizer does not split the demo prompt '" +
                                                      job.input + "' into one token per word; use a demo model");
        }
        // Candidates: the prompt tokens that are not special; evidence as candidate indices.
        std::vector<int64_t> candidates, evidence;
        for (size_t i = 0; i < seq->input.ids.size(); ++i) {
            if (special.count(seq->input.ids[i])) continue;
            for (int64_t w : e.evidence) {
                if (w + offset == static_cast<int64_t>(i)) evidence.push_back(static_cast<int64_t>(candidates.size()));
            }
            candidates.push_back(static_cast<int64_t>(i));
        }
        const auto m = static_cast<int64_t>(candidates.size());
        const auto ev = static_cast<int64_t>(evidence.size());
        const double floorHit = analysis::randomHitAt1(m, ev), floorRr = analysis::randomReciprocalRank(m, ev);
        const std::string family = familyName(e.family);
        // Index of the fixed-retention fraction among the report's fractions.
        const auto& fractions = o.faithfulness.settings.fractions;
        const auto fixedAt = std::find_if(fractions.begin(), fractions.end(),
                                          [](double q) { return std::abs(q - kFixedRetention) < 1e-12; });
        const auto fixedIndex = static_cast<size_t>(fixedAt - fractions.begin());
        auto record = [&](const std::string& method, const analysis::EvidenceRank* r, bool failed, double seconds,
                          const analysis::FaithfulnessReport* f, const std::vector<double>* deltas = nullptr) {
            for (const std::string& fam : {family, std::string("all")}) {
                Accumulator& a = acc[{method, fam}];
                ++a.examples;
                a.randomHit += floorHit;
                a.randomRr += floorRr;
                a.seconds += seconds;
                if (failed) {
                    ++a.failed;
                    continue;
                }
                a.hit += r ? (r->hitAt1 ? 1.0 : 0.0) : floorHit;
                a.rr += r ? r->reciprocal : floorRr;
                if (f) {
                    a.addMetric(0, f->mean.aopcComprehensiveness);
                    a.addMetric(1, f->mean.aopcSufficiency);
                    a.addMetric(2, f->mean.deletionAuc);
                    a.addMetric(3, f->mean.insertionAuc);
                    a.addMetric(4, f->mean.kendallTau);
                    if (fixedIndex < f->mean.comprehensiveness.size()) {
                        a.addMetric(5, f->mean.comprehensiveness[fixedIndex]);
                        a.addMetric(6, f->mean.sufficiency[fixedIndex]);
                    }
                }
                if (deltas) {
                    for (double d : *deltas) a.addMetric(7, std::abs(d));
                }
            }
        };
        for (const auto& method : methods) {
            const PairRun run = runner.runPair(model, "", *seq, job, method);
            const MethodResult& r = *run.result;
            if (r.status != RunStatus::Completed) {
                record(method, nullptr, true, r.seconds, nullptr);
                continue;
            }
            std::vector<double> scores;
            for (int64_t i : candidates) scores.push_back(r.raw.at(i, 0));
            const auto rank = analysis::evidenceRank(scores, evidence);
            std::optional<analysis::FaithfulnessReport> f;
            if (o.eraser) {
                RunControl control;
                control.isCancelled = o.isCancelled;
                auto fr = computeFaithfulness(model, r, o.faithfulness, control);
                if (!fr) return fr.error();
                f = std::move(fr.value());
            }
            record(method, &rank, false, r.seconds, f ? &*f : nullptr,
                   r.convergenceDelta.empty() ? nullptr : &r.convergenceDelta);
        }
        if (withRandom) {
            // Hit@1 and MRR of the floor are exact expectations; the ERASER
            // metrics use one seeded random attribution.
            std::optional<analysis::FaithfulnessReport> f;
            if (o.eraser) {
                const auto n = static_cast<int64_t>(seq->input.ids.size());
                auto matrix = AttributionMatrix::filled(n + 1, 1);
                for (int64_t i = 0; i < n; ++i) matrix.at(i, 0) = static_cast<float>(static_cast<double>(randomScores.next() >> 11) * 0x1.0p-53);
                std::vector<int64_t> protectedPositions;
                for (int64_t i = 0; i < n; ++i) {
                    if (special.count(seq->input.ids[static_cast<size_t>(i)])) protectedPositions.push_back(i);
                }
                RunControl control;
                control.isCancelled = o.isCancelled;
                auto fr = computeFaithfulness(*model.model, seq->input.ids, seq->output.ids, matrix, protectedPositions,
                                              unkBaselineToken(model), o.faithfulness, control);
                if (!fr) return fr.error();
                f = std::move(fr.value());
            }
            record(kRandomMethod, nullptr, false, 0.0, f ? &*f : nullptr);
        }
        ++done;
        if (o.progress) o.progress(done, static_cast<int64_t>(examples.size()));
    }
    GroundTruthReport report;
    report.model = model.name;
    report.baseline = o.faithfulness.baseline;
    report.target = o.contrastive ? std::string("contrast_logit_diff") : o.targetFn;
    std::vector<std::string> rows = methods;
    if (withRandom) rows.push_back(kRandomMethod);
    std::vector<std::string> families;
    for (TaskFamily f : kTaskFamilies) families.push_back(familyName(f));
    families.push_back("all");
    for (const auto& method : rows) {
        for (const auto& fam : families) {
            const Accumulator& a = acc[{method, fam}];
            GroundTruthCell c;
            c.method = method;
            fillRankFields(c, a, fam);
            c.randomHitAt1 = a.examples ? a.randomHit / static_cast<double>(a.examples) : kNaN;
            c.randomMrr = a.examples ? a.randomRr / static_cast<double>(a.examples) : kNaN;
            c.aopcComprehensiveness = a.metric(0);
            c.aopcSufficiency = a.metric(1);
            c.deletionAuc = a.metric(2);
            c.insertionAuc = a.metric(3);
            c.kendallTau = a.metric(4);
            c.fixedComprehensiveness = a.metric(5);
            c.fixedSufficiency = a.metric(6);
            c.meanAbsDelta = a.metric(7);
            c.seconds = a.seconds;
            report.cells.push_back(c);
        }
    }
    return report;
}

nlohmann::json toJson(const GroundTruthReport& r) {
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& c : r.cells) {
        nlohmann::json cell = rankFieldsJson(c);
        cell.update({{"method", c.method},
                     {"random_hit_at_1", num(c.randomHitAt1)},
                     {"random_mrr", num(c.randomMrr)},
                     {"aopc_comprehensiveness", num(c.aopcComprehensiveness)},
                     {"aopc_sufficiency", num(c.aopcSufficiency)},
                     {"deletion_auc", num(c.deletionAuc)},
                     {"insertion_auc", num(c.insertionAuc)},
                     {"kendall_tau_loo", num(c.kendallTau)},
                     {"fixed_comprehensiveness", num(c.fixedComprehensiveness)},
                     {"fixed_sufficiency", num(c.fixedSufficiency)},
                     {"mean_abs_delta", num(c.meanAbsDelta)},
                     {"seconds", c.seconds}});
        cells.push_back(std::move(cell));
    }
    nlohmann::json j = {{"model", r.model}, {"baseline", r.baseline}, {"cells", cells}};
    if (!r.target.empty()) j["target_fn"] = r.target;
    return j;
}

std::string formatTable(const GroundTruthReport& r) {
    auto f = [](double v) {
        char buf[32];
        if (!std::isfinite(v)) return std::string("    -");
        std::snprintf(buf, sizeof buf, "%5.3f", v);
        return std::string(buf);
    };
    std::string out = "model " + r.model + ", removal baseline: " + r.baseline + " embedding" +
                      (r.target.empty() ? std::string() : ", " + targetLabel(r)) + "\n";
    char line[512];
    std::snprintf(line, sizeof line, "%-20s %-12s %5s %6s %6s %6s %6s %6s %6s %6s %6s\n", "method", "family", "n",
                  "hit@1", "MRR", "AOPCc", "AOPCs", "delAUC", "insAUC", "tauLOO", "fail");
    out += line;
    for (const auto& c : r.cells) {
        std::snprintf(line, sizeof line, "%-20s %-12s %5lld %6s %6s %6s %6s %6s %6s %6s %6lld\n", c.method.c_str(),
                      c.family.c_str(), static_cast<long long>(c.examples), f(c.hitAt1).c_str(), f(c.mrr).c_str(),
                      f(c.aopcComprehensiveness).c_str(), f(c.aopcSufficiency).c_str(), f(c.deletionAuc).c_str(),
                      f(c.insertionAuc).c_str(), f(c.kendallTau).c_str(), static_cast<long long>(c.failed));
        out += line;
    }
    return out;
}

std::string formatMarkdown(const GroundTruthReport& r) {
    auto f = [](double v, const char* fmt = "%.3f") {
        if (!std::isfinite(v)) return std::string("–");
        char buf[32];
        std::snprintf(buf, sizeof buf, fmt, v);
        return std::string(buf);
    };
    std::vector<std::string> methods, families;
    for (const auto& c : r.cells) {
        if (std::find(methods.begin(), methods.end(), c.method) == methods.end()) methods.push_back(c.method);
        if (c.family != "all" && std::find(families.begin(), families.end(), c.family) == families.end()) {
            families.push_back(c.family);
        }
    }
    auto cell = [&](const std::string& m, const std::string& fam) -> const GroundTruthCell* {
        for (const auto& c : r.cells) {
            if (c.method == m && c.family == fam) return &c;
        }
        return nullptr;
    };
    std::ostringstream out;
    out << "#### " << r.model << " (removal baseline: " << r.baseline << " embedding"
        << (r.target.empty() ? std::string() : "; " + targetLabel(r)) << ")\n\n"
        << "| method | n | hit@1 | MRR | AOPC comp. | AOPC suff. | del. AUC | ins. AUC | comp. @20 % | suff. @20 % | "
           "mean abs delta | ms / example | failed |\n"
        << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& m : methods) {
        const auto* c = cell(m, "all");
        if (!c) continue;
        const double perExample = c->examples ? 1000.0 * c->seconds / static_cast<double>(c->examples) : 0.0;
        out << "| " << m << " | " << c->examples << " | " << f(c->hitAt1) << " | " << f(c->mrr) << " | "
            << f(c->aopcComprehensiveness) << " | " << f(c->aopcSufficiency) << " | " << f(c->deletionAuc) << " | "
            << f(c->insertionAuc) << " | " << f(c->fixedComprehensiveness) << " | " << f(c->fixedSufficiency)
            << " | " << f(c->meanAbsDelta, "%.2g") << " | "
            << (m == kRandomMethod ? std::string("–") : f(perExample, "%.1f")) << " | " << c->failed << " |\n";
    }
    out << "\nhit@1 / MRR per family:\n\n| method |";
    for (const auto& fam : families) out << " " << fam << " |";
    out << "\n|---|";
    for (size_t i = 0; i < families.size(); ++i) out << "---|";
    out << "\n";
    for (const auto& m : methods) {
        out << "| " << m << " |";
        for (const auto& fam : families) {
            const auto* c = cell(m, fam);
            if (c) {
                out << " " << f(c->hitAt1) << " / " << f(c->mrr) << " |";
            } else {
                out << " – |";
            }
        }
        out << "\n";
    }
    out << "\n";
    return out.str();
}

} // namespace tokenlens::demo
