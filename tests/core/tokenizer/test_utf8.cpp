#include "util/utf8.h"

#include <gtest/gtest.h>

using namespace tokenlens;

TEST(Utf8, AcceptsValidText) {
    EXPECT_TRUE(utf8::isValid(""));
    EXPECT_TRUE(utf8::isValid("plain ascii"));
    EXPECT_TRUE(utf8::isValid("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"));
}

TEST(Utf8, ReportsFirstInvalidByte) {
    EXPECT_EQ(utf8::firstInvalid("ab\xFF"), 2u);
    EXPECT_EQ(utf8::firstInvalid("\xC3"), 0u);                  // truncated
    EXPECT_EQ(utf8::firstInvalid("x\xC0\xAF"), 1u);             // overlong '/'
    EXPECT_EQ(utf8::firstInvalid("\xED\xA0\x80"), 0u);          // surrogate
    EXPECT_EQ(utf8::firstInvalid("ok\xF4\x90\x80\x80"), 2u);    // above U+10FFFF
}

TEST(Utf8, RoundTripsCodePoints) {
    for (char32_t cp : {U'a', U'\u00e9', U'\u4e2d', U'\U0001F600'}) {
        std::string s;
        utf8::append(s, cp);
        size_t pos = 0;
        EXPECT_EQ(utf8::next(s, pos), cp);
        EXPECT_EQ(pos, s.size());
    }
}

TEST(Utf8, LossyReplacesMaximalSubparts) {
    EXPECT_EQ(utf8::lossy("ok"), "ok");
    EXPECT_EQ(utf8::lossy("a\xF0\x9F\x98"), "a\xEF\xBF\xBD");             // truncated 4-byte: one U+FFFD
    EXPECT_EQ(utf8::lossy("\xFF\xFE"), "\xEF\xBF\xBD\xEF\xBF\xBD");        // two bad bytes
    EXPECT_EQ(utf8::lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // surrogate: 3
    EXPECT_EQ(utf8::lossy("\xE2\x82x"), "\xEF\xBF\xBDx");
}

TEST(Utf8, EscapeInvalid) {
    EXPECT_EQ(utf8::escapeInvalid(" \xF0\x9F\x98"), " \\xF0\\x9F\\x98");
    EXPECT_EQ(utf8::escapeInvalid("\xC3\xA9"), "\xC3\xA9");
}
