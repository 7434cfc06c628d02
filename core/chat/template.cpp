#include "chat/template.h"

#include "chat/error.h"
#include "chat/interpreter.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "util/utf8.h"

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

} // namespace tokenlens::chat
