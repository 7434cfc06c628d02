#include "run/guarded.h"
#include "util/cancellation.h"

#include <c10/util/Exception.h>

#include <new>

namespace tokenlens {

Status guarded(const std::string& context, const std::string& outOfMemory, const std::function<Status()>& work) {
    auto fail = [&](const std::string& what) { return makeError(ErrorCode::Internal, context + ": " + what); };
    try {
        return work();
    } catch (const CancelledError&) {
        // A cancel inside a pass (util/cancellation.h) is an outcome, not a failure.
        return makeError(ErrorCode::Cancelled, "cancelled");
    } catch (const std::bad_alloc&) {
        return fail(outOfMemory);
    } catch (const c10::Error& e) {
        return fail(e.what_without_backtrace());
    } catch (const std::exception& e) {
        return fail(e.what());
    }
}

} // namespace tokenlens
