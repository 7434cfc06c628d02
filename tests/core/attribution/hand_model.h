#pragma once
// A model built from a config with every parameter set by hand, for the LRP
// tests whose relevances are derived on paper (test_lrp.cpp, test_lrp_rules.cpp).

#include "model/architectures.h"
#include "model/model_loader.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tokenlens::testing {

// A model of `config` whose parameters are exactly `values` (every one named).
inline std::shared_ptr<CausalLM> handModel(const nlohmann::json& config,
                                           const std::map<std::string, std::vector<float>>& values) {
    auto c = parseModelConfig(config.dump(), "config.json");
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    if (!c.ok()) return nullptr;
    auto made = createModel(*c);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    if (!made.ok()) return nullptr;
    auto* torchModel = dynamic_cast<TorchCausalLM*>(made.value().get());
    EXPECT_NE(torchModel, nullptr);
    if (!torchModel) return nullptr;
    torch::NoGradGuard noGrad;
    size_t filled = 0;
    for (auto& p : torchModel->module().named_parameters()) {
        auto it = values.find(p.key());
        EXPECT_NE(it, values.end()) << p.key();
        if (it == values.end()) continue;
        EXPECT_EQ(p.value().numel(), static_cast<int64_t>(it->second.size())) << p.key();
        p.value().copy_(torch::tensor(it->second).view(p.value().sizes()));
        p.value().set_requires_grad(false);
        ++filled;
    }
    EXPECT_EQ(filled, values.size());
    torchModel->finishLoading();
    return made.value();
}

} // namespace tokenlens::testing
