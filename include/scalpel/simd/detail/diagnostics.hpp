#pragma once
// IWYU pragma: private
/// @file
/// @brief `SCALPEL_SIMD_DIAGNOSTICS_PUSH/POP`: silence GCC 12's false `-Wuninitialized` /
/// `-Wmaybe-uninitialized` reports from its own AVX-512 intrinsic headers (the `_mm512_undefined_*` idiom,
/// GCC bug 105593, fixed in GCC 13) for code inlined from scalpel's kernels. Scoped with push/pop to the
/// kernel headers; consumers' own code keeps every warning.

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#define SCALPEL_SIMD_DIAGNOSTICS_PUSH                                                  \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define SCALPEL_SIMD_DIAGNOSTICS_POP _Pragma("GCC diagnostic pop")
#else
#define SCALPEL_SIMD_DIAGNOSTICS_PUSH
#define SCALPEL_SIMD_DIAGNOSTICS_POP
#endif
