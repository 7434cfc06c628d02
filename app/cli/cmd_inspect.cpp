#include "commands.h"

#include <iostream>

namespace tokenlens::cli {

int runInspect(const Args&) {
    std::cerr << "tokenlens-cli inspect: not implemented yet\n";
    return kExitFailure;
}

} // namespace tokenlens::cli
