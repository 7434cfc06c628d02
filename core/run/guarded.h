#pragma once
// The one place where exceptions become an error message: out of memory,
// LibTorch errors (c10::Error) and any other std::exception thrown while
// loading a model, preparing a sequence or running a method. Each becomes
// "<context>: <what>" and nothing throws out, so a failing pair fails alone
// and no exception crosses a thread, a signal or an Asio handler.

#include "util/result.h"

#include <functional>
#include <string>

namespace tokenlens {

// Runs `work`. Out of memory becomes "<context>: <outOfMemory>" (say what to
// do about it, e.g. "out of memory while loading the model"); other
// exceptions "<context>: <their message>". A returned error passes unchanged.
// A CancelledError (util/cancellation.h: a cancel inside a pass) becomes
// ErrorCode::Cancelled "cancelled", which callers report as cancelled.
Status guarded(const std::string& context, const std::string& outOfMemory, const std::function<Status()>& work);

} // namespace tokenlens
