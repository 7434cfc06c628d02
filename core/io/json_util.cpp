#include "io/json_util.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenlens::io_detail {

size_t jsonNestingDepth(std::string_view text, size_t limit) {
    size_t depth = 0, deepest = 0;
    bool inString = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inString) {
            if (c == '\\') ++i; // skip the escaped character
            else if (c == '"') inString = false;
            continue;
        }
        if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > limit) return deepest;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

std::string jsonTypeName(const nlohmann::json& j) {
    switch (j.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a floating-point number";
    case nlohmann::json::value_t::binary: return "binary data";
    case nlohmann::json::value_t::discarded: return "nothing";
    }
    return "an unknown value";
}

std::string jsonErrorText(const std::exception& e) {
    std::string s = e.what();
    if (s.rfind("[json.exception.", 0) == 0) {
        if (auto close = s.find("] "); close != std::string::npos) s = s.substr(close + 2);
    }
    return s;
}

Result<nlohmann::json> parseJsonText(std::string_view text, const std::string& fileName, size_t maxDepth) {
    if (jsonNestingDepth(text, maxDepth) > maxDepth) {
        return makeError(ErrorCode::Corrupt, fileName + ": not valid JSON: nested deeper than " +
                                                 std::to_string(maxDepth) + " levels");
    }
    try {
        return nlohmann::json::parse(text.begin(), text.end());
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Corrupt, fileName + ": not valid JSON: " + jsonErrorText(e));
    }
}

Result<OpenedFile> openRegularFile(const std::filesystem::path& path, const std::string& expected) {
    const std::string name = path.string();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) return makeError(ErrorCode::NotFound, name + ": no such file");
        return makeError(ErrorCode::Unreadable, name + ": cannot open: " + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        return makeError(ErrorCode::Unreadable, name + ": cannot stat: " + std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        return makeError(ErrorCode::Unreadable, name + ": is a directory, expected " + expected);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return makeError(ErrorCode::Unreadable, name + ": not a regular file");
    }
    return OpenedFile{fd, static_cast<uint64_t>(st.st_size)};
}

Result<std::string> readSmallFile(const std::filesystem::path& path, uint64_t maxBytes) {
    const std::string name = path.string();
    auto opened = openRegularFile(path, "a file");
    if (!opened) return opened.error();
    const int fd = opened->fd;
    const uint64_t size = opened->size;
    if (size > maxBytes) {
        ::close(fd);
        return makeError(ErrorCode::Corrupt, name + ": file is " + std::to_string(size) +
                                                 " bytes, more than the " + std::to_string(maxBytes) +
                                                 " accepted for this kind of file");
    }
    std::string out;
    out.reserve(static_cast<size_t>(size));
    char buf[65536];
    for (;;) {
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            return makeError(ErrorCode::Unreadable, name + ": read error: " + std::strerror(err));
        }
        if (got == 0) break;
        out.append(buf, static_cast<size_t>(got));
        if (out.size() > maxBytes) {
            ::close(fd);
            return makeError(ErrorCode::Corrupt, name + ": file is larger than the " + std::to_string(maxBytes) +
                                                     " bytes accepted for this kind of file");
        }
    }
    ::close(fd);
    return out;
}

std::string formatShape(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        if (i == 8 && shape.size() > 9) {
            s += "... (" + std::to_string(shape.size()) + " dimensions)";
            break;
        }
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

} // namespace tokenlens::io_detail
