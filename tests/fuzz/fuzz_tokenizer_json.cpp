// libFuzzer target: a tokenizer.json loaded from arbitrary bytes, then used.
// Input: TOKENIZER_JSON '\0' TEXT. Whatever loads must encode the text
// (or refuse it with a message), decode what it encoded, and display every
// token, without crashing; ids stay within the vocabulary.

#include "tokenizer/tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace tokenlens;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const size_t cut = all.find('\0');
    const std::string_view json = all.substr(0, cut);
    const std::string_view text = cut == std::string_view::npos ? std::string_view("Hello world") : all.substr(cut + 1);
    auto tok = Tokenizer::fromJson(json, "", "tokenizer.json");
    if (!tok) {
        check(!tok.error().message.empty());
        return 0;
    }
    const Tokenizer& t = **tok;
    for (bool special : {true, false}) {
        auto enc = t.encode(text, special);
        if (!enc) {
            check(!enc.error().message.empty());
            continue;
        }
        check(enc->ids.size() == enc->tokens.size() && enc->ids.size() == enc->offsets.size() &&
              enc->ids.size() == enc->special.size());
        for (size_t i = 0; i < enc->ids.size(); ++i) {
            check(enc->ids[i] >= 0);
            check(enc->offsets[i].first <= enc->offsets[i].second && enc->offsets[i].second <= text.size());
            (void)t.displayToken(enc->ids[i]);
        }
        (void)t.decode(enc->ids);
        (void)t.decode(enc->ids, /*skipSpecialTokens=*/true, /*cleanup=*/true);
    }
    return 0;
}
