#pragma once
// Chat templates of model folders, rendered as transformers'
// tokenizer.apply_chat_template renders them.
//
// Finding the template (findChatTemplate):
//   1. DIR/chat_template.jinja (newer folders) wins;
//   2. else `chat_template` of DIR/tokenizer_config.json: a string, or a list
//      of {"name", "template"} of which "default" is used unless a name is given.
//   A name other than "default" is also looked up as
//   DIR/additional_chat_templates/NAME.jinja.
//
// Rendering (renderChat): the variables are messages, add_generation_prompt,
// tools = None, documents = None, then the special tokens of
// tokenizer_config.json as strings, then the caller's extras (later entries win).
// The text is returned exactly; tokenize it WITHOUT adding special tokens
// (the template writes BOS itself).

#include "chat/template.h"
#include "util/result.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace tokenlens::chat {

struct ChatTemplateInfo {
    std::string name;                // "default" or the chosen name
    std::string text;                // the template text
    std::string sha256;              // lowercase hex sha256 of `text` (UTF-8)
    std::filesystem::path source;    // the file it was read from (empty when given as text)
    std::vector<std::string> names;  // every template name the folder offers
};

// `chat_template` of a parsed tokenizer_config.json. `fileName` is used in
// messages. NotFound when the config has no template.
Result<ChatTemplateInfo> chatTemplateFromConfig(const nlohmann::json& config, const std::string& fileName,
                                                const std::string& name = {});

// A model folder (see the rules above). NotFound when it has no template.
Result<ChatTemplateInfo> findChatTemplate(const std::filesystem::path& dir, const std::string& name = {});

// Every top-level "*_token" of tokenizer_config.json that is a string, or an
// AddedToken object ({"content": ...}) as its content; null tokens are left out.
nlohmann::ordered_json specialTokenVariables(const nlohmann::json& tokenizerConfig);

struct ChatRequest {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array(); // [{"role", "content", ...}]
    bool addGenerationPrompt = true;
    nlohmann::ordered_json tools;      // null renders as None
    nlohmann::ordered_json documents;  // null renders as None
    nlohmann::ordered_json specialTokens = nlohmann::ordered_json::object(); // specialTokenVariables()
    nlohmann::ordered_json extras = nlohmann::ordered_json::object();        // enable_thinking, ...
    RenderOptions options;
};

// The variables object the template sees.
nlohmann::ordered_json templateVariables(const ChatRequest& request);

Result<std::string> renderChat(const Template& tmpl, const ChatRequest& request);

// apply_chat_template(continue_final_message=True): renders without the
// generation prompt and cuts right after the final message's text (for a
// message whose content is a list of parts, the text of its last text part).
// Fails (InvalidArgument) when the rendering no longer contains that text.
Result<std::string> renderContinuingFinalMessage(const Template& tmpl, const ChatRequest& request);

// The cut alone, on an already rendered conversation.
Result<std::string> cutAfterFinalMessage(const std::string& rendered, const nlohmann::ordered_json& finalMessage);

// A model's template with its special tokens, ready to render messages.
class ChatFormatter {
public:
    static Result<ChatFormatter> fromModelFolder(const std::filesystem::path& dir, const std::string& templateName = {});
    // A tokenizer_config.json file (its template and special tokens).
    static Result<ChatFormatter> fromTokenizerConfig(const std::filesystem::path& file,
                                                     const std::string& templateName = {});
    // Template text given directly (e.g. --template FILE); `specialTokens` as specialTokenVariables().
    static Result<ChatFormatter> fromText(const std::string& text, nlohmann::ordered_json specialTokens,
                                          std::filesystem::path source = {});

    const ChatTemplateInfo& info() const { return m_info; }
    const nlohmann::ordered_json& specialTokens() const { return m_specialTokens; }
    const Template& compiled() const { return m_template; }

    // A request pre-filled with this formatter's special tokens.
    ChatRequest request(nlohmann::ordered_json messages, bool addGenerationPrompt = true) const;
    Result<std::string> render(const ChatRequest& request) const { return renderChat(m_template, request); }
    Result<std::string> renderContinuing(const ChatRequest& request) const {
        return renderContinuingFinalMessage(m_template, request);
    }

private:
    ChatFormatter(Template t, ChatTemplateInfo info, nlohmann::ordered_json specialTokens)
        : m_template(std::move(t)), m_info(std::move(info)), m_specialTokens(std::move(specialTokens)) {}
    Template m_template;
    ChatTemplateInfo m_info;
    nlohmann::ordered_json m_specialTokens;
};

} // namespace tokenlens::chat
