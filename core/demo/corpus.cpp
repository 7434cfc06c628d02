#include "demo/corpus.h"

#include <algorithm>
#include <set>

namespace tokenlens::demo {
namespace {

using Words = std::vector<std::string>;

const Words kFemale = {"anna", "mary", "lisa", "emma", "sara", "julia", "nora", "rosa", "lucy", "kate", "jane", "alice"};
const Words kMale = {"tom", "john", "paul", "mark", "peter", "david", "james", "hugo", "ivan", "leo", "max", "sam"};
const Words kColors = {"red", "blue", "green", "yellow", "black", "white",
                       "brown", "pink", "gray", "orange", "purple", "silver"};
const Words kObjects = {"ball", "cup", "hat", "book", "box", "kite", "pen", "lamp", "bag", "car", "coat", "shoe"};
const Words kSingular = {"key", "dog", "cat", "bird", "house", "tree", "door", "window",
                         "chair", "table", "flower", "letter", "picture", "student", "teacher", "farmer"};
const Words kPlural = {"keys", "dogs", "cats", "birds", "houses", "trees", "doors", "windows",
                       "chairs", "tables", "flowers", "letters", "pictures", "students", "teachers", "farmers"};
const Words kAdjectives = {"old", "small", "big", "new", "tall", "quiet", "dark", "bright"};
const Words kPrepositions = {"to", "near", "behind", "on", "under", "beside", "of", "with"};
const Words kPlaces = {"park", "garden", "kitchen", "school", "market", "library", "station", "forest"};
const Words kVerbs = {"found", "bought", "made", "held", "kept", "sold", "lost", "read"};
const Words kFillers = {"apple", "river", "stone", "cloud", "music", "paper", "water", "winter", "summer", "bread",
                        "honey", "salt", "sugar", "glass", "metal", "wood", "sand", "snow", "rain", "wind",
                        "lake", "hill", "moon", "star", "road", "bridge", "field", "island", "ocean", "tower",
                        "coffee", "tea", "milk", "rice", "soup", "cheese", "garlic", "pepper", "lemon", "cherry"};
const Words kFunction = {".", "the", "a", "has", "and", "sat", "in", "was", "by", "he", "she", "plus", "is", "are"};

std::string number(int64_t n) { return std::to_string(n); }

template <class T>
const T& pick(Rng& rng, const std::vector<T>& v) {
    return v[rng.below(v.size())];
}

// k distinct indices below n, in random order.
std::vector<size_t> distinct(Rng& rng, size_t n, size_t k) {
    std::vector<size_t> all(n);
    for (size_t i = 0; i < n; ++i) all[i] = i;
    for (size_t i = 0; i < k; ++i) std::swap(all[i], all[i + rng.below(n - i)]);
    all.resize(k);
    return all;
}

// The content words the induction task draws from.
const Words& inductionPool() {
    static const Words pool = [] {
        Words p = kFillers;
        for (const Words* w : {&kColors, &kObjects, &kSingular, &kPlaces, &kAdjectives}) p.insert(p.end(), w->begin(), w->end());
        return p;
    }();
    return pool;
}

} // namespace

Example keyValueExample(Rng& rng, int64_t minClauses, int64_t maxClauses) {
    Example e;
    e.family = TaskFamily::KeyValue;
    const size_t clauses = static_cast<size_t>(rng.range(minClauses, std::min<int64_t>(maxClauses, 12)));
    Words names = kFemale;
    names.insert(names.end(), kMale.begin(), kMale.end());
    const auto who = distinct(rng, names.size(), clauses);
    const auto color = distinct(rng, kColors.size(), clauses);
    const auto object = distinct(rng, kObjects.size(), clauses);
    const size_t asked = rng.below(clauses);
    for (size_t c = 0; c < clauses; ++c) {
        if (c == asked) {
            e.evidence.push_back(static_cast<int64_t>(e.words.size()));     // the name
            e.evidence.push_back(static_cast<int64_t>(e.words.size()) + 3); // its colour
        }
        for (const std::string& w : {names[who[c]], std::string("has"), std::string("a"), kColors[color[c]],
                                     kObjects[object[c]], std::string(".")}) {
            e.words.push_back(w);
        }
    }
    e.words.insert(e.words.end(), {names[who[asked]], "has", "a"});
    e.answer = kColors[color[asked]];
    return e;
}

namespace {

Example agreement(Rng& rng) {
    Example e;
    const bool plural = rng.coin();
    const size_t noun = rng.below(kSingular.size());
    e.words.push_back("the");
    if (rng.coin()) e.words.push_back(pick(rng, kAdjectives));
    e.evidence.push_back(static_cast<int64_t>(e.words.size()));
    e.words.push_back(plural ? kPlural[noun] : kSingular[noun]);
    // One or two prepositional phrases whose nouns (the distractors) take a
    // random number of their own, so only the subject tells the verb's
    // number; at least one distractor disagrees with the subject.
    const size_t phrases = static_cast<size_t>(rng.range(1, 2));
    const auto others = distinct(rng, kSingular.size(), phrases + 1);
    const size_t disagreeing = rng.below(phrases);
    size_t used = 0;
    for (size_t p = 0; p < phrases; ++p) {
        size_t other = others[used++];
        if (other == noun) other = others[phrases];
        const bool otherPlural = p == disagreeing ? !plural : rng.coin();
        e.words.push_back(pick(rng, kPrepositions));
        e.words.push_back("the");
        if (rng.coin()) e.words.push_back(pick(rng, kAdjectives));
        e.words.push_back(otherPlural ? kPlural[other] : kSingular[other]);
    }
    e.answer = plural ? "are" : "is";
    return e;
}

Example induction(Rng& rng) {
    Example e;
    const Words& pool = inductionPool();
    const size_t length = static_cast<size_t>(rng.range(8, 16));
    for (size_t i : distinct(rng, pool.size(), length)) e.words.push_back(pool[i]);
    const auto first = static_cast<int64_t>(rng.below(length - 2)); // the pair (first, first+1); not the last word
    e.evidence = {first, first + 1};
    e.answer = e.words[static_cast<size_t>(first + 1)];
    e.words.push_back(e.words[static_cast<size_t>(first)]);
    return e;
}

Example arithmetic(Rng& rng) {
    Example e;
    if (rng.coin()) {
        // A distractor sentence with a number of its own.
        const std::string& name = rng.coin() ? pick(rng, kFemale) : pick(rng, kMale);
        e.words.insert(e.words.end(), {name, "has", number(rng.range(2, 9)), pick(rng, kPlural), "."});
    }
    const int64_t a = rng.range(0, 9), b = rng.range(0, 9);
    e.evidence = {static_cast<int64_t>(e.words.size()), static_cast<int64_t>(e.words.size()) + 2};
    e.words.insert(e.words.end(), {number(a), "plus", number(b), "is"});
    e.answer = number(a + b);
    return e;
}

Example coreference(Rng& rng) {
    Example e;
    const std::string& she = pick(rng, kFemale);
    const std::string& he = pick(rng, kMale);
    const bool femaleFirst = rng.coin();
    const bool askFemale = rng.coin();
    const std::string& verb = pick(rng, kVerbs);
    const std::string& object = pick(rng, kObjects);
    e.words = {femaleFirst ? she : he, "and", femaleFirst ? he : she, "sat", "in", "the", pick(rng, kPlaces), "."};
    const int64_t referent = (femaleFirst == askFemale) ? 0 : 2;
    e.evidence = {referent, static_cast<int64_t>(e.words.size())};
    e.words.insert(e.words.end(), {askFemale ? "she" : "he", verb, "a", object, ".", "the", object, "was", verb, "by"});
    e.answer = askFemale ? she : he;
    return e;
}

} // namespace

const char* familyName(TaskFamily f) {
    switch (f) {
    case TaskFamily::KeyValue: return "key_value";
    case TaskFamily::Agreement: return "agreement";
    case TaskFamily::Induction: return "induction";
    case TaskFamily::Arithmetic: return "arithmetic";
    case TaskFamily::Coreference: return "coreference";
    }
    return "?";
}

bool familyFromName(std::string_view name, TaskFamily& out) {
    for (TaskFamily f : kTaskFamilies) {
        if (name == familyName(f)) {
            out = f;
            return true;
        }
    }
    return false;
}

const std::vector<std::string>& nameWords(bool female) { return female ? kFemale : kMale; }
const std::vector<std::string>& colourWords() { return kColors; }
const std::vector<std::string>& objectWords() { return kObjects; }

std::string contrastWord(const Example& e) {
    const auto word = [&](int64_t i) { return e.words.at(static_cast<size_t>(i)); };
    switch (e.family) {
    case TaskFamily::KeyValue: {
        const int64_t clauses = (static_cast<int64_t>(e.words.size()) - 3) / 6;
        const int64_t asked = e.evidence.at(0) / 6;
        return word(((asked + 1) % clauses) * 6 + 3);
    }
    case TaskFamily::Agreement: return e.answer == "are" ? "is" : "are";
    case TaskFamily::Induction: return word(e.evidence.at(1) + 1);
    case TaskFamily::Arithmetic: {
        const int sum = std::stoi(word(e.evidence.at(0))) + std::stoi(word(e.evidence.at(1)));
        return number(sum < 18 ? sum + 1 : sum - 1);
    }
    case TaskFamily::Coreference: return word(0) == e.answer ? word(2) : word(0);
    }
    return {};
}

std::string Example::prompt() const {
    std::string s;
    for (size_t i = 0; i < words.size(); ++i) s += (i ? " " : "") + words[i];
    return s;
}

uint64_t Rng::next() {
    uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t Rng::below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = next();
    } while (x >= limit);
    return x % n;
}

int64_t Rng::range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1))); }

Example CorpusGenerator::next(TaskFamily family) {
    Example e;
    switch (family) {
    case TaskFamily::KeyValue: e = keyValueExample(m_rng, 2, 4); break;
    case TaskFamily::Agreement: e = agreement(m_rng); break;
    case TaskFamily::Induction: e = induction(m_rng); break;
    case TaskFamily::Arithmetic: e = arithmetic(m_rng); break;
    case TaskFamily::Coreference: e = coreference(m_rng); break;
    }
    e.family = family;
    return e;
}

Example CorpusGenerator::next() { return next(kTaskFamilies[m_count++ % kTaskFamilies.size()]); }

std::vector<Example> makeExamples(uint64_t seed, int64_t perFamily) {
    std::vector<Example> out;
    for (TaskFamily f : kTaskFamilies) {
        // One stream per family, so asking for more examples keeps the first ones.
        CorpusGenerator gen(seed * 1000003ull + static_cast<uint64_t>(f));
        for (int64_t i = 0; i < perFamily; ++i) out.push_back(gen.next(f));
    }
    return out;
}

const std::vector<std::string>& corpusWords() {
    static const Words words = [] {
        Words all;
        std::set<std::string> seen;
        auto add = [&](const Words& w) {
            for (const auto& s : w) {
                if (seen.insert(s).second) all.push_back(s);
            }
        };
        add(kFunction);
        Words numbers;
        for (int i = 0; i <= 18; ++i) numbers.push_back(number(i));
        add(numbers);
        for (const Words* w : {&kFemale, &kMale, &kColors, &kObjects, &kSingular, &kPlural, &kAdjectives,
                               &kPrepositions, &kPlaces, &kVerbs, &kFillers}) {
            add(*w);
        }
        return all;
    }();
    return words;
}

} // namespace tokenlens::demo
