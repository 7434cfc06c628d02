#pragma once
// The one interface every attribution method implements. A method is one
// .cpp file: its id, a one-sentence description, its options (with defaults
// and ranges), a work estimate, and run(). registry.cpp lists them.

#include "io/model_config.h"
#include "model/causal_lm.h"
#include "result/attribution_matrix.h"
#include "util/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

struct OptionSpec {
    std::string name;
    std::string type;                 // "int" | "number" | "choice" | "layer" (int or "all") | "text"
    nlohmann::json defaultValue;
    std::optional<double> min, max;   // for int / number
    std::vector<std::string> choices; // for choice
    std::string help;
};

// What a method computes on: the sequence X ⊕ Y, teacher-forced.
struct AttributionInput {
    const CausalLM* model = nullptr;
    std::vector<int64_t> promptIds; // n (special tokens included)
    std::vector<int64_t> outputIds; // t
    // Token whose embedding is the `unk` baseline (unk, else pad, else eos).
    std::optional<int64_t> unkBaselineId;
    // The option contrast_text tokenized by the model's tokenizer (without
    // special tokens); the engine fills it. One id: the alternative of every
    // column; t ids: one per column.
    std::vector<int64_t> contrastIds;
    // The prompt tokens' display texts (n, or empty when unknown); the
    // engine fills it. context_cite finds sentences in it.
    std::vector<std::string> promptTokens;
    // The job's granularity (analysis/segments.h) as prompt token ranges
    // [start, end) covering 0..n-1 in order; empty: every token is a feature.
    // The perturbation methods (occlusion, lime, kernel_shap,
    // shapley_sampling; context_cite unless the job chooses its features,
    // engine.cpp) perturb each range as one feature (the output tokens stay
    // features of their own) and spread its score evenly over its tokens.
    std::vector<std::pair<int64_t, int64_t>> promptGroups;
};


struct RunControl {
    std::function<bool()> isCancelled;                          // checked between chunks
    std::function<void(int64_t done, int64_t total)> progress; // in work units (token positions)
};

struct MethodOutput {
    AttributionMatrix matrix; // (n+t) x t
    std::string targetFn;     // "" when the method has none (attention)
    std::string reduction;    // "" when it does not apply
    std::vector<double> convergenceDelta, fInput, fBaseline; // integrated gradients
    std::vector<std::string> warnings;
    int64_t forwardPasses = 0; // batched forward calls issued (for benchmarks)
    // context_cite: the prompt segments [start, end) that were its features.
    std::vector<std::pair<int64_t, int64_t>> featureSegments;
    bool cancelled = false;
};

class AttributionMethod {
public:
    virtual ~AttributionMethod() = default;
    virtual std::string id() const = 0;
    virtual std::string description() const = 0; // one sentence, for tooltips and --help
    virtual std::vector<OptionSpec> options() const = 0;

    // Token positions pushed through the model (forward + backward counted
    // once each) for a prompt of n and an output of t tokens.
    virtual int64_t estimateWork(int64_t n, int64_t t, const nlohmann::json& resolved) const = 0;

    virtual Result<MethodOutput> run(const AttributionInput& input, const nlohmann::json& resolved,
                                     const RunControl& control) const = 0;

    // Fills defaults and validates `given` (only this method's keys are
    // read; `strict` makes unknown keys an error). `config` enables checks
    // that need the model (layer and head indices).
    Result<nlohmann::json> resolveOptions(const nlohmann::json& given, const ModelConfig* config = nullptr,
                                          bool strict = false) const;

protected:
    // Extra checks after the generic ones (ranges, choices).
    virtual Status checkResolved(const nlohmann::json& resolved, const ModelConfig* config) const { return {}; }
};

// A method whose id and description are fixed when it is made.
class NamedMethod : public AttributionMethod {
public:
    NamedMethod(std::string id, std::string description) : m_id(std::move(id)), m_description(std::move(description)) {}
    std::string id() const override { return m_id; }
    std::string description() const override { return m_description; }

private:
    std::string m_id, m_description;
};

// The registry's accessor of a method type: one static instance.
#define TOKENLENS_METHOD_ACCESSOR(Type, accessor) \
    const AttributionMethod& accessor() {         \
        static const Type m;                      \
        return m;                                 \
    }

const std::vector<const AttributionMethod*>& allMethods();
const AttributionMethod* findMethod(const std::string& id);
// Every option name some method understands (for rejecting typos).
bool isKnownOption(const std::string& name);
// Whether method `id` perturbs AttributionInput::promptGroups as features.
bool perturbsSegments(const std::string& id);
// The work estimate of a method that perturbs `groups` prompt segments
// instead of n tokens: its estimate for `groups` features scaled to the
// positions the model still computes ((n + t - 1) / (groups + t - 1)).
int64_t groupedWork(const AttributionMethod& m, int64_t n, int64_t groups, int64_t t, const nlohmann::json& r);

} // namespace tokenlens
