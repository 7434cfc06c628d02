// Bad templates never crash: syntax errors and unsupported constructs name
// the construct with line and column, raise_exception gives its message,
// and recursion, loop iterations and output size are bounded.

#include "chat/chat_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace tokenlens::chat {
namespace {

std::string parseError(const std::string& text) {
    auto t = Template::parse(text);
    EXPECT_FALSE(t.ok()) << text;
    return t.ok() ? std::string() : t.error().message;
}

Error renderError(const std::string& text, const RenderOptions& options = {}) {
    auto t = Template::parse(text);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    if (!t.ok()) return t.error();
    auto r = t->render(nlohmann::ordered_json::object(), options);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? Error{} : r.error();
}

TEST(ChatTemplateErrors, UnsupportedTagNamesItWithLineAndColumn) {
    auto t = Template::parse("Hello\n  {% include 'other.jinja' %}");
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, ErrorCode::Unsupported);
    EXPECT_EQ(t.error().message, "line 2, column 6: unsupported tag 'include'");
}

TEST(ChatTemplateErrors, UnknownTagFilterAndTestFailAtParseTime) {
    // Jinja2 refuses these when it compiles the template, even in a branch never taken.
    EXPECT_EQ(parseError("{% if false %}{% frobnicate %}{% endif %}"), "line 1, column 18: unknown tag 'frobnicate'");
    EXPECT_EQ(parseError("{% if false %}{{ x | frob }}{% endif %}"), "line 1, column 22: no filter named 'frob'");
    EXPECT_EQ(parseError("{{ x is frob }}"), "line 1, column 9: no test named 'frob'");
}

TEST(ChatTemplateErrors, SyntaxErrorsGiveLineAndColumn) {
    EXPECT_EQ(parseError("{% for x in xs %}{{ x }}"), "line 1, column 25: unexpected end of template, expected 'endfor' or 'else'");
    EXPECT_EQ(parseError("ab\n{{ 'unterminated }}"), "line 2, column 4: unexpected end of string");
    EXPECT_EQ(parseError("{{ 1 + }}"), "line 1, column 8: expected an expression, got '}}'");
    EXPECT_EQ(parseError("{% break %}"), "line 1, column 4: 'break' outside of a loop");
    EXPECT_EQ(parseError("{# open comment"), "line 1, column 1: missing end of comment tag");
    EXPECT_EQ(parseError("{{ a ! b }}"), "line 1, column 6: unexpected character '!'");
}

TEST(ChatTemplateErrors, InvalidUtf8TemplateIsRefused) {
    auto t = Template::parse("ab\xff");
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, ErrorCode::Corrupt);
}

TEST(ChatTemplateErrors, RaiseExceptionGivesItsMessageVerbatim) {
    const Error e = renderError("{{ raise_exception('Conversation roles must alternate user/assistant/...') }}");
    EXPECT_TRUE(Template::isRaisedError(e));
    EXPECT_EQ(e.message, "Conversation roles must alternate user/assistant/...");
}

TEST(ChatTemplateErrors, RuntimeErrorsNameTheirPlace) {
    const Error e = renderError("line one\n{{ messages[0].content }}");
    EXPECT_FALSE(Template::isRaisedError(e));
    // Column 12 is the subscript that uses the undefined name.
    EXPECT_EQ(e.message, "line 2, column 12: 'messages' is undefined");
}

TEST(ChatTemplateErrors, MutatingMethodsAreRefusedAsInTheSandbox) {
    const Error e = renderError("{% set xs = [1] %}{{ xs.append(2) }}");
    EXPECT_NE(e.message.find("access to attribute 'append' of 'list' object is unsafe."), std::string::npos) << e.message;
}

TEST(ChatTemplateLimits, RecursionDepthIsBounded) {
    RenderOptions o;
    o.limits.maxCallDepth = 20;
    const Error e = renderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", o);
    EXPECT_EQ(e.code, ErrorCode::Unsupported);
    EXPECT_NE(e.message.find("macro calls nested deeper than 20"), std::string::npos) << e.message;
}

TEST(ChatTemplateLimits, LoopIterationsAreBounded) {
    RenderOptions o;
    o.limits.maxLoopIterations = 1000;
    const Error e = renderError("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", o);
    EXPECT_NE(e.message.find("more than 1000 loop iterations"), std::string::npos) << e.message;
    // range() itself counts, so a huge range never allocates.
    EXPECT_NE(renderError("{{ range(1000000000000)|length }}", o).message.find("loop iterations"), std::string::npos);
}

TEST(ChatTemplateLimits, OutputAndStringSizeAreBounded) {
    RenderOptions o;
    o.limits.maxOutputBytes = 4096;
    EXPECT_NE(renderError("{% for i in range(100) %}{{ 'x' * 100 }}{% endfor %}", o).message.find("text longer than 4096 bytes"),
              std::string::npos);
    EXPECT_NE(renderError("{% set s = 'ab' * 100000000000 %}", o).message.find("text longer than 4096 bytes"), std::string::npos);
}

TEST(ChatTemplateLimits, DeepNestingFailsToParseWithoutCrashing) {
    const std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
    auto t = Template::parse(deep);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().message.find("nested deeper than"), std::string::npos) << t.error().message;
}

TEST(ChatTemplateLimits, ANamespaceCannotHoldItself) {
    const Error e = renderError("{% set ns = namespace(a=1) %}{% set ns.self = [ns] %}");
    EXPECT_NE(e.message.find("cannot store a namespace inside itself"), std::string::npos) << e.message;
}

// ---- discovery ----

class ChatTemplateDiscovery : public testing::Test {
protected:
    void SetUp() override {
        m_dir = std::filesystem::temp_directory_path() /
                ("tokenlens-chat-" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
        std::filesystem::remove_all(m_dir);
        std::filesystem::create_directories(m_dir);
    }
    void TearDown() override { std::filesystem::remove_all(m_dir); }
    void write(const std::string& name, const std::string& text) {
        std::ofstream(m_dir / name, std::ios::binary) << text;
    }
    std::filesystem::path m_dir;
};

TEST_F(ChatTemplateDiscovery, JinjaFileWinsOverTokenizerConfig) {
    write("tokenizer_config.json", R"({"chat_template": "from config", "bos_token": "<s>"})");
    write("chat_template.jinja", "from file");
    auto info = findChatTemplate(m_dir);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->text, "from file");
    EXPECT_EQ(info->name, "default");
    EXPECT_EQ(info->source, m_dir / "chat_template.jinja");
    // sha256("from file"), as `printf 'from file' | sha256sum` gives it.
    EXPECT_EQ(info->sha256, "f746160170ffa4038087f389d9fa52bebf7fe324231bab503ebf740908ffb72c");
}

TEST_F(ChatTemplateDiscovery, ListOfNamedTemplatesUsesDefaultOrTheNamedOne) {
    write("tokenizer_config.json",
          R"({"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]})");
    auto d = findChatTemplate(m_dir);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->text, "D");
    EXPECT_EQ(d->names, (std::vector<std::string>{"default", "tool_use"}));
    auto t = findChatTemplate(m_dir, "tool_use");
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->name, "tool_use");
    EXPECT_EQ(t->text, "T");
    auto missing = findChatTemplate(m_dir, "rag");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("no chat template named 'rag' ('default', 'tool_use')"), std::string::npos)
        << missing.error().message;
}

TEST_F(ChatTemplateDiscovery, FolderWithoutTemplateIsNotFound) {
    write("tokenizer_config.json", R"({"bos_token": "<s>"})");
    auto info = findChatTemplate(m_dir);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code, ErrorCode::NotFound);
}

TEST_F(ChatTemplateDiscovery, SpecialTokensAreStringsAddedTokenContentAndNullsLeftOut) {
    write("tokenizer_config.json", R"({"chat_template": "{{ bos_token }}|{{ eos_token }}|{{ pad_token is defined }}",
        "bos_token": {"__type": "AddedToken", "content": "<|begin|>", "lstrip": false},
        "eos_token": "<|end|>", "pad_token": null, "additional_special_tokens": ["<x>"]})");
    auto f = ChatFormatter::fromModelFolder(m_dir);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->specialTokens(), (nlohmann::ordered_json{{"bos_token", "<|begin|>"}, {"eos_token", "<|end|>"}}));
    auto r = f->render(f->request(nlohmann::ordered_json::array()));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, "<|begin|>|<|end|>|False");
}

TEST(ChatContinuation, CutsAfterTheFinalMessageAsTransformers) {
    // The template trims the content: the cut comes after the stripped text.
    auto f = ChatFormatter::fromText("{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}</s>{% endfor %}", {});
    ASSERT_TRUE(f.ok());
    auto request = f->request(nlohmann::ordered_json::parse(
        R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "  The answer is "}])"));
    auto cut = f->renderContinuing(request);
    ASSERT_TRUE(cut.ok()) << cut.error().message;
    EXPECT_EQ(*cut, "<user>Hi</s><assistant>The answer is");
    // A template that drops the message cannot be continued.
    auto g = ChatFormatter::fromText("{% for m in messages %}{{ m.role }}{% endfor %}", {});
    ASSERT_TRUE(g.ok());
    EXPECT_FALSE(g->renderContinuing(request).ok());
}

} // namespace
} // namespace tokenlens::chat
