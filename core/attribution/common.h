#pragma once
// Machinery shared by the attribution methods (internal; includes torch).
// Everything is teacher-forced on the one sequence X ⊕ Y: column j (output
// token y_j) is predicted at position p_j = n + j - 1.

#include "attribution/method.h"
#include "model/serial_scope.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <optional>

namespace tokenlens::attr {

// Enters `scope` (a SerialScope: this thread's ATen operations on this thread
// alone) for float32 passes when the matrix products go to OpenBLAS's own
// threads, so that no OpenMP worker spins beside them (serial_scope.h,
// float32WantsSerialScope; docs/benchmarks.md, "Float32 gradient passes and
// OpenBLAS's threads"). Every method's passes go through it. By the model's
// compute dtype, not its inputs' (float32 for bfloat16 compute too):
// bfloat16 products run on the OpenMP threads (oneDNN) and keep them.
void serialForFloat32(std::optional<SerialScope>& scope, const CausalLM& model);


// Contrast*: p(y_j) − p(c_j) and logit(y_j) − logit(c_j) against the
// alternative c_j of Sequence::contrasts.
enum class TargetFn { Probability, LogProbability, Logit, ContrastProbabilityDiff, ContrastLogitDiff };
enum class Reduction { L2, Sum, Mean };
enum class Strategy { Batched, PerStep };

TargetFn targetFnFrom(const nlohmann::json& resolved);
Reduction reductionFrom(const nlohmann::json& resolved);
Strategy strategyFrom(const nlohmann::json& resolved);

// Options every target-function method takes: target_fn, contrast_token,
// contrast_text, strategy, memory_budget_mb, chunk_seconds.
std::vector<OptionSpec> targetOptions();
// Only target_fn, contrast_token and contrast_text (methods without strategies).
std::vector<OptionSpec> targetFnOptions();
// Options of methods that reduce a hidden-size vector: reduction.
OptionSpec reductionOption();
// The gradient methods' options: targetOptions() with reduction after target_fn.
std::vector<OptionSpec> gradientOptions();
// baseline: zero | unk.
OptionSpec baselineOption();

struct Sequence {
    at::Tensor ids;    // (L) int64, L = n + t
    at::Tensor embeds; // (L, hidden) token embeddings e_i (no position embeddings), no grad
    int64_t n = 0, t = 0;
    int64_t length() const { return n + t; }
    int64_t position(int64_t j) const { return n + j - 1; }
    at::Tensor targets() const { return ids.slice(0, n); } // (t)
    // (t) int64 alternatives c_j of a contrastive target; undefined otherwise.
    at::Tensor contrasts;
};
Sequence makeSequence(const AttributionInput& input);
// makeSequence plus the contrast ids a contrastive target_fn needs (from
// contrast_token, or from input.contrastIds for contrast_text: one id for
// every column, or exactly t). Errors name the option.
Result<Sequence> makeTargetSequence(const AttributionInput& input, const nlohmann::json& resolved);

// The baseline embeddings e' (L, hidden): zeros, or every row the embedding
// of the unk token. Fails when `unk` is asked for and the model has none.
Result<at::Tensor> baselineEmbeds(const AttributionInput& input, const Sequence& seq, const nlohmann::json& resolved);

// makeTargetSequence and its baselineEmbeds, for the methods that need both.
struct BaselinedSequence {
    Sequence seq;
    at::Tensor baseline; // (L, hidden)
};
Result<BaselinedSequence> targetSequenceWithBaseline(const AttributionInput& input, const nlohmann::json& resolved);

// f(hidden) for final hidden states (B, hidden) and target ids (B), with the
// contrast ids (B) for the contrastive targets (undefined otherwise).
// Computes only what the target needs: one row of the head for `logit`, two
// for `contrast_logit_diff`.
at::Tensor targetValues(const CausalLM& model, const at::Tensor& finalHidden, const at::Tensor& targets, TargetFn fn,
                        const at::Tensor& contrasts = {});
// The same from full logits (B, vocab) (the per-step paths).
at::Tensor targetFromLogits(const at::Tensor& logits, const at::Tensor& targets, TargetFn fn,
                            const at::Tensor& contrasts = {});

// f_j for every column from one teacher-forced forward of `embeds` (L, hidden).
at::Tensor targetsAllColumns(const CausalLM& model, const Sequence& seq, const at::Tensor& embeds, TargetFn fn);

// (..., hidden) -> (...)
at::Tensor reduceHidden(const at::Tensor& v, Reduction r);

// A[i, j] for i <= p_j from per-column rows `values` (t, L-1); NaN elsewhere.
AttributionMatrix matrixFromColumns(const Sequence& seq, const at::Tensor& values);

// Progress in work units; shared by the methods so estimates and reports agree.
class Progress {
public:
    Progress(const RunControl& control, int64_t total) : m_control(control), m_total(std::max<int64_t>(total, 1)) {}
    void add(int64_t units);
    bool cancelled() const { return m_control.isCancelled && m_control.isCancelled(); }

private:
    const RunControl& m_control;
    int64_t m_total;
    int64_t m_done = 0;
};

// Sizes the chunks of a long loop so that one chunk takes about
// `targetSeconds`: cancellation is checked between chunks, so this bounds how
// long a cancel waits even on a big model (where a chunk bounded only by the
// memory budget can take seconds). The first chunk is small (`firstRows`);
// later ones follow the time per row measured on the previous chunk, growing
// at most 2x per chunk. Chunk boundaries change how rows are batched, never
// what is computed.
class ChunkSizer {
public:
    explicit ChunkSizer(double targetSeconds = 0.05, int64_t firstRows = 4)
        : m_target(targetSeconds), m_first(firstRows) {}
    // Rows for the next chunk, 1..maxRows, and at least minRows: a pass of a
    // few rows on a large model is matrix-vector work at a fraction of the
    // matrix-multiply throughput, so callers ask for enough rows to fill
    // kMinPositionsPerPass token positions (a cancel then waits for one such
    // pass: milliseconds on small models, ~2 s on a GPT-2-small-sized one).
    int64_t next(int64_t maxRows, int64_t minRows = 1) const;
    void start();
    // Records the chunk begun by start() with `rows` rows.
    void finish(int64_t rows);

private:
    double m_target;
    int64_t m_first;
    int64_t m_lastRows = 0;
    double m_lastSeconds = 0;
    std::chrono::steady_clock::time_point m_start;
};

// One path point of a gradient method: column j's target at input
// baseline + alpha (e - baseline), weighted by `weight` in the column's sum.
struct GradientItem {
    int64_t column = 0;
    double alpha = 1.0;
    double weight = 1.0;
    int64_t noise = -1; // row of GradientExtras::noise added to the input (-1: none)
};

// What gradient_shap adds: the item's input is baseline + alpha (e + noise_k
// − baseline), and with timesDelta each gradient is multiplied by (e +
// noise_k − baseline) before it is summed.
// attnlrp and cp_lrp: the forward in an LRP mode (ForwardOptions::lrp), a
// final logit softcap through the identity rule.
struct GradientExtras {
    at::Tensor noise; // (K, L-1, hidden) or undefined
    bool timesDelta = false;
    LrpMode lrp = LrpMode::Off;
};

// How a gradient pass keeps each layer's attention maps.
struct MapsKept {
    int64_t bytes = 12;        // per head, query and key kept: three float32 maps, recorded op by op
    bool causalBlocks = false; // only each query block's keys up to its last row (the attention core's node)
};

struct GradientSums {
    at::Tensor grads; // (t, L-1, hidden): Σ_items weight · ∂f_j/∂x at the item's input
    int64_t forwardPasses = 0;
    bool cancelled = false;
};

// The core of saliency, input × gradient, the LRP methods, integrated
// gradients and gradient_shap.
// Batched: items that all share one input share one forward and batched
// backwards over its kept graph (sharedForwardGradients, below); otherwise
// (or when that graph does not fit the budget) items of several columns
// share one forward/backward as batch rows, each row's sequence cut after
// its own p_j (causality makes the rest irrelevant). Either way only the
// hidden states at p_j go through the head; chunked to the memory budget.
// Per-step (Inseq's way): one column at a time on its own prefix, full
// logits at every position; the column's items (integrated gradients' steps,
// gradient_shap's samples) go in one pass as Captum batches them, split into
// passes of even size only when one would not fit the memory budget.
GradientSums accumulateGradients(const CausalLM& model, const Sequence& seq, const at::Tensor& baseline,
                                 const std::vector<GradientItem>& items, TargetFn fn, Strategy strategy,
                                 int64_t memoryBudgetBytes, double chunkSeconds, Progress& progress,
                                 const GradientExtras& extras = {});

// How the batched strategy computes gradients of items that share inputs
// (every column of saliency, input × gradient and the LRP methods on one
// input; integrated gradients' columns on each step's):
// Shared: one forward of the whole sequence per input, kept for backward,
// and the columns' input gradients from batched backward passes over that
// graph (sharedForwardGradients); when the kept graph does not fit the
// memory budget, or items share too little, PerRow instead.
// PerRow: each item a batch row cut after its own p_j, forward and backward.
// The numbers are the same either way (up to float rounding); the setting is
// process-wide, for tests and benchmarks that compare the two.
enum class GradientForward { Shared, PerRow };
void setGradientForward(GradientForward path);
GradientForward gradientForward();

// The Shared path of accumulateGradients (batched strategy): items grouped
// by their input (alpha, noise); each input (the column gradients' one,
// each of integrated gradients' steps) goes forward over the L-1 input
// positions, the graph kept (setSharedInputsPerForward: several inputs as
// batch rows of one forward, measured slower); then, in
// chunks of columns sized by time and by the budget left beside the kept
// graph, the head's gradient at each item's row and p_j (a small backward of
// its own) and one backward of the body with a batch of cotangents, one per
// column covering its items on every row (LibTorch's legacy vmap, as
// torch.autograd.grad's is_grads_batched). nullopt (nothing computed) when
// the items share too little (a single item, or fewer than two items per
// input on average: gradient_shap's points) or one kept graph and one
// cotangent do not fit `memoryBudgetBytes`: the caller goes per row.
// Inputs per forward of the shared path (as many as the budget holds, the
// rest in further forwards of even size); 0: the default, one. Process-wide,
// for tests and benchmarks that compare.
void setSharedInputsPerForward(int64_t inputs);
// When the kept graph of a whole forward and one cotangent do not fit the
// budget, the shared path goes block by block: a forward without a graph
// keeps only the residual stream entering each block; then segments of
// blocks, top first, are recomputed with their graph, and the columns'
// gradients go down through one segment after the other (a group of
// columns at a time, each carrying its gradient at the segment's input).
// Peak memory is one segment's graph instead of every layer's, for one
// more forward. Segments are as large as the budget allows, at least one
// block: a pass always runs (gradientMemoryFits refuses what cannot fit the
// machine). Process-wide, for tests and benchmarks: segments of
// `layersPerSegment` blocks (>= the model's layers: the whole graph) and
// groups of `columnsPerGroup` columns whatever the budget; 0, 0 restores
// the budget's plan.
void setGradientSegments(int64_t layersPerSegment, int64_t columnsPerGroup = 0);
// Whether the items share inputs enough for the shared path: two items or
// more per distinct input (alpha, noise) on average.
bool itemsShareInputs(const std::vector<GradientItem>& items, const GradientExtras& extras);
// The least memory a pass of the shared path needs over `width` positions
// (block by block: one block's graph, one cotangent, the residual stream
// entering every block and one column's carried gradients).
int64_t blockByBlockMinBytes(const ModelConfig& c, int64_t width, const MapsKept& maps = {});
std::optional<GradientSums> sharedForwardGradients(const CausalLM& model, const Sequence& seq,
                                                   const at::Tensor& baseline, const std::vector<GradientItem>& items,
                                                   TargetFn fn, int64_t memoryBudgetBytes, double chunkSeconds,
                                                   Progress& progress, const GradientExtras& extras);

// The target f of final hidden states h (B, hidden) as the gradient passes
// take it: through the LRP rules' logits when an LRP mode meets a final
// softcap, else targetValues.
at::Tensor passTargets(const CausalLM& model, const at::Tensor& h, const at::Tensor& targets,
                       const at::Tensor& contrasts, TargetFn fn, LrpMode lrp);

// accumulateGradients with the options of `resolved` (target_fn, strategy,
// memory_budget_mb, chunk_seconds), and the output's bookkeeping: `out` gets
// the target function, the reduction, the forward passes and, when the passes
// were cancelled, `cancelled`. Fails, before any pass, when the least memory
// the passes need does not fit the machine (gradientMemoryFits: block by
// block where the shared path applies, one whole row otherwise).
Result<GradientSums> gradientPasses(const AttributionInput& input, const Sequence& seq, const at::Tensor& baseline,
                            const std::vector<GradientItem>& items, const nlohmann::json& resolved,
                            Progress& progress, MethodOutput& out, const GradientExtras& extras = {});

// The layer of a captured "layers.N.attn.probs" tensor; nullopt for any other name.
std::optional<int64_t> attentionProbsLayer(const std::string& captureName);

// Work units of one gradient per output column: a forward and a backward
// over each column's prefix.
inline int64_t columnGradientWork(int64_t n, int64_t t) { return 2 * (t * n + t * (t - 1) / 2); }

// The target sequence and one gradient per output column at the input itself
// (saliency, input × gradient, the LRP methods), through gradientPasses;
// `out` gets its bookkeeping (check out.cancelled).
struct ColumnGradients {
    Sequence seq;
    at::Tensor grads; // (t, L-1, hidden)
};
Result<ColumnGradients> columnGradients(const AttributionInput& input, const nlohmann::json& resolved,
                                        const RunControl& control, MethodOutput& out,
                                        const GradientExtras& extras = {});

// What `model`'s gradient passes under `lrp` keep: the attention core's
// node (layers::attentionCore: one map in the compute dtype, in query
// blocks) unless LRP rules, a softcap or TOKENLENS_ATTENTION_CORE=recorded
// record the maps op by op.
MapsKept gradientMapsKept(const CausalLM& model, LrpMode lrp);
// Bytes of activations one token position of one batch row keeps for
// backward (`maps`: how it keeps the attention maps; the default, three
// float32 maps per head over every key, is also what the forward-only
// planners scale from).
int64_t activationBytesPerToken(const ModelConfig& c, int64_t seqLen, const MapsKept& maps = {});
// Bytes one cotangent of a batched backward over a kept graph of `width`
// positions takes while it runs: the gradients of one block's activations
// (twice, for the block being left and the one entered) and its input
// gradient and cotangent rows. Its attention part follows `maps`: recorded
// op by op, three float32 maps over every query and key (twice); through
// the attention core's node (causal blocks), the node's float32 sums of
// the q, k and v gradients and one query block's map of score gradients in
// the compute dtype (twice: the product's output and the next one's).
int64_t cotangentBytes(const ModelConfig& c, int64_t width, const MapsKept& maps = {});

int64_t memoryBudgetBytes(const nlohmann::json& resolved);

// Whether one gradient pass over `positions` token positions (one row: its
// kept forward graph, attention maps of every layer and head included, by
// activationBytesPerToken's estimate) fits the memory the machine has
// available. The memory budget sizes how many rows a pass holds, but a pass
// holds at least one (one block, block by block); what does not fit the
// machine would end in the kernel's out-of-memory kill, so the gradient
// methods refuse it up front with a message that says why. availableBytes:
// MemAvailable (nullopt: not known, no check).
// With `blockByBlock` (the shared path, which can recompute block by block)
// the need is blockByBlockMinBytes instead of the whole row's graph.
Status gradientMemoryFits(const ModelConfig& c, int64_t positions, std::optional<int64_t> availableBytes,
                          bool blockByBlock = false, const MapsKept& maps = {});
// The same with this machine's /proc/meminfo and `model`'s maps under `lrp`.
Status gradientMemoryFits(const CausalLM& model, const Sequence& seq, bool blockByBlock, LrpMode lrp);

// The chunk_seconds option: what one batched pass aims to take (cancellation
// is checked between passes).
constexpr double kDefaultChunkSeconds = 0.05;
// Token positions a batched pass holds at least (see ChunkSizer::next).
constexpr int64_t kMinPositionsPerPass = 512;
// Rows of `length` positions that make kMinPositionsPerPass.
inline int64_t minRowsFor(int64_t length) {
    return (kMinPositionsPerPass + std::max<int64_t>(length, 1) - 1) / std::max<int64_t>(length, 1);
}
double chunkSeconds(const nlohmann::json& resolved);

// Where part k of `count` items split into `parts` parts of even size (sizes
// differ by at most one, the larger first) begins; k = parts: count.
inline int64_t evenSplit(int64_t count, int64_t parts, int64_t k) {
    return k * (count / parts) + std::min(k, count % parts);
}

} // namespace tokenlens::attr
