#include "chat/chat_template.h"

#include "chat/pystr.h"
#include "io/json_util.h"
#include "util/sha256.h"

#include <system_error>

namespace tokenlens::chat {
namespace {

constexpr uint64_t kMaxConfigBytes = uint64_t{64} << 20;   // tokenizer_config.json with every added token
constexpr uint64_t kMaxTemplateBytes = uint64_t{4} << 20;

ChatTemplateInfo makeInfo(std::string name, std::string text, std::filesystem::path source, std::vector<std::string> names) {
    ChatTemplateInfo info;
    info.name = std::move(name);
    info.sha256 = sha256Hex(text);
    info.text = std::move(text);
    info.source = std::move(source);
    info.names = std::move(names);
    return info;
}

Result<nlohmann::json> readConfig(const std::filesystem::path& file) {
    auto text = io_detail::readSmallFile(file, kMaxConfigBytes);
    if (!text) return text.error();
    return io_detail::parseJsonText(*text, file.string());
}

bool isFile(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec);
}

} // namespace

Result<ChatTemplateInfo> chatTemplateFromConfig(const nlohmann::json& config, const std::string& fileName,
                                                const std::string& name) {
    if (!config.is_object() || !config.contains("chat_template") || config["chat_template"].is_null()) {
        return makeError(ErrorCode::NotFound, fileName + ": no chat_template");
    }
    const nlohmann::json& t = config["chat_template"];
    if (t.is_string()) {
        if (!name.empty() && name != "default") {
            return makeError(ErrorCode::NotFound, fileName + ": no chat template named '" + name +
                                                      "' (the file holds one template, 'default')");
        }
        return makeInfo("default", t.get<std::string>(), fileName, {"default"});
    }
    if (!t.is_array()) {
        return makeError(ErrorCode::Corrupt, fileName + ": chat_template is " + io_detail::jsonTypeName(t) +
                                                 ", expected a string or a list of {\"name\", \"template\"}");
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < t.size(); ++i) {
        const auto& e = t[i];
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("template") ||
            !e["template"].is_string()) {
            return makeError(ErrorCode::Corrupt, fileName + ": chat_template[" + std::to_string(i) +
                                                     "] is not a {\"name\": string, \"template\": string} object");
        }
        names.push_back(e["name"].get<std::string>());
    }
    const std::string wanted = name.empty() ? "default" : name;
    for (const auto& e : t) {
        if (e["name"].get<std::string>() == wanted) return makeInfo(wanted, e["template"].get<std::string>(), fileName, names);
    }
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "'" : ", '") + n + "'";
    if (name.empty()) {
        return makeError(ErrorCode::NotFound, fileName + ": several chat templates and none named 'default' (" + list +
                                                  "); pick one by name");
    }
    return makeError(ErrorCode::NotFound, fileName + ": no chat template named '" + name + "' (" + list + ")");
}

Result<ChatTemplateInfo> findChatTemplate(const std::filesystem::path& dir, const std::string& name) {
    const auto jinja = dir / "chat_template.jinja";
    const auto config = dir / "tokenizer_config.json";
    std::vector<std::string> names;
    std::optional<nlohmann::json> parsed;
    if (isFile(config)) {
        auto c = readConfig(config);
        if (!c) return c.error();
        parsed = std::move(*c);
    }
    const bool hasJinja = isFile(jinja);
    if (hasJinja && (name.empty() || name == "default")) {
        auto text = io_detail::readSmallFile(jinja, kMaxTemplateBytes);
        if (!text) return text.error();
        return makeInfo("default", std::move(*text), jinja, {"default"});
    }
    if (!name.empty() && name != "default") {
        const auto extra = dir / "additional_chat_templates" / (name + ".jinja");
        if (name.find('/') == std::string::npos && name.find("..") == std::string::npos && isFile(extra)) {
            auto text = io_detail::readSmallFile(extra, kMaxTemplateBytes);
            if (!text) return text.error();
            return makeInfo(name, std::move(*text), extra, {"default", name});
        }
    }
    if (parsed) return chatTemplateFromConfig(*parsed, config.string(), name);
    return makeError(ErrorCode::NotFound, dir.string() + ": no chat template (neither chat_template.jinja nor "
                                                         "tokenizer_config.json with a chat_template)");
}

nlohmann::ordered_json specialTokenVariables(const nlohmann::json& config) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    if (!config.is_object()) return out;
    for (auto it = config.begin(); it != config.end(); ++it) {
        const std::string& key = it.key();
        if (key.size() < 6 || key.compare(key.size() - 6, 6, "_token") != 0) continue;
        const auto& v = it.value();
        if (v.is_string()) out[key] = v.get<std::string>();
        else if (v.is_object() && v.contains("content") && v["content"].is_string()) out[key] = v["content"].get<std::string>();
    }
    return out;
}

nlohmann::ordered_json templateVariables(const ChatRequest& r) {
    nlohmann::ordered_json vars = nlohmann::ordered_json::object();
    vars["messages"] = r.messages;
    vars["add_generation_prompt"] = r.addGenerationPrompt;
    vars["tools"] = r.tools;
    vars["documents"] = r.documents;
    if (r.specialTokens.is_object()) {
        for (auto it = r.specialTokens.begin(); it != r.specialTokens.end(); ++it) vars[it.key()] = it.value();
    }
    if (r.extras.is_object()) {
        for (auto it = r.extras.begin(); it != r.extras.end(); ++it) vars[it.key()] = it.value();
    }
    return vars;
}

Result<std::string> renderChat(const Template& tmpl, const ChatRequest& request) {
    if (!request.messages.is_array()) return makeError(ErrorCode::InvalidArgument, "messages must be a JSON list");
    return tmpl.render(templateVariables(request), request.options);
}

Result<std::string> cutAfterFinalMessage(const std::string& rendered, const nlohmann::ordered_json& finalMessage) {
    if (!finalMessage.is_object() || !finalMessage.contains("content")) {
        return makeError(ErrorCode::InvalidArgument, "continue_final_message: the final message has no content");
    }
    const auto& content = finalMessage["content"];
    std::string text;
    bool found = false;
    if (content.is_string()) {
        text = content.get<std::string>();
        found = true;
    } else if (content.is_array()) {
        for (auto it = content.rbegin(); it != content.rend(); ++it) {
            if (it->is_object() && it->contains("text") && (*it)["text"].is_string()) {
                text = (*it)["text"].get<std::string>();
                found = true;
                break;
            }
        }
    }
    if (!found) {
        return makeError(ErrorCode::InvalidArgument,
                         "continue_final_message: no text to continue in the final message");
    }
    using detail::StripSide;
    const std::string stripped = detail::pyStrip(text, std::nullopt, StripSide::Both);
    const std::string lstripped = detail::pyStrip(text, std::nullopt, StripSide::Left);
    const size_t at = rendered.rfind(stripped);
    if (at == std::string::npos) {
        return makeError(ErrorCode::InvalidArgument,
                         "continue_final_message: the final message does not appear in the rendered chat "
                         "(the template changes it)");
    }
    // The template kept the message as it is (or it has no trailing spaces): cut after it;
    // else its surrounding whitespace was trimmed: cut after the stripped text.
    if (rendered.compare(at, lstripped.size(), text) == 0 && lstripped.size() == text.size()) {
        return rendered.substr(0, at + lstripped.size());
    }
    return rendered.substr(0, at + stripped.size());
}

Result<std::string> renderContinuingFinalMessage(const Template& tmpl, const ChatRequest& request) {
    if (!request.messages.is_array() || request.messages.empty()) {
        return makeError(ErrorCode::InvalidArgument, "continue_final_message needs at least one message");
    }
    ChatRequest r = request;
    r.addGenerationPrompt = false;
    auto rendered = renderChat(tmpl, r);
    if (!rendered) return rendered.error();
    return cutAfterFinalMessage(*rendered, request.messages.back());
}

Result<ChatFormatter> ChatFormatter::fromModelFolder(const std::filesystem::path& dir, const std::string& templateName) {
    auto info = findChatTemplate(dir, templateName);
    if (!info) return info.error();
    nlohmann::ordered_json tokens = nlohmann::ordered_json::object();
    const auto config = dir / "tokenizer_config.json";
    if (isFile(config)) {
        auto c = readConfig(config);
        if (!c) return c.error();
        tokens = specialTokenVariables(*c);
    }
    auto t = Template::parse(info->text);
    if (!t) return makeError(t.error().code, info->source.string() + ": " + t.error().message);
    return ChatFormatter(std::move(*t), std::move(*info), std::move(tokens));
}

Result<ChatFormatter> ChatFormatter::fromTokenizerConfig(const std::filesystem::path& file, const std::string& templateName) {
    auto c = readConfig(file);
    if (!c) return c.error();
    auto info = chatTemplateFromConfig(*c, file.string(), templateName);
    if (!info) return info.error();
    auto t = Template::parse(info->text);
    if (!t) return makeError(t.error().code, file.string() + ": " + t.error().message);
    return ChatFormatter(std::move(*t), std::move(*info), specialTokenVariables(*c));
}

Result<ChatFormatter> ChatFormatter::fromText(const std::string& text, nlohmann::ordered_json specialTokens,
                                              std::filesystem::path source) {
    auto t = Template::parse(text);
    if (!t) {
        return makeError(t.error().code, (source.empty() ? std::string("chat template") : source.string()) + ": " +
                                             t.error().message);
    }
    return ChatFormatter(std::move(*t), makeInfo("custom", text, std::move(source), {"custom"}), std::move(specialTokens));
}

ChatRequest ChatFormatter::request(nlohmann::ordered_json messages, bool addGenerationPrompt) const {
    ChatRequest r;
    r.messages = std::move(messages);
    r.addGenerationPrompt = addGenerationPrompt;
    r.specialTokens = m_specialTokens;
    return r;
}

} // namespace tokenlens::chat
