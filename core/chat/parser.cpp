// The statements of a template (its tags: if, for, set, macro, call, filter,
// with) and parseTemplate; the expressions are in parser_expressions.cpp.

#include "chat/parser_impl.h"

namespace tokenlens::chat::detail {

Body Parser::subparse(const std::vector<std::string>& endTags, std::string& found) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
        const Token& t = cur();
        switch (t.type) {
        case TokenType::Data: {
            auto n = make<Node>(t);
            n->kind = NodeKind::Data;
            n->text = t.text;
            body.push_back(std::move(n));
            advance();
            break;
        }
        case TokenType::VarBegin: {
            auto n = make<Node>(t);
            n->kind = NodeKind::Output;
            advance();
            n->expr = parseTuple(true, false);
            if (cur().type != TokenType::VarEnd) unexpected("end of print statement '}}'");
            advance();
            body.push_back(std::move(n));
            break;
        }
        case TokenType::BlockBegin: {
            advance();
            if (cur().type != TokenType::Name) unexpected("a statement name");
            const std::string name = cur().text;
            if (std::find(endTags.begin(), endTags.end(), name) != endTags.end()) {
                found = name;
                advance();
                return body;
            }
            body.push_back(parseStatement());
            break;
        }
        case TokenType::Eof:
            if (!endTags.empty()) {
                std::string list;
                for (const auto& e : endTags) list += (list.empty() ? "'" : " or '") + e + "'";
                syntaxError("unexpected end of template, expected " + list);
            }
            return body;
        default: unexpected("template data or a tag");
        }
    }
}

Body Parser::bodyUntil(const std::string& endTag) {
    std::string found;
    return subparse({endTag}, found);
}

Body Parser::callableBody(const std::string& endTag) {
    const int loops = m_loopDepth;
    m_loopDepth = 0;
    Body body = bodyUntil(endTag);
    m_loopDepth = loops;
    return body;
}

NodePtr Parser::startNode(NodeKind kind) {
    auto n = make<Node>(cur());
    n->kind = kind;
    advance();
    return n;
}

NodePtr Parser::parseStatement() {
    const Token tag = cur();
    const std::string& name = tag.text;
    if (name == "if") return parseIf();
    if (name == "for") return parseFor();
    if (name == "set") return parseSet();
    if (name == "macro") return parseMacro();
    if (name == "call") return parseCallBlock();
    if (name == "filter") return parseFilterBlock();
    if (name == "with" || name == "generation") return parseWith();
    if (name == "break" || name == "continue") {
        if (m_loopDepth == 0) fail(FailureKind::Syntax, quoted(name) + " outside of a loop", tag.line, tag.column);
        auto n = make<Node>(tag);
        n->kind = name == "break" ? NodeKind::Break : NodeKind::Continue;
        advance();
        expectBlockEnd();
        return n;
    }
    static const char* unsupported[] = {"include", "import", "from", "extends", "block", "do", "autoescape",
                                        "trans", "pluralize", "debug"};
    for (const char* u : unsupported) {
        if (name == u) fail(FailureKind::Unsupported, "unsupported tag '" + name + "'", tag.line, tag.column);
    }
    fail(FailureKind::Unsupported, "unknown tag '" + name + "'", tag.line, tag.column);
}

NodePtr Parser::parseIf() {
    auto n = startNode(NodeKind::If);
    while (true) {
        ExprPtr cond = parseTuple(false, false);
        expectBlockEnd();
        std::string found;
        Body body = subparse({"elif", "else", "endif"}, found);
        n->branches.emplace_back(std::move(cond), std::move(body));
        if (found == "elif") continue;
        if (found == "else") {
            expectBlockEnd();
            n->elseBody = subparse({"endif"}, found);
        }
        expectBlockEnd();
        return n;
    }
}

void Parser::parseTargets(Node& n) {
    const bool parens = skipOp("(");
    n.targets.push_back(expectName());
    while (skipOp(",")) {
        n.targetIsTuple = true;
        if (cur().type != TokenType::Name) break;
        n.targets.push_back(expectName());
    }
    if (parens) {
        n.targetIsTuple = true;
        expectOp(")");
    }
}

NodePtr Parser::parseFor() {
    auto n = startNode(NodeKind::For);
    parseTargets(*n);
    if (!skipName("in")) unexpected("'in'");
    n->expr = parseTuple(false, false);
    if (skipName("if")) n->filter = parseExpression(true);
    if (skipName("recursive")) n->recursive = true;
    expectBlockEnd();
    ++m_loopDepth;
    std::string found;
    n->body = subparse({"endfor", "else"}, found);
    --m_loopDepth;
    if (found == "else") {
        expectBlockEnd();
        n->elseBody = subparse({"endfor"}, found);
    }
    expectBlockEnd();
    return n;
}

NodePtr Parser::parseSet() {
    auto n = startNode(NodeKind::Set); // or SetBlock, below
    if (cur().type == TokenType::Name && peek().type == TokenType::Op && peek().text == ".") {
        n->attrTarget = expectName();
        advance();
        n->text = expectName();
    } else {
        parseTargets(*n);
    }
    if (skipOp("=")) {
        n->kind = NodeKind::Set;
        n->expr = parseTuple(true, false);
        expectBlockEnd();
        return n;
    }
    if (!n->attrTarget.empty() || n->targets.size() != 1) unexpected("'='");
    n->kind = NodeKind::SetBlock;
    while (skipOp("|")) n->filters.push_back(parseFilter(nullptr));
    expectBlockEnd();
    n->body = bodyUntil("endset");
    expectBlockEnd();
    return n;
}

void Parser::parseParams(std::vector<Param>& params) {
    expectOp("(");
    commaList(")", [&] {
        Param p;
        p.name = expectName();
        if (skipOp("=")) p.defaultValue = parseExpression(true);
        params.push_back(std::move(p));
    });
}

NodePtr Parser::parseMacro() {
    auto n = startNode(NodeKind::Macro);
    n->text = expectName();
    parseParams(n->params);
    expectBlockEnd();
    n->body = callableBody("endmacro");
    if (cur().type == TokenType::Name && cur().text == n->text) advance();
    expectBlockEnd();
    return n;
}

NodePtr Parser::parseCallBlock() {
    auto n = startNode(NodeKind::CallBlock);
    if (isOp("(")) parseParams(n->params);
    n->expr = parseExpression(true);
    if (n->expr->kind != ExprKind::Call) {
        fail(FailureKind::Syntax, "expected a call after 'call'", n->expr->line, n->expr->column);
    }
    expectBlockEnd();
    n->body = callableBody("endcall");
    expectBlockEnd();
    return n;
}

NodePtr Parser::parseFilterBlock() {
    auto n = startNode(NodeKind::FilterBlock);
    n->filters.push_back(parseFilter(nullptr));
    while (skipOp("|")) n->filters.push_back(parseFilter(nullptr));
    expectBlockEnd();
    n->body = bodyUntil("endfilter");
    expectBlockEnd();
    return n;
}

NodePtr Parser::parseWith() {
    const std::string end = "end" + cur().text;
    auto n = startNode(NodeKind::With);
    while (cur().type != TokenType::BlockEnd) {
        if (!n->assignments.empty()) expectOp(",");
        std::string target = expectName();
        expectOp("=");
        n->assignments.emplace_back(std::move(target), parseExpression(true));
    }
    expectBlockEnd();
    n->body = bodyUntil(end);
    expectBlockEnd();
    return n;
}

std::unique_ptr<Program> parseTemplate(std::vector<Token> tokens) { return Parser(std::move(tokens)).run(); }

} // namespace tokenlens::chat::detail
