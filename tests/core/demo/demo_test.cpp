// The demo corpus, the demo tokenizer, the two shipped demo models (they load
// like any model, answer fixed prompts, and reach ≥ 97 % held out) and the
// model-side faithfulness stage.
#include "attribution/engine.h"
#include "attribution/faithfulness.h"
#include "demo/corpus.h"
#include "demo/demo_model.h"
#include "demo/ground_truth.h"
#include "demo/sentence_tasks.h"
#include "model/generation.h"
#include "model/model_loader.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include <cmath>
#include <unistd.h>

using namespace tokenlens;
namespace fs = std::filesystem;

namespace {

// The DemoModels tests load the two shipped demo models in resources/models/.
const fs::path kModels = fs::path(TOKENLENS_TEST_DATA_DIR) / ".." / ".." / "resources" / "models";

std::shared_ptr<LoadedModel> load(const std::string& name) {
    at::set_num_threads(1); // tiny matrices: one thread is fastest, above all on a busy machine
    auto m = loadModelFolder(kModels / name);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    return m.ok() ? m.value() : nullptr;
}

const std::shared_ptr<LoadedModel>& llama() {
    static auto m = load("demo-llama");
    return m;
}
const std::shared_ptr<LoadedModel>& gpt2() {
    static auto m = load("demo-gpt2");
    return m;
}

} // namespace

TEST(DemoCorpus, DeterministicForASeedAndDifferentAcrossSeeds) {
    auto a = demo::makeExamples(7, 5), b = demo::makeExamples(7, 5), c = demo::makeExamples(8, 5);
    ASSERT_EQ(a.size(), 25u);
    bool differs = false;
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].prompt(), b[i].prompt());
        EXPECT_EQ(a[i].answer, b[i].answer);
        EXPECT_EQ(a[i].evidence, b[i].evidence);
        differs = differs || a[i].prompt() != c[i].prompt();
    }
    EXPECT_TRUE(differs);
    demo::Rng r(1);
    EXPECT_EQ(r.next(), 0x910A2DEC89025CC1ull); // splitmix64's reference value for seed 1
}

TEST(DemoCorpus, EvidencePointsAtTheWordsTheAnswerDependsOn) {
    const std::set<std::string> vocab(demo::corpusWords().begin(), demo::corpusWords().end());
    for (const auto& e : demo::makeExamples(3, 200)) {
        ASSERT_FALSE(e.evidence.empty());
        for (int64_t i : e.evidence) ASSERT_LT(static_cast<size_t>(i), e.words.size());
        for (const auto& w : e.words) ASSERT_TRUE(vocab.count(w)) << w;
        ASSERT_TRUE(vocab.count(e.answer)) << e.answer;
        const auto& w = e.words;
        switch (e.family) {
        case demo::TaskFamily::KeyValue:
            EXPECT_EQ(w[static_cast<size_t>(e.evidence[1])], e.answer);
            EXPECT_EQ(w[static_cast<size_t>(e.evidence[0])], w[w.size() - 3]); // the asked name
            break;
        case demo::TaskFamily::Agreement: {
            const std::string& subject = w[static_cast<size_t>(e.evidence[0])];
            EXPECT_EQ(e.answer, subject.back() == 's' ? "are" : "is") << e.prompt();
            // The nouns after the subject: "the NOUN" or "the ADJECTIVE NOUN".
            const std::set<std::string> adjectives = {"old", "small", "big", "new", "tall", "quiet", "dark", "bright"};
            int disagree = 0;
            for (size_t i = static_cast<size_t>(e.evidence[0]) + 1; i < w.size(); ++i) {
                const bool noun = !adjectives.count(w[i]) &&
                                  (w[i - 1] == "the" || (adjectives.count(w[i - 1]) && w[i - 2] == "the"));
                if (noun && (w[i].back() == 's') != (subject.back() == 's')) ++disagree;
            }
            EXPECT_GE(disagree, 1) << e.prompt();
            break;
        }
        case demo::TaskFamily::Induction:
            EXPECT_EQ(w[static_cast<size_t>(e.evidence[0])], w.back());
            EXPECT_EQ(w[static_cast<size_t>(e.evidence[1])], e.answer);
            break;
        case demo::TaskFamily::Arithmetic:
            EXPECT_EQ(std::stoi(w[static_cast<size_t>(e.evidence[0])]) + std::stoi(w[static_cast<size_t>(e.evidence[1])]),
                      std::stoi(e.answer));
            break;
        case demo::TaskFamily::Coreference:
            EXPECT_EQ(w[static_cast<size_t>(e.evidence[0])], e.answer);
            EXPECT_TRUE(w[static_cast<size_t>(e.evidence[1])] == "he" || w[static_cast<size_t>(e.evidence[1])] == "she");
            break;
        }
    }
}

// The foil of the contrastive target: another answer the prompt offers, never
// the answer, and of the answer's kind.
TEST(DemoCorpus, ContrastWordIsTheDistractorsAnswer) {
    const std::set<std::string> vocab(demo::corpusWords().begin(), demo::corpusWords().end());
    for (const auto& e : demo::makeExamples(5, 100)) {
        const std::string foil = demo::contrastWord(e);
        ASSERT_TRUE(vocab.count(foil)) << foil;
        EXPECT_NE(foil, e.answer) << e.prompt();
        const auto& w = e.words;
        const bool inPrompt = std::find(w.begin(), w.end(), foil) != w.end();
        switch (e.family) {
        case demo::TaskFamily::KeyValue: {
            // Another clause's colour: the word after "a" in a clause not asked.
            const auto at = static_cast<size_t>(std::find(w.begin(), w.end(), foil) - w.begin());
            ASSERT_LT(at, w.size());
            EXPECT_EQ(at % 6, 3u);
            EXPECT_NE(static_cast<int64_t>(at), e.evidence[1]);
            break;
        }
        case demo::TaskFamily::Agreement: EXPECT_EQ(foil, e.answer == "is" ? "are" : "is"); break;
        case demo::TaskFamily::Induction: EXPECT_TRUE(inPrompt); break;
        case demo::TaskFamily::Arithmetic: EXPECT_EQ(std::abs(std::stoi(foil) - std::stoi(e.answer)), 1); break;
        case demo::TaskFamily::Coreference:
            EXPECT_TRUE(foil == w[0] || foil == w[2]);
            break;
        }
    }
}

// The sentence suite: the context splits into "."-ended sentences, the query
// after them has none, and the evidence sentences are the ones that hold the
// answer's source (checked from the words, not from the builder's indices).
TEST(DemoSentenceSuite, EvidenceSentenceIndexIsTheSentenceWithTheSource) {
    const auto examples = demo::makeSentenceExamples(9, 60);
    ASSERT_EQ(examples.size(), 120u);
    const auto& female = demo::nameWords(true);
    auto isFemale = [&](const std::string& n) { return std::find(female.begin(), female.end(), n) != female.end(); };
    int withEvidenceNotFirst = 0;
    for (const auto& s : examples) {
        const auto& w = s.example.words;
        ASSERT_GE(s.sentences.size(), 3u) << s.example.prompt();
        ASSERT_EQ(s.sentences, demo::sentenceRanges(w));
        EXPECT_EQ(s.sentences.front().first, 0);
        for (size_t k = 0; k < s.sentences.size(); ++k) {
            const auto [a, b] = s.sentences[k];
            EXPECT_EQ(w[static_cast<size_t>(b - 1)], ".");
            if (k) {
                EXPECT_EQ(a, s.sentences[k - 1].second);
            }
        }
        const auto queryStart = static_cast<size_t>(s.sentences.back().second);
        ASSERT_LT(queryStart, w.size());
        for (size_t i = queryStart; i < w.size(); ++i) EXPECT_NE(w[i], ".");
        auto words = [&](int64_t k) {
            const auto [a, b] = s.sentences[static_cast<size_t>(k)];
            return std::vector<std::string>(w.begin() + a, w.begin() + b);
        };
        std::vector<int64_t> expected;
        if (s.example.family == demo::TaskFamily::KeyValue) {
            // The one clause of the asked name, and its colour is the answer.
            const std::string& name = w[w.size() - 3];
            for (int64_t k = 0; k < static_cast<int64_t>(s.sentences.size()); ++k) {
                if (words(k)[0] == name) {
                    expected.push_back(k);
                    EXPECT_EQ(words(k)[3], s.example.answer);
                }
            }
            ASSERT_EQ(expected.size(), 1u);
        } else {
            ASSERT_EQ(s.example.family, demo::TaskFamily::Coreference);
            // The sentence naming the answer with another name, and the one
            // with the pronoun of the answer's gender; every other sentence
            // names someone of the other gender only.
            const std::string pronoun = isFemale(s.example.answer) ? "she" : "he";
            for (int64_t k = 0; k < static_cast<int64_t>(s.sentences.size()); ++k) {
                const auto v = words(k);
                const bool names = v.size() == 8 && (v[0] == s.example.answer || v[2] == s.example.answer);
                if (names || v[0] == pronoun) {
                    expected.push_back(k);
                } else {
                    EXPECT_NE(isFemale(v[0]), isFemale(s.example.answer)) << s.example.prompt();
                    EXPECT_EQ(v[1], "has");
                }
            }
            ASSERT_EQ(expected.size(), 2u) << s.example.prompt();
        }
        EXPECT_EQ(s.evidenceSentences, expected) << s.example.prompt();
        if (s.evidenceSentences.front() != 0) ++withEvidenceNotFirst;
    }
    EXPECT_GT(withEvidenceNotFirst, 20); // the evidence is not always the first sentence
    // Deterministic for a seed.
    const auto again = demo::makeSentenceExamples(9, 60);
    for (size_t i = 0; i < examples.size(); ++i) EXPECT_EQ(again[i].example.prompt(), examples[i].example.prompt());
}

// The longer rows train-demo's --recall-clauses draws: clause count as asked,
// the evidence is the asked name and its colour, and the query repeats that name.
TEST(DemoCorpus, KeyValueExamplesOfMoreClauses) {
    demo::Rng rng(11);
    for (int64_t n = 2; n <= 9; ++n) {
        for (int k = 0; k < 20; ++k) {
            const demo::Example e = demo::keyValueExample(rng, n, n);
            ASSERT_EQ(e.words.size(), static_cast<size_t>(6 * n + 3));
            ASSERT_EQ(e.evidence.size(), 2u);
            EXPECT_EQ(e.evidence[0] % 6, 0);
            EXPECT_EQ(e.evidence[1], e.evidence[0] + 3);
            EXPECT_EQ(e.words[static_cast<size_t>(e.evidence[0])], e.words[e.words.size() - 3]);
            EXPECT_EQ(e.words[static_cast<size_t>(e.evidence[1])], e.answer);
            std::set<std::string> names, colours;
            for (int64_t c = 0; c < n; ++c) {
                names.insert(e.words[static_cast<size_t>(6 * c)]);
                colours.insert(e.words[static_cast<size_t>(6 * c + 3)]);
            }
            EXPECT_EQ(names.size(), static_cast<size_t>(n));
            EXPECT_EQ(colours.size(), static_cast<size_t>(n));
        }
    }
}

TEST(DemoTokenizer, OneTokenPerWordWithBosAndSpacesWhenDecoding) {
    auto tok = Tokenizer::fromJson(demo::tokenizerJson().dump(), demo::tokenizerConfigJson().dump(), "demo");
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    const auto& t = *tok.value();
    EXPECT_EQ(t.modelType(), "WordLevel");
    EXPECT_EQ(t.vocabSize(), demo::corpusWords().size() + 4);
    EXPECT_TRUE(t.addsBos());
    auto e = t.encode("tom has a blue cup . 7 plus 5 is");
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(e->ids.size(), 11u);
    EXPECT_EQ(e->ids[0], demo::kBosId);
    for (int32_t id : e->ids) EXPECT_NE(id, demo::kUnkId);
    EXPECT_EQ(t.decode(e->ids, /*skipSpecialTokens=*/true), "tom has a blue cup . 7 plus 5 is");
    EXPECT_EQ(t.specialTokens().unk, demo::kUnkId);
    EXPECT_EQ(t.specialTokens().eos, demo::kEosId);
}

TEST(DemoModels, LoadLikeAnyModelAndAreDifferentArchitectures) {
    ASSERT_TRUE(llama() && gpt2());
    EXPECT_EQ(llama()->config.family, ArchFamily::Llama);
    EXPECT_EQ(gpt2()->config.family, ArchFamily::Gpt2);
    EXPECT_NE(llama()->model->parameterCount(), gpt2()->model->parameterCount());
    uint64_t bytes = 0;
    for (const char* name : {"demo-llama", "demo-gpt2"}) {
        for (const auto& entry : fs::recursive_directory_iterator(kModels / name)) bytes += entry.file_size();
    }
    EXPECT_LE(bytes, 10u * 1000 * 1000); // together at most 10 MB
}

TEST(DemoModels, AnswerFixedPrompts) {
    const std::pair<const char*, const char*> cases[] = {
        {"anna has a red ball . tom has a blue cup . tom has a", "blue"},
        {"the keys to the old door", "are"},
        {"the key near the small doors", "is"},
        {"7 plus 5 is", "12"},
        {"apple river stone cloud music paper stone", "cloud"},
        {"mary and john sat in the park . he found a book . the book was found by", "john"},
    };
    for (const auto& model : {llama(), gpt2()}) {
        ASSERT_TRUE(model);
        for (const auto& [prompt, answer] : cases) {
            auto enc = model->tokenizer->encode(prompt);
            ASSERT_TRUE(enc.ok());
            std::vector<int64_t> ids(enc->ids.begin(), enc->ids.end());
            GenerationOptions g;
            g.maxNewTokens = 3;
            auto out = generate(*model->model, ids, g);
            ASSERT_TRUE(out.ok()) << out.error().message;
            ASSERT_FALSE(out->ids.empty());
            EXPECT_EQ(model->tokenizer->idToToken(static_cast<int32_t>(out->ids[0])), answer)
                << model->name << ": " << prompt;
            // Answer, then EOS, where the answer is a new word (after a copied
            // word — key_value, induction — the models may go on copying).
            if (std::string(prompt).find("apple") == std::string::npos &&
                std::string(prompt).find(" has a") == std::string::npos) {
                EXPECT_TRUE(out->stoppedAtEos) << model->name << ": " << prompt;
            }
        }
    }
}

TEST(DemoModels, HeldOutAccuracyAtLeast97PercentPerFamily) {
    for (const auto& model : {llama(), gpt2()}) {
        ASSERT_TRUE(model);
        auto r = demo::evaluateDemoModel(*model, 60);
        ASSERT_TRUE(r.ok()) << r.error().message;
        for (const auto& f : r->families) {
            EXPECT_EQ(f.total, 60);
            EXPECT_GE(f.accuracy(), 0.97) << model->name << " " << demo::familyName(f.family);
        }
    }
}

// eval-demo's key_value breakdown accounts for every example of the family.
TEST(DemoModels, KeyValueCellsAddUpToTheFamily) {
    for (const auto& model : {llama(), gpt2()}) {
        ASSERT_TRUE(model);
        auto r = demo::evaluateDemoModel(*model, 60);
        ASSERT_TRUE(r.ok()) << r.error().message;
        const auto& kv = r->families[static_cast<size_t>(demo::TaskFamily::KeyValue)];
        int64_t total = 0, correct = 0;
        for (const auto& c : r->keyValueCells) {
            EXPECT_GE(c.clauses, 2);
            EXPECT_LE(c.clauses, 4);
            EXPECT_LT(c.asked, c.clauses);
            EXPECT_LE(c.otherClause, c.total - c.correct);
            total += c.total;
            correct += c.correct;
        }
        EXPECT_EQ(total, kv.total);
        EXPECT_EQ(correct, kv.correct);
    }
}

// train-demo --grow: a deeper copy computes what the trained model did, with
// the new layers before or after the trained ones.
TEST(DemoModels, GrowingAModelKeepsWhatItComputes) {
    for (const auto& model : {llama(), gpt2()}) {
        ASSERT_TRUE(model);
        auto enc = model->tokenizer->encode("anna has a red ball . tom has a blue cup . tom has a");
        ASSERT_TRUE(enc.ok());
        const auto ids = torch::tensor(std::vector<int64_t>(enc->ids.begin(), enc->ids.end()), torch::kInt64).unsqueeze(0);
        torch::NoGradGuard noGrad;
        const auto before = model->model->forward(model->model->embed(ids), {}).logits;
        ModelConfig deeper = model->config;
        deeper.numLayers += 2;
        for (bool front : {true, false}) {
            auto grown = demo::growModel(*model->model, deeper, front, 5);
            ASSERT_TRUE(grown.ok()) << grown.error().message;
            EXPECT_EQ((*grown)->config().numLayers, model->config.numLayers + 2);
            EXPECT_GT((*grown)->parameterCount(), model->model->parameterCount());
            const auto after = (*grown)->forward((*grown)->embed(ids), {}).logits;
            EXPECT_LE((after - before).abs().max().item<double>(), 1e-5) << model->name << (front ? " front" : " back");
        }
        auto same = demo::growModel(*model->model, model->config, true, 5);
        ASSERT_FALSE(same.ok());
        EXPECT_NE(same.error().message.find("deeper"), std::string::npos);
    }
}

// train-demo writes a folder that loads like any model, at the size asked,
// and --grow continues it deeper. (A few steps of a tiny model: not trained.)
TEST(DemoTraining, WritesALoadableFolderOfTheAskedSizeAndGrowsIt) {
    const fs::path dir = fs::temp_directory_path() / ("tokenlens-train-demo-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    for (const char* arch : {"gpt2", "llama"}) {
        demo::TrainOptions o;
        o.arch = arch;
        o.out = dir / arch;
        o.steps = 3;
        o.batchSize = 4;
        o.hiddenSize = 32;
        o.layers = 1;
        o.heads = 8;
        o.recallClauses = 9;
        o.reportEvery = 1;
        int64_t reports = 0;
        o.onProgress = [&](const demo::TrainProgress& t) {
            ++reports;
            EXPECT_TRUE(std::isfinite(t.loss));
        };
        auto r = demo::trainDemoModel(o);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->steps, 3);
        EXPECT_EQ(reports, 3);
        auto m = loadModelFolder(o.out);
        ASSERT_TRUE(m.ok()) << m.error().message;
        EXPECT_EQ(m.value()->config.hiddenSize, 32);
        EXPECT_EQ(m.value()->config.numLayers, 1);
        EXPECT_EQ(m.value()->config.numHeads, 8);

        demo::TrainOptions g = o;
        g.init = o.out;
        g.out = dir / (std::string(arch) + "-grown");
        g.layers = 2;
        auto refused = demo::trainDemoModel(g); // deeper without --grow
        ASSERT_FALSE(refused.ok());
        EXPECT_NE(refused.error().message.find("--layers"), std::string::npos);
        g.growAt = demo::GrowAt::Front;
        auto grown = demo::trainDemoModel(g);
        ASSERT_TRUE(grown.ok()) << grown.error().message;
        auto gm = loadModelFolder(g.out);
        ASSERT_TRUE(gm.ok()) << gm.error().message;
        EXPECT_EQ(gm.value()->config.numLayers, 2);
    }
    demo::TrainOptions bad;
    bad.arch = "gpt2";
    bad.out = dir / "bad";
    bad.hiddenSize = 30;
    auto r = demo::trainDemoModel(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("multiple of 4"), std::string::npos);
    bad.hiddenSize = 0;
    bad.heads = 5; // does not divide 96
    r = demo::trainDemoModel(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("divide the width 96"), std::string::npos);
    fs::remove_all(dir);
}

// Word-level tokenizers decode an output alone without the space before it;
// the continuation keeps it, so prompt + continuation tokenizes to the
// prompt's ids then the output's (a follow-up turn sees the same words).
TEST(DemoModels, ContinuationKeepsTheSpaceBeforeTheOutput) {
    for (const auto* model : {&llama(), &gpt2()}) {
        ASSERT_TRUE(*model);
        for (bool forced : {false, true}) {
            Job job;
            job.input = "anna has a red ball . tom has a blue cup . tom has a";
            if (forced) job.targetText = "blue cup";
            job.methods = {"attention"};
            job.options["max_new_tokens"] = 3;
            auto seq = prepareSequence(**model, job);
            ASSERT_TRUE(seq.ok()) << seq.error().message;
            const std::string cont = seq->outputContinuation.empty() ? seq->output.text : seq->outputContinuation;
            ASSERT_FALSE(cont.empty());
            EXPECT_EQ(cont.front(), ' ') << (*model)->name << ": \"" << cont << "\"";
            auto enc = (*model)->tokenizer->encode(job.input + cont);
            ASSERT_TRUE(enc.ok());
            std::vector<int64_t> expected = seq->input.ids;
            expected.insert(expected.end(), seq->output.ids.begin(), seq->output.ids.end());
            EXPECT_EQ(std::vector<int64_t>(enc->ids.begin(), enc->ids.end()), expected) << (*model)->name;
        }
    }
}

// Leave-one-out of the faithfulness stage is occlusion with the probability
// target: the same numbers, so τ against occlusion is 1.
TEST(DemoFaithfulness, LeaveOneOutMatchesOcclusion) {
    const auto& model = llama();
    ASSERT_TRUE(model);
    Job job;
    job.input = "anna has a red ball . tom has a blue cup . tom has a";
    job.targetText = "blue";
    job.methods = {"occlusion"};
    auto seq = prepareSequence(*model, job);
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    auto r = runMethod(*model, *seq, job, "occlusion");
    ASSERT_EQ(r.status, RunStatus::Completed);
    int64_t lastDone = 0, total = 0;
    RunControl control;
    control.progress = [&](int64_t d, int64_t t) {
        EXPECT_GE(d, lastDone);
        lastDone = d;
        total = t;
    };
    auto f = computeFaithfulness(*model, r, {}, control);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(lastDone, total);
    ASSERT_EQ(f->columns.size(), 1u);
    const auto& c = f->columns[0];
    const auto n = static_cast<int64_t>(seq->input.ids.size());
    EXPECT_EQ(c.candidates, n - 1); // BOS is kept
    for (int64_t i = 1; i < n; ++i) EXPECT_NEAR(c.leaveOneOut[static_cast<size_t>(i - 1)], r.raw.at(i, 0), 1e-4);
    EXPECT_GT(c.kendallTau, 0.99);
    EXPECT_NEAR(c.fullScore, seq->scores.probability[0], 1e-5);
    EXPECT_GE(c.aopcComprehensiveness, 0.0);
    auto j = analysis::toJson(*f);
    EXPECT_EQ(j["method"], "occlusion");
    EXPECT_EQ(j["columns"][0]["comprehensiveness"].size(), 5u);

    RunControl cancel;
    cancel.isCancelled = [] { return true; };
    auto cancelled = computeFaithfulness(*model, r, {}, cancel);
    ASSERT_FALSE(cancelled.ok());
    EXPECT_EQ(cancelled.error().code, ErrorCode::Cancelled);

    FaithfulnessOptions unk;
    unk.baseline = "unk";
    auto fu = computeFaithfulness(*model, r, unk);
    ASSERT_TRUE(fu.ok());
    EXPECT_EQ(analysis::toJson(*fu)["baseline"], "unk");
    EXPECT_FALSE(faithfulnessOptionsFromJson({{"baseline", "mean"}}).ok());
    EXPECT_FALSE(faithfulnessOptionsFromJson({{"fractions", {0.0}}}).ok());
    EXPECT_TRUE(faithfulnessOptionsFromJson({{"fractions", {0.1, 0.5}}, {"max_batch", 8}}).ok());
}

TEST(DemoFaithfulness, GroundTruthTableHasEveryMethodFamilyAndTheFloor) {
    const auto& model = gpt2();
    ASSERT_TRUE(model);
    demo::GroundTruthOptions o;
    o.methods = {"attention", "occlusion"};
    o.perFamily = 2;
    auto r = demo::evaluateGroundTruth(*model, o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->cells.size(), 3u * 6u); // (2 methods + random) x (5 families + all)
    for (const auto& c : r->cells) {
        EXPECT_EQ(c.failed, 0) << c.method;
        EXPECT_GE(c.hitAt1, 0.0);
        EXPECT_LE(c.hitAt1, 1.0);
        EXPECT_GE(c.mrr, c.hitAt1 - 1e-12);
        EXPECT_GT(c.randomMrr, 0.0);
        if (c.method == demo::kRandomMethod) {
            EXPECT_DOUBLE_EQ(c.hitAt1, c.randomHitAt1);
        }
    }
    EXPECT_NE(demo::formatTable(*r).find("occlusion"), std::string::npos);
}

// The sentence evaluation: one row per ablation count, leave-one-out and the
// floor; context_cite spends its ablation count, leave-one-out one pass per
// sentence plus the full prompt (counted here from the examples themselves).
TEST(DemoFaithfulness, SentenceTableCountsPassesAndRanksSentences) {
    const auto& model = llama();
    ASSERT_TRUE(model);
    demo::SentenceEvalOptions o;
    o.perFamily = 2;
    o.ablations = {8};
    auto r = demo::evaluateSentences(*model, o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->cells.size(), 3u * 3u); // (context_cite@8, leave_one_out, random) x (2 families + all)
    double sentencesPlusOne = 0;
    const auto examples = demo::makeSentenceExamples(o.seed, o.perFamily);
    for (const auto& s : examples) sentencesPlusOne += static_cast<double>(s.sentences.size() + 1);
    sentencesPlusOne /= static_cast<double>(examples.size());
    for (const auto& c : r->cells) {
        EXPECT_EQ(c.failed, 0) << c.estimator;
        EXPECT_GE(c.hitAt1, 0.0);
        EXPECT_LE(c.hitAt1, 1.0);
        EXPECT_GE(c.mrr, c.hitAt1 - 1e-12);
        if (c.family != "all") continue;
        EXPECT_EQ(c.examples, 4);
        if (c.estimator == "context_cite@8") {
            EXPECT_DOUBLE_EQ(c.passes, 8.0);
        } else if (c.estimator == "leave_one_out") {
            EXPECT_DOUBLE_EQ(c.passes, sentencesPlusOne);
        }
    }
    EXPECT_NE(demo::formatMarkdown(*r).find("leave_one_out"), std::string::npos);
}

// Contrastive targets: the methods that take a target_fn run against each
// example's foil (none fails for want of an alternative) and the report says so.
TEST(DemoFaithfulness, ContrastiveGroundTruthRunsEveryGradientMethod) {
    const auto& model = gpt2();
    ASSERT_TRUE(model);
    demo::GroundTruthOptions o;
    o.methods = {"saliency", "attnlrp"};
    o.perFamily = 1;
    o.eraser = false;
    o.contrastive = true;
    auto r = demo::evaluateGroundTruth(*model, o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->target, "contrast_logit_diff");
    for (const auto& c : r->cells) EXPECT_EQ(c.failed, 0) << c.method << " " << c.family;
    EXPECT_NE(demo::formatMarkdown(*r).find("contrast_logit_diff"), std::string::npos);
}

// A target for every method (--target): the report names it; the
// probability and the log-probability give every column the same ranking
// (their gradients differ by the positive factor 1/p of the column), so
// hit@1 and MRR agree, and saliency's own default is the probability.
TEST(DemoFaithfulness, TargetForEveryMethod) {
    const auto& model = gpt2();
    ASSERT_TRUE(model);
    demo::GroundTruthOptions o;
    o.methods = {"saliency", "attnlrp"};
    o.perFamily = 2;
    o.eraser = false;
    auto byDefault = demo::evaluateGroundTruth(*model, o);
    o.targetFn = "probability";
    auto probability = demo::evaluateGroundTruth(*model, o);
    o.targetFn = "log_probability";
    auto logProbability = demo::evaluateGroundTruth(*model, o);
    ASSERT_TRUE(byDefault.ok() && probability.ok() && logProbability.ok());
    EXPECT_EQ(byDefault->target, "");
    EXPECT_EQ(probability->target, "probability");
    EXPECT_NE(demo::formatMarkdown(*logProbability).find("target log_probability for every method"), std::string::npos);
    ASSERT_EQ(probability->cells.size(), logProbability->cells.size());
    ASSERT_EQ(probability->cells.size(), byDefault->cells.size());
    for (size_t k = 0; k < probability->cells.size(); ++k) {
        const auto& p = probability->cells[k];
        const auto& l = logProbability->cells[k];
        EXPECT_EQ(p.failed, 0) << p.method;
        EXPECT_DOUBLE_EQ(p.hitAt1, l.hitAt1) << p.method << " " << p.family;
        EXPECT_DOUBLE_EQ(p.mrr, l.mrr) << p.method << " " << p.family;
        if (p.method == "saliency") {
            EXPECT_DOUBLE_EQ(p.mrr, byDefault->cells[k].mrr) << p.family;
        }
    }
}
