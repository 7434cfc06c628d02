#pragma once
// The exception the interpreter throws internally; Template::parse and
// Template::render catch it and return a Result (no exception leaves core/chat).

#include <stdexcept>
#include <string>

namespace tokenlens::chat::detail {

enum class FailureKind {
    Raised,      // raise_exception(message): the message verbatim
    Syntax,      // the template text does not parse
    Unsupported, // a construct this interpreter does not implement
    Runtime,     // a type error, an undefined value used, ...
    Limit,       // recursion depth, loop iterations or output size exceeded
};

class TemplateFailure : public std::runtime_error {
public:
    TemplateFailure(FailureKind kind, std::string message, int line = 0, int column = 0)
        : std::runtime_error(message), m_kind(kind), m_message(std::move(message)), m_line(line), m_column(column) {}
    FailureKind kind() const { return m_kind; }
    const std::string& message() const { return m_message; }
    int line() const { return m_line; }
    int column() const { return m_column; }
    bool located() const { return m_line > 0; }
    void locate(int line, int column) {
        if (m_line == 0) {
            m_line = line;
            m_column = column;
        }
    }

private:
    FailureKind m_kind;
    std::string m_message;
    int m_line;
    int m_column;
};

// "'text'" for messages (built by appending: GCC 12 warns falsely with
// -Wrestrict on "'" + std::string temporaries).
inline std::string quoted(const std::string& text) {
    std::string out(1, '\'');
    out += text;
    out += '\'';
    return out;
}

[[noreturn]] inline void fail(FailureKind kind, const std::string& message, int line = 0, int column = 0) {
    throw TemplateFailure(kind, message, line, column);
}
[[noreturn]] inline void runtimeError(const std::string& message) { fail(FailureKind::Runtime, message); }

} // namespace tokenlens::chat::detail
