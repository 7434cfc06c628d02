#pragma once
// A small command-line parser shared by every tokenlens-cli subcommand.
// Options are declared up front; "--" ends option parsing so that a prompt may
// start with '-' or with spaces.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenlens::cli {

class ArgParser {
public:
    ArgParser(std::string command, std::string usage);

    // A boolean switch such as --no-special.
    void flag(const std::string& name, const std::string& help);
    // An option taking a value (--model DIR). Repeatable options keep every value.
    void option(const std::string& name, const std::string& metavar, const std::string& help,
                bool repeatable = false);

    // Several options at once, as a table: a row without a metavar is a flag.
    struct Row {
        std::string name;
        std::string metavar; // empty: a flag
        std::string help;
        bool repeatable = false;
    };
    void add(const std::vector<Row>& rows);
    // The same as help-like lines, one option a line: "--name METAVAR  help"
    // (two spaces end the name part; "METAVAR..." makes it repeatable) or
    // "--name  help" for a flag. A line that is not of that form is a
    // programming error (std::logic_error).
    void add(std::string_view table);

    // Returns false and fills error() on a usage error.
    bool parse(const std::vector<std::string>& args);

    bool has(const std::string& name) const;
    std::optional<std::string> value(const std::string& name) const;
    std::vector<std::string> values(const std::string& name) const;
    const std::vector<std::string>& positional() const { return m_positional; }

    const std::string& command() const { return m_command; }
    const std::string& error() const { return m_error; }
    bool helpRequested() const { return m_help; }
    std::string helpText() const;
    // Prints "tokenlens-cli COMMAND: message" and the help to standard error;
    // returns the usage exit code.
    int usageError(const std::string& message) const;

private:
    struct Spec {
        bool takesValue = false;
        bool repeatable = false;
        std::string metavar;
        std::string help;
    };
    std::string m_command;
    std::string m_usage;
    std::vector<std::string> m_order;
    std::map<std::string, Spec> m_specs;
    std::map<std::string, std::vector<std::string>> m_values;
    std::vector<std::string> m_positional;
    std::string m_error;
    bool m_help = false;
};

} // namespace tokenlens::cli
