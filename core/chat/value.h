#pragma once
// The values a chat template computes with: Python's None, bool, int, float,
// str, list/tuple and dict, Jinja2's Undefined and namespace(), and callables
// (macros, globals, bound str/dict methods). Lists and dicts are shared by
// reference as in Python; templates cannot mutate them (immutable sandbox),
// only namespace objects change.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tokenlens::chat::detail {

class Value;
class Interpreter;

struct Undefined {
    std::string hint; // "'x' is undefined", "'dict object' has no attribute 'y'"
};
struct None {};

struct List {
    std::vector<Value> items;
    bool tuple = false;
};

struct Dict {
    std::vector<std::pair<Value, Value>> items; // insertion order, unique keys
    const Value* find(const Value& key) const;
    const Value* find(const std::string& key) const;
    void set(Value key, Value value);
};

// namespace() objects and the loop variable: attributes by name.
struct Object {
    std::string typeName; // "Namespace", "LoopContext", "Cycler"
    Dict attrs;
};

struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keywords;
};

struct Callable {
    std::string name;
    std::function<Value(Interpreter&, CallArgs&)> call;
};

class Value {
public:
    using Storage = std::variant<Undefined, None, bool, int64_t, double, std::string, std::shared_ptr<List>,
                                 std::shared_ptr<Dict>, std::shared_ptr<Object>, std::shared_ptr<Callable>>;
    enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Object, Callable };

    Value() : m_v(Undefined{}) {}
    Value(Undefined u) : m_v(std::move(u)) {}
    Value(None) : m_v(None{}) {}
    Value(bool b) : m_v(b) {}
    Value(int64_t i) : m_v(i) {}
    Value(int i) : m_v(static_cast<int64_t>(i)) {}
    Value(double d) : m_v(d) {}
    Value(std::string s) : m_v(std::move(s)) {}
    Value(const char* s) : m_v(std::string(s)) {}
    Value(std::shared_ptr<List> l) : m_v(std::move(l)) {}
    Value(std::shared_ptr<Dict> d) : m_v(std::move(d)) {}
    Value(std::shared_ptr<Object> o) : m_v(std::move(o)) {}
    Value(std::shared_ptr<Callable> c) : m_v(std::move(c)) {}

    static Value list(std::vector<Value> items, bool tuple = false);
    static Value undefined(std::string hint) { return Value(Undefined{std::move(hint)}); }

    Kind kind() const { return static_cast<Kind>(m_v.index()); }
    bool isUndefined() const { return kind() == Kind::Undefined; }
    bool isNone() const { return kind() == Kind::None; }
    bool isBool() const { return kind() == Kind::Bool; }
    bool isInt() const { return kind() == Kind::Int; }
    bool isFloat() const { return kind() == Kind::Float; }
    bool isNumber() const { return isInt() || isFloat() || isBool(); }
    bool isString() const { return kind() == Kind::String; }
    bool isList() const { return kind() == Kind::List; }
    bool isDict() const { return kind() == Kind::Dict; }
    bool isObject() const { return kind() == Kind::Object; }
    bool isCallable() const { return kind() == Kind::Callable; }

    bool asBool() const { return std::get<bool>(m_v); }
    int64_t asInt() const { return std::get<int64_t>(m_v); }
    double asFloat() const { return std::get<double>(m_v); }
    const std::string& str() const { return std::get<std::string>(m_v); }
    const List& listRef() const { return *std::get<std::shared_ptr<List>>(m_v); }
    const Dict& dictRef() const { return *std::get<std::shared_ptr<Dict>>(m_v); }
    Object& object() const { return *std::get<std::shared_ptr<Object>>(m_v); }
    const Callable& callable() const { return *std::get<std::shared_ptr<Callable>>(m_v); }
    const std::string& undefinedHint() const { return std::get<Undefined>(m_v).hint; }
    const void* identity() const; // for `is sameas` and object equality

    // Numbers as Python sees them (bool is an int).
    int64_t toInt() const { return isBool() ? (asBool() ? 1 : 0) : asInt(); }
    double toDouble() const { return isFloat() ? asFloat() : static_cast<double>(toInt()); }

    bool truthy() const;
    std::string typeName() const; // Python type name: "str", "int", "dict", ...

private:
    Storage m_v;
};

// Python ==, <, str(), repr().
bool pyEquals(const Value& a, const Value& b);
// Throws TemplateFailure when the values cannot be ordered.
bool pyLess(const Value& a, const Value& b);
std::string pyStr(const Value& v);
std::string pyRepr(const Value& v);
std::string pyFloatRepr(double d);

// JSON (caller data) -> values; deeper than maxDepth fails.
Value fromJson(const nlohmann::ordered_json& j, int maxDepth = 256);

// Python json.dumps(x, ensure_ascii=False, indent, separators, sort_keys).
struct JsonDumpOptions {
    std::optional<std::string> indent; // None: single line
    std::string itemSeparator = ", ";
    std::string keySeparator = ": ";
    bool sortKeys = false;
    bool ensureAscii = false; // non-ASCII as \uXXXX escapes
};
std::string toJson(const Value& v, const JsonDumpOptions& options);

} // namespace tokenlens::chat::detail
