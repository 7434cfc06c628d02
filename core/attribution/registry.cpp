// The list of attribution methods. Adding a method: one new file defining
// it, and one line here.

#include "attribution/method.h"

namespace tokenlens {

namespace attr {
const AttributionMethod& saliencyMethod();
const AttributionMethod& inputXGradientMethod();
const AttributionMethod& integratedGradientsMethod();
const AttributionMethod& attentionMethod();
const AttributionMethod& occlusionMethod();
} // namespace attr

const std::vector<const AttributionMethod*>& allMethods() {
    static const std::vector<const AttributionMethod*> methods = {
        &attr::attentionMethod(),          // cheapest first: staged results arrive in this order
        &attr::saliencyMethod(),
        &attr::inputXGradientMethod(),
        &attr::occlusionMethod(),
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
