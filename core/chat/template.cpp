#include "chat/template.h"

#include "chat/error.h"
#include "chat/interpreter.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "util/utf8.h"

#include <ctime>

namespace tokenlens::chat {

namespace {

Error toError(const detail::TemplateFailure& f) {
    using detail::FailureKind;
    if (f.kind() == FailureKind::Raised) return makeError(ErrorCode::InvalidArgument, f.message());
    std::string message = f.message();
    if (f.located()) message = "line " + std::to_string(f.line()) + ", column " + std::to_string(f.column()) + ": " + message;
    const ErrorCode code = f.kind() == FailureKind::Unsupported || f.kind() == FailureKind::Limit ? ErrorCode::Unsupported
                                                                                                  : ErrorCode::Corrupt;
    return makeError(code, std::move(message));
}

} // namespace

Result<Template> Template::parse(std::string_view source) {
    if (auto bad = utf8::firstInvalid(source)) {
        return makeError(ErrorCode::Corrupt, "chat template: " + utf8::describeInvalid(source));
    }
    try {
        auto program = detail::parseTemplate(detail::lexTemplate(source));
        return Template(std::shared_ptr<const detail::Program>(std::move(program)));
    } catch (const detail::TemplateFailure& f) {
        return toError(f);
    } catch (const std::bad_alloc&) {
        return makeError(ErrorCode::Unsupported, "chat template: out of memory while parsing");
    }
}

Result<std::string> Template::render(const nlohmann::ordered_json& variables, const RenderOptions& options) const {
    if (!variables.is_object() && !variables.is_null()) {
        return makeError(ErrorCode::Internal, "chat template variables must be a JSON object");
    }
    try {
        const detail::Value vars = variables.is_null() ? detail::Value() : detail::fromJson(variables);
        detail::Interpreter interpreter(*m_program, options);
        return interpreter.render(vars);
    } catch (const detail::TemplateFailure& f) {
        return toError(f);
    } catch (const std::bad_alloc&) {
        return makeError(ErrorCode::Unsupported, "chat template: out of memory while rendering");
    }
}

bool Template::isRaisedError(const Error& error) { return error.code == ErrorCode::InvalidArgument; }

std::optional<DateTime> parseDate(std::string_view ymd) {
    const auto digits = [&](size_t from, size_t n) {
        int v = 0;
        for (size_t i = from; i < from + n; ++i) {
            if (ymd[i] < '0' || ymd[i] > '9') return -1;
            v = v * 10 + (ymd[i] - '0');
        }
        return v;
    };
    if (ymd.size() != 10 || ymd[4] != '-' || ymd[7] != '-') return std::nullopt;
    const int y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
    return DateTime{y, m, d, 0, 0, 0};
}

DateTime localNow() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    return DateTime{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
}

} // namespace tokenlens::chat
