// make-model: a model folder with random weights in the real shapes of a
// public checkpoint (core/model/model_maker.h).

#include "commands.h"
#include "common.h"

#include "model/model_maker.h"

#include <cstdio>
#include <iostream>

namespace tokenlens::cli {

namespace {

// A whole number option; prints the problem naming the option.
std::optional<int64_t> integerOption(const ArgParser& p, const std::string& name, int64_t fallback, int64_t min) {
    auto v = p.value(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        const long long n = std::stoll(*v, &used);
        if (used == v->size() && n >= min) return n;
    } catch (const std::exception&) {
    }
    std::cerr << "tokenlens-cli make-model: --" << name << " expects a whole number of at least " << min << ", got '"
              << *v << "'\n";
    return std::nullopt;
}

std::string presetNames() {
    std::string s;
    for (const auto& n : modelPresetNames()) s += (s.empty() ? "" : ", ") + n;
    return s;
}

} // namespace

int runMakeModel(const Args& args) {
    const std::string cmd = "make-model";
    ArgParser p(cmd, "--like NAME --out DIR [--seed S] [--dtype float32|bfloat16] [--layers N] [--max-shard-size SIZE]");
    p.add("--like NAME  the public checkpoint whose shapes to use: " + presetNames());
    p.add(R"(
        --out DIR  folder to write (created; must be empty)
        --seed S  seed of the random weights (default 1); the same options write byte-identical files
        --dtype D  stored dtype, float32 or bfloat16 (default: the checkpoint's: float32 for gpt2-small, else bfloat16)
        --layers N  number of layers instead of the checkpoint's (quick tries, tests)
        --max-shard-size SIZE  largest weight file, e.g. 2GB (default), 500MB or a byte count
        --tokenizer DIR  take tokenizer.json (and tokenizer_config.json) from DIR instead of the bundled one of the family
        --quiet  no progress lines
    )");
    if (auto code = handleParse(p, args)) return *code;
    auto like = p.value("like");
    auto out = p.value("out");
    if (!like || !out) return p.usageError("--like and --out are required");
    MakeModelOptions o;
    o.like = *like;
    o.out = *out;
    auto seed = integerOption(p, "seed", 1, 0);
    if (!seed) return kExitUsage;
    o.seed = static_cast<uint64_t>(*seed);
    if (auto d = p.value("dtype")) o.dtype = *d;
    if (p.has("layers")) {
        auto layers = integerOption(p, "layers", 0, 1);
        if (!layers) return kExitUsage;
        o.layers = *layers;
    }
    if (auto s = p.value("max-shard-size")) {
        auto bytes = parseByteSize(*s);
        if (!bytes) return p.usageError("--max-shard-size expects a size such as 2GB, 500MB or 1000000, got '" + *s + "'");
        o.maxShardBytes = *bytes;
    }
    if (auto t = p.value("tokenizer")) o.tokenizerDir = *t;
    if (!p.has("quiet")) {
        o.onProgress = [last = -1](uint64_t written, uint64_t total) mutable {
            const int percent = total ? static_cast<int>(100 * written / total) : 100;
            if (percent / 10 == last / 10 && percent != 100) return;
            last = percent;
            std::fprintf(stderr, "make-model: %3d %% (%.2f of %.2f GB)\n", percent, written / 1e9, total / 1e9);
        };
    }
    auto r = makeModel(o);
    if (!r) {
        std::cerr << "tokenlens-cli make-model: " << r.error().message << "\n";
        return r.error().code == ErrorCode::InvalidArgument ? kExitUsage : kExitFailure;
    }
    std::printf("wrote %s: %s, %lld parameters, %s, %zu shard(s), %.3f GB of weights; tokenizer from %s\n",
                o.out.string().c_str(), o.like.c_str(), static_cast<long long>(r->parameters), r->dtype.c_str(),
                r->shards.size(), static_cast<double>(r->bytes) / 1e9, r->tokenizerFrom.string().c_str());
    return kExitOk;
}

} // namespace tokenlens::cli
