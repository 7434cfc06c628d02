#include "commands.h"
#include "common.h"

#include "io/model_folder.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

namespace tokenlens::cli {

int runModels(const Args& args) {
    namespace fs = std::filesystem;
    using ojson = nlohmann::ordered_json;
    ArgParser p("models", "[--folder DIR ...] [--hf-cache DIR | --no-hf-cache]");
    p.option("folder", "DIR", "a model folder, or a folder whose subfolders are models (repeatable)", true);
    p.option("hf-cache", "DIR", "Hugging Face hub cache to scan (default: $HF_HUB_CACHE, $HF_HOME/hub, "
                                "~/.cache/huggingface/hub)");
    p.flag("no-hf-cache", "do not scan the Hugging Face cache");
    if (auto code = handleParse(p, args)) return *code;
    if (!p.positional().empty()) {
        std::cerr << "tokenlens-cli models: unexpected argument '" << p.positional().front()
                  << "' (use --folder DIR)\n\n"
                  << p.helpText();
        return kExitUsage;
    }
    if (p.has("no-hf-cache") && p.has("hf-cache")) {
        std::cerr << "tokenlens-cli models: --hf-cache and --no-hf-cache contradict each other\n";
        return kExitUsage;
    }

    std::vector<fs::path> folders;
    for (const auto& f : p.values("folder")) {
        std::error_code ec;
        if (!fs::is_directory(f, ec)) {
            std::cerr << "tokenlens-cli models: warning: " << f << ": no such directory\n";
        }
        folders.emplace_back(f);
    }
    std::vector<ModelLocation> found = discoverFolders(folders);
    if (!p.has("no-hf-cache")) {
        const fs::path hub = p.has("hf-cache") ? fs::path(*p.value("hf-cache")) : huggingFaceHubDir();
        auto cached = discoverHfCache(hub);
        found.insert(found.end(), cached.begin(), cached.end());
    }

    ojson out = ojson::array();
    for (const auto& m : found) {
        std::error_code ec;
        fs::path shown = fs::absolute(m.path, ec);
        if (ec) shown = m.path;
        out.push_back({{"id", m.id}, {"path", shown.lexically_normal().string()}, {"source", m.source}});
    }
    std::cout << out.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
    return kExitOk;
}

} // namespace tokenlens::cli
