#pragma once
/// @file
/// @brief Thread count control for scalpel's parallel kernels (OpenMP when enabled).

#include "scalpel/config.hpp"

#if SCALPEL_HAS_OPENMP
#include <omp.h>
#endif

SCALPEL_BEGIN_NAMESPACE
namespace simd {

/// Set the number of threads kernels use (n <= 0: leave the runtime default).
inline void set_num_threads(int n) noexcept {
#if SCALPEL_HAS_OPENMP
  if (n > 0) omp_set_num_threads(n);
#else
  (void)n;
#endif
}
/// Threads kernels will use.
inline int num_threads() noexcept {
#if SCALPEL_HAS_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace simd
SCALPEL_END_NAMESPACE
