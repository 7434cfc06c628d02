#include "chat/value.h"

#include "chat/error.h"
#include "chat/pystr.h"
#include "util/utf8.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace tokenlens::chat::detail {

const Value* Dict::find(const Value& key) const {
    for (const auto& [k, v] : items) {
        if (pyEquals(k, key)) return &v;
    }
    return nullptr;
}

const Value* Dict::find(const std::string& key) const {
    for (const auto& [k, v] : items) {
        if (k.isString() && k.str() == key) return &v;
    }
    return nullptr;
}

void Dict::set(Value key, Value value) {
    for (auto& [k, v] : items) {
        if (pyEquals(k, key)) {
            v = std::move(value);
            return;
        }
    }
    items.emplace_back(std::move(key), std::move(value));
}

Value Value::list(std::vector<Value> items, bool tuple) {
    auto l = std::make_shared<List>();
    l->items = std::move(items);
    l->tuple = tuple;
    return Value(std::move(l));
}

const void* Value::identity() const {
    switch (kind()) {
    case Kind::List: return std::get<std::shared_ptr<List>>(m_v).get();
    case Kind::Dict: return std::get<std::shared_ptr<Dict>>(m_v).get();
    case Kind::Object: return std::get<std::shared_ptr<Object>>(m_v).get();
    case Kind::Callable: return std::get<std::shared_ptr<Callable>>(m_v).get();
    default: return nullptr;
    }
}

bool Value::truthy() const {
    switch (kind()) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return asBool();
    case Kind::Int: return asInt() != 0;
    case Kind::Float: return asFloat() != 0.0;
    case Kind::String: return !str().empty();
    case Kind::List: return !listRef().items.empty();
    case Kind::Dict: return !dictRef().items.empty();
    case Kind::Object:
    case Kind::Callable: return true;
    }
    return false;
}

std::string Value::typeName() const {
    switch (kind()) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return listRef().tuple ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Object: return object().typeName;
    case Kind::Callable: return "function";
    }
    return "object";
}

bool pyEquals(const Value& a, const Value& b) {
    using K = Value::Kind;
    if (a.isNumber() && b.isNumber()) {
        if (a.isFloat() || b.isFloat()) return a.toDouble() == b.toDouble();
        return a.toInt() == b.toInt();
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
    case K::Undefined:
    case K::None: return true;
    case K::String: return a.str() == b.str();
    case K::List: {
        const auto& x = a.listRef().items;
        const auto& y = b.listRef().items;
        if (x.size() != y.size() || a.listRef().tuple != b.listRef().tuple) return false;
        for (size_t i = 0; i < x.size(); ++i) {
            if (!pyEquals(x[i], y[i])) return false;
        }
        return true;
    }
    case K::Dict: {
        const auto& x = a.dictRef();
        const auto& y = b.dictRef();
        if (x.items.size() != y.items.size()) return false;
        for (const auto& [k, v] : x.items) {
            const Value* other = y.find(k);
            if (!other || !pyEquals(v, *other)) return false;
        }
        return true;
    }
    default: return a.identity() == b.identity();
    }
}

bool pyLess(const Value& a, const Value& b) {
    if (a.isNumber() && b.isNumber()) {
        if (a.isFloat() || b.isFloat()) return a.toDouble() < b.toDouble();
        return a.toInt() < b.toInt();
    }
    if (a.isString() && b.isString()) return a.str() < b.str(); // UTF-8 byte order = code point order
    if (a.isList() && b.isList()) {
        const auto& x = a.listRef().items;
        const auto& y = b.listRef().items;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (!pyEquals(x[i], y[i])) return pyLess(x[i], y[i]);
        }
        return x.size() < y.size();
    }
    runtimeError("'<' not supported between instances of '" + a.typeName() + "' and '" + b.typeName() + "'");
}

std::string pyFloatRepr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
    char buf[64];
    // Shortest round-trip digits in scientific form: d.ddde[+-]x
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, r.ptr);
    bool negative = false;
    if (!sci.empty() && sci[0] == '-') {
        negative = true;
        sci.erase(0, 1);
    }
    const size_t ePos = sci.find('e');
    std::string digits = sci.substr(0, ePos);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exponent = std::stoi(sci.substr(ePos + 1));
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    std::string out;
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
        } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
            out = digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
        } else {
            out = digits.substr(0, static_cast<size_t>(exponent) + 1) + "." +
                  digits.substr(static_cast<size_t>(exponent) + 1);
        }
    } else {
        out = digits.substr(0, 1);
        if (digits.size() > 1) {
            out += '.';
            out += digits.substr(1);
        }
        char e[16];
        std::snprintf(e, sizeof e, "e%c%02d", exponent < 0 ? '-' : '+', exponent < 0 ? -exponent : exponent);
        out += e;
    }
    if (negative) out.insert(out.begin(), '-');
    return out;
}

namespace {

bool reprPrintable(char32_t c) {
    if (c < 0x20 || c == 0x7F) return false;
    if (c >= 0x80 && c <= 0xA0) return false;
    if (c == 0xAD || c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
        (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF || (c >= 0xD800 && c <= 0xDFFF))
        return false;
    return true;
}

std::string reprString(const std::string& s) {
    const bool hasSingle = s.find('\'') != std::string::npos;
    const bool hasDouble = s.find('"') != std::string::npos;
    const char quote = hasSingle && !hasDouble ? '"' : '\'';
    std::string out(1, quote);
    size_t pos = 0;
    while (pos < s.size()) {
        const char32_t c = utf8::next(s, pos);
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (!reprPrintable(c)) {
            char buf[16];
            if (c < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
            else std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        } else {
            utf8::append(out, c);
        }
    }
    out += quote;
    return out;
}

std::string reprImpl(const Value& v, int depth);

std::string strImpl(const Value& v, int depth) {
    using K = Value::Kind;
    if (depth > 64) runtimeError("value nested too deeply to print");
    switch (v.kind()) {
    case K::Undefined: return "";
    case K::None: return "None";
    case K::Bool: return v.asBool() ? "True" : "False";
    case K::Int: return std::to_string(v.asInt());
    case K::Float: return pyFloatRepr(v.asFloat());
    case K::String: return v.str();
    case K::List: {
        const auto& l = v.listRef();
        std::string out = l.tuple ? "(" : "[";
        for (size_t i = 0; i < l.items.size(); ++i) {
            if (i) out += ", ";
            out += reprImpl(l.items[i], depth + 1);
        }
        if (l.tuple && l.items.size() == 1) out += ",";
        return out + (l.tuple ? ")" : "]");
    }
    case K::Dict: {
        std::string out = "{";
        bool first = true;
        for (const auto& [k, val] : v.dictRef().items) {
            if (!first) out += ", ";
            first = false;
            out += reprImpl(k, depth + 1) + ": " + reprImpl(val, depth + 1);
        }
        return out + "}";
    }
    case K::Object: {
        const Object& o = v.object();
        if (o.typeName == "Namespace") {
            std::string out = "<Namespace {";
            bool first = true;
            for (const auto& [k, val] : o.attrs.items) {
                if (!first) out += ", ";
                first = false;
                out += reprImpl(k, depth + 1) + ": " + reprImpl(val, depth + 1);
            }
            return out + "}>";
        }
        std::string out(1, '<');
        out += o.typeName;
        out += '>';
        return out;
    }
    case K::Callable: return "<function " + v.callable().name + ">";
    }
    return "";
}

std::string reprImpl(const Value& v, int depth) {
    if (v.isString()) return reprString(v.str());
    if (v.isUndefined()) return "Undefined";
    return strImpl(v, depth);
}

} // namespace

std::string pyStr(const Value& v) { return strImpl(v, 0); }
std::string pyRepr(const Value& v) { return reprImpl(v, 0); }

Value fromJson(const nlohmann::ordered_json& j, int maxDepth) {
    if (maxDepth < 0) runtimeError("JSON value nested too deeply");
    switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value(None{});
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
        const uint64_t u = j.get<uint64_t>();
        if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
        return Value(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: {
        std::string s = j.get<std::string>();
        if (!utf8::isValid(s)) runtimeError("invalid UTF-8 in a string value (" + utf8::describeInvalid(s) + ")");
        return Value(std::move(s));
    }
    case nlohmann::ordered_json::value_t::array: {
        std::vector<Value> items;
        items.reserve(j.size());
        for (const auto& e : j) items.push_back(fromJson(e, maxDepth - 1));
        return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
        auto d = std::make_shared<Dict>();
        for (auto it = j.begin(); it != j.end(); ++it) d->items.emplace_back(Value(it.key()), fromJson(it.value(), maxDepth - 1));
        return Value(std::move(d));
    }
    default: return Value(None{});
    }
}

namespace {

void jsonString(std::string& out, const std::string& s, bool ensureAscii) {
    out += '"';
    if (ensureAscii) {
        size_t pos = 0;
        while (pos < s.size()) {
            const size_t start = pos;
            const char32_t cp = utf8::next(s, pos);
            if (cp < 0x80) {
                std::string one;
                jsonString(one, s.substr(start, pos - start), false);
                out += one.substr(1, one.size() - 2);
                continue;
            }
            char buf[16];
            if (cp >= 0x10000) {
                const char32_t v = cp - 0x10000;
                std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                              static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
            } else {
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
            }
            out += buf;
        }
        out += '"';
        return;
    }
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

std::string jsonKey(const Value& k) {
    if (k.isString()) return k.str();
    if (k.isBool()) return k.asBool() ? "true" : "false";
    if (k.isNone()) return "null";
    if (k.isInt()) return std::to_string(k.asInt());
    if (k.isFloat()) return pyFloatRepr(k.asFloat());
    runtimeError("keys must be str, int, float, bool or None, not " + k.typeName());
}

void dumpJson(std::string& out, const Value& v, const JsonDumpOptions& o, int level) {
    using K = Value::Kind;
    if (level > 64) runtimeError("tojson: value nested too deeply");
    auto newline = [&](int lvl) {
        out += '\n';
        for (int i = 0; i < lvl; ++i) out += *o.indent;
    };
    switch (v.kind()) {
    case K::None: out += "null"; return;
    case K::Bool: out += v.asBool() ? "true" : "false"; return;
    case K::Int: out += std::to_string(v.asInt()); return;
    case K::Float: {
        const double d = v.asFloat();
        if (std::isnan(d)) out += "NaN";
        else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
        else out += pyFloatRepr(d);
        return;
    }
    case K::String: jsonString(out, v.str(), o.ensureAscii); return;
    case K::List: {
        const auto& items = v.listRef().items;
        if (items.empty()) {
            out += "[]";
            return;
        }
        out += '[';
        for (size_t i = 0; i < items.size(); ++i) {
            if (i) out += o.itemSeparator;
            if (o.indent) newline(level + 1);
            dumpJson(out, items[i], o, level + 1);
        }
        if (o.indent) newline(level);
        out += ']';
        return;
    }
    case K::Dict: {
        std::vector<std::pair<std::string, const Value*>> entries;
        for (const auto& [k, val] : v.dictRef().items) entries.emplace_back(jsonKey(k), &val);
        if (entries.empty()) {
            out += "{}";
            return;
        }
        if (o.sortKeys) {
            std::stable_sort(entries.begin(), entries.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
        }
        out += '{';
        for (size_t i = 0; i < entries.size(); ++i) {
            if (i) out += o.itemSeparator;
            if (o.indent) newline(level + 1);
            jsonString(out, entries[i].first, o.ensureAscii);
            out += o.keySeparator;
            dumpJson(out, *entries[i].second, o, level + 1);
        }
        if (o.indent) newline(level);
        out += '}';
        return;
    }
    default: runtimeError("Object of type " + v.typeName() + " is not JSON serializable");
    }
}

} // namespace

std::string toJson(const Value& v, const JsonDumpOptions& options) {
    std::string out;
    dumpJson(out, v, options, 0);
    return out;
}

} // namespace tokenlens::chat::detail
