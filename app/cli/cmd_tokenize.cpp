#include "commands.h"

#include <iostream>

namespace tokenlens::cli {

int runTokenize(const Args&) {
    std::cerr << "tokenlens-cli tokenize: not implemented yet\n";
    return kExitFailure;
}

} // namespace tokenlens::cli
