// Every case of tests/data/golden/tokenize-<family>.json must match exactly:
// ids with and without special tokens, vocabulary strings, and both decodes.

#include "tokenizer_test_util.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace tokenlens;

namespace {

nlohmann::json loadGolden(const std::string& family) {
    std::ifstream in(test::dataDir() / "golden" / ("tokenize-" + family + ".json"));
    return nlohmann::json::parse(in);
}

template <class T>
std::string firstMismatch(const std::vector<T>& got, const std::vector<T>& want) {
    const size_t n = std::min(got.size(), want.size());
    for (size_t i = 0; i < n; ++i) {
        if (got[i] != want[i]) {
            std::ostringstream os;
            os << "first mismatch at index " << i << ": got " << ::testing::PrintToString(got[i]) << ", want "
               << ::testing::PrintToString(want[i]);
            return os.str();
        }
    }
    if (got.size() != want.size())
        return "sizes differ: got " + std::to_string(got.size()) + ", want " + std::to_string(want.size());
    return {};
}

class GoldenTokenize : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTokenize, EveryCaseMatches) {
    const std::string family = GetParam();
    auto tok = test::loadFamily(family);
    ASSERT_TRUE(tok);
    const auto golden = loadGolden(family);
    ASSERT_TRUE(golden.is_array());
    ASSERT_FALSE(golden.empty());
    size_t passed = 0;
    for (const auto& c : golden) {
        const std::string text = c.at("text").get<std::string>();
        SCOPED_TRACE("text: " + ::testing::PrintToString(text));
        const auto wantWith = c.at("ids_with_special").get<std::vector<int32_t>>();
        const auto wantIds = c.at("ids").get<std::vector<int32_t>>();
        const auto wantTokens = c.at("tokens").get<std::vector<std::string>>();
        const auto wantDecoded = c.at("decoded").get<std::string>();
        const auto wantRaw = c.at("decoded_no_cleanup").get<std::string>();

        auto with = tok->encode(text, true);
        auto without = tok->encode(text, false);
        ASSERT_TRUE(with.ok()) << with.error().message;
        ASSERT_TRUE(without.ok()) << without.error().message;
        bool ok = true;
        if (auto m = firstMismatch(with->ids, wantWith); !m.empty()) {
            ADD_FAILURE() << "ids_with_special: " << m;
            ok = false;
        }
        if (auto m = firstMismatch(without->ids, wantIds); !m.empty()) {
            ADD_FAILURE() << "ids: " << m;
            ok = false;
        }
        if (auto m = firstMismatch(without->tokens, wantTokens); !m.empty()) {
            ADD_FAILURE() << "tokens: " << m;
            ok = false;
        }
        std::vector<std::string> idTokens;
        for (int32_t id : wantIds) idTokens.push_back(tok->idToToken(id));
        if (auto m = firstMismatch(idTokens, wantTokens); !m.empty()) {
            ADD_FAILURE() << "idToToken: " << m;
            ok = false;
        }
        const std::string decoded = tok->decode(wantIds);
        const std::string raw = tok->decode(wantIds, false, false);
        if (decoded != wantDecoded) {
            ADD_FAILURE() << "decoded: got " << ::testing::PrintToString(decoded) << ", want "
                          << ::testing::PrintToString(wantDecoded);
            ok = false;
        }
        if (raw != wantRaw) {
            ADD_FAILURE() << "decoded_no_cleanup: got " << ::testing::PrintToString(raw) << ", want "
                          << ::testing::PrintToString(wantRaw);
            ok = false;
        }
        passed += ok;
    }
    RecordProperty("cases_passed", static_cast<int>(passed));
    std::cout << "[ golden   ] " << family << ": " << passed << "/" << golden.size() << " cases pass\n";
    EXPECT_EQ(passed, golden.size());
}

INSTANTIATE_TEST_SUITE_P(Families, GoldenTokenize, ::testing::Values("gpt2", "llama2", "qwen3", "llama3"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

} // namespace
