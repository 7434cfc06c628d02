// The expressions of a template, by precedence: conditional, or, and, not,
// comparisons, + -, ~, * / // %, **, unary signs, then primaries with their
// attributes, subscripts, calls, filters and tests.

#include "chat/parser_impl.h"

#include "chat/builtins.h"

namespace tokenlens::chat::detail {

bool Parser::tupleEnd() const {
    const Token& t = cur();
    return t.type == TokenType::VarEnd || t.type == TokenType::BlockEnd || t.type == TokenType::Eof ||
           (t.type == TokenType::Op && t.text == ")") || (t.type == TokenType::Name && t.text == "recursive");
}

ExprPtr Parser::parseTuple(bool withCond, bool explicitParens) {
    const Token start = cur();
    std::vector<ExprPtr> items;
    bool isTuple = false;
    while (true) {
        if (!items.empty()) {
            if (!skipOp(",")) break;
            isTuple = true;
        }
        if (tupleEnd()) break;
        items.push_back(parseExpression(withCond));
    }
    if (!isTuple && items.size() == 1) return std::move(items.front());
    if (items.empty() && !explicitParens) unexpected("an expression");
    auto t = makeExpr(ExprKind::Tuple, start);
    t->args = std::move(items);
    return t;
}

ExprPtr Parser::parseExpression(bool withCond) {
    DepthGuard guard(*this);
    if (!withCond) return parseOr();
    ExprPtr expr = parseOr();
    while (isName("if")) {
        const Token at = cur();
        advance();
        auto c = makeExpr(ExprKind::Cond, at);
        ExprPtr test = parseOr();
        ExprPtr otherwise = skipName("else") ? parseExpression(true) : nullptr;
        c->args.push_back(std::move(test));
        c->args.push_back(std::move(expr));
        c->args.push_back(std::move(otherwise));
        expr = std::move(c);
    }
    return expr;
}

ExprPtr Parser::binary(ExprKind kind, const Token& at, ExprPtr a, ExprPtr b, std::string op) {
    auto e = makeExpr(kind, at);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
}

// One level of left-associative operators: operands joined by any of `ops`
// (names such as "or", else operator tokens), each step a `kind` node
// (Binary ones record their operator).
template <class Operand>
ExprPtr Parser::leftAssoc(std::initializer_list<const char*> ops, bool names, ExprKind kind, Operand operand) {
    ExprPtr left = operand();
    while (std::any_of(ops.begin(), ops.end(), [&](const char* op) { return names ? isName(op) : isOp(op); })) {
        const Token at = cur();
        advance();
        left = binary(kind, at, std::move(left), operand(), kind == ExprKind::Binary ? at.text : std::string());
    }
    return left;
}

ExprPtr Parser::parseOr() { return leftAssoc({"or"}, true, ExprKind::Or, [this] { return parseAnd(); }); }

ExprPtr Parser::parseAnd() { return leftAssoc({"and"}, true, ExprKind::And, [this] { return parseNot(); }); }

ExprPtr Parser::parseNot() {
    if (isName("not")) {
        DepthGuard guard(*this);
        const Token at = cur();
        advance();
        auto e = makeExpr(ExprKind::Not, at);
        e->args.push_back(parseNot());
        return e;
    }
    return parseCompare();
}

ExprPtr Parser::parseCompare() {
    const Token start = cur();
    ExprPtr first = parseMath1();
    std::unique_ptr<Expr> cmp;
    while (true) {
        std::string op;
        const Token& t = cur();
        if (t.type == TokenType::Op &&
            (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
            op = t.text;
            advance();
        } else if (isName("in")) {
            op = "in";
            advance();
        } else if (isName("not") && peek().type == TokenType::Name && peek().text == "in") {
            op = "notin";
            advance();
            advance();
        } else {
            break;
        }
        if (!cmp) {
            cmp = makeExpr(ExprKind::Compare, start);
            cmp->args.push_back(std::move(first));
        }
        cmp->ops.push_back(op);
        cmp->args.push_back(parseMath1());
    }
    return cmp ? std::move(cmp) : std::move(first);
}

ExprPtr Parser::parseMath1() {
    return leftAssoc({"+", "-"}, false, ExprKind::Binary, [this] { return parseConcat(); });
}

ExprPtr Parser::parseConcat() {
    return leftAssoc({"~"}, false, ExprKind::Binary, [this] { return parseMath2(); });
}

ExprPtr Parser::parseMath2() {
    return leftAssoc({"*", "/", "//", "%"}, false, ExprKind::Binary, [this] { return parsePow(); });
}

ExprPtr Parser::parsePow() {
    return leftAssoc({"**"}, false, ExprKind::Binary, [this] { return parseUnary(true); });
}

ExprPtr Parser::parseUnary(bool withFilter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (isOp("-") || isOp("+")) {
        const Token at = cur();
        advance();
        node = makeExpr(at.text == "-" ? ExprKind::Neg : ExprKind::Pos, at);
        node->args.push_back(parseUnary(false));
    } else {
        node = parsePrimary();
    }
    node = parsePostfix(std::move(node));
    if (withFilter) node = parseFilterExpr(std::move(node));
    return node;
}

ExprPtr Parser::parsePrimary() {
    const Token t = cur();
    switch (t.type) {
    case TokenType::Name: {
        advance();
        if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
            auto e = makeExpr(ExprKind::Const, t);
            e->constant = Value(t.text == "true" || t.text == "True");
            return e;
        }
        if (t.text == "none" || t.text == "None") {
            auto e = makeExpr(ExprKind::Const, t);
            e->constant = Value(None{});
            return e;
        }
        auto e = makeExpr(ExprKind::Name, t);
        e->name = t.text;
        return e;
    }
    case TokenType::String: {
        std::string s;
        while (cur().type == TokenType::String) {
            s += cur().text;
            advance();
        }
        auto e = makeExpr(ExprKind::Const, t);
        e->constant = Value(std::move(s));
        return e;
    }
    case TokenType::Int:
    case TokenType::Float: {
        advance();
        auto e = makeExpr(ExprKind::Const, t);
        e->constant = t.type == TokenType::Int ? Value(t.intValue) : Value(t.floatValue);
        return e;
    }
    case TokenType::Op:
        if (t.text == "(") {
            advance();
            ExprPtr e = parseTuple(true, true);
            expectOp(")");
            return e;
        }
        if (t.text == "[") {
            advance();
            auto e = makeExpr(ExprKind::List, t);
            commaList("]", [&] { e->args.push_back(parseExpression(true)); });
            return e;
        }
        if (t.text == "{") {
            advance();
            auto e = makeExpr(ExprKind::Dict, t);
            commaList("}", [&] {
                e->args.push_back(parseExpression(true));
                expectOp(":");
                e->args.push_back(parseExpression(true));
            });
            return e;
        }
        break;
    default: break;
    }
    unexpected("an expression");
}

ExprPtr Parser::parsePostfix(ExprPtr node) {
    while (true) {
        const Token at = cur();
        if (isOp(".")) {
            advance();
            if (cur().type == TokenType::Name) {
                auto e = makeExpr(ExprKind::Attr, at);
                e->name = cur().text;
                advance();
                e->args.push_back(std::move(node));
                node = std::move(e);
            } else if (cur().type == TokenType::Int) {
                auto e = makeExpr(ExprKind::Item, at);
                auto index = makeExpr(ExprKind::Const, cur());
                index->constant = Value(cur().intValue);
                advance();
                e->args.push_back(std::move(node));
                e->args.push_back(std::move(index));
                node = std::move(e);
            } else {
                unexpected("an attribute name");
            }
        } else if (isOp("[")) {
            advance();
            node = parseSubscript(std::move(node), at);
        } else if (isOp("(")) {
            node = parseCall(std::move(node));
        } else {
            return node;
        }
    }
}

ExprPtr Parser::parseSubscript(ExprPtr node, const Token& at) {
    ExprPtr parts[3];
    bool slice = false;
    if (!isOp(":")) parts[0] = parseExpression(true);
    if (skipOp(":")) {
        slice = true;
        if (!isOp("]") && !isOp(":")) parts[1] = parseExpression(true);
        if (skipOp(":")) {
            if (!isOp("]")) parts[2] = parseExpression(true);
        }
    }
    expectOp("]");
    auto e = makeExpr(slice ? ExprKind::Slice : ExprKind::Item, at);
    e->args.push_back(std::move(node));
    e->args.push_back(std::move(parts[0]));
    if (slice) {
        e->args.push_back(std::move(parts[1]));
        e->args.push_back(std::move(parts[2]));
    }
    return e;
}

void Parser::parseCallArgs(Expr& e) {
    expectOp("(");
    commaList(")", [&] {
        if (isOp("*") || isOp("**")) {
            fail(FailureKind::Unsupported, "unsupported call syntax '" + cur().text + "args'", cur().line, cur().column);
        }
        if (cur().type == TokenType::Name && peek().type == TokenType::Op && peek().text == "=") {
            std::string key = cur().text;
            advance();
            advance();
            e.kwargs.emplace_back(std::move(key), parseExpression(true));
        } else {
            if (!e.kwargs.empty()) syntaxError("positional argument after keyword argument");
            e.args.push_back(parseExpression(true));
        }
    });
}

ExprPtr Parser::parseCall(ExprPtr callee) {
    auto e = makeExpr(ExprKind::Call, cur());
    e->args.push_back(std::move(callee));
    parseCallArgs(*e);
    return e;
}

std::string Parser::dottedName() {
    std::string name = expectName();
    while (isOp(".") && peek().type == TokenType::Name) {
        advance();
        name += '.';
        name += expectName();
    }
    return name;
}

ExprPtr Parser::parseFilter(ExprPtr input) {
    const Token at = cur();
    auto e = makeExpr(ExprKind::Filter, at);
    e->name = dottedName();
    if (!hasFilter(e->name)) fail(FailureKind::Unsupported, "no filter named '" + e->name + "'", at.line, at.column);
    e->args.push_back(std::move(input));
    if (isOp("(")) parseCallArgs(*e);
    return e;
}

ExprPtr Parser::parseFilterExpr(ExprPtr node) {
    while (true) {
        if (skipOp("|")) {
            node = parseFilter(std::move(node));
        } else if (isName("is")) {
            advance();
            const Token at = cur();
            auto e = makeExpr(ExprKind::Test, at);
            e->negated = skipName("not");
            const Token nameToken = cur();
            e->name = dottedName();
            if (!hasTest(e->name)) {
                fail(FailureKind::Unsupported, "no test named '" + e->name + "'", nameToken.line, nameToken.column);
            }
            e->args.push_back(std::move(node));
            const Token& t = cur();
            if (isOp("(")) {
                parseCallArgs(*e);
            } else if ((t.type == TokenType::Name || t.type == TokenType::String || t.type == TokenType::Int ||
                        t.type == TokenType::Float || isOp("[") || isOp("{")) &&
                       !isName("else") && !isName("or") && !isName("and")) {
                if (isName("is")) syntaxError("you cannot chain multiple tests with 'is'");
                e->args.push_back(parsePostfix(parsePrimary()));
            }
            node = std::move(e);
        } else if (isOp("(")) {
            node = parseCall(std::move(node));
        } else {
            return node;
        }
    }
}

} // namespace tokenlens::chat::detail
