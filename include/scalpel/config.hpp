#pragma once
/// @file
/// @brief Feature macros, namespace macros and the assertion / throw hooks used throughout scalpel.
///
/// Macros a user may define before including any scalpel header:
/// - `SCALPEL_CHECKED`       bounds-checked view access and active `SCALPEL_ASSERT` (default: on when !NDEBUG)
/// - `SCALPEL_NO_OPENMP`     never use OpenMP even when the compiler enables it
/// - `SCALPEL_ASSERT(c, m)`  replace the assertion handler
/// - `SCALPEL_THROW(e)`      replace how errors are raised (default: `throw e`; without exceptions: print + abort)

#include "scalpel/version.hpp"

#if !defined(SCALPEL_CHECKED)
#if defined(NDEBUG)
#define SCALPEL_CHECKED 0
#else
#define SCALPEL_CHECKED 1
#endif
#endif

// The checked mode changes no object layout today; the tag keeps mixing builds detectable if it ever does.
#define SCALPEL_BEGIN_NAMESPACE \
  namespace scalpel {           \
  inline namespace v0 {
#define SCALPEL_END_NAMESPACE \
  }                           \
  }

#if defined(_OPENMP) && !defined(SCALPEL_NO_OPENMP)
#define SCALPEL_HAS_OPENMP 1
#else
#define SCALPEL_HAS_OPENMP 0
#endif

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define SCALPEL_HAS_EXCEPTIONS 1
#else
#define SCALPEL_HAS_EXCEPTIONS 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SCALPEL_RESTRICT __restrict__
#define SCALPEL_INLINE inline __attribute__((always_inline))
#define SCALPEL_NOINLINE __attribute__((noinline))
#else
#define SCALPEL_RESTRICT
#define SCALPEL_INLINE inline
#define SCALPEL_NOINLINE
#endif
