# scalpel_sanitizers: AddressSanitizer + UndefinedBehaviorSanitizer for scalpel's own targets when
# SCALPEL_SANITIZE is ON (the debug-asan preset). Linked PRIVATE only.
add_library(scalpel_sanitizers INTERFACE)
if(SCALPEL_SANITIZE)
  set(_scalpel_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(scalpel_sanitizers INTERFACE ${_scalpel_san})
  target_link_options(scalpel_sanitizers INTERFACE ${_scalpel_san})
  target_compile_definitions(scalpel_sanitizers INTERFACE SCALPEL_CHECKED=1)
endif()
