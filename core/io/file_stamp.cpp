#include "io/file_stamp.h"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>

namespace tokenlens {
namespace {

FileStamp fromStat(const struct stat& st) {
    FileStamp s;
    s.size = static_cast<uint64_t>(st.st_size);
    s.mtimeNs = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + static_cast<int64_t>(st.st_mtim.tv_nsec);
    s.inode = static_cast<uint64_t>(st.st_ino);
    s.device = static_cast<uint64_t>(st.st_dev);
    return s;
}

} // namespace

Result<FileStamp> fileStamp(int fd, const std::filesystem::path& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return makeError(ErrorCode::Unreadable, path.string() + ": cannot stat: " + std::strerror(errno));
    }
    return fromStat(st);
}

Result<FileStamp> fileStamp(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) return makeError(ErrorCode::NotFound, path.string() + ": no such file");
        return makeError(ErrorCode::Unreadable, path.string() + ": cannot stat: " + std::strerror(err));
    }
    return fromStat(st);
}

std::string stampText(const FileStamp& s) {
    return std::to_string(s.size) + "@" + std::to_string(s.mtimeNs) + "#" + std::to_string(s.device) + ":" +
           std::to_string(s.inode);
}

Status checkUnchanged(const std::filesystem::path& path, const FileStamp& mapped) {
    auto now = fileStamp(path);
    std::string what;
    if (!now) {
        what = now.error().code == ErrorCode::NotFound ? "removed" : now.error().message;
    } else if (*now == mapped) {
        return {};
    } else if (now->inode != mapped.inode || now->device != mapped.device) {
        what = "replaced by another file";
    } else if (now->size < mapped.size) {
        what = "truncated from " + std::to_string(mapped.size) + " to " + std::to_string(now->size) + " bytes";
    } else if (now->size > mapped.size) {
        what = "grown from " + std::to_string(mapped.size) + " to " + std::to_string(now->size) + " bytes";
    } else {
        what = "modified";
    }
    return makeError(ErrorCode::Mismatch,
                     path.string() + ": changed on disk since it was loaded (" + what + "); reload the model");
}

} // namespace tokenlens
