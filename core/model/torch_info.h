#pragma once
#include <string>

namespace tokenlens {

// "1.13.1" — the LibTorch version the engine was built against (About box, inspect).
std::string torchVersion();
// Threads ATen uses inside one operation.
int torchThreads();

} // namespace tokenlens
