// libFuzzer target: parseModelConfig on arbitrary text. Accepted configs must
// satisfy the invariants the model builders rely on.

#include "io/model_config.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace tokenlens;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto c = parseModelConfig(text, "config.json");
    if (!c.ok()) {
        check(c.error().message.rfind("config.json", 0) == 0);
        return 0;
    }
    check(c->vocabSize > 0 && c->hiddenSize > 0 && c->numLayers > 0 && c->numHeads > 0 && c->numKvHeads > 0);
    check(c->headDim > 0 && c->intermediateSize > 0 && c->maxPositions > 0);
    check(c->numHeads % c->numKvHeads == 0);
    check(c->family == ArchFamily::Llama || c->hiddenSize % c->numHeads == 0);
    check(c->ropeScaling.factor > 0);
    for (int64_t id : c->bosTokenIds) check(id >= 0);
    for (int64_t id : c->eosTokenIds) check(id >= 0);
    return 0;
}
