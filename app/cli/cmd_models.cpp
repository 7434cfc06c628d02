#include "commands.h"
#include "common.h"

#include "catalog/model_catalog.h"

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

    CatalogOptions options;
    options.includeDemo = false; // the folders given and the Hugging Face cache
    for (const auto& f : p.values("folder")) {
        std::error_code ec;
        if (!fs::is_directory(f, ec)) {
            std::cerr << "tokenlens-cli models: warning: " << f << ": no such directory\n";
        }
        options.folders.emplace_back(f);
    }
    options.includeHfCache = !p.has("no-hf-cache");
    if (p.has("hf-cache")) options.hfCache = *p.value("hf-cache");
    const ModelCatalog catalog = ModelCatalog::discover(options);

    ojson out = ojson::array();
    for (const CatalogEntry& e : catalog.entries()) {
        out.push_back({{"id", e.id},
                       {"path", e.path.string()},
                       {"source", e.source},
                       {"architecture", e.architecture},
                       {"dtype", e.dtype},
                       {"parameters", e.parameters},
                       {"bytes", e.bytes},
                       {"usable", e.usable()},
                       {"error", e.usable() ? ojson(nullptr) : ojson(e.error)}});
    }
    std::cout << out.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
    return kExitOk;
}

} // namespace tokenlens::cli
