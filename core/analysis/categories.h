#pragma once
// Linguistic categories of tokens (seed §4.5; docs/aggregations.md,
// "Categories"). Categories are assigned per word of the text, so every
// sub-token of a word gets the word's category, plus user-defined categories
// from a word list or a regular expression. Attribution mass per category.

#include "analysis/alignment.h"
#include "util/result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenlens::analysis {

// The built-in categories: every token has exactly one of them.
enum class Category : int {
    Punctuation = 0,
    Number,
    Whitespace, // spaces, tabs, newlines only
    Special,    // special / inserted tokens (BOS, <|endoftext|>, …)
    FunctionWord,
    Capitalised, // a word starting with an upper-case letter, not a function word
    Content,     // any other word
};
inline constexpr int kBuiltinCategories = 7;
const char* categoryName(Category c); // "punctuation", "number", …

// True for the closed-class English function words (articles, pronouns,
// prepositions, conjunctions, auxiliaries, determiners, particles), compared
// case-insensitively on ASCII.
bool isFunctionWord(std::string_view word);

// A word of the text: a maximal run of word characters (ASCII letters, digits,
// '_', and every byte ≥ 0x80, i.e. any non-ASCII character, with an apostrophe
// or a '.' / ',' between two word characters kept inside: "don't", "3.14"),
// a maximal run of whitespace, or a maximal run of the remaining (punctuation)
// characters.
struct Word {
    Span span;
    Category category = Category::Content;
};
// Words of `text` in order, covering it completely. Category of a word:
// whitespace run → Whitespace; punctuation run → Punctuation; a word whose
// characters are all digits, '.' or ',' → Number; a function word →
// FunctionWord; a first character in 'A'..'Z' → Capitalised; else Content.
std::vector<Word> splitWords(std::string_view text);

// A user-defined category: a word matches when it equals one of `words`
// (ASCII case-insensitive) or, when `pattern` is set, the whole word matches
// the ECMAScript regular expression.
struct UserCategory {
    std::string name;
    std::vector<std::string> words;
    std::string pattern; // empty: none
};

// Categories of the tokens of one text.
struct TokenCategories {
    std::vector<Category> builtin;            // one per token
    std::vector<std::vector<bool>> user;      // per user category, one flag per token
    std::vector<std::string> userNames;
    // Word index (into splitWords(text)) each token belongs to, -1 for none.
    std::vector<int64_t> word;
};

// Assigns categories to tokens given their spans in `text` (Encoding::offsets,
// or locateTokens for stored results) and special flags (may be empty: none
// special). A special token, or one with an empty span, is Special. Otherwise
// the token takes the category of the first non-whitespace word its span
// overlaps (" cat" → the word "cat"), Whitespace when its span is whitespace
// only; user categories likewise by that word. A word spanning several tokens
// gives all of them its category. Errors: a span outside the text, spans and
// special flags of different lengths (Mismatch); a user category without a
// name or with an invalid regular expression (InvalidArgument, the message
// names the category and the pattern).
Result<TokenCategories> categorize(std::string_view text, const std::vector<Span>& spans,
                                   const std::vector<bool>& special = {},
                                   const std::vector<UserCategory>& userCategories = {});

// Attribution mass per category: mass[c] = Σ_{tokens k in c} |v_k| over finite
// v_k (negative attributions count by magnitude, like gini/entropy), share[c] =
// mass[c] / Σ_k |v_k| (NaN when that total is 0). Built-in categories first
// (kBuiltinCategories entries, shares summing to 1), then the user categories
// (tokens may be in several, so their shares need not sum to anything).
// values.size() must equal the number of tokens (Mismatch otherwise).
struct CategoryMass {
    std::vector<std::string> names;
    std::vector<double> mass, share;
    std::vector<int64_t> tokens; // tokens in the category with a finite value
};
Result<CategoryMass> categoryMass(const TokenCategories& categories, const std::vector<double>& values);

} // namespace tokenlens::analysis
