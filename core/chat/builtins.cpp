#include "chat/builtins.h"

#include "chat/error.h"
#include "chat/interpreter.h"
#include "chat/pystr.h"
#include "util/html.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

namespace tokenlens::chat::detail {

const Value* argument(CallArgs& args, size_t index, const char* keyword) {
    if (index < args.positional.size()) return &args.positional[index];
    for (auto& [k, v] : args.keywords) {
        if (k == keyword) return &v;
    }
    return nullptr;
}

std::string stringArgument(CallArgs& args, size_t index, const char* keyword, const std::string& fallback) {
    const Value* v = argument(args, index, keyword);
    if (!v || v->isNone() || v->isUndefined()) return fallback;
    if (!v->isString()) runtimeError(std::string("argument '") + keyword + "' must be a string, not " + v->typeName());
    return v->str();
}

int64_t intArgument(CallArgs& args, size_t index, const char* keyword, int64_t fallback) {
    const Value* v = argument(args, index, keyword);
    if (!v || v->isNone() || v->isUndefined()) return fallback;
    if (!v->isInt() && !v->isBool()) runtimeError(std::string("argument '") + keyword + "' must be an integer, not " + v->typeName());
    return v->toInt();
}

bool boolArgument(CallArgs& args, size_t index, const char* keyword, bool fallback) {
    const Value* v = argument(args, index, keyword);
    return v ? v->truthy() : fallback;
}

std::vector<Value> iterate(const Value& v) {
    switch (v.kind()) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::List: return v.listRef().items;
    case Value::Kind::Dict: {
        std::vector<Value> keys;
        for (const auto& [k, x] : v.dictRef().items) keys.push_back(k);
        return keys;
    }
    case Value::Kind::String: {
        std::vector<Value> chars;
        for (char32_t c : toU32(v.str())) chars.emplace_back(fromU32(std::u32string_view(&c, 1)));
        return chars;
    }
    default: runtimeError(quoted(v.typeName()) + " object is not iterable");
    }
}

namespace {

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);
using TestFn = bool (*)(Interpreter&, const Value&, CallArgs&);

std::optional<std::string> optionalString(CallArgs& args, size_t index, const char* keyword) {
    const Value* v = argument(args, index, keyword);
    if (!v || v->isNone()) return std::nullopt;
    if (!v->isString()) runtimeError(std::string("argument '") + keyword + "' must be a string or None");
    return v->str();
}

// attribute="a.b.0" as Jinja2's make_attrgetter: item lookup per dotted part.
Value attributeOf(Interpreter& in, const Value& item, const std::string& path) {
    Value v = item;
    size_t start = 0;
    while (true) {
        const size_t dot = path.find('.', start);
        const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        v = digits && part.size() < 18 ? in.getItem(v, Value(static_cast<int64_t>(std::stoll(part)))) : in.getItem(v, Value(part));
        if (dot == std::string::npos) return v;
        start = dot + 1;
    }
}

Value lowerIfString(const Value& v, bool caseSensitive) {
    if (!caseSensitive && v.isString()) return Value(pyLowerStr(v.str()));
    return v;
}

size_t length(const Value& v) {
    switch (v.kind()) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return codePointCount(v.str());
    case Value::Kind::List: return v.listRef().items.size();
    case Value::Kind::Dict: return v.dictRef().items.size();
    default: runtimeError("object of type '" + v.typeName() + "' has no len()");
    }
}

std::string center(const std::string& s, int64_t width) {
    const int64_t len = static_cast<int64_t>(codePointCount(s));
    if (width <= len) return s;
    const int64_t total = std::min<int64_t>(width - len, 1 << 20);
    const int64_t left = total / 2 + (total & width & 1);
    return std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' ');
}

Value toJsonFilter(Interpreter& in, const Value& v, CallArgs& a) {
    JsonDumpOptions o;
    o.ensureAscii = boolArgument(a, 0, "ensure_ascii", false);
    if (const Value* indent = argument(a, 1, "indent"); indent && !indent->isNone()) {
        if (indent->isString()) o.indent = indent->str();
        else if (indent->isInt()) o.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(indent->asInt(), 0, 64)), ' ');
        else runtimeError("tojson: indent must be an integer or a string");
        o.itemSeparator = ",";
    }
    if (const Value* sep = argument(a, 2, "separators"); sep && !sep->isNone()) {
        if (!sep->isList() || sep->listRef().items.size() != 2 || !sep->listRef().items[0].isString() || !sep->listRef().items[1].isString())
            runtimeError("tojson: separators must be a pair of strings");
        o.itemSeparator = sep->listRef().items[0].str();
        o.keySeparator = sep->listRef().items[1].str();
    }
    o.sortKeys = boolArgument(a, 3, "sort_keys", false);
    std::string out = toJson(v, o);
    in.checkSize(out.size());
    return Value(std::move(out));
}

Value indentFilter(Interpreter& in, const Value& v, CallArgs& a) {
    std::string indention;
    const Value* w = argument(a, 0, "width");
    if (w && w->isString()) indention = w->str();
    else indention = std::string(static_cast<size_t>(std::clamp<int64_t>(intArgument(a, 0, "width", 4), 0, 256)), ' ');
    const bool first = boolArgument(a, 1, "first", false);
    const bool blank = boolArgument(a, 2, "blank", false);
    std::string s = pyStr(v) + "\n";
    const std::vector<std::string> lines = pySplitLines(s, false);
    std::string rv;
    if (blank) {
        for (size_t i = 0; i < lines.size(); ++i) {
            if (i) {
                rv += '\n';
                rv += indention;
            }
            rv += lines[i];
        }
    } else {
        for (size_t i = 0; i < lines.size(); ++i) {
            if (i == 0) rv = lines[0];
            else {
                rv += '\n';
                if (!lines[i].empty()) rv += indention;
                rv += lines[i];
            }
            in.checkSize(rv.size());
        }
    }
    if (first) rv = indention + rv;
    return Value(std::move(rv));
}

Value selectOrReject(Interpreter& in, const Value& v, CallArgs& a, bool select, bool byAttribute) {
    std::vector<Value> out;
    size_t next = 0;
    std::string attr;
    if (byAttribute) {
        const Value* at = argument(a, next++, "attribute");
        if (!at || !at->isString()) runtimeError("selectattr / rejectattr need an attribute name");
        attr = at->str();
    }
    std::string test;
    if (next < a.positional.size()) {
        if (!a.positional[next].isString()) runtimeError("the test name must be a string");
        test = a.positional[next++].str();
        if (!hasTest(test)) runtimeError("no test named '" + test + "'");
    }
    CallArgs testArgs;
    testArgs.positional.assign(a.positional.begin() + static_cast<std::ptrdiff_t>(std::min(next, a.positional.size())), a.positional.end());
    for (const Value& item : iterate(v)) {
        in.countIterations();
        const Value x = byAttribute ? attributeOf(in, item, attr) : item;
        CallArgs copy = testArgs;
        const bool r = test.empty() ? x.truthy() : applyTest(in, test, x, copy);
        if (r == select) out.push_back(item);
    }
    return Value::list(std::move(out));
}

Value mapFilter(Interpreter& in, const Value& v, CallArgs& a) {
    std::vector<Value> out;
    const Value* attr = nullptr;
    for (auto& [k, x] : a.keywords) {
        if (k == "attribute") attr = &x;
    }
    if (attr) {
        const Value* dflt = nullptr;
        for (auto& [k, x] : a.keywords) {
            if (k == "default") dflt = &x;
        }
        if (!attr->isString()) runtimeError("map: attribute must be a string");
        for (const Value& item : iterate(v)) {
            in.countIterations();
            Value x = attributeOf(in, item, attr->str());
            out.push_back(x.isUndefined() && dflt ? *dflt : x);
        }
        return Value::list(std::move(out));
    }
    if (a.positional.empty() || !a.positional[0].isString()) runtimeError("map: give a filter name or attribute=");
    const std::string name = a.positional[0].str();
    if (!hasFilter(name)) runtimeError("no filter named '" + name + "'");
    CallArgs rest;
    rest.positional.assign(a.positional.begin() + 1, a.positional.end());
    rest.keywords = a.keywords;
    for (const Value& item : iterate(v)) {
        in.countIterations();
        CallArgs copy = rest;
        out.push_back(applyFilter(in, name, item, copy));
    }
    return Value::list(std::move(out));
}

std::vector<Value> sortedItems(Interpreter& in, std::vector<Value> items, bool reverse, bool caseSensitive,
                               const std::string& attribute) {
    in.countIterations(items.size());
    auto key = [&](const Value& x) { return lowerIfString(attribute.empty() ? x : attributeOf(in, x, attribute), caseSensitive); };
    std::vector<std::pair<Value, Value>> keyed;
    for (auto& x : items) keyed.emplace_back(key(x), x);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& p, const auto& q) {
        return reverse ? pyLess(q.first, p.first) : pyLess(p.first, q.first);
    });
    std::vector<Value> out;
    for (auto& p : keyed) out.push_back(std::move(p.second));
    return out;
}

Value minMax(Interpreter& in, const Value& v, CallArgs& a, bool max) {
    const bool cs = boolArgument(a, 0, "case_sensitive", false);
    const std::string attr = stringArgument(a, 1, "attribute", "");
    const std::vector<Value> items = iterate(v);
    if (items.empty()) return Value::undefined(std::string("no ") + (max ? "largest" : "smallest") + " item, sequence was empty");
    size_t best = 0;
    auto key = [&](const Value& x) { return lowerIfString(attr.empty() ? x : attributeOf(in, x, attr), cs); };
    for (size_t i = 1; i < items.size(); ++i) {
        if (max ? pyLess(key(items[best]), key(items[i])) : pyLess(key(items[i]), key(items[best]))) best = i;
    }
    return items[best];
}

Value roundFilter(Interpreter&, const Value& v, CallArgs& a) {
    if (!v.isNumber()) runtimeError("round: expected a number, not " + v.typeName());
    const int64_t precision = std::clamp<int64_t>(intArgument(a, 0, "precision", 0), -20, 20);
    const std::string methodName = stringArgument(a, 1, "method", "common");
    const double scale = std::pow(10.0, static_cast<double>(precision));
    const double x = v.toDouble() * scale;
    double r;
    if (methodName == "common") r = std::nearbyint(x);
    else if (methodName == "ceil") r = std::ceil(x);
    else if (methodName == "floor") r = std::floor(x);
    else runtimeError("round: method must be 'common', 'ceil' or 'floor'");
    return Value(r / scale);
}

Value intFilter(Interpreter&, const Value& v, CallArgs& a) {
    const Value* dflt = argument(a, 0, "default");
    const Value fallback = dflt ? *dflt : Value(int64_t{0});
    if (v.isInt() || v.isBool()) return Value(v.toInt());
    if (v.isFloat()) {
        if (!std::isfinite(v.asFloat()) || std::fabs(v.asFloat()) >= 9.2e18) return fallback;
        return Value(static_cast<int64_t>(v.asFloat()));
    }
    if (v.isString()) {
        if (auto i = pyParseInt(v.str(), static_cast<int>(std::clamp<int64_t>(intArgument(a, 1, "base", 10), 2, 36)))) return Value(*i);
        if (auto f = pyParseFloat(v.str()); f && std::isfinite(*f) && std::fabs(*f) < 9.2e18) return Value(static_cast<int64_t>(*f));
    }
    return fallback;
}

Value floatFilter(Interpreter&, const Value& v, CallArgs& a) {
    const Value* dflt = argument(a, 0, "default");
    if (v.isNumber()) return Value(v.toDouble());
    if (v.isString()) {
        if (auto f = pyParseFloat(v.str())) return Value(*f);
    }
    return dflt ? *dflt : Value(0.0);
}

Value firstLast(const Value& v, bool last) {
    if (v.isList()) {
        const auto& items = v.listRef().items;
        if (items.empty()) return Value::undefined(std::string("No ") + (last ? "last" : "first") + " item, sequence was empty.");
        return last ? items.back() : items.front();
    }
    const std::vector<Value> items = iterate(v);
    if (items.empty()) return Value::undefined(std::string("No ") + (last ? "last" : "first") + " item, sequence was empty.");
    return last ? items.back() : items.front();
}

const std::map<std::string, FilterFn>& filters() {
    static const std::map<std::string, FilterFn> table = {
        {"abs", [](Interpreter&, const Value& v, CallArgs&) -> Value {
             if (v.isFloat()) return Value(std::fabs(v.asFloat()));
             if (v.isNumber()) return Value(v.toInt() < 0 ? -v.toInt() : v.toInt());
             runtimeError("bad operand type for abs(): '" + v.typeName() + "'");
         }},
        {"attr", [](Interpreter& in, const Value& v, CallArgs& a) -> Value { return in.getAttr(v, stringArgument(a, 0, "name", "")); }},
        {"capitalize", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value(pyCapitalize(pyStr(v))); }},
        {"center", [](Interpreter&, const Value& v, CallArgs& a) -> Value { return Value(center(pyStr(v), intArgument(a, 0, "width", 80))); }},
        {"count", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value(static_cast<int64_t>(length(v))); }},
        {"default", [](Interpreter&, const Value& v, CallArgs& a) -> Value {
             const Value* d = argument(a, 0, "default_value");
             const bool boolean = boolArgument(a, 1, "boolean", false);
             if (v.isUndefined() || (boolean && !v.truthy())) return d ? *d : Value("");
             return v;
         }},
        {"dictsort", [](Interpreter& in, const Value& v, CallArgs& a) -> Value {
             if (!v.isDict()) runtimeError("dictsort: expected a dict, not " + v.typeName());
             const bool cs = boolArgument(a, 0, "case_sensitive", false);
             const std::string by = stringArgument(a, 1, "by", "key");
             const bool reverse = boolArgument(a, 2, "reverse", false);
             if (by != "key" && by != "value") runtimeError("dictsort: 'by' must be 'key' or 'value'");
             std::vector<Value> pairs;
             for (const auto& [k, x] : v.dictRef().items) pairs.push_back(Value::list({k, x}, true));
             in.countIterations(pairs.size());
             const size_t idx = by == "key" ? 0 : 1;
             std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& p, const Value& q) {
                 const Value kp = lowerIfString(p.listRef().items[idx], cs), kq = lowerIfString(q.listRef().items[idx], cs);
                 return reverse ? pyLess(kq, kp) : pyLess(kp, kq);
             });
             return Value::list(std::move(pairs));
         }},
        {"escape", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value(htmlEscape(pyStr(v))); }},
        {"first", [](Interpreter&, const Value& v, CallArgs&) -> Value { return firstLast(v, false); }},
        {"float", &floatFilter},
        {"forceescape", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value(htmlEscape(pyStr(v))); }},
        {"format", [](Interpreter& in, const Value& v, CallArgs& a) -> Value {
             return Value(percentFormat(in, pyStr(v), Value::list(a.positional, true)));
         }},
        {"indent", &indentFilter},
        {"int", &intFilter},
        {"items", [](Interpreter&, const Value& v, CallArgs&) -> Value {
             if (v.isUndefined()) return Value::list({});
             if (!v.isDict()) runtimeError("items: expected a dict, not " + v.typeName());
             std::vector<Value> out;
             for (const auto& [k, x] : v.dictRef().items) out.push_back(Value::list({k, x}, true));
             return Value::list(std::move(out));
         }},
        {"join", [](Interpreter& in, const Value& v, CallArgs& a) -> Value {
             const std::string sep = stringArgument(a, 0, "d", "");
             const std::string attr = stringArgument(a, 1, "attribute", "");
             std::string out;
             bool first = true;
             for (const Value& item : iterate(v)) {
                 if (!first) out += sep;
                 first = false;
                 out += pyStr(attr.empty() ? item : attributeOf(in, item, attr));
                 in.checkSize(out.size());
             }
             return Value(std::move(out));
         }},
        {"last", [](Interpreter&, const Value& v, CallArgs&) -> Value { return firstLast(v, true); }},
        {"length", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value(static_cast<int64_t>(length(v))); }},
        {"list", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value::list(iterate(v)); }},
        {"lower", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value(pyLowerStr(pyStr(v))); }},
        {"map", &mapFilter},
        {"max", [](Interpreter& in, const Value& v, CallArgs& a) -> Value { return minMax(in, v, a, true); }},
        {"min", [](Interpreter& in, const Value& v, CallArgs& a) -> Value { return minMax(in, v, a, false); }},
        {"reject", [](Interpreter& in, const Value& v, CallArgs& a) -> Value { return selectOrReject(in, v, a, false, false); }},
        {"rejectattr", [](Interpreter& in, const Value& v, CallArgs& a) -> Value { return selectOrReject(in, v, a, false, true); }},
        {"replace", [](Interpreter& in, const Value& v, CallArgs& a) -> Value {
             const Value* oldValue = argument(a, 0, "old");
             if (!oldValue) runtimeError("replace() needs the text to replace");
             const std::string old = pyStr(*oldValue);
             std::string out = pyReplace(pyStr(v), old, stringArgument(a, 1, "new", ""), intArgument(a, 2, "count", -1));
             in.checkSize(out.size());
             return Value(std::move(out));
         }},
        {"reverse", [](Interpreter&, const Value& v, CallArgs&) -> Value {
             if (v.isString()) {
                 std::u32string u = toU32(v.str());
                 std::reverse(u.begin(), u.end());
                 return Value(fromU32(u));
             }
             std::vector<Value> items = iterate(v);
             std::reverse(items.begin(), items.end());
             return Value::list(std::move(items));
         }},
        {"round", &roundFilter},
        {"safe", [](Interpreter&, const Value& v, CallArgs&) -> Value { return v; }},
        {"select", [](Interpreter& in, const Value& v, CallArgs& a) -> Value { return selectOrReject(in, v, a, true, false); }},
        {"selectattr", [](Interpreter& in, const Value& v, CallArgs& a) -> Value { return selectOrReject(in, v, a, true, true); }},
        {"sort", [](Interpreter& in, const Value& v, CallArgs& a) -> Value {
             return Value::list(sortedItems(in, iterate(v), boolArgument(a, 0, "reverse", false),
                                            boolArgument(a, 1, "case_sensitive", false), stringArgument(a, 2, "attribute", "")));
         }},
        {"string", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value(pyStr(v)); }},
        {"sum", [](Interpreter& in, const Value& v, CallArgs& a) -> Value {
             const std::string attr = stringArgument(a, 0, "attribute", "");
             const Value* start = argument(a, 1, "start");
             Value total = start ? *start : Value(int64_t{0});
             for (const Value& item : iterate(v)) {
                 const Value x = attr.empty() ? item : attributeOf(in, item, attr);
                 if (!x.isNumber() || !total.isNumber()) runtimeError("sum: items must be numbers");
                 total = total.isFloat() || x.isFloat() ? Value(total.toDouble() + x.toDouble()) : Value(total.toInt() + x.toInt());
             }
             return total;
         }},
        {"title", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value(jinjaTitle(pyStr(v))); }},
        {"tojson", &toJsonFilter},
        {"trim", [](Interpreter&, const Value& v, CallArgs& a) -> Value {
             return Value(pyStrip(pyStr(v), optionalString(a, 0, "chars"), StripSide::Both));
         }},
        {"unique", [](Interpreter& in, const Value& v, CallArgs& a) -> Value {
             const bool cs = boolArgument(a, 0, "case_sensitive", false);
             const std::string attr = stringArgument(a, 1, "attribute", "");
             std::vector<Value> out, seen;
             for (const Value& item : iterate(v)) {
                 in.countIterations();
                 const Value key = lowerIfString(attr.empty() ? item : attributeOf(in, item, attr), cs);
                 bool dup = false;
                 for (const Value& s : seen) dup = dup || pyEquals(s, key);
                 if (!dup) {
                     seen.push_back(key);
                     out.push_back(item);
                 }
             }
             return Value::list(std::move(out));
         }},
        {"upper", [](Interpreter&, const Value& v, CallArgs&) -> Value { return Value(pyUpperStr(pyStr(v))); }},
        {"wordcount", [](Interpreter&, const Value& v, CallArgs&) -> Value {
             return Value(static_cast<int64_t>(pySplit(pyStr(v), std::nullopt, -1).size()));
         }},
    };
    return table;
}

const std::map<std::string, TestFn>& tests() {
    static const auto compareTest = [](Interpreter& in, const Value& v, CallArgs& a, const char* op) {
        const Value* other = argument(a, 0, "other");
        if (!other) runtimeError(std::string("test needs a value to compare with"));
        if (std::string(op) == "==") return pyEquals(v, *other);
        if (std::string(op) == "!=") return !pyEquals(v, *other);
        if (v.isUndefined()) in.undefinedError(v);
        if (std::string(op) == "<") return pyLess(v, *other);
        if (std::string(op) == "<=") return !pyLess(*other, v);
        if (std::string(op) == ">") return pyLess(*other, v);
        return !pyLess(v, *other);
    };
    static const std::map<std::string, TestFn> table = {
        {"boolean", [](Interpreter&, const Value& v, CallArgs&) { return v.isBool(); }},
        {"callable", [](Interpreter&, const Value& v, CallArgs&) { return v.isCallable(); }},
        {"defined", [](Interpreter&, const Value& v, CallArgs&) { return !v.isUndefined(); }},
        {"divisibleby", [](Interpreter&, const Value& v, CallArgs& a) {
             const int64_t n = intArgument(a, 0, "num", 1);
             if (!v.isInt() && !v.isBool()) runtimeError("divisibleby expects an integer");
             if (n == 0) runtimeError("integer division or modulo by zero");
             return n == -1 || v.toInt() % n == 0;
         }},
        {"eq", [](Interpreter& in, const Value& v, CallArgs& a) { return compareTest(in, v, a, "=="); }},
        {"equalto", [](Interpreter& in, const Value& v, CallArgs& a) { return compareTest(in, v, a, "=="); }},
        {"escaped", [](Interpreter&, const Value&, CallArgs&) { return false; }},
        {"even", [](Interpreter&, const Value& v, CallArgs&) {
             if (!v.isInt() && !v.isBool()) runtimeError("even expects an integer");
             return v.toInt() % 2 == 0;
         }},
        {"false", [](Interpreter&, const Value& v, CallArgs&) { return v.isBool() && !v.asBool(); }},
        {"filter", [](Interpreter&, const Value& v, CallArgs&) { return v.isString() && hasFilter(v.str()); }},
        {"float", [](Interpreter&, const Value& v, CallArgs&) { return v.isFloat(); }},
        {"ge", [](Interpreter& in, const Value& v, CallArgs& a) { return compareTest(in, v, a, ">="); }},
        {"greaterthan", [](Interpreter& in, const Value& v, CallArgs& a) { return compareTest(in, v, a, ">"); }},
        {"gt", [](Interpreter& in, const Value& v, CallArgs& a) { return compareTest(in, v, a, ">"); }},
        {"in", [](Interpreter&, const Value& v, CallArgs& a) {
             const Value* seq = argument(a, 0, "seq");
             if (!seq) runtimeError("test 'in' needs a sequence");
             if (seq->isString()) return v.isString() && seq->str().find(v.str()) != std::string::npos;
             if (seq->isDict()) return seq->dictRef().find(v) != nullptr;
             for (const Value& x : iterate(*seq)) {
                 if (pyEquals(v, x)) return true;
             }
             return false;
         }},
        {"integer", [](Interpreter&, const Value& v, CallArgs&) { return v.isInt(); }},
        {"iterable", [](Interpreter&, const Value& v, CallArgs&) {
             return v.isUndefined() || v.isString() || v.isList() || v.isDict() ||
                    (v.isObject() && v.object().typeName == "LoopContext");
         }},
        {"le", [](Interpreter& in, const Value& v, CallArgs& a) { return compareTest(in, v, a, "<="); }},
        {"lessthan", [](Interpreter& in, const Value& v, CallArgs& a) { return compareTest(in, v, a, "<"); }},
        {"lower", [](Interpreter&, const Value& v, CallArgs&) {
             if (!v.isString()) return false;
             const std::u32string u = toU32(v.str());
             bool cased = false;
             for (char32_t c : u) {
                 if (pyIsUpper(c)) return false;
                 cased = cased || pyIsLower(c);
             }
             return cased;
         }},
        {"lt", [](Interpreter& in, const Value& v, CallArgs& a) { return compareTest(in, v, a, "<"); }},
        {"mapping", [](Interpreter&, const Value& v, CallArgs&) { return v.isDict(); }},
        {"ne", [](Interpreter& in, const Value& v, CallArgs& a) { return compareTest(in, v, a, "!="); }},
        {"none", [](Interpreter&, const Value& v, CallArgs&) { return v.isNone(); }},
        {"number", [](Interpreter&, const Value& v, CallArgs&) { return v.isNumber(); }},
        {"odd", [](Interpreter&, const Value& v, CallArgs&) {
             if (!v.isInt() && !v.isBool()) runtimeError("odd expects an integer");
             return v.toInt() % 2 != 0;
         }},
        {"sameas", [](Interpreter&, const Value& v, CallArgs& a) {
             const Value* other = argument(a, 0, "other");
             if (!other) return false;
             if (v.identity() || other->identity()) return v.identity() == other->identity();
             if (v.kind() != other->kind()) return false;
             return pyEquals(v, *other);
         }},
        {"sequence", [](Interpreter&, const Value& v, CallArgs&) {
             return v.isUndefined() || v.isString() || v.isList() || v.isDict();
         }},
        {"string", [](Interpreter&, const Value& v, CallArgs&) { return v.isString(); }},
        {"test", [](Interpreter&, const Value& v, CallArgs&) { return v.isString() && hasTest(v.str()); }},
        {"true", [](Interpreter&, const Value& v, CallArgs&) { return v.isBool() && v.asBool(); }},
        {"undefined", [](Interpreter&, const Value& v, CallArgs&) { return v.isUndefined(); }},
        {"upper", [](Interpreter&, const Value& v, CallArgs&) {
             if (!v.isString()) return false;
             const std::u32string u = toU32(v.str());
             bool cased = false;
             for (char32_t c : u) {
                 if (pyIsLower(c)) return false;
                 cased = cased || pyIsUpper(c);
             }
             return cased;
         }},
    };
    return table;
}

} // namespace

bool hasFilter(const std::string& name) { return name == "d" || name == "e" || filters().count(name) > 0; }
bool hasTest(const std::string& name) { return tests().count(name) > 0; }

Value applyFilter(Interpreter& in, const std::string& name, const Value& input, CallArgs& args) {
    const std::string& key = name == "d" ? std::string("default") : name == "e" ? std::string("escape") : name;
    auto it = filters().find(key);
    if (it == filters().end()) runtimeError("no filter named '" + name + "'");
    return it->second(in, input, args);
}

bool applyTest(Interpreter& in, const std::string& name, const Value& input, CallArgs& args) {
    auto it = tests().find(name);
    if (it == tests().end()) runtimeError("no test named '" + name + "'");
    return it->second(in, input, args);
}

} // namespace tokenlens::chat::detail
