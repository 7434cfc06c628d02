#pragma once
// SHA-256 (FIPS 180-4) of bytes, as lowercase hex. Plain C++, no Qt: content
// keys of the caches and hashes of chat templates.

#include <cstdint>
#include <string>
#include <string_view>

namespace tokenlens {

class Sha256 {
public:
    Sha256();
    void add(std::string_view bytes);
    std::string hex(); // finishes the hash; the object is spent afterwards

private:
    void block(const unsigned char* p);
    uint32_t m_h[8];
    unsigned char m_buf[64];
    size_t m_fill = 0;
    uint64_t m_bits = 0;
};

std::string sha256Hex(std::string_view bytes);

} // namespace tokenlens
