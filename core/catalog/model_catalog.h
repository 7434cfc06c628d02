#pragma once
// The one model catalogue of TokenLens: the bundled demo models, folders the
// user added (each a model, or a folder of models) and the Hugging Face
// cache, each inspected (architecture, parameters, stored dtype, size on
// disk, or why it cannot be used). The CLI's `models`, the GUI's model list
// and the server's /api/models all list it; the server's clients name models
// only by its ids, so a request can never make the server open a path of its
// choosing. Plain C++ (no Qt, no LibTorch): reads config.json and the
// safetensors headers, so build it off the GUI thread.

#include "io/model_config.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

struct CatalogEntry {
    std::string id;     // "tiny-gpt2", "Qwen/Qwen2-0.5B"; unique in the catalog
    std::string source; // "demo" | "folder" | "hf-cache"
    std::filesystem::path path; // canonical folder holding config.json
    std::optional<ModelConfig> config; // set when the folder is usable
    std::string architecture, dtype;
    int64_t parameters = 0;
    int64_t bytes = 0;
    std::string error; // non-empty: listed, but jobs cannot use it, and why
    // The chat templates the folder offers by name ("default", "tool_use",
    // ...; chat/chat_template.h); empty when it has none (or a broken one).
    std::vector<std::string> chatTemplates;
    bool usable() const { return error.empty(); }
};

struct CatalogOptions {
    std::vector<std::filesystem::path> folders; // each a model or a folder of models
    bool includeDemo = true;                    // the bundled demo models
    bool includeHfCache = true;
    std::filesystem::path hfCache; // empty: huggingFaceHubDir()
    // An added folder holding no model is listed with an error saying so
    // (the GUI's list), instead of being left out.
    bool reportEmptyFolders = false;
};

// The bundled demo models: $TOKENLENS_DEMO_MODELS, else share/tokenlens/models
// next to the executable's bin/, else the source tree's resources/models.
// Empty when none exists.
std::filesystem::path bundledDemoModels();

// One folder, inspected (never fails: a bad folder comes back with `error`).
// `id` empty: the folder's name.
CatalogEntry describeModelFolder(const std::filesystem::path& dir, const std::string& source,
                                 const std::string& id = {});

class ModelCatalog {
public:
    static ModelCatalog discover(const CatalogOptions& options);
    // For tests and embedding: entries given as they are (ids made unique).
    explicit ModelCatalog(std::vector<CatalogEntry> entries = {});

    const std::vector<CatalogEntry>& entries() const { return m_entries; }
    const CatalogEntry* find(const std::string& id) const;
    // The id of a folder the catalog holds (for showing a stored job's models).
    std::optional<std::string> idForPath(const std::string& path) const;

private:
    std::vector<CatalogEntry> m_entries;
};

} // namespace tokenlens
