#pragma once
/// @file
/// @brief `SCALPEL_ASSERT`: precondition checks for hot code, active only in checked builds.
///
/// Input validation (files, configs, plans) never uses this: it throws `scalpel::error`. Assertions guard
/// programming errors inside the library (a shape validated at construction that a kernel relies on).

#include <cstdio>
#include <cstdlib>
#include <source_location>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace detail {
#if defined(__cpp_lib_source_location)
[[noreturn]] inline void assert_fail(const char* cond, const char* msg,
                                     std::source_location loc = std::source_location::current()) noexcept {
  std::fprintf(stderr, "scalpel: assertion failed: %s (%s) at %s:%u in %s\n", cond, msg, loc.file_name(),
               static_cast<unsigned>(loc.line()), loc.function_name());
  std::abort();
}
#else  // e.g. clang 14 with libstdc++ 12, whose <source_location> is empty without __builtin_source_location
[[noreturn]] inline void assert_fail(const char* cond, const char* msg, const char* file = __builtin_FILE(),
                                     unsigned line = __builtin_LINE(),
                                     const char* function = __builtin_FUNCTION()) noexcept {
  std::fprintf(stderr, "scalpel: assertion failed: %s (%s) at %s:%u in %s\n", cond, msg, file, line, function);
  std::abort();
}
#endif
}  // namespace detail
SCALPEL_END_NAMESPACE

#ifndef SCALPEL_ASSERT
#if SCALPEL_CHECKED
#define SCALPEL_ASSERT(cond, msg)                            \
  do {                                                       \
    if (!(cond)) ::scalpel::detail::assert_fail(#cond, msg); \
  } while (0)
#else
#define SCALPEL_ASSERT(cond, msg) \
  do {                            \
  } while (0)
#endif
#endif
