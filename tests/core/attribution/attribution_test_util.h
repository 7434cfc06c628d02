#pragma once
// Shared by the attribution test files: the fixture models (loaded once per
// test binary), inputs built from their golden cases, and running a method.

#include "../common/golden.h"
#include "attribution/engine.h"
#include "attribution/method.h"
#include "model/model_loader.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace tokenlens::testing {

inline std::shared_ptr<LoadedModel> fixture(const std::string& name) {
    static std::map<std::string, std::shared_ptr<LoadedModel>> cache;
    auto& slot = cache[name];
    if (!slot) {
        auto loaded = loadModelFolder(dataDir() / "models" / name);
        EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
        if (loaded.ok()) slot = loaded.value();
    }
    return slot;
}

// A golden case's prompt and output (optionally cut to the first promptLen /
// outLen tokens), with the model's unk baseline token.
inline AttributionInput inputFor(const LoadedModel& m, const nlohmann::json& c, size_t promptLen = 0,
                                 size_t outLen = 0) {
    AttributionInput in;
    in.model = m.model.get();
    in.promptIds = c["prompt_ids"].get<std::vector<int64_t>>();
    in.outputIds = c["output_ids"].get<std::vector<int64_t>>();
    if (promptLen) in.promptIds.resize(promptLen);
    if (outLen) in.outputIds.resize(outLen);
    in.unkBaselineId = unkBaselineToken(m);
    return in;
}

inline Result<MethodOutput> runMethodRaw(const std::string& method, const AttributionInput& in,
                                         const nlohmann::json& options, const RunControl& control = {}) {
    const auto* m = findMethod(method);
    if (!m) return makeError(ErrorCode::InvalidArgument, "no method " + method);
    auto resolved = m->resolveOptions(options, &in.model->config(), true);
    if (!resolved) return resolved.error();
    return m->run(in, *resolved, control);
}

inline MethodOutput runOrFail(const std::string& method, const AttributionInput& in, const nlohmann::json& options) {
    auto out = runMethodRaw(method, in, options);
    EXPECT_TRUE(out.ok()) << method << ": " << (out.ok() ? "" : out.error().message);
    return out.ok() ? *out : MethodOutput{};
}

} // namespace tokenlens::testing
