#include "demo/sentence_tasks.h"

#include "demo/ground_truth.h"

#include "analysis/faithfulness.h"
#include "run/job_runner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace tokenlens::demo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kLeaveOneOut = "leave_one_out";
constexpr const char* kRandom = "random";

// A word of `v` not in `avoid`.
std::string pickOther(Rng& rng, const std::vector<std::string>& v, const std::set<std::string>& avoid) {
    for (;;) {
        const std::string& w = v[rng.below(v.size())];
        if (!avoid.count(w)) return w;
    }
}

SentenceExample withSentences(Example e) {
    SentenceExample s;
    s.sentences = sentenceRanges(e.words);
    for (size_t k = 0; k < s.sentences.size(); ++k) {
        const auto [a, b] = s.sentences[k];
        for (int64_t w : e.evidence) {
            if (w >= a && w < b) {
                s.evidenceSentences.push_back(static_cast<int64_t>(k));
                break;
            }
        }
    }
    s.example = std::move(e);
    return s;
}

Example coreferenceAmongDistractors(Rng& rng, CorpusGenerator& gen) {
    Example e = gen.next(TaskFamily::Coreference);
    // The pronoun sentence starts right after the first "."; the referent is
    // word 0 or 2; the pronoun's gender is that of the answer.
    const bool askFemale = std::count(nameWords(true).begin(), nameWords(true).end(), e.answer) > 0;
    const auto firstEnd = static_cast<size_t>(std::find(e.words.begin(), e.words.end(), ".") - e.words.begin()) + 1;
    const auto secondEnd =
        static_cast<size_t>(std::find(e.words.begin() + static_cast<std::ptrdiff_t>(firstEnd), e.words.end(), ".") -
                            e.words.begin()) + 1;
    std::vector<std::vector<std::string>> sentences = {
        {e.words.begin(), e.words.begin() + static_cast<std::ptrdiff_t>(firstEnd)},
        {e.words.begin() + static_cast<std::ptrdiff_t>(firstEnd), e.words.begin() + static_cast<std::ptrdiff_t>(secondEnd)}};
    const std::vector<std::string> query(e.words.begin() + static_cast<std::ptrdiff_t>(secondEnd), e.words.end());
    const std::string& object = sentences[1][3];
    std::set<std::string> usedNames = {e.words[0], e.words[2]}, usedColours, usedObjects = {object};
    const int64_t distractors = rng.range(1, 2);
    std::vector<int> isEvidence = {1, 1};
    for (int64_t d = 0; d < distractors; ++d) {
        const std::string name = pickOther(rng, nameWords(!askFemale), usedNames);
        const std::string colour = pickOther(rng, colourWords(), usedColours);
        const std::string thing = pickOther(rng, objectWords(), usedObjects);
        usedNames.insert(name);
        usedColours.insert(colour);
        usedObjects.insert(thing);
        const auto at = static_cast<std::ptrdiff_t>(rng.below(sentences.size() + 1));
        sentences.insert(sentences.begin() + at, {name, "has", "a", colour, thing, "."});
        isEvidence.insert(isEvidence.begin() + at, 0);
    }
    Example out;
    out.family = TaskFamily::Coreference;
    out.answer = e.answer;
    for (size_t k = 0; k < sentences.size(); ++k) {
        const auto start = static_cast<int64_t>(out.words.size());
        if (isEvidence[k]) {
            // The evidence words: the referent (its sentence) and the pronoun.
            const bool satSentence = sentences[k].size() == 8;
            const int64_t referent = sentences[k][0] == e.answer ? 0 : 2;
            out.evidence.push_back(start + (satSentence ? referent : 0));
        }
        out.words.insert(out.words.end(), sentences[k].begin(), sentences[k].end());
    }
    out.words.insert(out.words.end(), query.begin(), query.end());
    return out;
}

struct Acc {
    int64_t examples = 0, failed = 0;
    double hit = 0, rr = 0, passes = 0, seconds = 0;
};

std::string estimatorName(int64_t ablations) { return "context_cite@" + std::to_string(ablations); }

} // namespace

const std::vector<TaskFamily>& sentenceFamilies() {
    static const std::vector<TaskFamily> f = {TaskFamily::KeyValue, TaskFamily::Coreference};
    return f;
}

std::vector<std::pair<int64_t, int64_t>> sentenceRanges(const std::vector<std::string>& words) {
    std::vector<std::pair<int64_t, int64_t>> out;
    int64_t start = 0;
    for (size_t i = 0; i < words.size(); ++i) {
        if (words[i] == ".") {
            out.emplace_back(start, static_cast<int64_t>(i) + 1);
            start = static_cast<int64_t>(i) + 1;
        }
    }
    return out;
}

std::vector<SentenceExample> makeSentenceExamples(uint64_t seed, int64_t perFamily) {
    std::vector<SentenceExample> out;
    for (TaskFamily f : sentenceFamilies()) {
        // Streams of their own (not those of makeExamples).
        Rng rng(seed * 1000003ull + 7919ull * (static_cast<uint64_t>(f) + 1));
        CorpusGenerator gen(rng.next());
        for (int64_t i = 0; i < perFamily; ++i) {
            out.push_back(withSentences(f == TaskFamily::KeyValue ? keyValueExample(rng, 3, 5)
                                                                  : coreferenceAmongDistractors(rng, gen)));
        }
    }
    return out;
}

Result<SentenceReport> evaluateSentences(const LoadedModel& model, const SentenceEvalOptions& o) {
    if (!model.tokenizer) return makeError(ErrorCode::Internal, model.name + ": loaded without its tokenizer");
    const Tokenizer& tok = *model.tokenizer;
    const int64_t offset = tok.addsBos() ? 1 : 0;
    const auto examples = makeSentenceExamples(o.seed, o.perFamily);
    std::vector<std::string> estimators;
    for (int64_t a : o.ablations) estimators.push_back(estimatorName(a));
    estimators.push_back(kLeaveOneOut);
    std::map<std::pair<std::string, std::string>, Acc> acc;
    const JobRunner runner;
    int64_t done = 0;
    for (const SentenceExample& s : examples) {
        if (o.isCancelled && o.isCancelled()) return makeError(ErrorCode::Cancelled, "cancelled");
        const Example& e = s.example;
        // The features are exactly the context sentences (BOS and the query
        // are always kept), as prompt token ranges a-b (inclusive).
        std::ostringstream spanList;
        for (const auto& [a, b] : s.sentences) {
            if (a > 0) spanList << ",";
            spanList << (a + offset) << "-" << (b - 1 + offset);
        }
        const std::string spans = spanList.str();
        const auto k = static_cast<int64_t>(s.sentences.size());
        const auto ev = static_cast<int64_t>(s.evidenceSentences.size());
        const std::string family = familyName(e.family);
        auto record = [&](const std::string& est, const analysis::EvidenceRank* r, bool failed, double passes,
                          double seconds) {
            for (const std::string& fam : {family, std::string("all")}) {
                Acc& a = acc[{est, fam}];
                ++a.examples;
                a.seconds += seconds;
                a.passes += passes;
                if (failed) {
                    ++a.failed;
                    continue;
                }
                a.hit += r ? (r->hitAt1 ? 1.0 : 0.0) : analysis::randomHitAt1(k, ev);
                a.rr += r ? r->reciprocal : analysis::randomReciprocalRank(k, ev);
            }
        };
        for (size_t m = 0; m < estimators.size(); ++m) {
            const bool loo = m + 1 == estimators.size();
            Job job;
            job.input = e.prompt();
            job.targetText = e.answer;
            job.methods = {"context_cite"};
            job.options = o.jobOptions;
            nlohmann::json own = {{"segments", "spans"}, {"spans", spans}};
            if (loo) {
                own["estimator"] = "leave_one_out";
            } else {
                own["estimator"] = "lasso";
                own["ablations"] = o.ablations[m];
            }
            job.options["methods"]["context_cite"] = own;
            auto prepared = runner.prepare(model, "", job);
            if (!prepared) {
                return makeError(prepared.error().code, "example '" + job.input + "': " + prepared.error().message);
            }
            const PreparedSequence* seq = prepared.value().get();
            if (seq->input.ids.size() != e.words.size() + static_cast<size_t>(offset) || seq->output.ids.size() != 1) {
                return makeError(ErrorCode::Mismatch, model.name + ": its tokenizer does not split the demo prompt '" +
                                                          job.input + "' into one token per word; use a demo model");
            }
            const PairRun run = runner.runPair(model, "", *seq, job, "context_cite");
            const MethodResult& r = *run.result;
            const double passes = loo ? static_cast<double>(k + 1) : static_cast<double>(o.ablations[m]);
            if (r.status != RunStatus::Completed) {
                record(estimators[m], nullptr, true, passes, r.seconds);
                continue;
            }
            // A sentence's score is spread evenly over its tokens: their sum.
            std::vector<double> scores;
            for (const auto& [a, b] : s.sentences) {
                double sum = 0;
                for (int64_t i = a; i < b; ++i) sum += r.raw.at(i + offset, 0);
                scores.push_back(sum);
            }
            const auto rank = analysis::evidenceRank(scores, s.evidenceSentences);
            record(estimators[m], &rank, false, passes, r.seconds);
        }
        record(kRandom, nullptr, false, 0.0, 0.0);
        ++done;
        if (o.progress) o.progress(done, static_cast<int64_t>(examples.size()));
    }
    SentenceReport report;
    report.model = model.name;
    std::vector<std::string> rows = estimators;
    rows.push_back(kRandom);
    std::vector<std::string> families;
    for (TaskFamily f : sentenceFamilies()) families.push_back(familyName(f));
    families.push_back("all");
    for (const auto& est : rows) {
        for (const auto& fam : families) {
            const Acc& a = acc[{est, fam}];
            SentenceCell c;
            c.estimator = est;
            fillRankFields(c, a, fam);
            c.passes = a.examples ? a.passes / static_cast<double>(a.examples) : kNaN;
            c.seconds = a.seconds;
            report.cells.push_back(c);
        }
    }
    return report;
}

nlohmann::json toJson(const SentenceReport& r) {
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& c : r.cells) {
        nlohmann::json cell = rankFieldsJson(c);
        cell.update({{"estimator", c.estimator}, {"forward_passes", num(c.passes)}, {"seconds", c.seconds}});
        cells.push_back(std::move(cell));
    }
    return {{"model", r.model}, {"unit", "sentence"}, {"cells", cells}};
}

std::string formatMarkdown(const SentenceReport& r) {
    auto f = [](double v, const char* fmt = "%.3f") {
        if (!std::isfinite(v)) return std::string("–");
        char buf[32];
        std::snprintf(buf, sizeof buf, fmt, v);
        return std::string(buf);
    };
    std::vector<std::string> estimators, families;
    for (const auto& c : r.cells) {
        if (std::find(estimators.begin(), estimators.end(), c.estimator) == estimators.end()) {
            estimators.push_back(c.estimator);
        }
        if (std::find(families.begin(), families.end(), c.family) == families.end()) families.push_back(c.family);
    }
    std::ostringstream out;
    out << "#### " << r.model << ": evidence sentence, hit@1 / MRR\n\n| estimator | forward passes / example |";
    for (const auto& fam : families) out << " " << fam << " |";
    out << " failed |\n|---|---|";
    for (size_t i = 0; i < families.size(); ++i) out << "---|";
    out << "---|\n";
    for (const auto& est : estimators) {
        const SentenceCell* all = nullptr;
        for (const auto& c : r.cells) {
            if (c.estimator == est && c.family == "all") all = &c;
        }
        out << "| " << est << " | " << (est == kRandom || !all ? std::string("–") : f(all->passes, "%.1f")) << " |";
        for (const auto& fam : families) {
            for (const auto& c : r.cells) {
                if (c.estimator == est && c.family == fam) out << " " << f(c.hitAt1) << " / " << f(c.mrr) << " |";
            }
        }
        out << " " << (all ? all->failed : 0) << " |\n";
    }
    out << "\n";
    return out.str();
}

} // namespace tokenlens::demo
