#include "bench_util.h"

#include "attribution/common.h"

#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tokenlens::bench {

namespace {

// N of "name/N" when `path` is that with N >= 1; 0 for "name"; -1 otherwise.
int64_t countAfter(const std::string& path, const std::string& name) {
    if (path == name) return 0;
    if (!path.starts_with(name + "/")) return -1;
    try {
        const int64_t n = std::stoll(path.substr(name.size() + 1));
        return n >= 1 ? n : -1;
    } catch (const std::exception&) {
        return -1;
    }
}

} // namespace

bool applyGradientPath(const std::string& path) {
    const int64_t inputs = countAfter(path, "shared"), layers = countAfter(path, "blocks");
    if (path != "per_row" && inputs < 0 && layers < 1) return false;
    attr::setGradientForward(path == "per_row" ? attr::GradientForward::PerRow : attr::GradientForward::Shared);
    attr::setSharedInputsPerForward(std::max<int64_t>(inputs, 0));
    attr::setGradientSegments(std::max<int64_t>(layers, 0));
    return true;
}

double bestOf(int repeats, const std::function<void()>& fn) {
    fn();
    double best = 1e300;
    for (int i = 0; i < repeats; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        fn();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

double measureMatmulGflops() {
    torch::NoGradGuard noGrad;
    double best = 0;
    // (m, k, n): an MLP product of 128 tokens, and a square one.
    const int64_t shapes[][3] = {{128, 768, 3072}, {512, 768, 768}, {1024, 1024, 1024}};
    for (const auto& s : shapes) {
        auto a = torch::randn({s[0], s[1]});
        auto b = torch::randn({s[1], s[2]});
        const double secs = bestOf(5, [&] { (void)torch::matmul(a, b); });
        best = std::max(best, 2.0 * s[0] * s[1] * s[2] / secs / 1e9);
    }
    return best;
}

ModelConfig gpt2SmallConfig() {
    ModelConfig c;
    c.modelType = "gpt2";
    c.architecture = "GPT2LMHeadModel";
    c.family = ArchFamily::Gpt2;
    c.vocabSize = 50257;
    c.hiddenSize = 768;
    c.numLayers = 12;
    c.numHeads = 12;
    c.numKvHeads = 12;
    c.headDim = 64;
    c.intermediateSize = 3072;
    c.maxPositions = 1024;
    c.normEps = 1e-5;
    c.activation = "gelu_new";
    c.tieWordEmbeddings = true;
    c.bosTokenIds = {50256};
    c.eosTokenIds = {50256};
    c.torchDtype = "float32";
    return c;
}

void writeGpt2Config(const ModelConfig& c, const std::filesystem::path& dir) {
    nlohmann::json j = {{"architectures", {"GPT2LMHeadModel"}},
                        {"model_type", "gpt2"},
                        {"vocab_size", c.vocabSize},
                        {"n_embd", c.hiddenSize},
                        {"n_layer", c.numLayers},
                        {"n_head", c.numHeads},
                        {"n_inner", nullptr},
                        {"n_positions", c.maxPositions},
                        {"activation_function", "gelu_new"},
                        {"layer_norm_epsilon", c.normEps},
                        {"bos_token_id", 50256},
                        {"eos_token_id", 50256},
                        {"tie_word_embeddings", true},
                        {"torch_dtype", "float32"}};
    std::ofstream(dir / "config.json") << j.dump(2);
}

namespace {
double statusField(const std::string& key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key, 0) == 0) {
            std::istringstream ss(line.substr(key.size()));
            double kb = 0;
            ss >> kb;
            return kb / 1024.0;
        }
    }
    return 0;
}
} // namespace

double currentRssMiB() { return statusField("VmRSS:"); }
double peakRssMiB() { return statusField("VmHWM:"); }

std::string loadAverage() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    if (!(in >> one >> five >> fifteen)) return "unknown";
    return one + " " + five + " " + fifteen;
}

std::vector<std::string> splitList(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

} // namespace tokenlens::bench
