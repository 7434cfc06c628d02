#pragma once
// A Jinja2 template as Hugging Face transformers renders chat templates:
// jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True, extensions=[loopcontrols]) with the `tojson` filter
// (ensure_ascii=False, indent, separators, sort_keys) and the globals
// raise_exception(message) and strftime_now(format). Torch-free, Qt-free.
// What is supported and what is not: docs/chat.md.

#include "util/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tokenlens::chat {

namespace detail {
struct Program;
}

// The local time strftime_now() formats (transformers uses the current time;
// here the caller decides, so renderings are reproducible).
struct DateTime {
    int year = 2026, month = 7, day = 26, hour = 12, minute = 0, second = 0;
};
// "YYYY-MM-DD" as that day at 00:00:00; nullopt when it is not such a date.
std::optional<DateTime> parseDate(std::string_view ymd);
// The local time now (what transformers passes to strftime_now).
DateTime localNow();

// Bounds that keep a hostile template from running away. Exceeding one fails
// the render with a message naming the bound.
struct RenderLimits {
    size_t maxOutputBytes = size_t{16} << 20;   // the output and every string built on the way
    uint64_t maxLoopIterations = 1'000'000;     // all loop bodies of one render together (and range() sizes)
    int maxCallDepth = 64;                      // nested macro / caller() / recursive loop calls
};

struct RenderOptions {
    DateTime now;
    RenderLimits limits;
};

class Template {
public:
    // Parses template text (UTF-8). Errors: Corrupt for syntax errors and
    // invalid UTF-8, Unsupported for an unknown tag, filter or test; the
    // message gives line and column ("line 3, column 12: unknown tag 'include'").
    static Result<Template> parse(std::string_view source);

    // Renders with `variables` (a JSON object; key order is kept, as a Python
    // dict keeps it). Errors:
    //  - the template called raise_exception(message): InvalidArgument whose
    //    message is exactly `message` (the template refused the input);
    //  - an undefined value used, a type error: Corrupt;
    //  - a bound of `options.limits` exceeded: Unsupported;
    //    these messages start with "line L, column C: ".
    Result<std::string> render(const nlohmann::ordered_json& variables, const RenderOptions& options = {}) const;

    // True when a render() failure came from the template's raise_exception().
    static bool isRaisedError(const Error& error);

private:
    explicit Template(std::shared_ptr<const detail::Program> program) : m_program(std::move(program)) {}
    std::shared_ptr<const detail::Program> m_program;
};

} // namespace tokenlens::chat
