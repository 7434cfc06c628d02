#pragma once
// The synthetic corpus of the bundled demo models: short English-like prompts
// from five task families whose single-word answer depends on known evidence
// words. Deterministic for a seed on every platform (own RNG, no <random>
// distributions, whose results differ between standard libraries).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenlens::demo {

enum class TaskFamily { KeyValue, Agreement, Induction, Arithmetic, Coreference };
constexpr std::array<TaskFamily, 5> kTaskFamilies = {TaskFamily::KeyValue, TaskFamily::Agreement,
                                                     TaskFamily::Induction, TaskFamily::Arithmetic,
                                                     TaskFamily::Coreference};
const char* familyName(TaskFamily f); // "key_value", "agreement", "induction", "arithmetic", "coreference"
bool familyFromName(std::string_view name, TaskFamily& out);

struct Example {
    TaskFamily family = TaskFamily::KeyValue;
    std::vector<std::string> words; // the prompt, one vocabulary word each (no special tokens)
    std::string answer;             // one vocabulary word
    // Indices into `words` of the evidence the answer depends on (sorted).
    // With the demo tokenizer's BOS the token index is word index + 1.
    std::vector<int64_t> evidence;
    std::string prompt() const; // words joined by single spaces
};

// The foil of a contrastive target (logit(answer) − logit(foil)): the
// answer the example's distractor would give, derived from the example alone
// (no draw from the generator, so the example streams are unchanged).
// key_value: the colour of the next clause's person; agreement: the other
// verb form; induction: the word after the answer in the sequence (a copy
// from the wrong offset); arithmetic: the sum plus one (minus one at 18);
// coreference: the other name.
std::string contrastWord(const Example& e);

// The corpus's word classes the sentence suite (sentence_tasks.h) draws from.
const std::vector<std::string>& nameWords(bool female);
const std::vector<std::string>& colourWords();
const std::vector<std::string>& objectWords();

// splitmix64: a tiny, portable, seedable generator.
class Rng {
public:
    explicit Rng(uint64_t seed) : m_state(seed) {}
    uint64_t next();
    // Uniform in [0, n) (n > 0), by rejection so there is no modulo bias.
    uint64_t below(uint64_t n);
    int64_t range(int64_t lo, int64_t hi); // inclusive
    bool coin() { return (next() >> 63) != 0; }

private:
    uint64_t m_state;
};

// A key-value example of minClauses..maxClauses clauses (at most 12: the
// colours and objects are distinct); the task family draws 2-4.
Example keyValueExample(Rng& rng, int64_t minClauses, int64_t maxClauses);

class CorpusGenerator {
public:
    explicit CorpusGenerator(uint64_t seed) : m_rng(seed) {}
    Example next(TaskFamily family);
    // Families in turn (round robin), so every batch mixes them evenly.
    Example next();

private:
    Rng m_rng;
    uint64_t m_count = 0;
};

// `perFamily` examples of each family from `seed`, family by family.
std::vector<Example> makeExamples(uint64_t seed, int64_t perFamily);

// Every word a generated prompt or answer can contain, in a fixed order.
const std::vector<std::string>& corpusWords();

// Seeds: training streams use the given seed; held-out evaluation uses a
// different default seed so that no example stream is shared.
constexpr uint64_t kDefaultTrainSeed = 1;
constexpr uint64_t kHeldOutSeed = 20260101;

} // namespace tokenlens::demo
