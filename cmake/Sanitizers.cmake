# TOKENLENS_SANITIZE: empty, "address;undefined" or "thread".
set(TOKENLENS_SANITIZE "" CACHE STRING "Sanitizers to build with (address;undefined or thread)")
if(TOKENLENS_SANITIZE)
    list(JOIN TOKENLENS_SANITIZE "," _tl_san)
    add_compile_options(-fsanitize=${_tl_san} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=${_tl_san})
endif()
