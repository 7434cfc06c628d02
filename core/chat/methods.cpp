// The Python str / dict / list methods a template may call (`s.strip()`,
// `d.items()`); mutating methods fail as in Jinja2's immutable sandbox.

#include "chat/builtins.h"
#include "chat/error.h"
#include "chat/interpreter.h"
#include "chat/pystr.h"

#include <algorithm>

namespace tokenlens::chat::detail {
namespace {

using Method = Value (*)(Interpreter&, const Value& self, CallArgs&);

std::optional<std::string> charsArg(CallArgs& a) {
    const Value* v = argument(a, 0, "chars");
    if (!v || v->isNone()) return std::nullopt;
    if (!v->isString()) runtimeError("strip arg must be None or str");
    return v->str();
}

std::optional<std::string> sepArg(CallArgs& a) {
    const Value* v = argument(a, 0, "sep");
    if (!v || v->isNone()) return std::nullopt;
    if (!v->isString()) runtimeError("must be str or None, not " + v->typeName());
    if (v->str().empty()) runtimeError("empty separator");
    return v->str();
}

Value strings(std::vector<std::string> parts) {
    std::vector<Value> out;
    out.reserve(parts.size());
    for (auto& p : parts) out.emplace_back(std::move(p));
    return Value::list(std::move(out));
}

bool affix(const Value& self, CallArgs& a, bool prefix) {
    const Value* v = argument(a, 0, prefix ? "prefix" : "suffix");
    if (!v) runtimeError(std::string(prefix ? "startswith" : "endswith") + "() takes at least 1 argument");
    std::vector<Value> options = v->isList() && v->listRef().tuple ? v->listRef().items : std::vector<Value>{*v};
    const std::string& s = self.str();
    for (const Value& o : options) {
        if (!o.isString()) runtimeError("startswith / endswith arg must be str or a tuple of str, not " + o.typeName());
        const std::string& t = o.str();
        if (t.size() <= s.size() && (prefix ? s.compare(0, t.size(), t) == 0 : s.compare(s.size() - t.size(), t.size(), t) == 0))
            return true;
    }
    return false;
}

template <class Pred>
bool allChars(const std::string& s, Pred pred) {
    if (s.empty()) return false;
    const std::u32string u = toU32(s);
    return std::all_of(u.begin(), u.end(), pred);
}

std::string pad(const std::string& s, int64_t width, bool left, bool right) {
    const int64_t len = static_cast<int64_t>(codePointCount(s));
    if (width <= len) return s;
    const size_t total = static_cast<size_t>(std::min<int64_t>(width - len, 1 << 20));
    if (left && right) {
        const size_t l = total / 2 + (total & static_cast<size_t>(width) & 1);
        return std::string(l, ' ') + s + std::string(total - l, ' ');
    }
    return left ? std::string(total, ' ') + s : s + std::string(total, ' ');
}

// str.format with "{}", "{0}", "{name}" fields (no format specs) and "{{" / "}}".
std::string strFormat(Interpreter& in, const std::string& fmt, CallArgs& a) {
    std::string out;
    size_t autoIndex = 0;
    for (size_t i = 0; i < fmt.size(); ++i) {
        const char c = fmt[i];
        if (c == '}' ) {
            if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
            else runtimeError("Single '}' encountered in format string");
            out += '}';
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        const size_t end = fmt.find('}', i);
        if (end == std::string::npos) runtimeError("Single '{' encountered in format string");
        const std::string field = fmt.substr(i + 1, end - i - 1);
        if (field.find_first_of(":!.[") != std::string::npos) {
            fail(FailureKind::Unsupported, "str.format field '{" + field + "}' (format specs and conversions are not supported)");
        }
        const Value* v = nullptr;
        if (field.empty()) {
            if (autoIndex >= a.positional.size()) runtimeError("Replacement index " + std::to_string(autoIndex) + " out of range");
            v = &a.positional[autoIndex++];
        } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
            const size_t idx = field.size() < 9 ? std::stoul(field) : a.positional.size();
            if (idx >= a.positional.size()) runtimeError("Replacement index " + field + " out of range");
            v = &a.positional[idx];
        } else {
            for (auto& [k, x] : a.keywords) {
                if (k == field) v = &x;
            }
            if (!v) runtimeError("KeyError: '" + field + "'");
        }
        out += pyStr(*v);
        in.checkSize(out.size());
        i = end;
    }
    return out;
}

const std::map<std::string, Method>& stringMethods() {
    static const std::map<std::string, Method> table = {
        {"capitalize", [](Interpreter&, const Value& s, CallArgs&) -> Value { return Value(pyCapitalize(s.str())); }},
        {"center", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(pad(s.str(), intArgument(a, 0, "width", 0), true, true)); }},
        {"count", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(pyCount(s.str(), stringArgument(a, 0, "sub", ""))); }},
        {"endswith", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(affix(s, a, false)); }},
        {"find", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(pyFind(s.str(), stringArgument(a, 0, "sub", ""), false)); }},
        {"format", [](Interpreter& in, const Value& s, CallArgs& a) -> Value { return Value(strFormat(in, s.str(), a)); }},
        {"isalnum", [](Interpreter&, const Value& s, CallArgs&) -> Value { return Value(allChars(s.str(), [](char32_t c) { return pyIsAlpha(c) || pyIsDigit(c); })); }},
        {"isalpha", [](Interpreter&, const Value& s, CallArgs&) -> Value { return Value(allChars(s.str(), pyIsAlpha)); }},
        {"isdigit", [](Interpreter&, const Value& s, CallArgs&) -> Value { return Value(allChars(s.str(), pyIsDigit)); }},
        {"islower", [](Interpreter&, const Value& s, CallArgs&) -> Value {
             const std::u32string u = toU32(s.str());
             return Value(std::none_of(u.begin(), u.end(), pyIsUpper) && std::any_of(u.begin(), u.end(), pyIsLower));
         }},
        {"isspace", [](Interpreter&, const Value& s, CallArgs&) -> Value { return Value(allChars(s.str(), pyIsSpace)); }},
        {"isupper", [](Interpreter&, const Value& s, CallArgs&) -> Value {
             const std::u32string u = toU32(s.str());
             return Value(std::none_of(u.begin(), u.end(), pyIsLower) && std::any_of(u.begin(), u.end(), pyIsUpper));
         }},
        {"join", [](Interpreter& in, const Value& s, CallArgs& a) -> Value {
             const Value* items = argument(a, 0, "iterable");
             if (!items) runtimeError("join() takes exactly one argument");
             std::string out;
             bool first = true;
             for (const Value& x : iterate(*items)) {
                 if (!x.isString()) runtimeError("sequence item: expected str instance, " + x.typeName() + " found");
                 if (!first) out += s.str();
                 first = false;
                 out += x.str();
                 in.checkSize(out.size());
             }
             return Value(std::move(out));
         }},
        {"ljust", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(pad(s.str(), intArgument(a, 0, "width", 0), false, true)); }},
        {"lower", [](Interpreter&, const Value& s, CallArgs&) -> Value { return Value(pyLowerStr(s.str())); }},
        {"lstrip", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(pyStrip(s.str(), charsArg(a), StripSide::Left)); }},
        {"removeprefix", [](Interpreter&, const Value& s, CallArgs& a) -> Value {
             const std::string p = stringArgument(a, 0, "prefix", "");
             return Value(s.str().compare(0, p.size(), p) == 0 ? s.str().substr(p.size()) : s.str());
         }},
        {"removesuffix", [](Interpreter&, const Value& s, CallArgs& a) -> Value {
             const std::string p = stringArgument(a, 0, "suffix", "");
             const std::string& t = s.str();
             return Value(!p.empty() && p.size() <= t.size() && t.compare(t.size() - p.size(), p.size(), p) == 0 ? t.substr(0, t.size() - p.size()) : t);
         }},
        {"replace", [](Interpreter& in, const Value& s, CallArgs& a) -> Value {
             std::string out = pyReplace(s.str(), stringArgument(a, 0, "old", ""), stringArgument(a, 1, "new", ""), intArgument(a, 2, "count", -1));
             in.checkSize(out.size());
             return Value(std::move(out));
         }},
        {"rfind", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(pyFind(s.str(), stringArgument(a, 0, "sub", ""), true)); }},
        {"rjust", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(pad(s.str(), intArgument(a, 0, "width", 0), true, false)); }},
        {"rsplit", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return strings(pyRSplit(s.str(), sepArg(a), intArgument(a, 1, "maxsplit", -1))); }},
        {"rstrip", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(pyStrip(s.str(), charsArg(a), StripSide::Right)); }},
        {"split", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return strings(pySplit(s.str(), sepArg(a), intArgument(a, 1, "maxsplit", -1))); }},
        {"splitlines", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return strings(pySplitLines(s.str(), boolArgument(a, 0, "keepends", false))); }},
        {"startswith", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(affix(s, a, true)); }},
        {"strip", [](Interpreter&, const Value& s, CallArgs& a) -> Value { return Value(pyStrip(s.str(), charsArg(a), StripSide::Both)); }},
        {"title", [](Interpreter&, const Value& s, CallArgs&) -> Value { return Value(pyTitleMethod(s.str())); }},
        {"upper", [](Interpreter&, const Value& s, CallArgs&) -> Value { return Value(pyUpperStr(s.str())); }},
        {"zfill", [](Interpreter&, const Value& s, CallArgs& a) -> Value {
             const std::string& t = s.str();
             const int64_t width = intArgument(a, 0, "width", 0);
             const int64_t len = static_cast<int64_t>(codePointCount(t));
             if (width <= len) return Value(t);
             const size_t fill = static_cast<size_t>(std::min<int64_t>(width - len, 1 << 20));
             const bool sign = !t.empty() && (t[0] == '+' || t[0] == '-');
             return Value(sign ? t.substr(0, 1) + std::string(fill, '0') + t.substr(1) : std::string(fill, '0') + t);
         }},
    };
    return table;
}

const std::map<std::string, Method>& dictMethods() {
    static const std::map<std::string, Method> table = {
        {"copy", [](Interpreter&, const Value& d, CallArgs&) -> Value { return Value(std::make_shared<Dict>(d.dictRef())); }},
        {"get", [](Interpreter&, const Value& d, CallArgs& a) -> Value {
             const Value* key = argument(a, 0, "key");
             if (!key) runtimeError("get expected at least 1 argument, got 0");
             if (const Value* v = d.dictRef().find(*key)) return *v;
             const Value* dflt = argument(a, 1, "default");
             return dflt ? *dflt : Value(None{});
         }},
        {"items", [](Interpreter&, const Value& d, CallArgs&) -> Value {
             std::vector<Value> out;
             for (const auto& [k, v] : d.dictRef().items) out.push_back(Value::list({k, v}, true));
             return Value::list(std::move(out));
         }},
        {"keys", [](Interpreter&, const Value& d, CallArgs&) -> Value { return Value::list(iterate(d)); }},
        {"values", [](Interpreter&, const Value& d, CallArgs&) -> Value {
             std::vector<Value> out;
             for (const auto& [k, v] : d.dictRef().items) out.push_back(v);
             return Value::list(std::move(out));
         }},
    };
    return table;
}

const std::map<std::string, Method>& listMethods() {
    static const std::map<std::string, Method> table = {
        {"count", [](Interpreter&, const Value& l, CallArgs& a) -> Value {
             const Value* x = argument(a, 0, "value");
             if (!x) runtimeError("count() takes exactly one argument");
             int64_t n = 0;
             for (const Value& v : l.listRef().items) n += pyEquals(v, *x) ? 1 : 0;
             return Value(n);
         }},
        {"index", [](Interpreter&, const Value& l, CallArgs& a) -> Value {
             const Value* x = argument(a, 0, "value");
             if (!x) runtimeError("index() takes at least 1 argument");
             const auto& items = l.listRef().items;
             for (size_t i = 0; i < items.size(); ++i) {
                 if (pyEquals(items[i], *x)) return Value(static_cast<int64_t>(i));
             }
             runtimeError(pyRepr(*x) + " is not in list");
         }},
    };
    return table;
}

bool isMutating(const Value& obj, const std::string& name) {
    static const char* listNames[] = {"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"};
    static const char* dictNames[] = {"clear", "pop", "popitem", "setdefault", "update"};
    if (obj.isList() && !obj.listRef().tuple) {
        for (const char* n : listNames) {
            if (name == n) return true;
        }
    }
    if (obj.isDict()) {
        for (const char* n : dictNames) {
            if (name == n) return true;
        }
    }
    return false;
}

} // namespace

Value boundMethod(const Value& obj, const std::string& name) {
    const std::map<std::string, Method>* table = nullptr;
    if (obj.isString()) table = &stringMethods();
    else if (obj.isDict()) table = &dictMethods();
    else if (obj.isList()) table = &listMethods();
    if (!table) return Value();
    auto it = table->find(name);
    if (it == table->end()) {
        if (isMutating(obj, name)) {
            const std::string type = obj.typeName();
            auto c = std::make_shared<Callable>();
            c->name = name;
            c->call = [type, name](Interpreter&, CallArgs&) -> Value {
                runtimeError("access to attribute '" + name + "' of '" + type + "' object is unsafe.");
            };
            return Value(c);
        }
        return Value();
    }
    auto c = std::make_shared<Callable>();
    c->name = name;
    const Method m = it->second;
    c->call = [m, obj](Interpreter& in, CallArgs& a) { return m(in, obj, a); };
    return Value(c);
}

} // namespace tokenlens::chat::detail
