# scalpel_warnings: warning flags for scalpel's own targets (tests, examples, CLI, benchmarks).
# Linked PRIVATE only; never part of the exported scalpel::scalpel interface.
add_library(scalpel_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(scalpel_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
    -Wcast-align -Wnon-virtual-dtor -Woverloaded-virtual -Wdouble-promotion)
  if(SCALPEL_WERROR)
    target_compile_options(scalpel_warnings INTERFACE -Werror)
  endif()
elseif(MSVC)
  target_compile_options(scalpel_warnings INTERFACE /W4 $<$<BOOL:${SCALPEL_WERROR}>:/WX>)
endif()

# scalpel_enable_native(<target>): opt-in -march=native for an application target (never set on the library).
function(scalpel_enable_native target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -march=native)
  endif()
endfunction()
