#include "util/cancellation.h"

namespace tokenlens {
namespace {

thread_local std::shared_ptr<const CancelCheck> t_check;

} // namespace

CancelScope::CancelScope(const CancelCheck& check) : m_previous(std::move(t_check)) {
    t_check = check ? std::make_shared<const CancelCheck>(check) : nullptr;
}

CancelScope::~CancelScope() { t_check = std::move(m_previous); }

std::shared_ptr<const CancelCheck> currentCancelCheck() { return t_check; }

bool cancelRequested() { return t_check && (*t_check)(); }

void throwIfCancelled() { throwIfCancelled(t_check.get()); }

void throwIfCancelled(const CancelCheck* check) {
    if (check && *check && (*check)()) throw CancelledError();
}

} // namespace tokenlens
