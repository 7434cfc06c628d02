# INTERFACE target carrying the warning flags for TokenLens's own code.
# Third-party headers (LibTorch, Qt, Eigen) come in through imported targets,
# whose include directories CMake marks SYSTEM, so their warnings stay silent.
add_library(tokenlens_warnings INTERFACE)
target_compile_options(tokenlens_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(tokenlens_warnings INTERFACE -Wshadow=local)
else()
    target_compile_options(tokenlens_warnings INTERFACE -Wshadow-uncaptured-local)
endif()
if(TOKENLENS_WERROR)
    target_compile_options(tokenlens_warnings INTERFACE -Werror)
endif()
