# TOKENLENS_SANITIZE: empty, "address;undefined" or "thread".
set(TOKENLENS_SANITIZE "" CACHE STRING "Sanitizers to build with (address;undefined or thread)")
if(TOKENLENS_SANITIZE)
    list(JOIN TOKENLENS_SANITIZE "," _tl_san)
    add_compile_options(-fsanitize=${_tl_san} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=${_tl_san})
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        # GCC's sanitizer instrumentation defeats its flow analysis: optimised
        # builds warn "may be used uninitialized" inside libstdc++ (<regex>,
        # std::function) where the plain build does not. Not an error here.
        add_compile_options(-Wno-maybe-uninitialized)
    endif()
endif()

# Boost.Asio (the server and the API client) orders memory with
# std::atomic_thread_fence, which ThreadSanitizer does not model; GCC says so
# with -Wtsan, an error under -Werror. TSan still sees Asio's mutexes and
# atomics; the targets that include Asio link this to build at all under TSan.
add_library(tokenlens_asio_sanitize INTERFACE)
if("thread" IN_LIST TOKENLENS_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(tokenlens_asio_sanitize INTERFACE -Wno-tsan)
endif()
