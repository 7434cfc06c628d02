#pragma once
// Helpers for the core/io tests: temporary folders, hand-made safetensors files,
// copies of the fixture models.

#include "../common/test_data.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

namespace tokenlens::testing {

namespace fs = std::filesystem;

inline fs::path fixture(const std::string& name) { return dataDir() / "models" / name; }

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "tokenlens-io-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        m_path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        // Restore permissions a test may have removed, then delete.
        for (auto it = fs::recursive_directory_iterator(m_path, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            std::error_code pec;
            if (!it->is_symlink(pec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, pec);
        }
        fs::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return m_path; }
    fs::path operator/(const std::string& name) const { return m_path / name; }

private:
    fs::path m_path;
};

inline void writeFile(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << p;
}

inline std::string readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// 8-byte little-endian length + header (padded with spaces to a multiple of 8) + data.
inline std::string makeSafetensors(const std::string& headerJson, const std::string& data, bool pad = true) {
    std::string h = headerJson;
    if (pad) {
        while (h.size() % 8) h += ' ';
    }
    std::string out;
    uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    return out + h + data;
}

// A copy of a fixture model folder (files copied, so the test may change them).
inline fs::path copyFixture(const std::string& name, const fs::path& destParent) {
    fs::path dst = destParent / name;
    fs::create_directories(dst);
    for (const auto& e : fs::directory_iterator(fixture(name))) fs::copy_file(e.path(), dst / e.path().filename());
    return dst;
}

} // namespace tokenlens::testing
