#pragma once
// Internal helpers shared by the readers in core/io (not part of the public API).

#include "util/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tokenlens::io_detail {

// Deepest nesting of '[' / '{' outside strings, counting stops at `limit` + 1.
// Used to refuse pathological input before it reaches the JSON parser.
size_t jsonNestingDepth(std::string_view text, size_t limit);

// "an integer", "a string", "null", ... for messages.
std::string jsonTypeName(const nlohmann::json& j);

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string jsonErrorText(const std::exception& e);

// Parses untrusted JSON text. Errors (syntax, nesting deeper than `maxDepth`,
// invalid UTF-8) become a Corrupt error "<fileName>: not valid JSON: ...".
Result<nlohmann::json> parseJsonText(std::string_view text, const std::string& fileName, size_t maxDepth = 64);

// Opens `path` read-only and checks it is a regular file. On success the
// caller owns `fd` and must close it. Missing -> NotFound; directories,
// special files and permission problems -> Unreadable (`expected` completes
// "is a directory, expected ...").
struct OpenedFile {
    int fd = -1;
    uint64_t size = 0;
};
Result<OpenedFile> openRegularFile(const std::filesystem::path& path, const std::string& expected);

// Reads a whole (small) file: missing -> NotFound, directory / permission
// problems -> Unreadable, larger than maxBytes -> Corrupt. Messages name the path.
Result<std::string> readSmallFile(const std::filesystem::path& path, uint64_t maxBytes);

// "[50257, 32]"; long shapes are elided after 8 dimensions.
std::string formatShape(const std::vector<int64_t>& shape);

} // namespace tokenlens::io_detail
