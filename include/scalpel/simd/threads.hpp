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

/// RAII: kernels called by this thread use n threads until the guard is destroyed, then the previous
/// count is restored (n <= 0: no change).
class thread_count_guard {
 public:
  explicit thread_count_guard(int n) noexcept : previous_(num_threads()) { set_num_threads(n); }
  thread_count_guard(const thread_count_guard&) = delete;
  thread_count_guard& operator=(const thread_count_guard&) = delete;
  ~thread_count_guard() { set_num_threads(previous_); }

 private:
  int previous_;
};

}  // namespace simd
SCALPEL_END_NAMESPACE
