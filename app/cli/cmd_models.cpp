#include "commands.h"

#include <iostream>

namespace tokenlens::cli {

int runModels(const Args&) {
    std::cerr << "tokenlens-cli models: not implemented yet\n";
    return kExitFailure;
}

} // namespace tokenlens::cli
