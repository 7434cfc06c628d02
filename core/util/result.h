#pragma once
// Result<T>: the error tier used by loaders and parsers. A failure carries a
// code and a message meant for a person: which file, which key, what was expected.

#include <string>
#include <utility>
#include <variant>

namespace tokenlens {

enum class ErrorCode {
    NotFound,        // a file or key that must exist does not
    Unreadable,      // the file exists but cannot be read
    Corrupt,         // the bytes do not follow the format
    Unsupported,     // valid, but a feature TokenLens does not implement
    Mismatch,        // two sources disagree (config vs tensor shapes, ...)
    InvalidArgument, // bad user input (text, option)
    Cancelled,
    Internal,
};

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message;
};

inline Error makeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(m_v); }
    const T& value() const& { return std::get<0>(m_v); }
    T&& value() && { return std::get<0>(std::move(m_v)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { return std::get<1>(m_v); }

private:
    std::variant<T, Error> m_v;
};

// Result<void> equivalent.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error error) : m_error(std::move(error)), m_ok(false) {}
    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const Error& error() const { return m_error; }

private:
    Error m_error;
    bool m_ok = true;
};

} // namespace tokenlens
