#pragma once
/// @file
/// @brief `simd::matmul`: Y = X · Wᵀ for a weight matrix in its stored dtype (F32, F16, BF16, Q8_0) and f32
/// activations — the GEMV of decode (n_tok = 1) and the GEMM of prefill (n_tok > 1).
///
/// Results do not depend on the thread count: each output element is one thread's sequential reduction.

#include <cstddef>

#include "scalpel/config.hpp"
#include "scalpel/simd/detail/reference.hpp"
#include "scalpel/tensor/matrix_ref.hpp"

#if SCALPEL_HAS_OPENMP
#include <omp.h>
#endif

SCALPEL_BEGIN_NAMESPACE
namespace simd {

/// y[t * ldy + r] = sum_k W[r, k] * x[t * ldx + k] for t < n_tok, r < W.rows().
/// @pre x holds n_tok rows of W.cols() floats; y has room for n_tok rows of W.rows() floats; no aliasing.
inline void matmul(const matrix_ref& w, const float* x, std::size_t n_tok, std::size_t ldx, float* y,
                   std::size_t ldy) noexcept {
  w.visit([&](const auto& v) {
    using D = typename std::decay_t<decltype(v)>::value_dtype;
    const auto rows = static_cast<std::ptrdiff_t>(v.extent(0));
    const std::size_t cols = v.extent(1);
#if SCALPEL_HAS_OPENMP
#pragma omp parallel for schedule(static) if (rows * static_cast <std::ptrdiff_t>(cols * n_tok) > 32768)
#endif
    for (std::ptrdiff_t r = 0; r < rows; ++r) {
      const auto* wr = v.row(static_cast<std::size_t>(r)).data_handle();
      for (std::size_t t = 0; t < n_tok; ++t)
        y[t * ldy + static_cast<std::size_t>(r)] = reference::dot_row<D>(wr, x + t * ldx, cols);
    }
  });
}

}  // namespace simd
SCALPEL_END_NAMESPACE
