#include "catalog/model_catalog.h"

#include "chat/chat_template.h"
#include "io/model_folder.h"

#include <cstdlib>
#include <set>
#include <system_error>

#include <unistd.h>

namespace tokenlens {

namespace fs = std::filesystem;

namespace {

fs::path canonicalOr(const fs::path& p) {
    std::error_code ec;
    fs::path c = fs::canonical(p, ec);
    return ec ? p.lexically_normal() : c;
}

bool hasDemoModel(const fs::path& dir) {
    std::error_code ec;
    return fs::exists(dir / "demo-llama" / "config.json", ec) || fs::exists(dir / "demo-gpt2" / "config.json", ec);
}

} // namespace

CatalogEntry describeModelFolder(const fs::path& dir, const std::string& source, const std::string& id) {
    CatalogEntry e;
    e.path = canonicalOr(dir);
    const fs::path shown = dir.lexically_normal();
    e.id = !id.empty() ? id : !shown.filename().empty() ? shown.filename().string() : shown.parent_path().filename().string();
    e.source = source;
    auto info = inspectModelFolder(e.path);
    if (!info) {
        e.error = info.error().message;
        return e;
    }
    e.config = info->config;
    e.architecture = info->config.architecture.empty() ? info->config.modelType : info->config.architecture;
    e.dtype = dtypeName(info->storedDType);
    e.parameters = info->parameterCount;
    for (const auto& f : info->weightFiles) {
        std::error_code ec;
        const auto size = fs::file_size(info->path / f, ec);
        if (!ec) e.bytes += static_cast<int64_t>(size);
    }
    std::error_code ec;
    if (!fs::is_regular_file(e.path / "tokenizer.json", ec)) e.error = e.path.string() + ": no tokenizer.json in the folder";
    if (auto chat = chat::findChatTemplate(e.path)) e.chatTemplates = chat->names;
    return e;
}

fs::path bundledDemoModels() {
    if (const char* env = std::getenv("TOKENLENS_DEMO_MODELS"); env && *env) {
        std::error_code ec;
        return fs::is_directory(env, ec) ? canonicalOr(env) : fs::path{};
    }
    std::vector<fs::path> candidates;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back(exe.parent_path() / ".." / "share" / "tokenlens" / "models");
#ifdef TOKENLENS_SOURCE_DIR
    candidates.emplace_back(fs::path(TOKENLENS_SOURCE_DIR) / "resources" / "models");
#endif
    for (const auto& c : candidates) {
        if (hasDemoModel(c)) return canonicalOr(c);
    }
    return {};
}

ModelCatalog::ModelCatalog(std::vector<CatalogEntry> entries) {
    std::set<std::string> ids;
    for (auto& e : entries) {
        // A second model with the same id keeps its source in the id.
        std::string id = e.id;
        for (int n = 2; ids.count(id); ++n) id = e.id + "@" + e.source + (n > 2 ? std::to_string(n - 1) : "");
        e.id = id;
        ids.insert(id);
        m_entries.push_back(std::move(e));
    }
}

ModelCatalog ModelCatalog::discover(const CatalogOptions& options) {
    std::vector<CatalogEntry> out;
    std::set<std::string> seen; // canonical folders
    auto add = [&](const std::vector<ModelLocation>& found, const std::string& source) {
        for (const auto& loc : found) {
            if (!seen.insert(canonicalOr(loc.path).string()).second) continue;
            out.push_back(describeModelFolder(loc.path, source, loc.id));
        }
    };
    if (options.includeDemo) {
        if (const fs::path demo = bundledDemoModels(); !demo.empty()) add(discoverFolders({demo}), "demo");
    }
    for (const auto& folder : options.folders) {
        const auto found = discoverFolders({folder});
        if (found.empty() && options.reportEmptyFolders && seen.insert(folder.string()).second) {
            // Say why an added folder shows nothing rather than dropping it.
            std::error_code ec;
            CatalogEntry e;
            e.path = folder;
            e.id = folder.filename().string();
            e.source = "folder";
            e.error = folder.string() + (fs::is_directory(folder, ec)
                                             ? ": no config.json with safetensors weights here or one level below"
                                             : ": no such directory");
            out.push_back(std::move(e));
        }
        add(found, "folder");
    }
    if (options.includeHfCache) {
        add(discoverHfCache(options.hfCache.empty() ? huggingFaceHubDir() : options.hfCache), "hf-cache");
    }
    return ModelCatalog(std::move(out));
}

const CatalogEntry* ModelCatalog::find(const std::string& id) const {
    for (const auto& e : m_entries) {
        if (e.id == id) return &e;
    }
    return nullptr;
}

std::optional<std::string> ModelCatalog::idForPath(const std::string& path) const {
    const fs::path c = canonicalOr(path);
    for (const auto& e : m_entries) {
        if (e.path == c) return e.id;
    }
    return std::nullopt;
}

} // namespace tokenlens
