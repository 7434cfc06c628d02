#pragma once
// The parsed template: expressions and statements, each with the line and
// column of its first token for error messages.

#include "chat/value.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tokenlens::chat::detail {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
    Const,     // constant
    Name,      // name
    Attr,      // args[0] . name
    Item,      // args[0] [ args[1] ]
    Slice,     // args[0] [ args[1] : args[2] : args[3] ] (null = omitted)
    Call,      // args[0] ( args[1..], kwargs )
    Filter,    // args[0] | name ( args[1..], kwargs )
    Test,      // args[0] is [not] name ( args[1..], kwargs )
    Neg,       // - args[0]
    Pos,       // + args[0]
    Not,       // not args[0]
    Binary,    // args[0] op args[1]: + - * / // % ** ~
    Compare,   // args[0] ops[0] args[1] ops[1] args[2] ...: == != < <= > >= in notin
    And,
    Or,
    Cond,      // args[1] if args[0] else args[2] (args[2] may be null)
    List,
    Tuple,
    Dict,      // args: key, value, key, value, ...
};

struct Expr {
    ExprKind kind = ExprKind::Const;
    int line = 0;
    int column = 0;
    Value constant;
    std::string name;              // Name, Attr, Filter, Test, Binary operator
    std::vector<std::string> ops;  // Compare
    std::vector<ExprPtr> args;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
    bool negated = false; // Test: `is not`
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

enum class NodeKind {
    Data,       // text
    Output,     // {{ expr }}
    If,         // branches (cond, body)...; elseBody
    For,        // targets in expr [if filter]: body; elseBody
    Set,        // targets = expr, or attrTarget.attr = expr
    SetBlock,   // {% set x %}body{% endset %}, filters in `filters`
    Macro,      // name(params): body
    CallBlock,  // {% call(params) expr %}body{% endcall %}
    FilterBlock,// {% filter f %}body{% endfilter %}
    With,       // {% with a = 1 %}body{% endwith %}
    Break,
    Continue,
};

struct Param {
    std::string name;
    ExprPtr defaultValue; // may be null
};

struct Node {
    NodeKind kind = NodeKind::Data;
    int line = 0;
    int column = 0;
    std::string text;                 // Data; Macro name; Set attribute (ns.attr)
    ExprPtr expr;                     // Output, For iterable, Set value, CallBlock call
    ExprPtr filter;                   // For `if` condition
    std::vector<std::string> targets; // For / Set names (several = tuple unpacking)
    bool targetIsTuple = false;
    std::string attrTarget;           // Set: namespace variable of `ns.attr`
    std::vector<std::pair<ExprPtr, Body>> branches; // If
    Body body;
    Body elseBody;
    bool recursive = false;           // For
    std::vector<Param> params;        // Macro / CallBlock
    std::vector<ExprPtr> filters;     // SetBlock / FilterBlock: Filter exprs whose args[0] is null
    std::vector<std::pair<std::string, ExprPtr>> assignments; // With
};

struct Program {
    Body body;
};

} // namespace tokenlens::chat::detail
