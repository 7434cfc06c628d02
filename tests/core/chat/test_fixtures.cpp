// Every case of tests/data/chat/templates/*.json (real chat templates rendered
// by Jinja2 3.1.2 as transformers configures it): the rendering byte for byte
// (or the raise_exception message), the token ids of the rendering tokenized
// without special tokens, and the continue_final_message cut and its ids.

#include "chat/chat_template.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace tokenlens::chat {
namespace {

const std::filesystem::path kData = TOKENLENS_TEST_DATA_DIR;

nlohmann::ordered_json readJson(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::ordered_json::parse(ss.str());
}

std::vector<std::filesystem::path> templateFiles() {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(kData / "chat" / "templates")) {
        if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::shared_ptr<Tokenizer> tokenizerFor(const nlohmann::ordered_json& file) {
    static std::map<std::string, std::shared_ptr<Tokenizer>> cache;
    if (!file.contains("tokenizer") || file["tokenizer"].is_null() || !file["tokenizer"].contains("shared_fixture_copy") ||
        !file["tokenizer"]["shared_fixture_copy"].is_string())
        return nullptr; // gemma: its tokenizer is not among the fixtures
    const std::string copy = file["tokenizer"]["shared_fixture_copy"].get<std::string>();
    auto it = cache.find(copy);
    if (it != cache.end()) return it->second;
    const auto dir = (kData / copy).parent_path();
    auto t = Tokenizer::fromFiles(dir / "tokenizer.json", std::nullopt);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    auto ptr = t.ok() ? t.value() : nullptr;
    cache[copy] = ptr;
    return ptr;
}

std::vector<int64_t> idsOf(const Tokenizer& tok, const std::string& text) {
    auto enc = tok.encode(text, false);
    EXPECT_TRUE(enc.ok()) << (enc.ok() ? "" : enc.error().message);
    if (!enc.ok()) return {};
    return std::vector<int64_t>(enc->ids.begin(), enc->ids.end());
}

TEST(ChatFixtures, EveryCaseRendersAsTransformers) {
    int cases = 0, renderPass = 0, errorCases = 0, errorPass = 0;
    int idCases = 0, idPass = 0, cfmCases = 0, cfmPass = 0, cfmIdCases = 0, cfmIdPass = 0;
    const auto files = templateFiles();
    ASSERT_EQ(files.size(), 13u);
    for (const auto& path : files) {
        const auto file = readJson(path);
        const std::string name = file["name"].get<std::string>();
        const std::string text = file["template"].get<std::string>();
        auto formatter = ChatFormatter::fromText(text, file["special_tokens"], path);
        ASSERT_TRUE(formatter.ok()) << name << ": " << formatter.error().message;
        EXPECT_EQ(formatter->info().sha256, file["template_sha256"].get<std::string>()) << name;
        const auto tok = tokenizerFor(file);
        for (const auto& c : file["cases"]) {
            ++cases;
            const std::string id = name + "/" + c["id"].get<std::string>();
            ChatRequest request = formatter->request(c["messages"], c["add_generation_prompt"].get<bool>());
            request.extras = c["extra_kwargs"];
            request.options.now = DateTime{2026, 7, 26, 12, 0, 0};
            auto rendered = formatter->render(request);
            if (c.value("error", false)) {
                ++errorCases;
                EXPECT_FALSE(rendered.ok()) << id;
                if (!rendered.ok()) {
                    EXPECT_TRUE(Template::isRaisedError(rendered.error())) << id;
                    EXPECT_EQ(rendered.error().message, c["error_message"].get<std::string>()) << id;
                    if (rendered.error().message == c["error_message"].get<std::string>()) ++errorPass, ++renderPass;
                }
                continue;
            }
            ASSERT_TRUE(rendered.ok()) << id << ": " << rendered.error().message;
            const std::string expected = c["rendered"].get<std::string>();
            EXPECT_EQ(*rendered, expected) << id;
            if (*rendered == expected) ++renderPass;
            if (c.contains("ids") && tok) {
                ++idCases;
                const auto ids = idsOf(*tok, *rendered);
                EXPECT_EQ(ids, c["ids"].get<std::vector<int64_t>>()) << id;
                if (ids == c["ids"].get<std::vector<int64_t>>()) ++idPass;
            }
            if (c.contains("continue_final_message")) {
                ++cfmCases;
                auto cut = formatter->renderContinuing(request);
                ASSERT_TRUE(cut.ok()) << id << ": " << cut.error().message;
                EXPECT_EQ(*cut, c["continue_final_message"].get<std::string>()) << id;
                if (*cut == c["continue_final_message"].get<std::string>()) ++cfmPass;
                if (c.contains("continue_final_message_ids") && tok) {
                    ++cfmIdCases;
                    const auto ids = idsOf(*tok, *cut);
                    EXPECT_EQ(ids, c["continue_final_message_ids"].get<std::vector<int64_t>>()) << id;
                    if (ids == c["continue_final_message_ids"].get<std::vector<int64_t>>()) ++cfmIdPass;
                }
            }
        }
    }
    std::cout << "[chat fixtures] render " << renderPass << "/" << cases << " (errors " << errorPass << "/"
              << errorCases << "), ids " << idPass << "/" << idCases << ", continue_final_message " << cfmPass
              << "/" << cfmCases << ", its ids " << cfmIdPass << "/" << cfmIdCases << "\n";
    EXPECT_EQ(cases, 195);
    EXPECT_EQ(errorCases, 11);
    EXPECT_EQ(idCases, 65);
}

} // namespace
} // namespace tokenlens::chat
