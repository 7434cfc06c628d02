// Expression evaluation of the Interpreter: Python operators on template
// values, attribute and item lookup as Jinja2's sandbox does it.

#include "chat/builtins.h"
#include "chat/error.h"
#include "chat/interpreter.h"
#include "chat/pystr.h"

#include <cmath>
#include <limits>

namespace tokenlens::chat::detail {
namespace {

int64_t checkedAdd(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) runtimeError("integer result out of range");
    return r;
}
int64_t checkedSub(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_sub_overflow(a, b, &r)) runtimeError("integer result out of range");
    return r;
}
int64_t checkedMul(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) runtimeError("integer result out of range");
    return r;
}

int64_t floorDiv(int64_t a, int64_t b) {
    if (b == 0) runtimeError("integer division or modulo by zero");
    if (a == std::numeric_limits<int64_t>::min() && b == -1) runtimeError("integer result out of range");
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

int64_t floorMod(int64_t a, int64_t b) {
    if (b == 0) runtimeError("integer division or modulo by zero");
    if (b == -1) return 0;
    int64_t m = a % b;
    if (m != 0 && ((m < 0) != (b < 0))) m += b;
    return m;
}

double floatMod(double a, double b) {
    if (b == 0) runtimeError("float modulo");
    double m = std::fmod(a, b);
    if (m != 0 && ((m < 0) != (b < 0))) m += b;
    return m;
}

// "'dict object'", quoted as Jinja2 names types in its messages.
std::string objectTypeRepr(const Value& v) { return quoted(v.isNone() ? std::string("None") : v.typeName() + " object"); }

} // namespace

// printf-style `text % values` as Python's str % (s, r, d, i, f and %%).
std::string percentFormat(Interpreter& in, const std::string& fmt, const Value& values) {
    const std::vector<Value> args =
        values.isList() && values.listRef().tuple ? values.listRef().items : std::vector<Value>{values};
    std::string out;
    size_t next = 0;
    for (size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') {
            out += fmt[i];
            continue;
        }
        if (++i >= fmt.size()) runtimeError("incomplete format");
        std::string spec;
        while (i < fmt.size() && spec.size() < 8 && std::string_view("0123456789.-+ #").find(fmt[i]) != std::string_view::npos)
            spec += fmt[i++];
        if (i >= fmt.size()) runtimeError("incomplete format");
        const char c = fmt[i];
        if (c == '%') {
            out += '%';
            continue;
        }
        if (next >= args.size()) runtimeError("not enough arguments for format string");
        const Value& v = args[next++];
        if (c == 's') {
            out += pyStr(v);
        } else if (c == 'r') {
            out += pyRepr(v);
        } else if (c == 'd' || c == 'i' || c == 'f') {
            if (!v.isNumber()) runtimeError(std::string("%") + c + " format: a real number is required, not " + v.typeName());
            char buf[256];
            std::string f(1, '%');
            f += spec;
            f += c == 'f' ? "f" : "lld";
            if (c == 'f') std::snprintf(buf, sizeof buf, f.c_str(), v.toDouble());
            else std::snprintf(buf, sizeof buf, f.c_str(), static_cast<long long>(v.isFloat() ? std::trunc(v.asFloat()) : static_cast<double>(v.toInt())));
            out += buf;
        } else {
            runtimeError(std::string("unsupported format character '") + c + "'");
        }
        in.checkSize(out.size());
    }
    if (next < args.size() && !(args.size() == 1 && !values.isList())) runtimeError("not all arguments converted during string formatting");
    return out;
}

namespace {

int64_t normaliseIndex(int64_t i, int64_t size, bool& ok) {
    if (i < 0) i += size;
    ok = i >= 0 && i < size;
    return i;
}

} // namespace

CallArgs Interpreter::evalArgs(const Expr& e, size_t firstArg) {
    CallArgs args;
    for (size_t i = firstArg; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i]));
    for (const auto& [k, v] : e.kwargs) args.keywords.emplace_back(k, eval(*v));
    return args;
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
    if (callee.isCallable()) return callee.callable().call(*this, args);
    if (callee.isObject()) {
        const Value* fn = callee.object().attrs.find(std::string("__call__"));
        if (fn && fn->isCallable()) return fn->callable().call(*this, args);
    }
    if (callee.isUndefined()) undefinedError(callee);
    std::string message = "'";
    message += callee.typeName();
    message += "' object is not callable";
    runtimeError(message);
}

Value Interpreter::getAttr(const Value& obj, const std::string& name) {
    if (obj.isUndefined()) undefinedError(obj);
    if (obj.isObject()) {
        if (const Value* v = obj.object().attrs.find(name)) return *v;
        return Value::undefined(quoted(obj.object().typeName + " object") + " has no attribute " + quoted(name));
    }
    Value method = boundMethod(obj, name);
    if (!method.isUndefined()) return method;
    if (obj.isDict()) {
        if (const Value* v = obj.dictRef().find(name)) return *v;
    }
    return Value::undefined(objectTypeRepr(obj) + " has no attribute '" + name + "'");
}

Value Interpreter::getItem(const Value& obj, const Value& key) {
    if (obj.isUndefined()) undefinedError(obj);
    if (obj.isDict()) {
        if (const Value* v = obj.dictRef().find(key)) return *v;
    } else if (obj.isList() && (key.isInt() || key.isBool())) {
        const auto& items = obj.listRef().items;
        bool ok = false;
        const int64_t i = normaliseIndex(key.toInt(), static_cast<int64_t>(items.size()), ok);
        if (ok) return items[static_cast<size_t>(i)];
        return Value::undefined(objectTypeRepr(obj) + " has no element " + pyRepr(key));
    } else if (obj.isString() && (key.isInt() || key.isBool())) {
        const std::u32string u = toU32(obj.str());
        bool ok = false;
        const int64_t i = normaliseIndex(key.toInt(), static_cast<int64_t>(u.size()), ok);
        if (ok) return Value(fromU32(std::u32string_view(&u[static_cast<size_t>(i)], 1)));
        return Value::undefined("'str object' has no element " + pyRepr(key));
    }
    if (key.isString()) {
        if (obj.isObject()) return getAttr(obj, key.str());
        Value method = boundMethod(obj, key.str());
        if (!method.isUndefined()) return method;
    }
    return Value::undefined(objectTypeRepr(obj) + " has no element " + pyRepr(key));
}

Value Interpreter::slice(const Value& obj, const Value& startV, const Value& stopV, const Value& stepV) {
    if (obj.isUndefined()) undefinedError(obj);
    auto bound = [](const Value& v, const char* what) -> std::optional<int64_t> {
        if (v.isNone() || v.isUndefined()) return std::nullopt;
        if (!v.isInt() && !v.isBool()) runtimeError(std::string("slice ") + what + " must be an integer or None");
        return v.toInt();
    };
    const std::optional<int64_t> start = bound(startV, "start"), stop = bound(stopV, "stop");
    const int64_t step = bound(stepV, "step").value_or(1);
    if (step == 0) runtimeError("slice step cannot be zero");
    auto pick = [&](int64_t size, auto&& take) {
        // Python's slice.indices().
        auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
            if (!v) return dflt;
            int64_t x = *v;
            if (x < 0) {
                x += size;
                if (x < 0) x = step < 0 ? -1 : 0;
            } else if (x >= size) {
                x = step < 0 ? size - 1 : size;
            }
            return x;
        };
        const int64_t b = clamp(start, step < 0 ? size - 1 : 0);
        const int64_t e = clamp(stop, step < 0 ? -1 : size);
        for (int64_t i = b; step > 0 ? i < e : i > e;) {
            take(static_cast<size_t>(i));
            if (__builtin_add_overflow(i, step, &i)) break;
        }
    };
    if (obj.isList()) {
        const auto& items = obj.listRef().items;
        std::vector<Value> out;
        pick(static_cast<int64_t>(items.size()), [&](size_t i) { out.push_back(items[i]); });
        return Value::list(std::move(out), obj.listRef().tuple);
    }
    if (obj.isString()) {
        const std::u32string u = toU32(obj.str());
        std::u32string out;
        pick(static_cast<int64_t>(u.size()), [&](size_t i) { out.push_back(u[i]); });
        return Value(fromU32(out));
    }
    return Value::undefined(objectTypeRepr(obj) + " cannot be sliced");
}

Value Interpreter::binary(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") {
        std::string s = pyStr(a) + pyStr(b);
        checkSize(s.size());
        return Value(std::move(s));
    }
    if (a.isUndefined()) undefinedError(a);
    if (b.isUndefined()) undefinedError(b);
    const bool numbers = a.isNumber() && b.isNumber();
    const bool ints = numbers && !a.isFloat() && !b.isFloat();
    if (op == "+") {
        if (ints) return Value(checkedAdd(a.toInt(), b.toInt()));
        if (numbers) return Value(a.toDouble() + b.toDouble());
        if (a.isString() && b.isString()) {
            checkSize(a.str().size() + b.str().size());
            return Value(a.str() + b.str());
        }
        if (a.isList() && b.isList()) {
            std::vector<Value> items = a.listRef().items;
            items.insert(items.end(), b.listRef().items.begin(), b.listRef().items.end());
            countIterations(items.size());
            return Value::list(std::move(items), a.listRef().tuple && b.listRef().tuple);
        }
    } else if (op == "-") {
        if (ints) return Value(checkedSub(a.toInt(), b.toInt()));
        if (numbers) return Value(a.toDouble() - b.toDouble());
    } else if (op == "*") {
        if (ints) return Value(checkedMul(a.toInt(), b.toInt()));
        if (numbers) return Value(a.toDouble() * b.toDouble());
        const Value* seq = a.isString() || a.isList() ? &a : (b.isString() || b.isList()) ? &b : nullptr;
        const Value* count = seq == &a ? &b : &a;
        if (seq && (count->isInt() || count->isBool())) {
            const int64_t n = std::max<int64_t>(0, count->toInt());
            if (seq->isString()) {
                const size_t size = seq->str().size();
                if (size && static_cast<uint64_t>(n) > m_options.limits.maxOutputBytes / size) checkSize(m_options.limits.maxOutputBytes + 1);
                std::string out;
                for (int64_t i = 0; i < n; ++i) out += seq->str();
                return Value(std::move(out));
            }
            const auto& items = seq->listRef().items;
            if (!items.empty()) countIterations(static_cast<uint64_t>(n) * items.size() / items.size() * items.size());
            std::vector<Value> out;
            for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
            return Value::list(std::move(out), seq->listRef().tuple);
        }
    } else if (op == "/") {
        if (numbers) {
            if (b.toDouble() == 0) runtimeError("division by zero");
            return Value(a.toDouble() / b.toDouble());
        }
    } else if (op == "//") {
        if (ints) return Value(floorDiv(a.toInt(), b.toInt()));
        if (numbers) {
            if (b.toDouble() == 0) runtimeError("float floor division by zero");
            return Value(std::floor(a.toDouble() / b.toDouble()));
        }
    } else if (op == "%") {
        if (ints) return Value(floorMod(a.toInt(), b.toInt()));
        if (numbers) return Value(floatMod(a.toDouble(), b.toDouble()));
        if (a.isString()) return Value(percentFormat(*this, a.str(), b));
    } else if (op == "**") {
        if (ints && b.toInt() >= 0) {
            int64_t r = 1;
            const int64_t base = a.toInt();
            if (base == 0 || base == 1) return Value(b.toInt() == 0 ? int64_t{1} : base);
            if (base == -1) return Value(b.toInt() % 2 == 0 ? int64_t{1} : int64_t{-1});
            for (int64_t i = 0; i < b.toInt(); ++i) r = checkedMul(r, base);
            return Value(r);
        }
        if (numbers) return Value(std::pow(a.toDouble(), b.toDouble()));
    }
    runtimeError("unsupported operand type(s) for " + op + ": '" + a.typeName() + "' and '" + b.typeName() + "'");
}

bool Interpreter::compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return pyEquals(a, b);
    if (op == "!=") return !pyEquals(a, b);
    if (op == "in" || op == "notin") {
        bool found = false;
        if (b.isString()) {
            if (a.isUndefined()) undefinedError(a);
            if (!a.isString()) runtimeError("'in <string>' requires string as left operand, not " + a.typeName());
            found = b.str().find(a.str()) != std::string::npos;
        } else if (b.isList()) {
            for (const Value& x : b.listRef().items) found = found || pyEquals(a, x);
        } else if (b.isDict()) {
            found = b.dictRef().find(a) != nullptr;
        } else if (b.isUndefined()) {
            found = false;
        } else {
            runtimeError("argument of type '" + b.typeName() + "' is not iterable");
        }
        return op == "in" ? found : !found;
    }
    if (a.isUndefined()) undefinedError(a);
    if (b.isUndefined()) undefinedError(b);
    if (op == "<") return pyLess(a, b);
    if (op == ">") return pyLess(b, a);
    if (op == "<=") return !pyLess(b, a);
    if (op == ">=") return !pyLess(a, b);
    runtimeError("unknown comparison '" + op + "'");
}

Value Interpreter::eval(const Expr& e) {
    try {
        switch (e.kind) {
        case ExprKind::Const: return e.constant;
        case ExprKind::Name: return lookup(e.name);
        case ExprKind::Attr: return getAttr(eval(*e.args[0]), e.name);
        case ExprKind::Item: return getItem(eval(*e.args[0]), eval(*e.args[1]));
        case ExprKind::Slice: {
            const Value obj = eval(*e.args[0]);
            auto part = [&](size_t i) { return e.args[i] ? eval(*e.args[i]) : Value(None{}); };
            return slice(obj, part(1), part(2), part(3));
        }
        case ExprKind::Call: {
            const Value callee = eval(*e.args[0]);
            CallArgs args = evalArgs(e, 1);
            return call(callee, args);
        }
        case ExprKind::Filter: {
            const Value input = eval(*e.args[0]);
            CallArgs args = evalArgs(e, 1);
            return applyFilter(*this, e.name, input, args);
        }
        case ExprKind::Test: {
            const Value input = eval(*e.args[0]);
            CallArgs args = evalArgs(e, 1);
            const bool r = applyTest(*this, e.name, input, args);
            return Value(e.negated ? !r : r);
        }
        case ExprKind::Neg:
        case ExprKind::Pos: {
            const Value v = eval(*e.args[0]);
            if (v.isUndefined()) undefinedError(v);
            if (!v.isNumber()) runtimeError("bad operand type for unary " + std::string(e.kind == ExprKind::Neg ? "-" : "+") + ": '" + v.typeName() + "'");
            if (e.kind == ExprKind::Pos) return v.isBool() ? Value(v.toInt()) : v;
            if (v.isFloat()) return Value(-v.asFloat());
            return Value(checkedSub(0, v.toInt()));
        }
        case ExprKind::Not: return Value(!eval(*e.args[0]).truthy());
        case ExprKind::Binary: {
            const Value a = eval(*e.args[0]);
            const Value b = eval(*e.args[1]);
            return binary(e.name, a, b);
        }
        case ExprKind::Compare: {
            Value left = eval(*e.args[0]);
            for (size_t i = 0; i < e.ops.size(); ++i) {
                Value right = eval(*e.args[i + 1]);
                if (!compare(e.ops[i], left, right)) return Value(false);
                left = std::move(right);
            }
            return Value(true);
        }
        case ExprKind::And: {
            Value a = eval(*e.args[0]);
            return a.truthy() ? eval(*e.args[1]) : a;
        }
        case ExprKind::Or: {
            Value a = eval(*e.args[0]);
            return a.truthy() ? a : eval(*e.args[1]);
        }
        case ExprKind::Cond:
            if (eval(*e.args[0]).truthy()) return eval(*e.args[1]);
            return e.args[2] ? eval(*e.args[2]) : Value::undefined("the inline if-expression on line " + std::to_string(e.line) + " evaluated to false and no else section was defined.");
        case ExprKind::List:
        case ExprKind::Tuple: {
            std::vector<Value> items;
            for (const auto& a : e.args) items.push_back(eval(*a));
            return Value::list(std::move(items), e.kind == ExprKind::Tuple);
        }
        case ExprKind::Dict: {
            auto d = std::make_shared<Dict>();
            for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
                Value k = eval(*e.args[i]);
                if (k.isList() && !k.listRef().tuple) runtimeError("unhashable type: 'list'");
                if (k.isDict() || k.isUndefined()) runtimeError("unhashable type: '" + k.typeName() + "'");
                d->set(std::move(k), eval(*e.args[i + 1]));
            }
            return Value(d);
        }
        }
    } catch (TemplateFailure& f) {
        f.locate(e.line, e.column);
        throw;
    }
    runtimeError("unknown expression");
}

} // namespace tokenlens::chat::detail
