#include "args.h"
#include "commands.h"

#include <iostream>
#include <stdexcept>

#include <sstream>

namespace tokenlens::cli {

ArgParser::ArgParser(std::string command, std::string usage)
    : m_command(std::move(command)), m_usage(std::move(usage)) {}

void ArgParser::flag(const std::string& name, const std::string& help) {
    m_order.push_back(name);
    m_specs[name] = Spec{false, false, {}, help};
}

void ArgParser::add(const std::vector<Row>& rows) {
    for (const auto& r : rows) {
        if (r.metavar.empty()) flag(r.name, r.help);
        else option(r.name, r.metavar, r.help, r.repeatable);
    }
}

void ArgParser::add(std::string_view table) {
    std::vector<Row> rows;
    while (!table.empty()) {
        const size_t eol = table.find('\n');
        std::string_view line = table.substr(0, eol);
        table = eol == std::string_view::npos ? std::string_view() : table.substr(eol + 1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
        if (line.empty()) continue;
        const size_t gap = line.find("  ");
        if (!line.starts_with("--") || gap == std::string_view::npos) {
            throw std::logic_error("option table line '" + std::string(line) + "' is not '--name [METAVAR]  help'");
        }
        std::string_view left = line.substr(2, gap - 2), help = line.substr(gap);
        while (!help.empty() && help.front() == ' ') help.remove_prefix(1);
        Row row;
        const size_t space = left.find(' ');
        row.name = std::string(left.substr(0, space));
        if (space != std::string_view::npos) {
            std::string_view meta = left.substr(space + 1);
            if (meta.ends_with("...")) {
                row.repeatable = true;
                meta.remove_suffix(3);
            }
            row.metavar = std::string(meta);
        }
        row.help = std::string(help);
        rows.push_back(std::move(row));
    }
    add(rows);
}

int ArgParser::usageError(const std::string& message) const {
    std::cerr << "tokenlens-cli " << m_command << ": " << message << "\n\n" << helpText();
    return kExitUsage;
}

void ArgParser::option(const std::string& name, const std::string& metavar, const std::string& help,
                       bool repeatable) {
    m_order.push_back(name);
    m_specs[name] = Spec{true, repeatable, metavar, help};
}

bool ArgParser::parse(const std::vector<std::string>& args) {
    bool optionsEnded = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (optionsEnded || arg.size() < 2 || arg[0] != '-' || arg[1] != '-') {
            // A lone "-" or "-x" is taken as positional text only after "--".
            if (!optionsEnded && arg.size() >= 2 && arg[0] == '-' && arg != "-") {
                if (arg == "-h") {
                    m_help = true;
                    continue;
                }
                m_error = "unknown option '" + arg + "' (use -- before text that starts with '-')";
                return false;
            }
            m_positional.push_back(arg);
            continue;
        }
        if (arg == "--") {
            optionsEnded = true;
            continue;
        }
        std::string name = arg.substr(2);
        std::optional<std::string> inlineValue;
        if (auto eq = name.find('='); eq != std::string::npos) {
            inlineValue = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (name == "help") {
            m_help = true;
            continue;
        }
        auto it = m_specs.find(name);
        if (it == m_specs.end()) {
            m_error = "unknown option '--" + name + "'";
            return false;
        }
        const Spec& spec = it->second;
        if (!spec.takesValue) {
            if (inlineValue) {
                m_error = "option '--" + name + "' takes no value";
                return false;
            }
            m_values[name].push_back("1");
            continue;
        }
        std::string v;
        if (inlineValue) {
            v = *inlineValue;
        } else {
            if (i + 1 >= args.size()) {
                m_error = "option '--" + name + "' needs a value (" + spec.metavar + ")";
                return false;
            }
            v = args[++i];
        }
        auto& slot = m_values[name];
        if (!spec.repeatable && !slot.empty()) {
            m_error = "option '--" + name + "' given more than once";
            return false;
        }
        slot.push_back(v);
    }
    return true;
}

bool ArgParser::has(const std::string& name) const {
    auto it = m_values.find(name);
    return it != m_values.end() && !it->second.empty();
}

std::optional<std::string> ArgParser::value(const std::string& name) const {
    auto it = m_values.find(name);
    if (it == m_values.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
}

std::vector<std::string> ArgParser::values(const std::string& name) const {
    auto it = m_values.find(name);
    return it == m_values.end() ? std::vector<std::string>{} : it->second;
}

std::string ArgParser::helpText() const {
    std::ostringstream os;
    os << "usage: tokenlens-cli " << m_command << " " << m_usage << "\n";
    if (!m_order.empty()) os << "\noptions:\n";
    for (const auto& name : m_order) {
        const Spec& s = m_specs.at(name);
        std::string left = "--" + name + (s.takesValue ? " " + s.metavar : "");
        os << "  " << left;
        if (left.size() < 26) os << std::string(26 - left.size(), ' ');
        else os << "\n  " << std::string(26, ' ');
        os << s.help << "\n";
    }
    os << "  --help                    show this help\n";
    os << "  --                        end of options; what follows is text\n";
    return os.str();
}

} // namespace tokenlens::cli
