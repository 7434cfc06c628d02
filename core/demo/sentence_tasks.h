#pragma once
// The sentence-level variant of the demo task suite, for estimators that
// score whole sentences (context_cite): each example's context is several
// sentences (ended by the corpus's "."), the evidence in one or two of them,
// followed by the unfinished query sentence whose next word is the answer.
// The evaluation ranks the context sentences by each estimator's score and
// records where the evidence sentence ranks (hit@1, MRR), with the number of
// forward passes each estimator spent.
//
// Families (the others keep their evidence in the query itself, so there is
// no evidence sentence to find):
// - key_value: 3-5 clauses "name has a colour object ." then "name has a";
//   the evidence sentence is the asked name's clause.
// - coreference: "X and Y sat in the place . she verb a object ." among one or
//   two distractor clauses "name has a colour object ." whose names are of the
//   gender not asked (so the pronoun still picks one referent), then
//   "the object was verb by"; the evidence sentences are the one naming the
//   referent and the one with the pronoun (hit when either ranks first).

#include "demo/corpus.h"
#include "model/model_loader.h"
#include "util/result.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tokenlens::demo {

struct SentenceExample {
    Example example; // family, words (the prompt), answer, evidence words
    // Word ranges [first, last) of the context sentences, in order; the
    // query (the words after the last ".") is not one of them.
    std::vector<std::pair<int64_t, int64_t>> sentences;
    std::vector<int64_t> evidenceSentences; // indices into `sentences`, sorted
};

// The sentence families, in order: "key_value", "coreference".
const std::vector<TaskFamily>& sentenceFamilies();

// Word ranges of the sentences of `words`: each ends at a "."; the words
// after the last "." (the unfinished query) are left out.
std::vector<std::pair<int64_t, int64_t>> sentenceRanges(const std::vector<std::string>& words);

// `perFamily` examples of each sentence family from `seed`, family by family
// (one stream per family, so more examples keep the first ones).
std::vector<SentenceExample> makeSentenceExamples(uint64_t seed, int64_t perFamily);

struct SentenceEvalOptions {
    int64_t perFamily = 20;
    uint64_t seed = kHeldOutSeed;
    std::vector<int64_t> ablations = {32}; // one context_cite (LASSO) row per count
    nlohmann::json jobOptions = nlohmann::json::object();
    std::function<void(int64_t done, int64_t total)> progress;
    std::function<bool()> isCancelled;
};

struct SentenceCell {  // one (estimator, family)
    std::string estimator; // "context_cite@32", ..., "leave_one_out", "random"
    std::string family;    // a family name or "all"
    int64_t examples = 0, failed = 0;
    double hitAt1 = 0, mrr = 0;
    double passes = 0;     // mean forward passes (masked copies of the prompt) per example
    double seconds = 0;    // total attribution time
};

struct SentenceReport {
    std::string model;
    std::vector<SentenceCell> cells; // per estimator: every family, then "all"
};

// Fails with ErrorCode::Cancelled when cancelled.
Result<SentenceReport> evaluateSentences(const LoadedModel& model, const SentenceEvalOptions& options);

nlohmann::json toJson(const SentenceReport& report);
std::string formatMarkdown(const SentenceReport& report);

} // namespace tokenlens::demo
