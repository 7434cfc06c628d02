#pragma once
// What identifies a file's contents cheaply: its size, modification time,
// inode and device. A memory-mapped weight file records its stamp when it is
// mapped; a later stamp that differs means the file was truncated, rewritten
// or replaced, and reading the mapping past a new end would fault (SIGBUS),
// so the model is refused before a pass reads it (model/model_loader.h,
// checkWeightFiles).

#include "util/result.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace tokenlens {

struct FileStamp {
    uint64_t size = 0;
    int64_t mtimeNs = 0; // modification time, nanoseconds since the epoch
    uint64_t inode = 0;
    uint64_t device = 0;
    bool operator==(const FileStamp&) const = default;
};

// The stamp of an open file (fstat) or of a path (stat, following links);
// errors name the path.
Result<FileStamp> fileStamp(int fd, const std::filesystem::path& path);
Result<FileStamp> fileStamp(const std::filesystem::path& path);

// "<size>@<mtime>#<device>:<inode>": a cache key's part for the file.
std::string stampText(const FileStamp& stamp);

// OK when `path` still has the stamp `mapped`; otherwise a Mismatch error
// "<path>: changed on disk since it was loaded (<what changed>); reload the
// model" (removed, truncated, grown, replaced by another file, or modified).
Status checkUnchanged(const std::filesystem::path& path, const FileStamp& mapped);

} // namespace tokenlens
