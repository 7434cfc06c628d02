// The list of attribution methods. Adding a method: one new file defining
// it, and one line here.

#include "attribution/method.h"

namespace tokenlens {

namespace attr {
const AttributionMethod& saliencyMethod();
const AttributionMethod& inputXGradientMethod();
const AttributionMethod& attnLrpMethod();
const AttributionMethod& cpLrpMethod();
const AttributionMethod& integratedGradientsMethod();
const AttributionMethod& attentionMethod();
const AttributionMethod& occlusionMethod();
const AttributionMethod& gradientShapMethod();
const AttributionMethod& limeMethod();
const AttributionMethod& kernelShapMethod();
const AttributionMethod& shapleySamplingMethod();
const AttributionMethod& contextCiteMethod();
const AttributionMethod& attentionRolloutMethod();
const AttributionMethod& altiMethod();
const AttributionMethod& valueZeroingMethod();
} // namespace attr

const std::vector<const AttributionMethod*>& allMethods() {
    static const std::vector<const AttributionMethod*> methods = {
        &attr::attentionMethod(),          // cheapest first: staged results arrive in this order
        &attr::attentionRolloutMethod(),   // one pass
        &attr::altiMethod(),               // two passes and a per-layer decomposition
        &attr::saliencyMethod(),
        &attr::inputXGradientMethod(),
        &attr::attnLrpMethod(),            // one backward per output token, as saliency
        &attr::cpLrpMethod(),
        &attr::occlusionMethod(),
        &attr::valueZeroingMethod(),       // one block per zeroed token and layer: about occlusion's cost
        &attr::gradientShapMethod(),       // samples (5) gradients per output token
        &attr::limeMethod(),               // samples (200) forward passes' worth of rows, no backward
        &attr::kernelShapMethod(),         // samples + 2 rows
        &attr::contextCiteMethod(),        // ablations (64) rows, no backward
        &attr::shapleySamplingMethod(),    // samples x (L-2) rows, or 2^tokens for short contexts
        &attr::integratedGradientsMethod(),
    };
    return methods;
}

const AttributionMethod* findMethod(const std::string& id) {
    for (const auto* m : allMethods()) {
        if (m->id() == id) return m;
    }
    return nullptr;
}

bool isKnownOption(const std::string& name) {
    for (const auto* m : allMethods()) {
        for (const auto& o : m->options()) {
            if (o.name == name) return true;
        }
    }
    return false;
}

} // namespace tokenlens
