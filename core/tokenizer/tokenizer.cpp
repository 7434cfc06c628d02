#include "tokenizer/tokenizer.h"

#include "tokenizer/tokenizer_impl.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <system_error>

namespace tokenlens {

namespace {

Result<std::string> readFile(const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
        return makeError(ErrorCode::NotFound, path.string() + ": file not found");
    if (std::filesystem::is_directory(status))
        return makeError(ErrorCode::Unreadable, path.string() + ": is a folder, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Unreadable, path.string() + ": cannot be opened for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return makeError(ErrorCode::Unreadable, path.string() + ": read error");
    return ss.str();
}

} // namespace

Tokenizer::Tokenizer(std::unique_ptr<TokenizerImpl> impl) : m_impl(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Result<std::shared_ptr<Tokenizer>> Tokenizer::fromFolder(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        return makeError(ErrorCode::NotFound, dir.string() + ": no such folder");
    const auto config = dir / "tokenizer_config.json";
    std::optional<std::filesystem::path> configPath;
    if (std::filesystem::exists(config, ec)) configPath = config;
    return fromFiles(dir / "tokenizer.json", configPath);
}

Result<std::shared_ptr<Tokenizer>> Tokenizer::fromFiles(const std::filesystem::path& tokenizerJson,
                                                        const std::optional<std::filesystem::path>& configJson) {
    auto text = readFile(tokenizerJson);
    if (!text) return text.error();
    std::string config;
    std::string configName = "tokenizer_config.json";
    if (configJson) {
        auto c = readFile(*configJson);
        if (!c) return c.error();
        config = std::move(c.value());
        configName = configJson->string();
    }
    try {
        auto impl = std::make_unique<TokenizerImpl>(text.value(), config, configName);
        return std::shared_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
    } catch (const tok::ConfigError& e) {
        return makeError(e.code, (e.file.empty() ? tokenizerJson.string() : e.file) + ": " + e.what());
    } catch (const nlohmann::json::parse_error& e) {
        return makeError(ErrorCode::Corrupt, tokenizerJson.string() + ": invalid JSON: " + e.what());
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Corrupt, tokenizerJson.string() + ": " + e.what());
    }
}

Result<std::shared_ptr<Tokenizer>> Tokenizer::fromJson(std::string_view tokenizerJson,
                                                       std::string_view tokenizerConfigJson,
                                                       const std::string& sourceName) {
    try {
        auto impl = std::make_unique<TokenizerImpl>(tokenizerJson, tokenizerConfigJson, "tokenizer_config.json");
        return std::shared_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
    } catch (const tok::ConfigError& e) {
        return makeError(e.code, (e.file.empty() ? sourceName : e.file) + ": " + e.what());
    } catch (const nlohmann::json::parse_error& e) {
        return makeError(ErrorCode::Corrupt, sourceName + ": invalid JSON: " + e.what());
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Corrupt, sourceName + ": " + e.what());
    }
}

Result<Encoding> Tokenizer::encode(std::string_view text, bool addSpecialTokens) const {
    return m_impl->encode(text, addSpecialTokens);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skipSpecialTokens,
                              std::optional<bool> cleanup) const {
    return m_impl->decode(ids, skipSpecialTokens, cleanup);
}

std::string Tokenizer::displayToken(int32_t id) const { return m_impl->displayToken(id); }
std::optional<int32_t> Tokenizer::tokenToId(std::string_view token) const { return m_impl->tokenToId(token); }
std::string Tokenizer::idToToken(int32_t id) const { return m_impl->idToToken(id); }
size_t Tokenizer::vocabSize() const { return m_impl->vocabSize(); }
std::string Tokenizer::modelType() const { return m_impl->modelType(); }
const SpecialTokens& Tokenizer::specialTokens() const { return m_impl->specialTokens(); }
std::vector<std::pair<int32_t, std::string>> Tokenizer::specialTokenList() const {
    return m_impl->specialTokenList();
}
bool Tokenizer::addsBos() const { return m_impl->addsBos(); }

} // namespace tokenlens
