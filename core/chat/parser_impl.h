#pragma once
// The parser of parser.h (private to core/chat): a recursive descent over
// the lexer's tokens. Statements (tags) are parsed in parser.cpp,
// expressions in parser_expressions.cpp.

#include "chat/parser.h"

#include "chat/error.h"

#include <algorithm>
#include <initializer_list>
#include <string>

namespace tokenlens::chat::detail {

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
    // Items read by `item`, separated by commas, up to and including the
    // `close` token (a trailing comma allowed).
    template <class Item>
    void commaList(const char* close, Item item) {
        for (bool first = true; !isOp(close); first = false) {
            if (!first) expectOp(",");
            if (isOp(close)) break;
            item();
        }
        expectOp(close);
    }

    // Statements (parser.cpp).
    Body subparse(const std::vector<std::string>& endTags, std::string& found);
    NodePtr startNode(NodeKind kind); // a node at the current token (a tag's name), consumed
    Body bodyUntil(const std::string& endTag); // the body up to that tag (its '%}' left)
    Body callableBody(const std::string& endTag); // the same outside any loop (macros, call blocks)
    NodePtr parseStatement();
    NodePtr parseIf();
    void parseTargets(Node& n);
    NodePtr parseFor();
    NodePtr parseSet();
    void parseParams(std::vector<Param>& params);
    NodePtr parseMacro();
    NodePtr parseCallBlock();
    NodePtr parseFilterBlock();
    NodePtr parseWith();

    // Expressions (parser_expressions.cpp).
    bool tupleEnd() const;
    ExprPtr parseTuple(bool withCond, bool explicitParens);
    ExprPtr parseExpression(bool withCond);
    ExprPtr binary(ExprKind kind, const Token& at, ExprPtr a, ExprPtr b, std::string op = {});
    template <class Operand>
    ExprPtr leftAssoc(std::initializer_list<const char*> ops, bool names, ExprKind kind, Operand operand);
    ExprPtr parseOr();
    ExprPtr parseAnd();
    ExprPtr parseNot();
    ExprPtr parseCompare();
    ExprPtr parseMath1();
    ExprPtr parseConcat();
    ExprPtr parseMath2();
    ExprPtr parsePow();
    ExprPtr parseUnary(bool withFilter);
    ExprPtr parsePrimary();
    ExprPtr parsePostfix(ExprPtr node);
    ExprPtr parseSubscript(ExprPtr node, const Token& at);
    void parseCallArgs(Expr& e);
    ExprPtr parseCall(ExprPtr callee);
    std::string dottedName();
    ExprPtr parseFilter(ExprPtr input);
    ExprPtr parseFilterExpr(ExprPtr node);

    std::vector<Token> m_tokens;
    size_t m_pos = 0;
    int m_depth = 0;
    int m_loopDepth = 0;
};

} // namespace tokenlens::chat::detail
