#include "model/layers.h"
#include "model/matvec.h"
#include "util/cancellation.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <numeric>
#include <optional>

namespace tokenlens::layers {

namespace {

thread_local at::Tensor t_scratch; // flat; grows to the largest slice converted

// `w` (rows, in) converted to `dtype` in the thread's scratch buffer; valid
// until the next conversion on this thread.
at::Tensor converted(const at::Tensor& w, at::ScalarType dtype) {
    const int64_t n = w.numel();
    if (!t_scratch.defined() || t_scratch.scalar_type() != dtype || t_scratch.numel() < n) {
        t_scratch = at::Tensor(); // free the old one first
        t_scratch = torch::empty({n}, torch::TensorOptions().dtype(dtype).device(w.device()));
    }
    auto view = t_scratch.narrow(0, 0, n).view(w.sizes());
    view.copy_(w);
    return view;
}

int64_t rowsPerChunk(const at::Tensor& w) { return std::max<int64_t>(1, kConvertChunkElements / std::max<int64_t>(w.size(1), 1)); }

// x2 (n, in) · wᵀ (+ bias) with w (out, in) converted slice by slice; the
// bias added by the product as torch's linear adds it.
at::Tensor forwardConverted(const at::Tensor& x2, const at::Tensor& w, const at::Tensor& bias) {
    const int64_t out = w.size(0), step = rowsPerChunk(w);
    auto product = [&](int64_t r, int64_t e) {
        auto wt = converted(out <= step ? w : w.slice(0, r, e), x2.scalar_type()).t();
        if (!bias.defined()) return torch::mm(x2, wt);
        return torch::addmm(out <= step ? bias : bias.slice(0, r, e), x2, wt);
    };
    if (out <= step) return product(0, out);
    std::vector<at::Tensor> parts;
    for (int64_t r = 0; r < out; r += step) parts.push_back(product(r, std::min(out, r + step)));
    return torch::cat(parts, 1);
}

// g2 (n, out) · w with w (out, in) converted slice by slice.
at::Tensor backwardConverted(const at::Tensor& g2, const at::Tensor& w) {
    const int64_t out = w.size(0), step = rowsPerChunk(w);
    if (out <= step) return torch::mm(g2, converted(w, g2.scalar_type()));
    at::Tensor gx;
    for (int64_t r = 0; r < out; r += step) {
        const int64_t e = std::min(out, r + step);
        auto part = converted(w.slice(0, r, e), g2.scalar_type());
        if (gx.defined()) {
            gx.addmm_(g2.slice(1, r, e), part);
        } else {
            gx = torch::mm(g2.slice(1, r, e), part);
        }
    }
    return gx;
}

// The product's autograd node: saves the stored matrix (a view of the file,
// no copy) and converts it again for the backward. The weight gets no
// gradient (loaded weights never require one); a bias that does gets the
// column sums. LibTorch's custom functions take no undefined inputs, hence
// the two forms.
at::Tensor backwardInput(torch::autograd::AutogradContext* ctx, const at::Tensor& g) {
    return backwardConverted(g.contiguous(), ctx->saved_data["w"].toTensor());
}

struct ConvertedLinear : torch::autograd::Function<ConvertedLinear> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x2, const at::Tensor& w) {
        ctx->saved_data["w"] = w;
        return forwardConverted(x2, w, {});
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        if (!grads[0].defined()) return {at::Tensor(), at::Tensor()};
        return {backwardInput(ctx, grads[0]), at::Tensor()};
    }
};

struct ConvertedLinearBias : torch::autograd::Function<ConvertedLinearBias> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x2, const at::Tensor& w,
                              const at::Tensor& bias) {
        ctx->saved_data["w"] = w;
        return forwardConverted(x2, w, bias);
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const at::Tensor& g = grads[0];
        if (!g.defined()) return {at::Tensor(), at::Tensor(), at::Tensor()};
        return {backwardInput(ctx, g), at::Tensor(), g.sum(0)};
    }
};

std::atomic<bool> g_rowKernel{true};
thread_local int64_t t_rowKernelCalls = 0;

std::optional<matvec::Element> elementOf(at::ScalarType t) {
    switch (t) {
    case torch::kFloat32: return matvec::Element::Float32;
    case torch::kBFloat16: return matvec::Element::BFloat16;
    case torch::kFloat16: return matvec::Element::Float16;
    default: return std::nullopt;
    }
}

// x (…, in) holding one row times w (out, in) through matvec::multiply, or
// undefined where that kernel does not apply: more than one row, a product
// autograd must record, a device other than the CPU, a weight with no unit
// stride, or dtypes whose existing product rounds differently. A float32 row
// takes weights of any of the kernel's dtypes (widened exactly, as linear()'s
// conversion does); a bfloat16 row takes bfloat16 weights and bias (float32
// sums rounded once to bfloat16, as oneDNN's product does).
at::Tensor rowProduct(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
    if (!g_rowKernel.load(std::memory_order_relaxed)) return {};
    if (x.dim() < 1 || x.size(-1) == 0 || x.numel() != x.size(-1) || w.dim() != 2 || w.size(1) != x.size(-1)) return {};
    if (!x.device().is_cpu() || !w.device().is_cpu()) return {};
    const bool tracked = x.requires_grad() || w.requires_grad() || (bias.defined() && bias.requires_grad());
    if (tracked && torch::GradMode::is_enabled()) return {};
    const auto we = elementOf(w.scalar_type());
    const auto xt = x.scalar_type();
    if (!we || !(xt == torch::kFloat32 || (xt == torch::kBFloat16 && w.scalar_type() == torch::kBFloat16))) return {};
    if (w.stride(1) != 1 && w.stride(0) != 1) return {};
    matvec::VectorView b;
    at::Tensor bc;
    if (bias.defined()) {
        const auto be = elementOf(bias.scalar_type());
        if (!be || !bias.device().is_cpu() || bias.numel() != w.size(0) || (xt != torch::kFloat32 && bias.scalar_type() != xt)) return {};
        bc = bias.contiguous();
        b = {bc.data_ptr(), *be};
    }
    const auto row = x.reshape({x.size(-1)}).to(torch::kFloat32).contiguous();
    auto y = torch::empty({w.size(0)}, torch::kFloat32);
    const matvec::MatrixView a{w.data_ptr(), *we, w.size(0), w.size(1), w.stride(0), w.stride(1)};
    matvec::multiply(a, row.data_ptr<float>(), y.data_ptr<float>(), b);
    ++t_rowKernelCalls;
    auto outShape = x.sizes().vec();
    outShape.back() = w.size(0);
    return y.to(xt).view(outShape);
}

} // namespace

void setRowKernelEnabled(bool on) { g_rowKernel.store(on, std::memory_order_relaxed); }
bool rowKernelEnabled() { return g_rowKernel.load(std::memory_order_relaxed); }
int64_t rowKernelCalls() { return t_rowKernelCalls; }

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
    if (w.scalar_type() == x.scalar_type()) return torch::nn::functional::linear(x, w, bias);
    auto outShape = x.sizes().vec();
    outShape.back() = w.size(0);
    const auto x2 = x.reshape({-1, x.size(-1)});
    const at::Tensor b = bias.defined() ? bias.to(x.scalar_type()) : bias;
    const bool tracked = torch::GradMode::is_enabled() && (x.requires_grad() || (b.defined() && b.requires_grad()));
    at::Tensor y = !tracked      ? forwardConverted(x2, w, b)
                   : b.defined() ? ConvertedLinearBias::apply(x2, w, b)
                                 : ConvertedLinear::apply(x2, w);
    return y.view(outShape);
}

int64_t conversionScratchBytes() {
    return t_scratch.defined() ? t_scratch.numel() * static_cast<int64_t>(t_scratch.element_size()) : 0;
}

Conv1DImpl::Conv1DImpl(int64_t in, int64_t out) {
    weight = param("weight", {in, out});
    bias = param("bias", {out});
}

at::Tensor project(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
    if (auto y = rowProduct(x, weight, bias); y.defined()) return y;
    const bool oneRow = x.dim() >= 1 && x.numel() == x.size(-1);
    if (oneRow && x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32) {
        auto outShape = x.sizes().vec();
        outShape.back() = weight.size(0);
        auto row = x.reshape({x.size(-1)});
        auto y = bias.defined() ? torch::addmv(bias, weight, row) : torch::mv(weight, row);
        return y.view(outShape);
    }
    return linear(x, weight, bias); // stored narrower than x: converted as used
}

at::Tensor Conv1DImpl::forward(const at::Tensor& x) const {
    if (x.numel() == x.size(-1) || weight.scalar_type() != x.scalar_type()) return project(x, weight.t(), bias);
    auto outShape = x.sizes().vec();
    outShape.back() = weight.size(1);
    return torch::addmm(bias, x.reshape({-1, x.size(-1)}), weight).view(outShape);
}

at::Tensor childParam(torch::nn::Module& parent, const std::string& child, const std::string& name,
                      at::IntArrayRef shape) {
    return parent.register_module(child, std::make_shared<ParamModule>())->param(name, shape);
}

LinearImpl::LinearImpl(int64_t in, int64_t out, bool withBias) {
    weight = param("weight", {out, in});
    if (withBias) bias = param("bias", {out});
}

at::Tensor LinearImpl::forward(const at::Tensor& x) const { return project(x, weight, bias); }

LayerNormImpl::LayerNormImpl(int64_t dim, double epsilon) : eps(epsilon) {
    weight = param("weight", {dim});
    bias = param("bias", {dim});
}

// The LRP rules as custom backward functions: the forward is the ordinary
// one (the same values, no extra element-wise passes), the backward applies
// the rule directly (one to three passes instead of the graph of an
// equivalent expression).
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = act(x) (computed by the caller) with gradient g · y/x, 0 where x = 0.
struct IdentityRuleFn : torch::autograd::Function<IdentityRuleFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& y) {
        ctx->save_for_backward({torch::where(x != 0, y / x, torch::zeros({}, y.options()))});
        return y; // returned as a view carrying this function's gradient
    }
    static variable_list backward(AutogradContext* ctx, variable_list g) {
        return {g[0] * ctx->get_saved_variables()[0], at::Tensor()};
    }
};

// LayerNorm whose scale 1/σ is a constant: u = g·w/σ, ∂̃/∂x = u − mean(u)
// (the centering's adjoint), ∂/∂w = Σ g·x̂ and ∂/∂b = Σ g over the leading dims.
struct LrpLayerNormFn : torch::autograd::Function<LrpLayerNormFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                              const at::Tensor& bias, double eps) {
        auto [out, mean, rstd] = at::native_layer_norm(x, {weight.size(0)}, weight, bias, eps);
        auto statShape = x.sizes().vec();
        statShape.back() = 1;
        ctx->save_for_backward({x, weight, mean.reshape(statShape), rstd.reshape(statShape)});
        return out;
    }
    static variable_list backward(AutogradContext* ctx, variable_list g) {
        const auto saved = ctx->get_saved_variables();
        const auto &x = saved[0], &w = saved[1], &mean = saved[2], &rstd = saved[3];
        const auto& go = g[0];
        at::Tensor gx, gw, gb;
        std::vector<int64_t> leading(static_cast<size_t>(go.dim() - 1));
        std::iota(leading.begin(), leading.end(), 0);
        if (ctx->needs_input_grad(0)) {
            auto u = go * w * rstd;
            gx = (u - u.mean(-1, /*keepdim=*/true)).to(x.scalar_type());
        }
        if (ctx->needs_input_grad(1)) gw = (go * ((x - mean) * rstd)).sum(leading).to(w.scalar_type());
        if (ctx->needs_input_grad(2)) gb = go.sum(leading).to(w.scalar_type());
        return {gx, gw, gb, at::Tensor()};
    }
};

} // namespace

at::Tensor halfGradient(const at::Tensor& x) {
    // A hook on x halves the gradient reaching it: no forward pass at all.
    if (x.requires_grad()) x.register_hook([](const at::Tensor& g) { return g * 0.5; });
    return x;
}

at::Tensor identityRule(const at::Tensor& x, const at::Tensor& y) { return IdentityRuleFn::apply(x, y); }

at::Tensor LayerNormImpl::forward(const at::Tensor& x, bool lrp) const {
    if (lrp && torch::GradMode::is_enabled()) return LrpLayerNormFn::apply(x, weight, bias, eps);
    const bool recording = torch::GradMode::is_enabled() &&
                           (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
    if (x.scalar_type() != torch::kFloat32 && x.device().is_cpu() && !recording) {
        // Outside autograd a narrower x is normalised in float32 and rounded
        // once: LibTorch 1.13's CPU layer norm in bfloat16 took 0.60 ms for
        // GPT-2 small's 135 × 768 against 0.06 ms with both conversions
        // (docs/benchmarks.md, "bfloat16 fixed costs at GPT-2 small"); its
        // own statistics are float32 too.
        const auto f = torch::kFloat32;
        return torch::layer_norm(x.to(f), {weight.size(0)}, weight.to(f), bias.defined() ? bias.to(f) : bias, eps)
            .to(x.scalar_type());
    }
    return torch::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

RMSNormImpl::RMSNormImpl(int64_t dim, double epsilon, bool offset) : eps(epsilon), offsetOne(offset) {
    weight = param("weight", {dim});
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x, bool lrp) const {
    if (!lrp && rmsNormNodeTakes(x, weight)) return rmsNormNode(x, weight, eps, offsetOne);
    auto h = x.to(torch::kFloat32);
    auto variance = (lrp ? h.detach() : h).pow(2).mean(-1, /*keepdim=*/true);
    h = h * torch::rsqrt(variance + eps);
    if (offsetOne) return (h * (1.0 + weight)).to(x.scalar_type());
    return weight * h.to(x.scalar_type());
}

at::Tensor RMSNormImpl::scale(const at::Tensor& x) const {
    auto r = torch::rsqrt(x.to(torch::kFloat32).pow(2).mean(-1, /*keepdim=*/true) + eps); // (…, 1)
    return r * (offsetOne ? 1.0 + weight : weight);
}

at::Tensor fullKeyMask(const ForwardOptions& options, int64_t batch, int64_t seq, int64_t past) {
    const at::Tensor pastMask = options.cache ? options.cache->attentionMask : at::Tensor();
    if (!options.attentionMask.defined() && !pastMask.defined()) return {};
    auto opts = torch::TensorOptions().dtype(torch::kInt64);
    at::Tensor newMask = options.attentionMask.defined() ? options.attentionMask.to(torch::kInt64)
                                                         : torch::ones({batch, seq}, opts);
    TORCH_CHECK(newMask.dim() == 2 && newMask.size(0) == batch && newMask.size(1) == seq,
                "attention mask must be (batch, seq) = (", batch, ", ", seq, ")");
    at::Tensor oldMask = pastMask.defined() ? pastMask.to(torch::kInt64) : torch::ones({batch, past}, opts);
    return torch::cat({oldMask.to(newMask.device()), newMask}, 1);
}

at::Tensor positionIds(const ForwardOptions& options, int64_t batch, int64_t seq, int64_t past,
                       const at::Tensor& fullMask) {
    if (options.positionIds.defined()) return options.positionIds.to(torch::kInt64);
    if (fullMask.defined()) {
        auto pos = fullMask.cumsum(1) - 1;
        pos = pos.clamp_min(0);
        return pos.slice(1, past, past + seq);
    }
    return torch::arange(past, past + seq, torch::kInt64).unsqueeze(0).expand({batch, seq});
}

at::Tensor allowedMask(const at::Tensor& fullMask, int64_t batch, int64_t seq, int64_t past,
                       const at::Device& device, int64_t window) {
    const int64_t total = past + seq;
    auto idx = torch::TensorOptions().dtype(torch::kInt64).device(device);
    auto q = torch::arange(past, total, idx).unsqueeze(1); // (seq, 1)
    auto k = torch::arange(0, total, idx).unsqueeze(0);    // (1, total)
    auto causal = k <= q;
    if (window > 0) causal = causal & (k > q - window);     // the sliding window
    auto allowed = causal.unsqueeze(0).unsqueeze(0);        // (1, 1, seq, total)
    if (fullMask.defined()) {
        auto keyOk = fullMask.to(device).to(torch::kBool).view({batch, 1, 1, total});
        allowed = allowed & keyOk;
    }
    return allowed.expand({batch, 1, seq, total});
}

ProbsRows probsRowsOf(const ForwardOptions& o) {
    if (o.probsRows) return {o.probsRows->first, o.probsRows->second};
    if (o.capture || o.outputAttentions) return {};
    return {0, 0};
}

AttentionResult attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                       bool divideBy, double scale, double softcap, LrpMode lrp, ProbsRows rows) {
    const int64_t batch = q.size(0), heads = q.size(1), seq = q.size(2), dim = q.size(3);
    const int64_t kvHeads = k.size(1);
    // A single query row (a decode step) against fewer kv heads: the query
    // heads of each group become the rows of one product against their
    // shared, unexpanded cache, (b, kvh, groups, d) · (b, kvh, d, T), so
    // nothing is copied per step (the expanded cache grows with the context).
    const bool grouped = kvHeads != heads && seq == 1 && lrp == LrpMode::Off;
    at::Tensor kk = k, vv = v;
    if (kvHeads != heads && !grouped) {
        const int64_t groups = heads / kvHeads;
        // (b, kvh, T, d) -> (b, kvh, groups, T, d) -> (b, heads, T, d)
        kk = k.unsqueeze(2).expand({batch, kvHeads, groups, k.size(2), dim}).reshape({batch, heads, k.size(2), dim});
        vv = v.unsqueeze(2).expand({batch, kvHeads, groups, v.size(2), dim}).reshape({batch, heads, v.size(2), dim});
    }
    // Outside autograd with not every probability wanted: blocks of query
    // rows (always when some rows are asked for, otherwise when the maps
    // would be large).
    const bool recording = torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
    const int64_t maps = batch * heads * seq * k.size(2);
    if (!rows.all() && !recording && (rows.last > rows.first || maps > attentionBlockElements())) {
        return attendBlocked(q, kk, vv, allowed, divideBy, scale, softcap, rows);
    }
    // Under autograd, no LRP rule, no softcap and no probabilities asked
    // for (the gradient passes): the core as one autograd node.
    if (recording && attentionCoreTakes(lrp, softcap) && !grouped && !rows.all() && rows.last <= rows.first) {
        auto out = attentionCore(q, k, v, allowed, divideBy, scale); // (b, heads, seq, d)
        return {out.transpose(1, 2).contiguous().view({batch, seq, heads * dim}),
                torch::empty({batch, heads, 0, k.size(2)}, q.options())};
    }
    const bool uniform = lrp == LrpMode::AttnLrp;
    // The uniform rule halves the gradient of both factors, as halving the
    // product's gradient does.
    const int64_t keys = k.size(2);
    auto scores = grouped ? torch::matmul(q.reshape({batch, kvHeads, heads / kvHeads, dim}), k.transpose(-1, -2))
                                .view({batch, heads, 1, keys})
                          : torch::matmul(q, kk.transpose(-1, -2)); // (b, heads, seq, T)
    if (uniform) scores = halfGradient(scores);
    if (scale > 0) {
        scores = scores * scale;
    } else if (divideBy) {
        scores = scores / std::sqrt(static_cast<double>(dim));
    } else {
        scores = scores * (1.0 / std::sqrt(static_cast<double>(dim)));
    }
    if (softcap > 0) {
        auto capped = torch::tanh(scores / softcap) * softcap;
        scores = lrp != LrpMode::Off ? identityRule(scores, capped) : capped;
    }
    // Masked and normalised in float32 (a bfloat16 compute dtype cannot hold
    // float32's lowest value), the probabilities then in q's dtype.
    if (scores.scalar_type() != torch::kFloat32) scores = scores.to(torch::kFloat32);
    scores = scores.masked_fill(allowed.logical_not(), std::numeric_limits<float>::lowest());
    auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
    if (recording) {
        // The cancel flag inside the attention core's backward too: at long
        // prompts its maps' gradients (heads x positions^2 per cotangent) take
        // longer than the rest of a block (docs/benchmarks.md, Scale).
        cancelPoint(probs);  // backward: after probs·v
        cancelPoint(scores); // backward: after the softmax
    }
    at::Tensor out;                                                       // (b, heads, seq, d)
    if (uniform) {
        out = halfGradient(torch::matmul(probs, vv));
    } else if (lrp == LrpMode::CpLrp) {
        out = torch::matmul(probs.detach(), vv);
    } else if (grouped) {
        out = torch::matmul(probs.view({batch, kvHeads, heads / kvHeads, keys}), v).view({batch, heads, 1, dim});
    } else {
        out = torch::matmul(probs, vv);
    }
    out = out.transpose(1, 2).contiguous().view({batch, seq, heads * dim}); // (b, seq, heads*d)
    if (!rows.all()) probs = probs.slice(2, std::clamp<int64_t>(rows.first, 0, seq), std::clamp<int64_t>(rows.last, 0, seq));
    return {out, probs};
}

std::pair<at::Tensor, at::Tensor> updateCache(KvCache* cache, size_t layer, const at::Tensor& k,
                                              const at::Tensor& v) {
    if (!cache) return {k, v};
    if (cache->keys.size() <= layer) {
        cache->keys.resize(layer + 1);
        cache->values.resize(layer + 1);
    }
    auto& ck = cache->keys[layer];
    auto& cv = cache->values[layer];
    const int64_t past = ck.defined() ? ck.size(2) : 0;
    const int64_t total = past + k.size(2);
    if (cache->capacity >= total) {
        if (cache->keyBuffers.size() <= layer) {
            cache->keyBuffers.resize(layer + 1);
            cache->valueBuffers.resize(layer + 1);
        }
        auto& kb = cache->keyBuffers[layer];
        auto& vb = cache->valueBuffers[layer];
        auto fits = [&](const at::Tensor& buffer, const at::Tensor& x, const at::Tensor& held) {
            // The buffer must match the new rows and already hold the past (its views).
            return buffer.defined() && buffer.size(0) == x.size(0) && buffer.size(1) == x.size(1) &&
                   buffer.size(3) == x.size(3) && buffer.scalar_type() == x.scalar_type() &&
                   buffer.device() == x.device() && (!held.defined() || held.data_ptr() == buffer.data_ptr());
        };
        auto place = [&](at::Tensor& buffer, const at::Tensor& x, at::Tensor& held) {
            if (!fits(buffer, x, held)) {
                // Sized once to the capacity; pages are touched only as positions are written.
                buffer = torch::empty({x.size(0), x.size(1), cache->capacity, x.size(3)}, x.options());
                if (held.defined()) buffer.narrow(2, 0, past).copy_(held);
            }
            buffer.narrow(2, past, x.size(2)).copy_(x);
            held = buffer.narrow(2, 0, total);
        };
        place(kb, k, ck);
        place(vb, v, cv);
        return {ck, cv};
    }
    ck = ck.defined() ? torch::cat({ck, k}, 2) : k;
    cv = cv.defined() ? torch::cat({cv, v}, 2) : v;
    return {ck, cv};
}

void cancelPoint(const at::Tensor& h) {
    auto check = currentCancelCheck();
    if (!check) return;
    throwIfCancelled(check.get());
    // Leaves keep their hooks across passes (the same embeddings go through
    // many): only the blocks' own outputs, made anew by each pass, are hooked.
    if (h.requires_grad() && h.grad_fn()) {
        h.register_hook([check](const at::Tensor&) { throwIfCancelled(check.get()); });
    }
}

std::pair<size_t, size_t> blockRange(const ForwardOptions& options, size_t numBlocks) {
    if (!options.blocks) return {0, numBlocks};
    const auto [first, last] = *options.blocks;
    TORCH_CHECK(first >= 0 && first <= last && last <= static_cast<int64_t>(numBlocks), "block range [", first,
                ", ", last, ") is outside the model's ", numBlocks, " blocks");
    return {static_cast<size_t>(first), static_cast<size_t>(last)};
}

int64_t countParameters(const torch::nn::Module& module) {
    int64_t n = 0;
    for (const auto& p : module.parameters()) n += p.numel();
    return n;
}

at::Tensor addMlpOutput(const at::Tensor& h, const at::Tensor& mlpOut, const ForwardOptions& o,
                        const std::string& prefix) {
    if (o.capture) o.capture(prefix + "mlp.out", mlpOut);
    auto sum = h + mlpOut;
    if (o.capture) o.capture(prefix + "output", sum);
    return sum;
}

ForwardOutput finishForward(const CausalLM& model, ForwardOutput out, const at::Tensor& h, const ForwardOptions& o,
                            const at::Tensor& fullMask, const std::function<at::Tensor(const at::Tensor&)>& finalNorm) {
    if (o.outputHiddenStates) out.hiddenStates.push_back(h);
    if (o.cache && fullMask.defined()) o.cache->attentionMask = fullMask;
    out.lastHidden = h;
    // A block range returns the last block's output; one that ends at the
    // last block and asks for no logits also gets the final norm of it (the
    // gradient passes recompute the top blocks from there).
    if (o.blocks && (o.computeLogits || o.blocks->last < model.config().numLayers)) return out;
    out.finalHidden = finalNorm(h);
    if (o.capture) o.capture("final_hidden", out.finalHidden);
    if (o.computeLogits) out.logits = model.lmHead(out.finalHidden);
    return out;
}

} // namespace tokenlens::layers

namespace tokenlens {

int64_t KvCache::length() const { return keys.empty() || !keys[0].defined() ? 0 : keys[0].size(2); }

int64_t KvCache::lengthAt(size_t layer) const {
    return layer >= keys.size() || !keys[layer].defined() ? 0 : keys[layer].size(2);
}

void KvCache::reserve(int64_t positions) { capacity = std::max<int64_t>(capacity, positions); }

void KvCache::clear() {
    keys.clear();
    values.clear();
    keyBuffers.clear();
    valueBuffers.clear();
    attentionMask = at::Tensor();
}

} // namespace tokenlens
