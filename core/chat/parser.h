#pragma once
// Jinja2's grammar over the lexer's tokens. Unknown tags, filters and tests
// fail at parse time (as Jinja2 does when it compiles) naming the construct
// with its line and column; nesting is bounded so that hostile text cannot
// exhaust the stack.

#include "chat/ast.h"
#include "chat/lexer.h"

#include <memory>
#include <vector>

namespace tokenlens::chat::detail {

constexpr int kMaxParseDepth = 200;

// Throws TemplateFailure (Syntax or Unsupported).
std::unique_ptr<Program> parseTemplate(std::vector<Token> tokens);

} // namespace tokenlens::chat::detail
