// Bad files and bad input: an Error naming the file and the problem, never a
// crash or an escaping exception.

#include "tokenizer_test_util.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>

using namespace tokenlens;

namespace {

// A tiny valid BPE tokenizer.json the tests below break in various ways.
nlohmann::json tinyBpe() {
    return nlohmann::json::parse(R"({
      "version": "1.0", "added_tokens": [], "normalizer": null,
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
      "post_processor": null,
      "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3}, "merges": ["a b"]}
    })");
}

Error loadError(const nlohmann::json& j) {
    auto r = Tokenizer::fromJson(j.dump(), "", "tokenizer.json");
    EXPECT_FALSE(r.ok());
    return r.ok() ? Error{} : r.error();
}

class TempDir {
public:
    TempDir() {
        static int counter = 0;
        m_path = std::filesystem::temp_directory_path() /
                 ("tokenlens-tok-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(m_path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    const std::filesystem::path& path() const { return m_path; }
    void write(const std::string& name, const std::string& content) const {
        std::ofstream(m_path / name, std::ios::binary) << content;
    }

private:
    std::filesystem::path m_path;
};

} // namespace

TEST(TokenizerErrors, TinyTokenizerLoads) {
    auto r = Tokenizer::fromJson(tinyBpe().dump(), "", "tokenizer.json");
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto e = r.value()->encode("ab a");
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->ids, (std::vector<int32_t>{2, 3, 0}));
}

TEST(TokenizerErrors, MissingFolder) {
    auto r = Tokenizer::fromFolder(test::dataDir() / "no-such-model");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_NE(r.error().message.find("no-such-model"), std::string::npos) << r.error().message;
}

TEST(TokenizerErrors, FolderWithoutTokenizerJson) {
    TempDir dir;
    auto r = Tokenizer::fromFolder(dir.path());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_NE(r.error().message.find("tokenizer.json: file not found"), std::string::npos) << r.error().message;
}

TEST(TokenizerErrors, UnreadableFile) {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "tokenizer.json"); // a folder where the file should be
    auto r = Tokenizer::fromFolder(dir.path());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unreadable);
    EXPECT_NE(r.error().message.find("tokenizer.json"), std::string::npos) << r.error().message;
}

TEST(TokenizerErrors, InvalidJson) {
    TempDir dir;
    dir.write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", ");
    auto r = Tokenizer::fromFolder(dir.path());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Corrupt);
    EXPECT_NE(r.error().message.find("tokenizer.json: invalid JSON"), std::string::npos) << r.error().message;
}

TEST(TokenizerErrors, InvalidTokenizerConfigNamesThatFile) {
    TempDir dir;
    dir.write("tokenizer.json", tinyBpe().dump());
    dir.write("tokenizer_config.json", "{ nope");
    auto r = Tokenizer::fromFolder(dir.path());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("tokenizer_config.json: invalid JSON"), std::string::npos) << r.error().message;
}

TEST(TokenizerErrors, UnsupportedComponentTypes) {
    struct Case {
        const char* key;
        const char* type;
        const char* component;
    };
    for (const Case& c : {Case{"pre_tokenizer", "Foo", "pre_tokenizer"}, Case{"normalizer", "Precompiled", "normalizer"},
                          Case{"decoder", "CTC", "decoder"}, Case{"post_processor", "Bar", "post_processor"}}) {
        auto j = tinyBpe();
        j[c.key] = {{"type", c.type}};
        const Error e = loadError(j);
        EXPECT_EQ(e.code, ErrorCode::Unsupported);
        EXPECT_EQ(e.message, std::string("tokenizer.json: unsupported ") + c.component + " type '" + c.type + "'");
    }
    auto j = tinyBpe();
    j["model"]["type"] = "Unigram";
    const Error e = loadError(j);
    EXPECT_EQ(e.code, ErrorCode::Unsupported);
    EXPECT_EQ(e.message, "tokenizer.json: unsupported model type 'Unigram'");
}

TEST(TokenizerErrors, UnsupportedTypeInsideASequence) {
    auto j = tinyBpe();
    j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Whitespace"}}, {{"type", "Foo"}}}}};
    EXPECT_EQ(loadError(j).message, "tokenizer.json: unsupported pre_tokenizer type 'Foo'");
}

TEST(TokenizerErrors, MalformedComponents) {
    auto j = tinyBpe();
    j["model"]["merges"] = {"a c"}; // c is not in the vocabulary
    Error e = loadError(j);
    EXPECT_EQ(e.code, ErrorCode::Corrupt);
    EXPECT_NE(e.message.find("merge"), std::string::npos) << e.message;

    j = tinyBpe();
    j["model"]["vocab"] = nlohmann::json::array();
    EXPECT_NE(loadError(j).message.find("'vocab' must be an object"), std::string::npos);

    j = tinyBpe();
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
    EXPECT_NE(loadError(j).message.find("regex does not compile"), std::string::npos);

    j = tinyBpe();
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}};
    EXPECT_NE(loadError(j).message.find("unsupported behavior 'Sideways'"), std::string::npos);

    j = tinyBpe();
    j.erase("model");
    EXPECT_NE(loadError(j).message.find("missing 'model'"), std::string::npos);

    j = tinyBpe();
    j["model"]["vocab"]["x"] = "not a number";
    EXPECT_EQ(loadError(j).code, ErrorCode::Corrupt);

    j = tinyBpe();
    j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "<s>"}}}}}}};
    EXPECT_NE(loadError(j).message.find("'<s>'"), std::string::npos);

    EXPECT_EQ(loadError(nlohmann::json::array()).code, ErrorCode::Corrupt);
}

TEST(TokenizerErrors, InvalidUtf8TextNamesTheByte) {
    auto tok = test::loadFamily("gpt2");
    ASSERT_TRUE(tok);
    for (std::string_view bad : {std::string_view("ab\xFF"), std::string_view("ab\xC3"),
                                 std::string_view("ab\xED\xA0\x80")}) {
        auto r = tok->encode(bad);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
        EXPECT_NE(r.error().message.find("byte 2"), std::string::npos) << r.error().message;
    }
}

TEST(TokenizerErrors, MutatedJsonNeverCrashes) {
    const std::string base = tinyBpe().dump();
    std::mt19937 rng(1234);
    const std::string alphabet = "{}[]\":,0123456789abtypeBPE\\ \xC3\xA9";
    for (int i = 0; i < 2000; ++i) {
        std::string s = base;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < edits; ++k) {
            const size_t at = rng() % s.size();
            switch (rng() % 3) {
            case 0: s.erase(at, 1 + rng() % 5); break;
            case 1: s = s.substr(0, at) + alphabet[rng() % alphabet.size()] + s.substr(at); break;
            default: s[at] = alphabet[rng() % alphabet.size()]; break;
            }
            if (s.empty()) s.push_back('{');
        }
        auto r = Tokenizer::fromJson(s, s, "tokenizer.json");
        if (r.ok()) {
            auto e = r.value()->encode("ab ba\xC3\xA9 a");
            if (e.ok()) (void)r.value()->decode(e->ids);
        } else {
            EXPECT_EQ(r.error().message.rfind("tokenizer", 0), 0u) << r.error().message;
        }
    }
}
