#pragma once
// Shared helpers of the tokenizer tests: fixture paths and a cache of loaded
// tokenizers (loading the large vocabularies once per test binary).

#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace tokenlens::test {

inline std::filesystem::path dataDir() { return TOKENLENS_TEST_DATA_DIR; }

// Tokenizer folder of a golden family: gpt2, llama2, qwen3, llama3.
inline std::filesystem::path familyDir(const std::string& family) {
    if (family == "gpt2") return dataDir() / "models/tiny-gpt2";
    if (family == "llama2") return dataDir() / "models/tiny-llama";
    if (family == "qwen3") return dataDir() / "models/tiny-qwen2";
    return dataDir() / "tokenizers/llama3";
}

inline std::shared_ptr<Tokenizer> loadFamily(const std::string& family) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<Tokenizer>> cache;
    std::lock_guard lock(mutex);
    auto& slot = cache[family];
    if (!slot) {
        auto r = Tokenizer::fromFolder(familyDir(family));
        if (!r) ADD_FAILURE() << r.error().message;
        else slot = r.value();
    }
    return slot;
}

} // namespace tokenlens::test
