#pragma once
/// @file
/// @brief The machine's memory read bandwidth, measured: the physical limit of decode is this bandwidth divided
/// by the bytes of weights a token touches. Used by `scalpel bench` and the kernel benchmarks, so that achieved
/// GB/s are always reported next to a bandwidth measured in the same run.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/aligned_alloc.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace simd {

/// Median of `reps` timed streaming sums over a `bytes`-byte buffer (far larger than the caches) with the
/// current thread count. Returns bytes per second.
inline double measure_read_bandwidth(std::size_t bytes = std::size_t{1} << 30, int reps = 7) {
  using B = xsimd::batch<float>;
  const std::size_t step = 4 * B::size;
  const std::size_t n = bytes / sizeof(float) / step * step;
  if (n == 0 || reps <= 0) return 0.0;
  aligned_vector<float> buf(n);
  const auto nn = static_cast<std::ptrdiff_t>(n);
#if SCALPEL_HAS_OPENMP
#pragma omp parallel for schedule(static)
#endif
  for (std::ptrdiff_t i = 0; i < nn; ++i) buf[static_cast<std::size_t>(i)] = 1.0f;  // first touch by the readers
  std::vector<double> secs;
  volatile float sink = 0.0f;
  const auto blocks = static_cast<std::ptrdiff_t>(n / step);
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    float total = 0.0f;
#if SCALPEL_HAS_OPENMP
#pragma omp parallel reduction(+ : total)
#endif
    {
      B a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
#if SCALPEL_HAS_OPENMP
#pragma omp for schedule(static)
#endif
      for (std::ptrdiff_t b = 0; b < blocks; ++b) {
        const float* p = buf.data() + static_cast<std::size_t>(b) * step;
        a0 += B::load_aligned(p);
        a1 += B::load_aligned(p + B::size);
        a2 += B::load_aligned(p + 2 * B::size);
        a3 += B::load_aligned(p + 3 * B::size);
      }
      total += xsimd::hadd((a0 + a1) + (a2 + a3));
    }
    sink = sink + total;
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(secs.begin(), secs.end());
  return static_cast<double>(n * sizeof(float)) / secs[secs.size() / 2];
}

}  // namespace simd
SCALPEL_END_NAMESPACE
