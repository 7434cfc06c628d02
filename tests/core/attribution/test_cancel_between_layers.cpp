// A cancel lands within one transformer block (util/cancellation.h): the
// flag is checked before every block of a forward and, through a gradient
// hook on each block's input, before the backward goes on into the block
// below. Checked on a generated model in GPT-2-small shapes (4 of its 12
// blocks, a 1,024-token prompt) and on the Llama-family fixtures, by
// counting the blocks that run after the flag flips (never by the clock):
// the block running when it flips may finish; no further block starts. A
// method cancelled that way ends cancelled, never failed, and generation and
// the forced-target pass end as cancelled.

#include "attribution/engine.h"
#include "model/generation.h"
#include "model/model_loader.h"
#include "model/model_maker.h"
#include "util/cancellation.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

using namespace tokenlens;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kLayers = 4;
constexpr int64_t kPromptTokens = 1024; // GPT-2's whole context

// "layers.7.attn.probs" -> 7 when the name ends with `suffix`, else -1.
int64_t layerOf(const std::string& name, const std::string& suffix) {
    if (name.rfind("layers.", 0) != 0 || name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return -1;
    }
    return std::stoll(name.substr(7, name.find('.', 7) - 7));
}

// The generated model, written once for the whole suite.
class GeneratedModel : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string tmpl = (fs::temp_directory_path() / "tokenlens-cancel-XXXXXX").string();
        ASSERT_TRUE(::mkdtemp(tmpl.data()));
        s_dir = tmpl;
        MakeModelOptions o;
        o.like = "gpt2-small";
        o.out = s_dir / "gpt2-small-4";
        o.seed = 3;
        o.layers = kLayers;
        auto made = makeModel(o);
        ASSERT_TRUE(made.ok()) << made.error().message;
        auto loaded = loadModelFolder(o.out);
        ASSERT_TRUE(loaded.ok()) << loaded.error().message;
        s_model = *loaded;
    }
    static void TearDownTestSuite() {
        s_model.reset();
        std::error_code ec;
        fs::remove_all(s_dir, ec);
    }
    static std::shared_ptr<LoadedModel> s_model;
    static fs::path s_dir;
};
std::shared_ptr<LoadedModel> GeneratedModel::s_model;
fs::path GeneratedModel::s_dir;

// One fixture per family: the rotary families share llama.cpp; GPT-2 has its own forward.
constexpr const char* kFamilies[] = {"tiny-gpt2", "tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gemma3"};

std::shared_ptr<LoadedModel> fixture(const std::string& name) {
    auto m = loadModelFolder(fs::path(TOKENLENS_TEST_DATA_DIR) / "models" / name);
    if (!m) throw std::runtime_error(m.error().message);
    return *m;
}

at::Tensor promptIds(const CausalLM& model, int64_t n) {
    const int64_t vocab = model.config().vocabSize;
    return torch::arange(n, torch::kInt64).mul(7919).remainder(vocab).unsqueeze(0); // (1, n)
}

// Runs one forward of `n` tokens, flipping the flag when block `flipAt`'s
// attention probabilities are made (the middle of the block); returns the
// blocks started and the blocks finished after the flip. Expects the
// forward to end with CancelledError.
struct AfterFlip {
    std::vector<int64_t> started, finished;
};
AfterFlip cancelForwardAt(const CausalLM& model, int64_t n, int64_t flipAt) {
    std::atomic<bool> flag{false};
    CancelScope scope([&] { return flag.load(); });
    AfterFlip after;
    ForwardOptions fo;
    fo.computeLogits = false;
    fo.capture = [&](const std::string& name, const at::Tensor&) {
        const bool flipped = flag.load();
        if (const int64_t l = layerOf(name, ".attn.values"); l >= 0 && flipped) after.started.push_back(l);
        if (const int64_t l = layerOf(name, ".output"); l >= 0 && flipped) after.finished.push_back(l);
        if (layerOf(name, ".attn.probs") == flipAt) flag = true;
    };
    torch::NoGradGuard noGrad;
    EXPECT_THROW(model.forward(model.embed(promptIds(model, n)), fo), CancelledError)
        << "flipped in block " << flipAt;
    EXPECT_TRUE(flag.load()) << "block " << flipAt << " never ran";
    return after;
}

// One forward with gradient, then a backward from the last position's
// logits; the flag flips when the backward reaches block `flipAt`'s
// attention probabilities. Returns the blocks whose probabilities the
// backward reached, in order.
std::vector<int64_t> cancelBackwardAt(const CausalLM& model, int64_t n, int64_t flipAt) {
    std::atomic<bool> flag{false};
    CancelScope scope([&] { return flag.load(); });
    std::vector<int64_t> reached;
    auto embeds = model.embed(promptIds(model, n)).detach().requires_grad_(true);
    ForwardOptions fo;
    fo.computeLogits = false;
    fo.capture = [&](const std::string& name, const at::Tensor& value) {
        const int64_t l = layerOf(name, ".attn.probs");
        if (l < 0 || !value.requires_grad()) return;
        value.register_hook([&, l](const at::Tensor&) {
            reached.push_back(l);
            if (l == flipAt) flag = true;
        });
    };
    auto out = model.forward(embeds, fo);
    auto logits = model.lmHead(out.finalHidden.select(1, -1)); // (1, vocab)
    auto f = logits.max();
    EXPECT_THROW(torch::autograd::grad({f}, {embeds}), CancelledError) << "flipped in block " << flipAt;
    return reached;
}

TEST_F(GeneratedModel, ForwardCancelLandsWithinOneBlock) {
    ASSERT_TRUE(s_model);
    const CausalLM& model = *s_model->model;
    ASSERT_EQ(model.config().numLayers, kLayers);
    for (int64_t flipAt : {int64_t{0}, int64_t{1}, kLayers - 1}) {
        const AfterFlip after = cancelForwardAt(model, kPromptTokens, flipAt);
        EXPECT_TRUE(after.started.empty()) << "a block started after the cancel (flipped in block " << flipAt << ")";
        ASSERT_LE(after.finished.size(), 1u);
        // Only the block that was running finishes.
        if (!after.finished.empty()) {
            EXPECT_EQ(after.finished[0], flipAt);
        }
    }
}

TEST_F(GeneratedModel, BackwardCancelLandsWithinOneBlock) {
    ASSERT_TRUE(s_model);
    const CausalLM& model = *s_model->model;
    for (int64_t flipAt : {kLayers - 1, int64_t{2}, int64_t{1}}) {
        const auto reached = cancelBackwardAt(model, 512, flipAt);
        ASSERT_FALSE(reached.empty());
        // The backward walks the blocks down from the last; it stops in the one where the flag flipped.
        EXPECT_EQ(reached.back(), flipAt) << "the backward went on below block " << flipAt;
        EXPECT_EQ(static_cast<int64_t>(reached.size()), kLayers - flipAt);
    }
}

TEST_F(GeneratedModel, WithoutACancelNothingChanges) {
    // The checks and hooks leave values and gradients alone.
    ASSERT_TRUE(s_model);
    const CausalLM& model = *s_model->model;
    auto run = [&](bool scoped) {
        std::optional<CancelScope> scope;
        if (scoped) scope.emplace([] { return false; });
        auto embeds = model.embed(promptIds(model, 64)).detach().requires_grad_(true);
        ForwardOptions fo;
        fo.computeLogits = false;
        auto out = model.forward(embeds, fo);
        auto f = model.lmHead(out.finalHidden.select(1, -1)).max();
        auto g = torch::autograd::grad({f}, {embeds})[0];
        return std::make_pair(f.detach(), g);
    };
    const auto [f0, g0] = run(false);
    const auto [f1, g1] = run(true);
    EXPECT_TRUE(torch::equal(f0, f1));
    EXPECT_TRUE(torch::equal(g0, g1));
}

TEST(CancelBetweenLayers, BackwardPollsAfterEachLargeProduct) {
    // Inside a block the backward polls the flag after q/k/v, after the
    // attention's output projection, after the MLP's output projection and
    // after its input projections (separately after up and gate where they
    // are two products), so a cancel waits for one product, not a block
    // (an 8B block's backward is ~0.2 s on this CPU). At least six polls
    // per block, forward polls not counted.
    for (const std::string name : kFamilies) {
        SCOPED_TRACE(name);
        auto m = fixture(name);
        const CausalLM& model = *m->model;
        const int64_t layers = model.config().numLayers;
        bool backward = false;
        int64_t polls = 0;
        CancelScope scope([&] {
            if (backward) ++polls;
            return false;
        });
        auto embeds = model.embed(promptIds(model, 16)).detach().requires_grad_(true);
        ForwardOptions fo;
        fo.computeLogits = false;
        auto out = model.forward(embeds, fo);
        auto f = model.lmHead(out.finalHidden.select(1, -1)).max();
        backward = true;
        torch::autograd::grad({f}, {embeds});
        EXPECT_GE(polls, 6 * layers);
    }
}

TEST(CancelBetweenLayers, EveryFamily) {
    for (const std::string name : kFamilies) {
        SCOPED_TRACE(name);
        auto m = fixture(name);
        const CausalLM& model = *m->model;
        const int64_t layers = model.config().numLayers;
        ASSERT_GE(layers, 2);
        const AfterFlip after = cancelForwardAt(model, 48, 0);
        EXPECT_TRUE(after.started.empty());
        EXPECT_LE(after.finished.size(), 1u);
        const auto reached = cancelBackwardAt(model, 48, layers - 1);
        ASSERT_FALSE(reached.empty());
        EXPECT_EQ(reached.back(), layers - 1);
        EXPECT_EQ(reached.size(), 1u);
    }
}

// A model that reports each block its forward starts and each block its
// backward reaches, and flips the cancel flag at a chosen event.
class CountingLM final : public CausalLM {
public:
    CountingLM(std::shared_ptr<const CausalLM> inner, std::atomic<bool>& flag) : m_inner(std::move(inner)), m_flag(flag) {}
    // Flip when the `nth` (0-based) event of the kind happens.
    void flipAtBackward(int64_t nth) { m_flipBackward = nth; }
    void flipAtForward(int64_t nth) { m_flipForward = nth; }
    int64_t blocksAfterFlip() const { return m_afterFlip; }
    int64_t forwardBlocks() const { return m_forward; }
    int64_t backwardBlocks() const { return m_backward; }

    const ModelConfig& config() const override { return m_inner->config(); }
    at::Tensor embed(const at::Tensor& ids) const override { return m_inner->embed(ids); }
    ForwardOutput forward(const at::Tensor& x, const ForwardOptions& options) const override {
        ForwardOptions o = options;
        o.capture = [this, outer = options.capture](const std::string& name, const at::Tensor& value) {
            if (outer) outer(name, value);
            if (layerOf(name, ".attn.values") >= 0) event(m_forward, m_flipForward);
            if (layerOf(name, ".attn.probs") >= 0 && value.requires_grad()) {
                value.register_hook([this](const at::Tensor&) { event(m_backward, m_flipBackward); });
            }
        };
        return m_inner->forward(x, o);
    }
    at::Tensor lmHead(const at::Tensor& h) const override { return m_inner->lmHead(h); }
    at::Tensor embeddingMatrix() const override { return m_inner->embeddingMatrix(); }
    at::Tensor headMatrix() const override { return m_inner->headMatrix(); }
    OutputProjection attentionOutputProjection(int64_t layer) const override {
        return m_inner->attentionOutputProjection(layer);
    }
    int64_t parameterCount() const override { return m_inner->parameterCount(); }
    int64_t parameterBytes() const override { return m_inner->parameterBytes(); }
    std::string device() const override { return m_inner->device(); }

private:
    void event(int64_t& counter, int64_t flipAt) const {
        std::lock_guard lock(m_mutex);
        if (m_flag.load()) ++m_afterFlip;
        if (counter++ == flipAt) m_flag = true;
    }
    std::shared_ptr<const CausalLM> m_inner;
    std::atomic<bool>& m_flag;
    mutable std::mutex m_mutex;
    mutable int64_t m_forward = 0, m_backward = 0, m_afterFlip = 0;
    int64_t m_flipForward = -1, m_flipBackward = -1;
};

TEST_F(GeneratedModel, MethodsCancelledInsideAPassEndCancelled) {
    ASSERT_TRUE(s_model);
    Job job;
    std::string text;
    for (int i = 0; i < 30; ++i) text += "The committee met on Tuesday to review the budget. ";
    job.input = text;
    job.options = {{"methods", {{"integrated_gradients", {{"steps", 8}}}}}};
    job.targetText = " It was approved";
    job.methods = {"saliency", "occlusion", "integrated_gradients"};
    auto seq = prepareSequence(*s_model, job);
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    ASSERT_GT(seq->input.ids.size(), 300u);

    struct Case {
        std::string method;
        bool backward;  // flip in the backward (else in the forward)
        int64_t nth;    // at this event of its kind
    };
    // Saliency: one forward and one backward over the rows; occlusion:
    // batches of perturbed rows, forward only; integrated gradients: steps.
    for (const Case& c : {Case{"saliency", true, 1}, Case{"saliency", false, 2}, Case{"occlusion", false, 5},
                          Case{"integrated_gradients", true, 2}}) {
        SCOPED_TRACE(c.method + (c.backward ? " (backward)" : " (forward)"));
        std::atomic<bool> flag{false};
        auto counting = std::make_shared<CountingLM>(s_model->model, flag);
        if (c.backward) counting->flipAtBackward(c.nth);
        else counting->flipAtForward(c.nth);
        LoadedModel model = *s_model;
        model.model = counting;
        RunControl control;
        control.isCancelled = [&] { return flag.load(); };
        const MethodResult r = runMethod(model, *seq, job, c.method, control);
        EXPECT_TRUE(flag.load()) << "the run ended before the flag flipped";
        EXPECT_EQ(r.status, RunStatus::Cancelled) << r.error.value_or("");
        EXPECT_EQ(r.error.value_or(""), "cancelled");
        EXPECT_TRUE(r.raw.empty()) << "a cancelled result carries no matrix";
        EXPECT_EQ(counting->blocksAfterFlip(), 0) << "blocks ran after the cancel: the one running may finish, "
                                                     "no other may start";
    }
}

TEST_F(GeneratedModel, GenerationAndForcedTargetCancelInsideThePass) {
    ASSERT_TRUE(s_model);
    std::atomic<bool> flag{false};
    auto counting = std::make_shared<CountingLM>(s_model->model, flag);
    counting->flipAtForward(1); // in the first step (the prompt's pass), block 1
    std::vector<int64_t> prompt(700);
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int64_t>((i * 7919) % 50257);
    GenerationOptions g;
    g.maxNewTokens = 4;
    g.isCancelled = [&] { return flag.load(); };
    auto gen = generate(*counting, prompt, g);
    ASSERT_TRUE(gen.ok()) << gen.error().message;
    EXPECT_TRUE(gen->cancelled);
    EXPECT_TRUE(gen->ids.empty());
    EXPECT_EQ(counting->blocksAfterFlip(), 0);

    // The forced target's one pass, through the engine.
    flag = false;
    auto scoring = std::make_shared<CountingLM>(s_model->model, flag);
    scoring->flipAtForward(2);
    LoadedModel model = *s_model;
    model.model = scoring;
    Job job;
    job.input = "A short prompt about the weather in the hills.";
    job.targetText = " Rain";
    job.methods = {"saliency"};
    RunControl control;
    control.isCancelled = [&] { return flag.load(); };
    auto seq = prepareSequence(model, job, control);
    ASSERT_FALSE(seq.ok());
    EXPECT_EQ(seq.error().code, ErrorCode::Cancelled) << seq.error().message;
    EXPECT_EQ(scoring->blocksAfterFlip(), 0);
}

} // namespace
