#include "chat/interpreter.h"

#include "chat/builtins.h"
#include "chat/error.h"
#include "chat/pystr.h"

#include <cmath>
#include <ctime>
#include <limits>

namespace tokenlens::chat::detail {
namespace {

std::shared_ptr<Callable> makeCallable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
    auto c = std::make_shared<Callable>();
    c->name = std::move(name);
    c->call = std::move(fn);
    return c;
}

std::string strftimeFixed(const DateTime& t, const std::string& format) {
    std::tm tm{};
    tm.tm_year = t.year - 1900;
    tm.tm_mon = t.month - 1;
    tm.tm_mday = t.day;
    tm.tm_hour = t.hour;
    tm.tm_min = t.minute;
    tm.tm_sec = t.second;
    tm.tm_isdst = 0;
    const time_t seconds = timegm(&tm); // fills tm_wday / tm_yday
    gmtime_r(&seconds, &tm);
    if (format.empty()) return "";
    std::string buf(format.size() * 8 + 64, '\0');
    const size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &tm);
    if (n == 0) runtimeError("strftime_now: format gives no text or too much text");
    buf.resize(n);
    return buf;
}

// True when `v` holds the object `target` (namespaces are the only mutable
// values, so this is the only way a value could come to contain itself).
bool reaches(const Value& v, const void* target, int depth) {
    if (depth > 64) runtimeError("value nested too deeply");
    if (v.identity() && v.identity() == target) return true;
    if (v.isCallable()) return true; // a bound method or macro may hold anything
    if (v.isList()) {
        for (const Value& x : v.listRef().items) {
            if (reaches(x, target, depth + 1)) return true;
        }
    } else if (v.isDict()) {
        for (const auto& [k, x] : v.dictRef().items) {
            if (reaches(x, target, depth + 1)) return true;
        }
    } else if (v.isObject()) {
        for (const auto& [k, x] : v.object().attrs.items) {
            if (reaches(x, target, depth + 1)) return true;
        }
    }
    return false;
}

} // namespace

Interpreter::Interpreter(const Program& program, const RenderOptions& options) : m_program(program), m_options(options) {
    m_globals["raise_exception"] = Value(makeCallable("raise_exception", [](Interpreter&, CallArgs& a) -> Value {
        const Value* m = argument(a, 0, "message");
        fail(FailureKind::Raised, m ? pyStr(*m) : std::string());
    }));
    m_globals["strftime_now"] = Value(makeCallable("strftime_now", [](Interpreter& in, CallArgs& a) -> Value {
        const Value* f = argument(a, 0, "format");
        if (!f || !f->isString()) runtimeError("strftime_now() needs a format string");
        return Value(strftimeFixed(in.options().now, f->str()));
    }));
    m_globals["range"] = Value(makeCallable("range", [](Interpreter& in, CallArgs& a) -> Value {
        if (a.positional.empty() || a.positional.size() > 3) runtimeError("range expected 1 to 3 arguments");
        for (const Value& v : a.positional) {
            if (!v.isInt() && !v.isBool()) runtimeError("range() arguments must be integers, not " + v.typeName());
        }
        int64_t start = 0, stop = 0, step = 1;
        if (a.positional.size() == 1) stop = a.positional[0].toInt();
        else {
            start = a.positional[0].toInt();
            stop = a.positional[1].toInt();
            if (a.positional.size() == 3) step = a.positional[2].toInt();
        }
        if (step == 0) runtimeError("range() arg 3 must not be zero");
        std::vector<Value> items;
        for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
            in.countIterations();
            items.emplace_back(i);
            if (__builtin_add_overflow(i, step, &i)) break;
        }
        return Value::list(std::move(items));
    }));
    m_globals["namespace"] = Value(makeCallable("namespace", [](Interpreter&, CallArgs& a) -> Value {
        auto o = std::make_shared<Object>();
        o->typeName = "Namespace";
        for (const Value& p : a.positional) {
            if (!p.isDict()) runtimeError("namespace() positional argument must be a dict");
            for (const auto& [k, v] : p.dictRef().items) o->attrs.set(k, v);
        }
        for (auto& [k, v] : a.keywords) o->attrs.set(Value(k), v);
        return Value(o);
    }));
    m_globals["dict"] = Value(makeCallable("dict", [](Interpreter&, CallArgs& a) -> Value {
        auto d = std::make_shared<Dict>();
        for (const Value& p : a.positional) {
            if (!p.isDict()) runtimeError("dict() positional argument must be a dict");
            for (const auto& [k, v] : p.dictRef().items) d->set(k, v);
        }
        for (auto& [k, v] : a.keywords) d->set(Value(k), v);
        return Value(d);
    }));
}

std::string Interpreter::render(const Value& variables) {
    m_scope = std::make_shared<Scope>();
    if (variables.isDict()) {
        for (const auto& [k, v] : variables.dictRef().items) {
            if (k.isString()) m_scope->vars[k.str()] = v;
        }
    }
    std::string out;
    m_out = &out;
    execBody(m_program.body);
    m_out = nullptr;
    m_scope.reset();
    return out;
}

void Interpreter::countIterations(uint64_t n) {
    m_iterations += n;
    if (m_iterations > m_options.limits.maxLoopIterations) {
        fail(FailureKind::Limit,
             "more than " + std::to_string(m_options.limits.maxLoopIterations) + " loop iterations");
    }
}

void Interpreter::checkSize(size_t bytes) const {
    if (bytes > m_options.limits.maxOutputBytes) {
        fail(FailureKind::Limit, "text longer than " + std::to_string(m_options.limits.maxOutputBytes) + " bytes");
    }
}

void Interpreter::write(const std::string& s) {
    checkSize(m_out->size() + s.size());
    m_out->append(s);
}

[[noreturn]] void Interpreter::undefinedError(const Value& undefined) const {
    const std::string& hint = undefined.undefinedHint();
    runtimeError(hint.empty() ? "value is undefined" : hint);
}

Value Interpreter::lookup(const std::string& name) const {
    for (const Scope* s = m_scope.get(); s; s = s->parent.get()) {
        auto it = s->vars.find(name);
        if (it != s->vars.end()) return it->second;
    }
    auto g = m_globals.find(name);
    if (g != m_globals.end()) return g->second;
    return Value::undefined(quoted(name) + " is undefined");
}

void Interpreter::setVar(const std::string& name, Value v) { m_scope->vars[name] = std::move(v); }

// ---- statements ----

Interpreter::Flow Interpreter::execBody(const Body& body) {
    for (const auto& n : body) {
        const Flow f = exec(*n);
        if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
}

Interpreter::Flow Interpreter::exec(const Node& n) {
    try {
        switch (n.kind) {
        case NodeKind::Data: write(n.text); return Flow::Normal;
        case NodeKind::Output: {
            const Value v = eval(*n.expr);
            if (!v.isUndefined()) write(pyStr(v));
            return Flow::Normal;
        }
        case NodeKind::If:
            for (const auto& [cond, body] : n.branches) {
                if (eval(*cond).truthy()) return execBody(body);
            }
            return execBody(n.elseBody);
        case NodeKind::For: return execFor(n);
        case NodeKind::Set:
            if (!n.attrTarget.empty()) {
                const Value target = lookup(n.attrTarget);
                if (!target.isObject() || target.object().typeName != "Namespace")
                    runtimeError("cannot assign attribute on non-namespace object");
                Value v = eval(*n.expr);
                if (reaches(v, target.identity(), 0)) runtimeError("cannot store a namespace inside itself, or a function in a namespace");
                target.object().attrs.set(Value(n.text), std::move(v));
            } else {
                assign(n, eval(*n.expr));
            }
            return Flow::Normal;
        case NodeKind::SetBlock: {
            Value v(captureBody(n.body, m_scope));
            for (const auto& f : n.filters) {
                CallArgs args = evalArgs(*f, 1);
                v = applyFilter(*this, f->name, v, args);
            }
            setVar(n.targets.front(), std::move(v));
            return Flow::Normal;
        }
        case NodeKind::FilterBlock: {
            auto scope = std::make_shared<Scope>();
            scope->parent = m_scope;
            Value v(captureBody(n.body, scope));
            for (const auto& f : n.filters) {
                CallArgs args = evalArgs(*f, 1);
                v = applyFilter(*this, f->name, v, args);
            }
            write(pyStr(v));
            return Flow::Normal;
        }
        case NodeKind::With: {
            auto scope = std::make_shared<Scope>();
            scope->parent = m_scope;
            for (const auto& [name, expr] : n.assignments) scope->vars[name] = eval(*expr);
            auto saved = m_scope;
            m_scope = scope;
            Flow f = Flow::Normal;
            try {
                f = execBody(n.body);
            } catch (...) {
                m_scope = saved;
                throw;
            }
            m_scope = saved;
            return f;
        }
        case NodeKind::Macro: setVar(n.text, makeMacro(n, n.text)); return Flow::Normal;
        case NodeKind::CallBlock: {
            const Value caller = makeMacro(n, "caller");
            const Expr& callExpr = *n.expr;
            const Value callee = eval(*callExpr.args[0]);
            CallArgs args = evalArgs(callExpr, 1);
            args.keywords.emplace_back("caller", caller);
            write(pyStr(call(callee, args)));
            return Flow::Normal;
        }
        case NodeKind::Break: return Flow::Break;
        case NodeKind::Continue: return Flow::Continue;
        }
    } catch (TemplateFailure& f) {
        f.locate(n.line, n.column);
        throw;
    }
    return Flow::Normal;
}

void Interpreter::assign(const Node& n, const Value& value) {
    if (n.targets.size() == 1 && !n.targetIsTuple) {
        setVar(n.targets.front(), value);
        return;
    }
    const std::vector<Value> items = iterate(value);
    if (items.size() != n.targets.size()) {
        runtimeError("cannot unpack " + std::to_string(items.size()) + " values into " +
                     std::to_string(n.targets.size()) + " names");
    }
    for (size_t i = 0; i < items.size(); ++i) setVar(n.targets[i], items[i]);
}

std::string Interpreter::captureBody(const Body& body, std::shared_ptr<Scope> scope) {
    std::string buffer;
    std::string* savedOut = m_out;
    auto savedScope = m_scope;
    m_out = &buffer;
    m_scope = std::move(scope);
    try {
        execBody(body);
    } catch (...) {
        m_out = savedOut;
        m_scope = savedScope;
        throw;
    }
    m_out = savedOut;
    m_scope = savedScope;
    return buffer;
}

Interpreter::Flow Interpreter::execFor(const Node& n) {
    const Value iterable = eval(*n.expr);
    Flow flow = Flow::Normal;
    execLoop(n, iterable, 0, flow);
    return Flow::Normal;
}

void Interpreter::execLoop(const Node& n, const Value& iterable, int depth, Flow& flow) {
    if (iterable.isNone() || iterable.isNumber() || iterable.isCallable() || iterable.isObject())
        runtimeError(quoted(iterable.typeName()) + " object is not iterable");
    std::vector<Value> items = iterate(iterable);
    auto loopScope = std::make_shared<Scope>();
    loopScope->parent = m_scope;
    auto saved = m_scope;
    if (n.filter) {
        // `for x in xs if cond`: the condition sees the loop target, not `loop`.
        std::vector<Value> kept;
        m_scope = loopScope;
        try {
            for (const Value& item : items) {
                countIterations();
                assign(n, item);
                if (eval(*n.filter).truthy()) kept.push_back(item);
            }
        } catch (...) {
            m_scope = saved;
            throw;
        }
        m_scope = saved;
        items = std::move(kept);
    }
    const int64_t length = static_cast<int64_t>(items.size());
    if (items.empty()) {
        m_scope = loopScope;
        try {
            execBody(n.elseBody);
        } catch (...) {
            m_scope = saved;
            throw;
        }
        m_scope = saved;
        return;
    }
    auto changedLast = std::make_shared<std::optional<std::string>>();
    for (int64_t i = 0; i < length; ++i) {
        countIterations();
        // A fresh scope per iteration, as Jinja2 has: a `set` in the body is
        // seen neither by the next iteration nor after the loop.
        auto scope = std::make_shared<Scope>();
        scope->parent = saved;
        auto loop = std::make_shared<Object>();
        loop->typeName = "LoopContext";
        Dict& a = loop->attrs;
        a.items.reserve(14);
        a.items.emplace_back(Value("index"), Value(i + 1));
        a.items.emplace_back(Value("index0"), Value(i));
        a.items.emplace_back(Value("revindex"), Value(length - i));
        a.items.emplace_back(Value("revindex0"), Value(length - i - 1));
        a.items.emplace_back(Value("first"), Value(i == 0));
        a.items.emplace_back(Value("last"), Value(i == length - 1));
        a.items.emplace_back(Value("length"), Value(length));
        a.items.emplace_back(Value("depth"), Value(static_cast<int64_t>(depth + 1)));
        a.items.emplace_back(Value("depth0"), Value(static_cast<int64_t>(depth)));
        a.items.emplace_back(Value("previtem"), i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item"));
        a.items.emplace_back(Value("nextitem"), i + 1 < length ? items[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item"));
        a.items.emplace_back(Value("cycle"), Value(makeCallable("cycle", [i](Interpreter&, CallArgs& args) -> Value {
            if (args.positional.empty()) runtimeError("no items for cycling given");
            return args.positional[static_cast<size_t>(i) % args.positional.size()];
        })));
        a.items.emplace_back(Value("changed"), Value(makeCallable("changed", [changedLast](Interpreter&, CallArgs& args) -> Value {
            // Kept as text (not values) so that no value can hold itself through it.
            std::string now = pyRepr(Value::list(args.positional));
            if (*changedLast && **changedLast == now) return Value(false);
            *changedLast = std::move(now);
            return Value(true);
        })));
        if (n.recursive) {
            const Node* node = &n;
            a.items.emplace_back(Value("__call__"), Value(makeCallable("loop", [node, depth](Interpreter& in, CallArgs& args) -> Value {
                if (args.positional.size() != 1) runtimeError("loop() takes exactly one argument");
                return in.callLoop(*node, args.positional[0], depth + 1);
            })));
        }
        scope->vars["loop"] = Value(loop);
        m_scope = scope;
        Flow f = Flow::Normal;
        try {
            assign(n, items[static_cast<size_t>(i)]);
            f = execBody(n.body);
        } catch (...) {
            m_scope = saved;
            throw;
        }
        m_scope = saved;
        if (f == Flow::Break) break;
    }
    flow = Flow::Normal;
}

Value Interpreter::callLoop(const Node& n, const Value& iterable, int depth) {
    if (m_callDepth >= m_options.limits.maxCallDepth) {
        fail(FailureKind::Limit, "recursive loop calls nested deeper than " + std::to_string(m_options.limits.maxCallDepth));
    }
    std::string buffer;
    std::string* savedOut = m_out;
    auto savedScope = m_scope;
    m_out = &buffer;
    ++m_callDepth;
    Flow flow = Flow::Normal;
    try {
        execLoop(n, iterable, depth, flow);
    } catch (...) {
        m_out = savedOut;
        m_scope = savedScope;
        --m_callDepth;
        throw;
    }
    m_out = savedOut;
    m_scope = savedScope;
    --m_callDepth;
    return Value(std::move(buffer));
}

Value Interpreter::makeMacro(const Node& n, const std::string& name) {
    const Node* node = &n;
    std::weak_ptr<Scope> closure = m_scope;
    return Value(makeCallable(name, [node, closure](Interpreter& in, CallArgs& args) -> Value {
        Value caller;
        for (auto it = args.keywords.begin(); it != args.keywords.end(); ++it) {
            if (it->first == "caller") {
                caller = it->second;
                args.keywords.erase(it);
                break;
            }
        }
        return in.callMacro(*node, closure, args, caller);
    }));
}

Value Interpreter::callMacro(const Node& n, const std::weak_ptr<Scope>& closure, CallArgs& args, const Value& caller) {
    auto parent = closure.lock();
    if (!parent) runtimeError("macro called after its scope ended");
    if (m_callDepth >= m_options.limits.maxCallDepth) {
        fail(FailureKind::Limit, "macro calls nested deeper than " + std::to_string(m_options.limits.maxCallDepth));
    }
    auto scope = std::make_shared<Scope>();
    scope->parent = parent;
    std::vector<Value> varargs;
    for (size_t i = 0; i < args.positional.size(); ++i) {
        if (i < n.params.size()) scope->vars[n.params[i].name] = args.positional[i];
        else varargs.push_back(args.positional[i]);
    }
    auto kwargs = std::make_shared<Dict>();
    for (auto& [k, v] : args.keywords) {
        bool isParam = false;
        for (const auto& p : n.params) isParam = isParam || p.name == k;
        if (isParam) scope->vars[k] = v;
        else kwargs->set(Value(k), v);
    }
    scope->vars["varargs"] = Value::list(std::move(varargs));
    scope->vars["kwargs"] = Value(kwargs);
    if (!caller.isUndefined()) scope->vars["caller"] = caller;
    ++m_callDepth;
    auto savedScope = m_scope;
    m_scope = scope;
    try {
        for (const auto& p : n.params) {
            if (scope->vars.count(p.name)) continue;
            scope->vars[p.name] = p.defaultValue ? eval(*p.defaultValue)
                                                 : Value::undefined("parameter '" + p.name + "' was not provided");
        }
    } catch (...) {
        m_scope = savedScope;
        --m_callDepth;
        throw;
    }
    m_scope = savedScope;
    std::string result;
    try {
        result = captureBody(n.body, scope);
    } catch (...) {
        --m_callDepth;
        throw;
    }
    --m_callDepth;
    return Value(std::move(result));
}

} // namespace tokenlens::chat::detail
