#include "util/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

namespace tokenlens {

namespace {

Status failed(const std::string& path, const std::string& what) {
    return makeError(ErrorCode::Unreadable, path + ": " + what + ": " + std::strerror(errno));
}

} // namespace

Status writeFileAtomically(const std::string& path, std::string_view text) {
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return failed(path, "cannot create a file beside it");
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            auto st = failed(path, "cannot write");
            ::close(fd);
            ::unlink(tmp.c_str());
            return st;
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        auto st = failed(path, "cannot flush to disk");
        ::close(fd);
        ::unlink(tmp.c_str());
        return st;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto st = failed(path, "cannot replace");
        ::unlink(tmp.c_str());
        return st;
    }
    // The rename itself reaches the disk with the folder's entry.
    const std::string dir = std::filesystem::path(path).parent_path().string();
    const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

Status checkWritable(const std::string& path) {
    const std::filesystem::path p(path);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
        return makeError(ErrorCode::InvalidArgument, path + ": is a folder");
    }
    const std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
    if (::access(dir.c_str(), W_OK) != 0) return failed(path, "cannot write in its folder");
    return {};
}

} // namespace tokenlens
