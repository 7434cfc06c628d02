#pragma once
// Filters, tests, globals and the str / dict / list methods templates call.

#include "chat/value.h"

#include <string>

namespace tokenlens::chat::detail {

class Interpreter;

bool hasFilter(const std::string& name);
bool hasTest(const std::string& name);

// `input | name(args)`.
Value applyFilter(Interpreter& in, const std::string& name, const Value& input, CallArgs& args);
// `input is name(args)`.
bool applyTest(Interpreter& in, const std::string& name, const Value& input, CallArgs& args);

// `obj.name` when it is a method of obj's Python type (str.strip, dict.items,
// ...): a callable bound to obj; Undefined (empty hint) when obj has no such
// method. Mutating list / dict methods fail as in the immutable sandbox.
Value boundMethod(const Value& obj, const std::string& name);

// Argument helpers shared by the builtins.
const Value* argument(CallArgs& args, size_t index, const char* keyword);
std::string stringArgument(CallArgs& args, size_t index, const char* keyword, const std::string& fallback);
int64_t intArgument(CallArgs& args, size_t index, const char* keyword, int64_t fallback);
bool boolArgument(CallArgs& args, size_t index, const char* keyword, bool fallback);

// Python's `format % values` (s, r, d, i, f and %%), for `%` and the `format` filter.
std::string percentFormat(Interpreter& in, const std::string& format, const Value& values);

// Items of an iterable as Python iterates it: list items, dict keys, string
// characters; Undefined is empty. Fails for other values.
std::vector<Value> iterate(const Value& v);

} // namespace tokenlens::chat::detail
