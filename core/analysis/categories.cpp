#include "analysis/categories.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <regex>
#include <unordered_set>

namespace tokenlens::analysis {

const char* categoryName(Category c) {
    switch (c) {
    case Category::Punctuation: return "punctuation";
    case Category::Number: return "number";
    case Category::Whitespace: return "whitespace";
    case Category::Special: return "special";
    case Category::FunctionWord: return "function word";
    case Category::Capitalised: return "capitalised";
    case Category::Content: return "content word";
    }
    return "?";
}

namespace {

std::string lowerAscii(std::string_view s) {
    std::string out(s);
    for (char& ch : out)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return out;
}

const std::unordered_set<std::string>& functionWords() {
    static const std::unordered_set<std::string> words = {
        // articles and determiners
        "a", "an", "the", "this", "that", "these", "those", "some", "any", "no", "every", "each", "either",
        "neither", "all", "both", "few", "many", "much", "more", "most", "less", "least", "several", "such",
        "what", "which", "whose", "whatever", "whichever", "another", "other",
        // pronouns
        "i", "me", "my", "mine", "myself", "you", "your", "yours", "yourself", "yourselves", "he", "him", "his",
        "himself", "she", "her", "hers", "herself", "it", "its", "itself", "we", "us", "our", "ours",
        "ourselves", "they", "them", "their", "theirs", "themselves", "who", "whom", "one", "oneself",
        "someone", "something", "anyone", "anything", "everyone", "everything", "nobody", "nothing",
        // prepositions
        "about", "above", "across", "after", "against", "along", "among", "around", "as", "at", "before",
        "behind", "below", "beneath", "beside", "between", "beyond", "by", "despite", "down", "during",
        "except", "for", "from", "in", "inside", "into", "like", "near", "of", "off", "on", "onto", "out",
        "outside", "over", "past", "since", "through", "throughout", "till", "to", "toward", "towards",
        "under", "underneath", "until", "up", "upon", "via", "with", "within", "without",
        // conjunctions
        "and", "or", "but", "nor", "so", "yet", "because", "although", "though", "if", "unless", "while",
        "whereas", "whether", "than", "when", "where", "once", "then",
        // auxiliaries and modals
        "be", "am", "is", "are", "was", "were", "been", "being", "have", "has", "had", "having", "do", "does",
        "did", "doing", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "ought",
        // particles, negation, wh-adverbs, contractions
        "not", "n't", "how", "why", "there", "here", "very", "too", "also", "just", "only", "'s", "'re",
        "'ve", "'ll", "'d", "'m", "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't",
        "can't", "won't", "i'm", "it's", "that's",
    };
    return words;
}

bool isSpace(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool isWordChar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}
enum class Kind { Space, Word, Punct };
Kind kindOf(unsigned char c) {
    return isSpace(c) ? Kind::Space : isWordChar(c) ? Kind::Word : Kind::Punct;
}

Category wordCategory(std::string_view w) {
    bool number = true;
    for (unsigned char c : w)
        if (!((c >= '0' && c <= '9') || c == '.' || c == ',')) number = false;
    if (number) return Category::Number;
    if (isFunctionWord(w)) return Category::FunctionWord;
    if (w.front() >= 'A' && w.front() <= 'Z') return Category::Capitalised;
    return Category::Content;
}

} // namespace

bool isFunctionWord(std::string_view word) {
    return functionWords().count(lowerAscii(word)) > 0;
}

std::vector<Word> splitWords(std::string_view text) {
    std::vector<Word> words;
    const size_t n = text.size();
    auto u = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    size_t i = 0;
    while (i < n) {
        const Kind k = kindOf(u(i));
        size_t j = i + 1;
        while (j < n) {
            const Kind kj = kindOf(u(j));
            if (kj == k) {
                ++j;
                continue;
            }
            // "don't", "3.14", "1,000": one inner apostrophe / '.' / ',' between word characters.
            if (k == Kind::Word && (text[j] == '\'' || text[j] == '.' || text[j] == ',') && j + 1 < n &&
                kindOf(u(j + 1)) == Kind::Word) {
                const bool digits = (u(j - 1) >= '0' && u(j - 1) <= '9') && (u(j + 1) >= '0' && u(j + 1) <= '9');
                if (text[j] == '\'' || digits) {
                    j += 2;
                    continue;
                }
            }
            break;
        }
        Word w;
        w.span = {static_cast<int64_t>(i), static_cast<int64_t>(j)};
        w.category = k == Kind::Space ? Category::Whitespace
                     : k == Kind::Punct ? Category::Punctuation
                                        : wordCategory(text.substr(i, j - i));
        words.push_back(w);
        i = j;
    }
    return words;
}

Result<TokenCategories> categorize(std::string_view text, const std::vector<Span>& spans,
                                   const std::vector<bool>& special,
                                   const std::vector<UserCategory>& userCategories) {
    if (!special.empty() && special.size() != spans.size())
        return makeError(ErrorCode::Mismatch, "categorize: " + std::to_string(spans.size()) + " spans but " +
                                                  std::to_string(special.size()) + " special flags");
    const auto textSize = static_cast<int64_t>(text.size());
    for (size_t k = 0; k < spans.size(); ++k)
        if (spans[k].begin < 0 || spans[k].end > textSize || spans[k].begin > spans[k].end)
            return makeError(ErrorCode::Mismatch, "categorize: span of token " + std::to_string(k) + " [" +
                                                      std::to_string(spans[k].begin) + ", " +
                                                      std::to_string(spans[k].end) + ") is outside the text of " +
                                                      std::to_string(textSize) + " bytes");
    struct Matcher {
        std::unordered_set<std::string> words;
        std::optional<std::regex> re;
    };
    std::vector<Matcher> matchers;
    TokenCategories out;
    for (const UserCategory& uc : userCategories) {
        if (uc.name.empty()) return makeError(ErrorCode::InvalidArgument, "categorize: a user category has no name");
        Matcher m;
        for (const std::string& w : uc.words) m.words.insert(lowerAscii(w));
        if (!uc.pattern.empty()) {
            try {
                m.re.emplace(uc.pattern, std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                return makeError(ErrorCode::InvalidArgument, "category \"" + uc.name +
                                                                 "\": invalid regular expression \"" + uc.pattern +
                                                                 "\": " + e.what());
            }
        }
        matchers.push_back(std::move(m));
        out.userNames.push_back(uc.name);
    }
    const std::vector<Word> words = splitWords(text);
    // Per word: which user categories it is in.
    std::vector<std::vector<bool>> wordUser(matchers.size(), std::vector<bool>(words.size(), false));
    for (size_t w = 0; w < words.size(); ++w) {
        if (words[w].category == Category::Whitespace) continue;
        const std::string s(text.substr(static_cast<size_t>(words[w].span.begin),
                                        static_cast<size_t>(words[w].span.end - words[w].span.begin)));
        for (size_t c = 0; c < matchers.size(); ++c) {
            bool hit = matchers[c].words.count(lowerAscii(s)) > 0;
            if (!hit && matchers[c].re) {
                try {
                    hit = std::regex_match(s, *matchers[c].re);
                } catch (const std::regex_error&) {
                    hit = false; // complexity limit: no match
                }
            }
            wordUser[c][w] = hit;
        }
    }
    out.builtin.assign(spans.size(), Category::Special);
    out.word.assign(spans.size(), -1);
    out.user.assign(matchers.size(), std::vector<bool>(spans.size(), false));
    for (size_t k = 0; k < spans.size(); ++k) {
        const Span s = spans[k];
        if ((!special.empty() && special[k]) || s.empty()) continue;
        // First word ending after the span's start (words are in text order).
        const size_t w = static_cast<size_t>(
            std::partition_point(words.begin(), words.end(), [&](const Word& x) { return x.span.end <= s.begin; }) -
            words.begin());
        int64_t chosen = -1, firstOverlap = -1;
        for (size_t q = w; q < words.size() && words[q].span.begin < s.end; ++q) {
            if (firstOverlap < 0) firstOverlap = static_cast<int64_t>(q);
            if (words[q].category != Category::Whitespace) {
                chosen = static_cast<int64_t>(q);
                break;
            }
        }
        if (chosen < 0) chosen = firstOverlap;
        if (chosen < 0) continue;
        out.word[k] = chosen;
        out.builtin[k] = words[static_cast<size_t>(chosen)].category;
        for (size_t c = 0; c < matchers.size(); ++c) out.user[c][k] = wordUser[c][static_cast<size_t>(chosen)];
    }
    return out;
}

Result<CategoryMass> categoryMass(const TokenCategories& categories, const std::vector<double>& values) {
    if (values.size() != categories.builtin.size())
        return makeError(ErrorCode::Mismatch, "categoryMass: " + std::to_string(values.size()) + " values for " +
                                                  std::to_string(categories.builtin.size()) + " tokens");
    const size_t nc = kBuiltinCategories + categories.user.size();
    CategoryMass m;
    m.mass.assign(nc, 0.0);
    m.share.assign(nc, NAN);
    m.tokens.assign(nc, 0);
    for (int c = 0; c < kBuiltinCategories; ++c) m.names.emplace_back(categoryName(static_cast<Category>(c)));
    for (const std::string& n : categories.userNames) m.names.push_back(n);
    double total = 0.0;
    for (size_t k = 0; k < values.size(); ++k) {
        if (!std::isfinite(values[k])) continue;
        const double a = std::fabs(values[k]);
        total += a;
        const auto b = static_cast<size_t>(categories.builtin[k]);
        m.mass[b] += a;
        ++m.tokens[b];
        for (size_t c = 0; c < categories.user.size(); ++c)
            if (categories.user[c][k]) {
                m.mass[kBuiltinCategories + c] += a;
                ++m.tokens[kBuiltinCategories + c];
            }
    }
    if (total > 0)
        for (size_t c = 0; c < nc; ++c) m.share[c] = m.mass[c] / total;
    return m;
}

} // namespace tokenlens::analysis
