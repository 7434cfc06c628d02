#pragma once
// Finding model folders: user-given directories and the Hugging Face cache.

#include "util/result.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

struct ModelLocation {
    std::string id;              // "ORG/NAME" for the HF cache, folder name otherwise
    std::filesystem::path path;  // folder holding config.json
    std::string source;          // "folder" | "hf-cache" | "demo"
};

// True when DIR has config.json and weights (model.safetensors or an index).
bool looksLikeModelFolder(const std::filesystem::path& dir);

// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
// HF_HUB_CACHE overrides all of them when set.
std::filesystem::path huggingFaceHubDir();

// models--ORG--NAME/snapshots/REV/ -> "ORG/NAME"; the snapshot named by
// refs/main is preferred, else the most recently modified one.
std::vector<ModelLocation> discoverHfCache(const std::filesystem::path& hubDir);

// Each folder that is a model, or whose direct children are models.
std::vector<ModelLocation> discoverFolders(const std::vector<std::filesystem::path>& folders);

} // namespace tokenlens
