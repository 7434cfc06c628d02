// SHA-256 against the FIPS 180-4 example vectors (util/sha256.h lives in the
// tokenizer library with the rest of util/).
#include "util/sha256.h"

#include <gtest/gtest.h>

namespace tokenlens {

TEST(Sha256, FipsExampleVectors) {
    EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256Hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PiecesHashAsTheWhole) {
    const std::string text = "The quick brown fox jumps over the lazy dog, sixty-four bytes and then some more.";
    for (size_t cut = 0; cut <= text.size(); cut += 7) {
        Sha256 h;
        h.add(std::string_view(text).substr(0, cut));
        h.add(std::string_view(text).substr(cut));
        EXPECT_EQ(h.hex(), sha256Hex(text)) << cut;
    }
}

} // namespace tokenlens
