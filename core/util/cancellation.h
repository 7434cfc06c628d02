#pragma once
// Cancelling a running computation inside a pass. A caller that can be
// cancelled installs its check for the thread (CancelScope, or
// runCancellable); the model calls throwIfCancelled() between transformer
// blocks of every forward and before each block's large products, and,
// through gradient hooks on the products' inputs, after each of them in
// every backward. throwIfCancelled() is the one
// place where "cancel requested" becomes an exception (CancelledError);
// runCancellable() and guarded() (run/guarded.h) are where it becomes a
// return again: a cancelled outcome, never a failure. docs/architecture.md
// ("Cancel") describes the design. Neither Qt nor LibTorch.

#include <exception>
#include <functional>
#include <memory>

namespace tokenlens {

using CancelCheck = std::function<bool()>;

class CancelledError : public std::exception {
public:
    const char* what() const noexcept override { return "cancelled"; }
};

// Installs `check` as this thread's cancel check until destroyed, then
// restores the previous one. An empty check installs none (nothing is
// cancelled inside the scope).
class CancelScope {
public:
    explicit CancelScope(const CancelCheck& check);
    ~CancelScope();
    CancelScope(const CancelScope&) = delete;
    CancelScope& operator=(const CancelScope&) = delete;

private:
    std::shared_ptr<const CancelCheck> m_previous;
};

// This thread's check, shared so that a gradient hook can keep it (null when none).
std::shared_ptr<const CancelCheck> currentCancelCheck();

// True when a check is installed and says stop.
bool cancelRequested();

// Throws CancelledError when cancelRequested(); what the model calls between blocks.
void throwIfCancelled();
// The same for a check kept by a hook.
void throwIfCancelled(const CancelCheck* check);

// Runs `work` under CancelScope(check): true when it ran to its end, false
// when a cancel interrupted it (a CancelledError from inside).
template <class Work>
bool runCancellable(const CancelCheck& check, Work&& work) {
    CancelScope scope(check);
    try {
        work();
        return true;
    } catch (const CancelledError&) {
        return false;
    }
}

} // namespace tokenlens
