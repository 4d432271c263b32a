#pragma once
// IWYU pragma: private, include "scalpel/simd/matmul.hpp"
/// @file
/// @brief `detail::matmul_kernel`: the matmul functor (architecture first, then typed operands). Splits the
/// rows statically over OpenMP threads and runs the decode (GEMV) or prefill (GEMM) kernel of
/// detail/matmul_kernel.hpp on each range (or, opted in, the bf16 dot-product GEMM of
/// detail/bf16dot_kernel.hpp).

#include <cstddef>
#include <type_traits>

#include "scalpel/config.hpp"
#include "scalpel/simd/detail/bf16dot_kernel.hpp"
#include "scalpel/simd/detail/diagnostics.hpp"
#include "scalpel/simd/detail/matmul_kernel.hpp"
#include "scalpel/tensor/dtype.hpp"
#include "scalpel/tensor/view.hpp"

#if SCALPEL_HAS_OPENMP
#include <omp.h>
#endif

SCALPEL_SIMD_DIAGNOSTICS_PUSH
SCALPEL_BEGIN_NAMESPACE
namespace simd::detail {

/// Rows [begin, end) of thread `tid` of `nth` when `rows` are split statically in units of `unit` rows.
inline void static_range(std::size_t rows, std::size_t unit, std::size_t tid, std::size_t nth, std::size_t& begin,
                         std::size_t& end) noexcept {
  const std::size_t units = (rows + unit - 1) / unit;
  begin = std::min(rows, units * tid / nth * unit);
  end = std::min(rows, units * (tid + 1) / nth * unit);
}

/// The matmul kernel (house-style functor: architecture first, then typed operands).
struct matmul_kernel {
  /// y[t * ldy + r] = sum_k W[r, k] * x[t * ldx + k] for t < n_tok, r < W.extent(0).
  template <class Arch, dtype D>
  void operator()(Arch, matrix_view<const D> w, const float* x, std::size_t n_tok, std::size_t ldx, float* y,
                  std::size_t ldy) const noexcept {
    using S = storage_t<D>;
    using SU = std::remove_const_t<S>;
    const std::size_t rows = w.extent(0), k = w.extent(1);
    if (rows == 0 || n_tok == 0) return;
    if (k == 0) {
      for (std::size_t t = 0; t < n_tok; ++t)
        for (std::size_t r = 0; r < rows; ++r) y[t * ldy + r] = 0.0f;
      return;
    }
    const SU* wd = w.data_handle();
    const std::size_t ldw = w.stride(0);
    const std::size_t unit = n_tok == 1 ? gemv_group : gemm_group;
    const auto run = [&](std::size_t tid, std::size_t nth) noexcept {
      std::size_t b = 0, e = 0;
      static_range(rows, unit, tid, nth, b, e);
      if (n_tok == 1) {
        gemv_rows<Arch, SU>(wd, ldw, b, e, k, x, y);
      } else {
#if SCALPEL_SIMD_HAVE_BF16_DOT
        if constexpr (use_bf16_dot_prefill<Arch, SU>) {
          avx512bf16::gemm_rows(wd, ldw, b, e, k, x, n_tok, ldx, y, ldy);
          return;
        }
#endif
        gemm_rows<Arch, SU>(wd, ldw, b, e, k, x, n_tok, ldx, y, ldy);
      }
    };
#if SCALPEL_HAS_OPENMP
    const bool parallel =
        rows * k * n_tok >= parallel_min_work && rows >= 2 * unit && omp_get_max_threads() > 1 && !omp_in_parallel();
    if (parallel) {
#pragma omp parallel
      run(static_cast<std::size_t>(omp_get_thread_num()), static_cast<std::size_t>(omp_get_num_threads()));
      return;
    }
#endif
    run(0, 1);
  }
};

}  // namespace simd::detail
SCALPEL_END_NAMESPACE
SCALPEL_SIMD_DIAGNOSTICS_POP
