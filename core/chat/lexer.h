#pragma once
// Splits template text into data and the tokens inside {{ }} and {% %}, with
// Jinja2's whitespace rules as transformers configures them: trim_blocks
// (the newline after a block or comment tag is dropped), lstrip_blocks
// (spaces and tabs before a block or comment tag on its own line are
// dropped), '-' / '+' markers, {% raw %}, comments, newlines normalised to
// "\n" and one trailing newline of the text dropped.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenlens::chat::detail {

enum class TokenType { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
    TokenType type = TokenType::Eof;
    std::string text; // data, name, operator, decoded string literal
    int64_t intValue = 0;
    double floatValue = 0;
    int line = 1;
    int column = 1;
};

// Throws TemplateFailure (Syntax) naming line and column.
std::vector<Token> lexTemplate(std::string_view source);

} // namespace tokenlens::chat::detail
