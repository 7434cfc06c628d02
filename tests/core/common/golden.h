#pragma once
// Helpers for the golden files of tests/data/golden (see tests/data/FIXTURES.md).

#include "test_data.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace tokenlens::testing {

inline nlohmann::json loadJson(const std::filesystem::path& file) {
    std::ifstream in(file);
    return nlohmann::json::parse(in);
}

inline const std::vector<std::string>& fixtureNames() {
    static const std::vector<std::string> names = {"tiny-gpt2",  "tiny-llama",  "tiny-qwen2",
                                                   "tiny-qwen3", "tiny-gemma3", "tiny-phi3"};
    return names;
}

inline nlohmann::json goldenFor(const std::string& fixture) {
    return loadJson(dataDir() / "golden" / ("model-" + fixture + ".json"));
}

// Tracks the worst deviation under the fixtures' rule |a - b| <= 1e-4 |b| + 4 e.
// A golden null (NaN) must be matched by NaN.
struct Tolerance {
    explicit Tolerance(double estimate) : e(estimate) {}
    double e = 0;
    double worstExcess = -std::numeric_limits<double>::infinity(); // max of |a-b| - allowed
    double maxAbsDiff = 0;
    size_t count = 0, failures = 0;
    std::string firstFailure;

    void check(double actual, const nlohmann::json& golden, const std::string& where) {
        if (golden.is_null()) {
            ++count;
            if (!std::isnan(actual)) fail(where + ": expected NaN, got " + std::to_string(actual));
            return;
        }
        const double b = golden.get<double>();
        check(actual, b, where);
    }
    void check(double actual, double b, const std::string& where) {
        ++count;
        const double diff = std::abs(actual - b);
        const double allowed = 1e-4 * std::abs(b) + 4 * e;
        maxAbsDiff = std::max(maxAbsDiff, std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff);
        worstExcess = std::max(worstExcess, diff - allowed);
        if (!(diff <= allowed)) {
            char buf[256];
            std::snprintf(buf, sizeof buf, ": got %.9g, golden %.9g (|diff| %.3g > allowed %.3g)", actual, b, diff,
                          allowed);
            fail(where + buf);
        }
    }
    void fail(const std::string& msg) {
        if (failures++ == 0) firstFailure = msg;
    }
    bool ok() const { return failures == 0; }
    std::string summary(const std::string& what) const {
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s: %zu values, max |diff| %.3g (e = %.3g), %zu outside tolerance", what.c_str(),
                      count, maxAbsDiff, e, failures);
        return std::string(buf) + (failures ? "; first: " + firstFailure : "");
    }
};

// Test-name suffix for a fixture name: "tiny-gpt2" -> "tiny_gpt2".
inline std::string fixtureTestName(const ::testing::TestParamInfo<std::string>& param) {
    std::string s = param.param;
    for (auto& ch : s) {
        if (ch == '-') ch = '_';
    }
    return s;
}

} // namespace tokenlens::testing
