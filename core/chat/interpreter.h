#pragma once
// Walks a parsed template: statements write to the current output buffer,
// expressions evaluate to values. Scopes follow Jinja2: a for-loop iteration,
// a macro call and a with-block get their own scope; if-blocks do not.

#include "chat/ast.h"
#include "chat/template.h"
#include "chat/value.h"

#include <memory>
#include <string>
#include <unordered_map>

namespace tokenlens::chat::detail {

struct Scope {
    std::unordered_map<std::string, Value> vars;
    std::shared_ptr<Scope> parent;
};

class Interpreter {
public:
    Interpreter(const Program& program, const RenderOptions& options);

    std::string render(const Value& variables);

    Value eval(const Expr& e);
    Value call(const Value& callee, CallArgs& args);

    // Bounds, checked by loops, builtins and string builders.
    void countIterations(uint64_t n = 1);
    void checkSize(size_t bytes) const;
    const RenderOptions& options() const { return m_options; }

    Value getAttr(const Value& obj, const std::string& name);
    Value getItem(const Value& obj, const Value& key);
    [[noreturn]] void undefinedError(const Value& undefined) const;
    // `loop(items)` inside a `for ... recursive` body: the body over items, one level deeper.
    Value callLoop(const Node& n, const Value& iterable, int depth);

private:
    enum class Flow { Normal, Break, Continue };

    Flow execBody(const Body& body);
    Flow exec(const Node& n);
    Flow execFor(const Node& n);
    void execLoop(const Node& n, const Value& iterable, int depth, Flow& flow);
    void assign(const Node& n, const Value& value);
    std::string captureBody(const Body& body, std::shared_ptr<Scope> scope);
    Value makeMacro(const Node& n, const std::string& name);
    Value callMacro(const Node& n, const std::weak_ptr<Scope>& closure, CallArgs& args, const Value& caller);

    Value lookup(const std::string& name) const;
    void setVar(const std::string& name, Value v);
    Value binary(const std::string& op, const Value& a, const Value& b);
    bool compare(const std::string& op, const Value& a, const Value& b);
    Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
    CallArgs evalArgs(const Expr& e, size_t firstArg);
    void write(const std::string& s);

    const Program& m_program;
    RenderOptions m_options;
    std::shared_ptr<Scope> m_scope;
    std::unordered_map<std::string, Value> m_globals;
    std::string* m_out = nullptr;
    uint64_t m_iterations = 0;
    int m_callDepth = 0;
};

} // namespace tokenlens::chat::detail
