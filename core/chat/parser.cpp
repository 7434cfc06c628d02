#include "chat/parser.h"

#include "chat/builtins.h"
#include "chat/error.h"

#include <algorithm>

namespace tokenlens::chat::detail {
namespace {

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : m_tokens(std::move(tokens)) {}

    std::unique_ptr<Program> run() {
        auto program = std::make_unique<Program>();
        std::string found;
        program->body = subparse({}, found);
        return program;
    }

private:
    struct DepthGuard {
        explicit DepthGuard(Parser& p) : parser(p) {
            if (++parser.m_depth > kMaxParseDepth) {
                const Token& t = parser.cur();
                fail(FailureKind::Limit, "template nested deeper than " + std::to_string(kMaxParseDepth) + " levels",
                     t.line, t.column);
            }
        }
        ~DepthGuard() { --parser.m_depth; }
        Parser& parser;
    };

    const Token& cur() const { return m_tokens[m_pos]; }
    const Token& peek(size_t ahead = 1) const { return m_tokens[std::min(m_pos + ahead, m_tokens.size() - 1)]; }
    void advance() {
        if (m_pos + 1 < m_tokens.size()) ++m_pos;
    }

    bool isOp(const char* op) const { return cur().type == TokenType::Op && cur().text == op; }
    bool isName(const char* name) const { return cur().type == TokenType::Name && cur().text == name; }
    bool skipOp(const char* op) {
        if (!isOp(op)) return false;
        advance();
        return true;
    }
    bool skipName(const char* name) {
        if (!isName(name)) return false;
        advance();
        return true;
    }

    static std::string describe(const Token& t) {
        switch (t.type) {
        case TokenType::Data: return "template data";
        case TokenType::VarBegin: return "'{{'";
        case TokenType::VarEnd: return "'}}'";
        case TokenType::BlockBegin: return "'{%'";
        case TokenType::BlockEnd: return "'%}'";
        case TokenType::String: return "string";
        case TokenType::Int:
        case TokenType::Float: return "number " + t.text;
        case TokenType::Eof: return "end of template";
        default: return quoted(t.text);
        }
    }

    [[noreturn]] void syntaxError(const std::string& message) const {
        fail(FailureKind::Syntax, message, cur().line, cur().column);
    }
    [[noreturn]] void unexpected(const std::string& expected) const {
        syntaxError("expected " + expected + ", got " + describe(cur()));
    }

    void expectOp(const char* op) {
        if (!skipOp(op)) unexpected(std::string("'") + op + "'");
    }
    void expectBlockEnd() {
        if (cur().type != TokenType::BlockEnd) unexpected("end of statement '%}'");
        advance();
    }
    std::string expectName() {
        if (cur().type != TokenType::Name) unexpected("a name");
        std::string n = cur().text;
        advance();
        return n;
    }

    template <class T>
    std::unique_ptr<T> make(const Token& at) {
        auto p = std::make_unique<T>();
        p->line = at.line;
        p->column = at.column;
        return p;
    }
    ExprPtr makeExpr(ExprKind kind, const Token& at) {
        auto e = make<Expr>(at);
        e->kind = kind;
        return e;
    }

    // ---- statements ----

    Body subparse(const std::vector<std::string>& endTags, std::string& found) {
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

    NodePtr parseStatement() {
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

    NodePtr parseIf() {
        auto n = make<Node>(cur());
        n->kind = NodeKind::If;
        advance();
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

    void parseTargets(Node& n) {
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

    NodePtr parseFor() {
        auto n = make<Node>(cur());
        n->kind = NodeKind::For;
        advance();
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

    NodePtr parseSet() {
        auto n = make<Node>(cur());
        advance();
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
        std::string found;
        n->body = subparse({"endset"}, found);
        expectBlockEnd();
        return n;
    }

    void parseParams(std::vector<Param>& params) {
        expectOp("(");
        while (!isOp(")")) {
            if (!params.empty()) expectOp(",");
            if (isOp(")")) break;
            Param p;
            p.name = expectName();
            if (skipOp("=")) p.defaultValue = parseExpression(true);
            params.push_back(std::move(p));
        }
        expectOp(")");
    }

    NodePtr parseMacro() {
        auto n = make<Node>(cur());
        n->kind = NodeKind::Macro;
        advance();
        n->text = expectName();
        parseParams(n->params);
        expectBlockEnd();
        const int loops = m_loopDepth;
        m_loopDepth = 0;
        std::string found;
        n->body = subparse({"endmacro"}, found);
        m_loopDepth = loops;
        if (cur().type == TokenType::Name && cur().text == n->text) advance();
        expectBlockEnd();
        return n;
    }

    NodePtr parseCallBlock() {
        auto n = make<Node>(cur());
        n->kind = NodeKind::CallBlock;
        advance();
        if (isOp("(")) parseParams(n->params);
        n->expr = parseExpression(true);
        if (n->expr->kind != ExprKind::Call) {
            fail(FailureKind::Syntax, "expected a call after 'call'", n->expr->line, n->expr->column);
        }
        expectBlockEnd();
        const int loops = m_loopDepth;
        m_loopDepth = 0;
        std::string found;
        n->body = subparse({"endcall"}, found);
        m_loopDepth = loops;
        expectBlockEnd();
        return n;
    }

    NodePtr parseFilterBlock() {
        auto n = make<Node>(cur());
        n->kind = NodeKind::FilterBlock;
        advance();
        n->filters.push_back(parseFilter(nullptr));
        while (skipOp("|")) n->filters.push_back(parseFilter(nullptr));
        expectBlockEnd();
        std::string found;
        n->body = subparse({"endfilter"}, found);
        expectBlockEnd();
        return n;
    }

    NodePtr parseWith() {
        auto n = make<Node>(cur());
        n->kind = NodeKind::With;
        const std::string end = "end" + cur().text;
        advance();
        while (cur().type != TokenType::BlockEnd) {
            if (!n->assignments.empty()) expectOp(",");
            std::string target = expectName();
            expectOp("=");
            n->assignments.emplace_back(std::move(target), parseExpression(true));
        }
        expectBlockEnd();
        std::string found;
        n->body = subparse({end}, found);
        expectBlockEnd();
        return n;
    }

    // ---- expressions ----

    bool tupleEnd() const {
        const Token& t = cur();
        return t.type == TokenType::VarEnd || t.type == TokenType::BlockEnd || t.type == TokenType::Eof ||
               (t.type == TokenType::Op && t.text == ")") || (t.type == TokenType::Name && t.text == "recursive");
    }

    ExprPtr parseTuple(bool withCond, bool explicitParens) {
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

    ExprPtr parseExpression(bool withCond) {
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

    ExprPtr binary(ExprKind kind, const Token& at, ExprPtr a, ExprPtr b, std::string op = {}) {
        auto e = makeExpr(kind, at);
        e->name = std::move(op);
        e->args.push_back(std::move(a));
        e->args.push_back(std::move(b));
        return e;
    }

    ExprPtr parseOr() {
        ExprPtr left = parseAnd();
        while (isName("or")) {
            const Token at = cur();
            advance();
            left = binary(ExprKind::Or, at, std::move(left), parseAnd());
        }
        return left;
    }

    ExprPtr parseAnd() {
        ExprPtr left = parseNot();
        while (isName("and")) {
            const Token at = cur();
            advance();
            left = binary(ExprKind::And, at, std::move(left), parseNot());
        }
        return left;
    }

    ExprPtr parseNot() {
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

    ExprPtr parseCompare() {
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

    ExprPtr parseMath1() {
        ExprPtr left = parseConcat();
        while (isOp("+") || isOp("-")) {
            const Token at = cur();
            advance();
            left = binary(ExprKind::Binary, at, std::move(left), parseConcat(), at.text);
        }
        return left;
    }

    ExprPtr parseConcat() {
        ExprPtr left = parseMath2();
        while (isOp("~")) {
            const Token at = cur();
            advance();
            left = binary(ExprKind::Binary, at, std::move(left), parseMath2(), "~");
        }
        return left;
    }

    ExprPtr parseMath2() {
        ExprPtr left = parsePow();
        while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
            const Token at = cur();
            advance();
            left = binary(ExprKind::Binary, at, std::move(left), parsePow(), at.text);
        }
        return left;
    }

    ExprPtr parsePow() {
        ExprPtr left = parseUnary(true);
        while (isOp("**")) {
            const Token at = cur();
            advance();
            left = binary(ExprKind::Binary, at, std::move(left), parseUnary(true), "**");
        }
        return left;
    }

    ExprPtr parseUnary(bool withFilter) {
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

    ExprPtr parsePrimary() {
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
                while (!isOp("]")) {
                    if (!e->args.empty()) expectOp(",");
                    if (isOp("]")) break;
                    e->args.push_back(parseExpression(true));
                }
                expectOp("]");
                return e;
            }
            if (t.text == "{") {
                advance();
                auto e = makeExpr(ExprKind::Dict, t);
                while (!isOp("}")) {
                    if (!e->args.empty()) expectOp(",");
                    if (isOp("}")) break;
                    e->args.push_back(parseExpression(true));
                    expectOp(":");
                    e->args.push_back(parseExpression(true));
                }
                expectOp("}");
                return e;
            }
            break;
        default: break;
        }
        unexpected("an expression");
    }

    ExprPtr parsePostfix(ExprPtr node) {
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

    ExprPtr parseSubscript(ExprPtr node, const Token& at) {
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

    void parseCallArgs(Expr& e) {
        expectOp("(");
        bool first = true;
        while (!isOp(")")) {
            if (!first) expectOp(",");
            first = false;
            if (isOp(")")) break;
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
        }
        expectOp(")");
    }

    ExprPtr parseCall(ExprPtr callee) {
        auto e = makeExpr(ExprKind::Call, cur());
        e->args.push_back(std::move(callee));
        parseCallArgs(*e);
        return e;
    }

    std::string dottedName() {
        std::string name = expectName();
        while (isOp(".") && peek().type == TokenType::Name) {
            advance();
            name += '.';
            name += expectName();
        }
        return name;
    }

    ExprPtr parseFilter(ExprPtr input) {
        const Token at = cur();
        auto e = makeExpr(ExprKind::Filter, at);
        e->name = dottedName();
        if (!hasFilter(e->name)) fail(FailureKind::Unsupported, "no filter named '" + e->name + "'", at.line, at.column);
        e->args.push_back(std::move(input));
        if (isOp("(")) parseCallArgs(*e);
        return e;
    }

    ExprPtr parseFilterExpr(ExprPtr node) {
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

    std::vector<Token> m_tokens;
    size_t m_pos = 0;
    int m_depth = 0;
    int m_loopDepth = 0;
};

} // namespace

std::unique_ptr<Program> parseTemplate(std::vector<Token> tokens) { return Parser(std::move(tokens)).run(); }

} // namespace tokenlens::chat::detail
